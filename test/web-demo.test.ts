/**
 * `npm run demo` as a new user meets it: the synthetic exporters' datagrams decode to exactly the
 * flows they were made from, and the demo (started as a child process, loopback only) shows
 * threats in the API within a minute, from all four exporters, without decode errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Collector } from '../src/collector.js';
import { CaptureOutput, tempDir, testConfig, until } from './helpers/collect.js';
import { REPO_ROOT } from './helpers/tools.js';
import { TrafficModel, encodeIpfix, encodeSflow, encodeV5, encodeV9, type Flow } from '../scripts/demo-exporters.js';

function decode(packets: Buffer[]): CaptureOutput {
  const out = new CaptureOutput();
  const c = new Collector(testConfig(), { outputs: [out], enrichers: [] });
  for (const p of packets) c.pipeline.handle(p, { exporterIp: '127.0.0.12', exporterPort: 40000, receivedAt: Date.now() });
  assert.deepEqual(c.pipeline.stats.snapshot().flatMap((e) => Object.keys(e.errors)), []);
  return out;
}

function flows(n: number, v4only: boolean): Flow[] {
  const m = new TrafficModel(['198.51.100.66'], 9, 0.2);
  const now = Date.now();
  return Array.from({ length: n }, () => m.next(now, v4only));
}

const tuple = (f: { src?: string; srcIp?: string; dst?: string; dstIp?: string; sport?: number; srcPort?: number; dport?: number; dstPort?: number; proto: number }) =>
  `${f.src ?? f.srcIp} ${f.sport ?? f.srcPort} > ${f.dst ?? f.dstIp} ${f.dport ?? f.dstPort} /${f.proto}`;

test('demo NetFlow v5, v9 and IPFIX datagrams decode to the flows they carry', () => {
  const now = Date.now();
  const v4 = flows(24, true);
  const mixed = flows(40, false);
  assert.ok(mixed.some((f) => f.src.includes(':')), 'the model makes IPv6 flows too');
  for (const [name, packets, src] of [
    ['v5', [encodeV5(v4, 0, now)], v4],
    ['v9', [encodeV9(mixed, 0, now, 1, true)], mixed],
    ['ipfix', [encodeIpfix(mixed, 0, now, 7, true)], mixed],
  ] as const) {
    const recs = decode([...packets]).records;
    assert.equal(recs.length, src.length, name);
    assert.deepEqual(recs.map(tuple).sort(), src.map(tuple).sort(), name);
    const bytes = (xs: { bytes: number }[]) => xs.reduce((a, x) => a + x.bytes, 0);
    assert.equal(bytes(recs), bytes(src), name);
    if (name === 'ipfix') for (const r of recs) assert.ok(Math.abs(r.startTs - src.find((f) => tuple(f) === tuple(r))!.start) < 1000);
  }
});

test('demo sFlow datagrams decode to one sampled packet per flow, scaled by the sampling rate', () => {
  const src = flows(10, true);
  const recs = decode([encodeSflow(src, 1, '127.0.0.14', 123_456, 512, 5120)]).records.filter((r) => r.kind === 'flow');
  assert.equal(recs.length, src.length);
  assert.deepEqual(recs.map(tuple).sort(), src.map(tuple).sort());
  for (const r of recs) {
    assert.equal(r.samplingRate, 512);
    assert.equal(r.exporterIp, '127.0.0.14');
  }
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

test('npm run demo: threats show within a minute, from all four exporters', { timeout: 120_000 }, async () => {
  const web = await freePort();
  const data = tempDir('ufc-demo-');
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--minutes', '2', '--interval-ms', '100'], {
    cwd: REPO_ROOT,
    env: { ...process.env, EF_DATA_DIR: data, EF_WEBUI_PORT: String(web), EF_FLOW_SERVER_UDP_PORT: '0', EF_LOGGER_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  const base = `http://127.0.0.1:${web}`;
  const t0 = Date.now();
  try {
    let threats = 0;
    while (Date.now() - t0 < 60_000 && threats === 0) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        const d = (await (await fetch(`${base}/api/threats`)).json()) as { totals?: { flows: number } };
        threats = d.totals?.flows ?? 0;
      } catch {
        // not up yet
      }
    }
    assert.ok(threats > 0, `no threat flow within 60 s\n${stderr}`);
    const seconds = (Date.now() - t0) / 1000;
    const ex = (await (await fetch(`${base}/api/exporters`)).json()) as { exporters: { protocol: string; records: number; errorCount: number; samplingRates: number[]; templates: number | null }[] };
    assert.deepEqual(ex.exporters.find((e) => e.protocol === 'sflow5')?.samplingRates, [512]);
    assert.equal(ex.exporters.find((e) => e.protocol === 'netflow9')?.templates, 2);
    assert.equal(ex.exporters.find((e) => e.protocol === 'ipfix')?.templates, 2);
    assert.deepEqual(ex.exporters.map((e) => e.protocol).sort(), ['ipfix', 'netflow5', 'netflow9', 'sflow5']);
    for (const e of ex.exporters) {
      assert.ok(e.records > 0);
      assert.equal(e.errorCount, 0, JSON.stringify(e));
    }
    const integ = (await (await fetch(`${base}/api/integrations`)).json()) as { feeds: { entries: number }[] };
    assert.equal(integ.feeds[0]?.entries, 49_999);
    process.stderr.write(`# demo: first threat flow visible after ${seconds.toFixed(1)} s\n`);
    // EF_DATA_DIR moves everything, the RiskIQ audit file too, and the banner says where.
    assert.match(stderr, new RegExp(`data +${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    await until(() => existsSync(join(data, 'riskiq-audit.ndjson')), 10_000);
    assert.ok(existsSync(join(data, 'riskiq-audit.ndjson')), 'the audit file in EF_DATA_DIR');
  } finally {
    child.kill('SIGINT');
    const code = await exited;
    rmSync(data, { recursive: true, force: true });
    assert.equal(code, 0, stderr);
  }
});

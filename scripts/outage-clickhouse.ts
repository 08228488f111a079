/**
 * ClickHouse outage drill (issue 7, item 6): replays N NetFlow v5 records through the whole
 * collector into ClickHouse, stops clickhouse-server for a while in the middle, starts it again
 * the way scripts/start-test-servers.sh does, and checks every record arrived exactly once
 * (each record's octet count is its serial number: count = distinct = N, min 1, max N).
 *
 *   node --import tsx scripts/outage-clickhouse.ts [records=1000000] [outage seconds=30]
 *
 * The test suite runs the same drill with 200,000 records (the last test in test/clickhouse.test.ts).
 * It stops only the clickhouse-server listening on 127.0.0.1:8123, found by its listening socket.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from '@clickhouse/client';
import { v5Stream } from '../bench/store-traffic.js';
import { Collector } from '../src/collector.js';
import { loadConfig } from '../src/config/load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CH_URL = 'http://127.0.0.1:8123';

export interface OutageResult {
  records: number;
  count: number;
  distinct: number;
  min: number;
  max: number;
  outageMs: number;
  counters: Record<string, number>;
  elapsedMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listening(): Promise<boolean> {
  try {
    return (await fetch(`${CH_URL}/ping`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** The pid of the process listening on 127.0.0.1:8123 (from `ss`), or null. */
export function clickhousePid(): number | null {
  const out = execFileSync('ss', ['-Hltnp', 'sport = :8123'], { encoding: 'utf8' });
  const m = /"clickhouse[^"]*",pid=(\d+)/.exec(out);
  return m === null ? null : Number(m[1]);
}

/** Stops the server by its pid (SIGTERM, then SIGKILL after 30 s) and waits until it is gone. */
export async function stopClickHouse(): Promise<number> {
  const pid = clickhousePid();
  if (pid === null) throw new Error('no clickhouse-server is listening on 127.0.0.1:8123');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    if (i === 299) process.kill(pid, 'SIGKILL');
    await sleep(100);
  }
  return pid;
}

/** Starts it again exactly as the test-server script does (idempotent; waits up to 60 s). */
export async function startClickHouse(): Promise<void> {
  // Asynchronously (the collector keeps running and spilling while the server boots), with no
  // pipes: the server started in the background would hold them open and the wait would never end.
  const child = spawn('bash', [join(ROOT, 'scripts', 'start-test-servers.sh')], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGTERM'), 90_000);
  await new Promise<void>((resolve, reject) => {
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  clearTimeout(timer);
  if (!(await listening())) throw new Error('clickhouse-server did not come back; see /tmp/ufc-clickhouse/server.log');
}

export async function runClickHouseOutage(records: number, outageMs: number, say: (s: string) => void = () => {}): Promise<OutageResult> {
  if (!(await listening())) throw new Error('clickhouse-server is not listening on 127.0.0.1:8123; run scripts/start-test-servers.sh');
  const db = `ufc_outage_${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ufc-outage-'));
  const res = loadConfig({
    env: {
      EF_DATA_DIR: dataDir, EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
      EF_OUTPUT_CLICKHOUSE_ENABLE: 'true', EF_OUTPUT_CLICKHOUSE_DATABASE: db,
      EF_OUTPUT_CLICKHOUSE_BATCH_MAX_RECORDS: '20000', EF_OUTPUT_CLICKHOUSE_BATCH_DEADLINE: '200',
    },
  });
  if (res.config === null) throw new Error(res.errors.join('\n'));
  const collector = new Collector(res.config);
  const ch = collector.outputs.find((o) => o.name === 'clickhouse')!;
  const started = Date.now();
  let stopped = false;
  let restarted = false;
  let restarting: Promise<void> | null = null;
  try {
    await collector.start();
    // Replay paced over the outage plus 10 s either side, so records arrive before, during and after it.
    const datagrams = [...v5Stream(records)];
    const replayMs = outageMs + 20_000;
    const slices = Math.ceil(replayMs / 100);
    const perSlice = Math.ceil(datagrams.length / slices);
    let sent = 0;
    const t0 = Date.now();
    for (let s = 0; s < slices && sent < datagrams.length; s++) {
      const now = Date.now();
      for (let i = 0; i < perSlice && sent < datagrams.length; i++, sent++) {
        collector.pipeline.handle(datagrams[sent]!, { exporterIp: '192.0.2.10', exporterPort: 2055, receivedAt: now });
      }
      const at = Date.now() - t0;
      if (!stopped && at >= 10_000) {
        const pid = await stopClickHouse();
        stopped = true;
        say(`stopped clickhouse-server (pid ${pid}) at ${(at / 1000).toFixed(1)} s, ${sent * 30} records fed`);
      }
      if (stopped && restarting === null && at >= 10_000 + outageMs) {
        say(`starting clickhouse-server again at ${(at / 1000).toFixed(1)} s; counters ${JSON.stringify(ch.counters())}`);
        restarting = startClickHouse().then(() => {
          restarted = true;
          say(`clickhouse-server is back at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        });
      }
      const next = t0 + (s + 1) * 100;
      if (next > Date.now()) await sleep(next - Date.now());
    }
    await (restarting ?? startClickHouse());
    restarted = true;
    // Wait until everything queued and spilled has been sent (bounded: 5 minutes).
    const deadline = Date.now() + 300_000;
    for (;;) {
      await collector.flush();
      const c = ch.counters();
      if ((c.sent ?? 0) + (c.dropped_queue_full ?? 0) + (c.dropped_retries ?? 0) + (c.spill_dropped ?? 0) >= records && (c.spill_pending ?? 0) === 0 && (c.queued ?? 0) === 0) break;
      if (Date.now() > deadline) throw new Error(`not drained after 5 minutes: ${JSON.stringify(c)}`);
      await sleep(500);
    }
    const client = createClient({ url: CH_URL });
    try {
      const rows = await (await client.query({ query: `SELECT count() AS n, uniqExact(bytes) AS d, min(bytes) AS lo, max(bytes) AS hi FROM ${db}.flows`, format: 'JSONEachRow' })).json<Record<string, string>>();
      const r = rows[0]!;
      return { records, count: Number(r.n), distinct: Number(r.d), min: Number(r.lo), max: Number(r.hi), outageMs, counters: ch.counters(), elapsedMs: Date.now() - started };
    } finally {
      await client.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await client.close();
    }
  } finally {
    if (stopped && !restarted) await (restarting ?? startClickHouse()).catch(() => {});
    await collector.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const outage = Number(process.argv[3] ?? 30) * 1000;
  const r = await runClickHouseOutage(n, outage, (s) => console.log(s));
  const ok = r.count === n && r.distinct === n && r.min === 1 && r.max === n;
  console.log(JSON.stringify(r, null, 2));
  console.log(ok ? `PASS: ${n} records, each exactly once, across a ${outage / 1000} s outage` : 'FAIL: records lost or duplicated');
  process.exit(ok ? 0 : 1);
}

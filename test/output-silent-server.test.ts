/**
 * A server that accepts connections and never answers (a hung process, a black-holing proxy): the
 * network outputs must neither hold up the collector's start (its UDP sockets open only after the
 * outputs start) nor its stop. A local TCP server that reads and stays silent stands in for
 * ClickHouse and a Kafka broker; the production code paths are the same as against real ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { ClickHouseOutput } from '../src/output/clickhouse/clickhouse.js';
import type { BatchingOutput } from '../src/output/batching.js';
import { KafkaOutput } from '../src/output/kafka/output.js';
import { START_WAIT_MS } from '../src/output/close-deadline.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { createSearchOutput } from '../src/output/elasticsearch/from-config.js';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { REPO_ROOT, TESTDATA } from './helpers/tools.js';

async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function records(n: number): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.collectTs = Date.now() - i; r.exporterIp = '192.0.2.1'; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 17; r.bytes = 1; r.packets = 1;
    return r;
  });
}

/**
 * Starts `out` against a silent server (bounded by the start wait, `why` says what it would wait
 * otherwise), writes 50 records, and stops it within `stopMs`: none sent, every one still held (in the
 * spill, queued) or counted dropped; with `inflight`, the hung batch shows as in flight until the stop.
 */
async function startWriteStop(out: BatchingOutput, why: string, stopMs: number, inflight: boolean): Promise<void> {
  let t0 = Date.now();
  await out.start();
  assert.ok(Date.now() - t0 < START_WAIT_MS + 3000, `start took ${Date.now() - t0} ms (${why})`);
  out.write(records(50));
  await new Promise((r) => setTimeout(r, 200));
  if (inflight) assert.equal(out.counters().inflight, 50, 'the hung batch shows as in flight');
  t0 = Date.now();
  await out.close(500);
  assert.ok(Date.now() - t0 < stopMs, `stop took ${Date.now() - t0} ms`);
  const c = out.counters();
  assert.equal(c.inflight, 0, 'given up on at the stop');
  assert.equal(c.sent, 0);
  assert.equal((c.dropped_retries ?? 0) + (c.spill_pending ?? 0) + (c.queued ?? 0), 50, JSON.stringify(c));
}

test('ClickHouse that accepts and never answers: start goes on after the start wait, the stop is bounded, records spilled', async () => {
  const srv = await silentServer();
  const dir = tempDir('ufc-silent-');
  try {
    await startWriteStop(new ClickHouseOutput({ url: `http://127.0.0.1:${srv.port}`, username: 'default', password: '', database: 'd', table: 'flows', retentionDays: 7, timestampSource: 'collect', batchMax: 100, deadlineMs: 10, queueMax: 10_000, spill: { dir: join(dir, 'spill'), maxBytes: 1 << 26 } }),
      'the client\'s timeout is 30 s', 8000, true);
  } finally {
    srv.close();
  }
});

test('Kafka broker that accepts and never answers: start goes on after the start wait, the stop is bounded', async () => {
  const srv = await silentServer();
  const dir = tempDir('ufc-silent-');
  try {
    await startWriteStop(new KafkaOutput({ brokers: [`127.0.0.1:${srv.port}`], topic: 'flows', partitionKey: 'exporter', clientId: 'ufc', tls: { enable: false, skipVerification: false, caCertPath: '' }, view: { ecs: false, timestampSource: 'collect' }, deadlineMs: 10, batchRecords: 100, spill: { dir: join(dir, 'spill'), maxBytes: 1 << 26 } }),
      'kafkajs waits up to 2 x 30 s', 12_000, false);
  } finally {
    srv.close();
  }
});

test('Elasticsearch node that accepts and never answers: start goes on after the start wait, the stop is bounded, records spilled', async () => {
  const srv = await silentServer();
  const dir = tempDir('ufc-silent-');
  const config = testConfig({ EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: `127.0.0.1:${srv.port}`, EF_OUTPUT_ELASTICSEARCH_BATCH_DEADLINE: '10' });
  try {
    await startWriteStop(createSearchOutput(config, 'elasticsearch', join(dir, 'spill')), 'the client\'s timeout is 30 s, for the info and the template each', 8000, true);
  } finally {
    srv.close();
  }
});

test('ufc run with a node that never answers: listening within the start wait, a second SIGTERM while stopping does not cut the stop short, and the process ends within a second of its "stopped" line (a request given up on held it 30 s)', async () => {
  const srv = await silentServer();
  // Node with tsx as a loader, not tsx's CLI, whose wrapper process would handle the second signal itself.
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'run'], {
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, EF_DATA_DIR: tempDir('ufc-silent-'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
      EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '0',
      EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: `127.0.0.1:${srv.port}`, EF_OUTPUT_ELASTICSEARCH_BATCH_DEADLINE: '10',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    let stderr = '';
    const t0 = Date.now();
    const port: number = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`collector did not start: ${stderr}`)), 60_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening for flows on udp 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    assert.ok(Date.now() - t0 < START_WAIT_MS + 10_000, `listening after ${Date.now() - t0} ms`);
    const v5 = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(v5, port, '127.0.0.1', () => r()));
    sock.close();
    // The batch goes out and hangs.
    await new Promise((r) => setTimeout(r, 500));
    let stoppedAt = 0;
    child.stderr.on('data', () => {
      if (stoppedAt === 0 && /"msg":"stopped"/.test(stderr)) stoppedAt = Date.now();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    child.kill('SIGTERM');
    // Once it is stopping (held by the silent node), an impatient second one: logged, not a kill.
    for (const end = Date.now() + 10_000; !/received SIGTERM: stopping/.test(stderr) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    assert.match(stderr, /received SIGTERM: stopping/);
    // Past the first one's echo time (stop-signals.ts): a second request, which is logged.
    await new Promise((r) => setTimeout(r, 700));
    child.kill('SIGTERM');
    const code = await exited;
    const exitedAt = Date.now();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /received SIGTERM while stopping \(after SIGTERM\): ignored/);
    assert.ok(stoppedAt > 0, stderr);
    assert.ok(exitedAt - stoppedAt < 3000, `exited ${exitedAt - stoppedAt} ms after "stopped"`);
    assert.match(stderr, /kept in the spill directory/);
  } finally {
    child.kill('SIGKILL');
    srv.close();
  }
});

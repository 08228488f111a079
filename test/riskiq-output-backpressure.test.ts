/**
 * The RiskIQ output never blocks the pipeline: with the receiver absent, refusing or slow, write()
 * stays fast, memory stays within EF_OUTPUT_RISKIQ_QUEUE_SIZE, drops are counted by reason, and TCP
 * reconnects with backoff (and then delivers what it held).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Collector } from '../src/collector.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import type { RiskiqRow } from '../src/output/riskiq/frame.js';
import { RiskiqOutput, type RiskiqOutputOptions } from '../src/output/riskiq/output.js';
import { RiskiqReceiver } from '../src/output/riskiq/receiver.js';
import { createOutputs } from '../src/output/registry.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { CaptureOutput, tempDir, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

const raw: string[] = [];
setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => raw.push(l) }));

const UUID = '527dd194-a116-11af-8380-034aba1ce438';
const KEY = Buffer.from('twBovkmV8YIxx0QyulybZg==', 'base64');

function publicBatch(n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const r = new FlowRecord();
    r.srcIp = '8.8.8.8';
    r.dstIp = `1.1.${(i >> 8) & 255}.${i & 255}`;
    r.proto = 6;
    r.srcPort = 443;
    r.dstPort = 1024 + i;
    r.bytes = 1000 + i;
    r.packets = 1;
    r.startTs = 1_700_000_000_000 + i;
    r.endTs = r.startTs + 10;
    out.push(r);
  }
  return out;
}

function output(port: number, over: Partial<RiskiqOutputOptions> = {}): RiskiqOutput {
  return new RiskiqOutput({
    host: '127.0.0.1', port, customerUuid: UUID, key: KEY, transport: 'tcp', maxFrameBytes: 1400, deadlineMs: 50, queueSize: 1000,
    auditPath: '', nonceStatePath: join(tempDir('ufc-riskiq-bp-'), 'nonce'), backoffMinMs: 20, backoffMaxMs: 200, flushTimeoutMs: 2000,
    ...over,
  });
}

/** A port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

test('TCP receiver that accepts and closes at once (a proxy without backend): reconnects keep backing off, one log line per 10 s', async (t) => {
  const srv: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const out = output((srv.address() as { port: number }).port, { backoffMinMs: 20, backoffMaxMs: 5000 });
  const mark = raw.length;
  t.after(async () => {
    await out.close();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  await out.start();
  await sleep(1500);
  // 20, 40, 80, 160, 320, 640 ms (±20%) between attempts: about 6 in 1.5 s. A backoff reset at every
  // connect made one attempt every ~20 ms (dozens).
  const connects = out.counters().tcp_connects!;
  assert.ok(connects >= 3 && connects <= 10, `connects in 1.5 s: ${connects}`);
  const reconnected = raw.slice(mark).filter((l) => l.includes('RiskIQ output: reconnected to')).length;
  assert.equal(reconnected, 1, 'the reconnect line is rate-limited');
});

test('TCP receiver that drops connection attempts (a firewall): start() does not wait for the kernel, the attempt times out and is retried', async (t) => {
  // A listener that never accepts, its accept queue filled: the kernel drops our SYNs.
  const py = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((r) => py.stdout.once('data', (d) => r(Number(String(d).trim()))));
  const fill: Socket[] = [];
  for (let i = 0; i < 3; i++) fill.push(connect(port, '127.0.0.1').on('error', () => {}));
  await sleep(200);
  const out = output(port, { connectTimeoutMs: 300, backoffMinMs: 20, backoffMaxMs: 50 });
  t.after(async () => {
    await out.close();
    for (const s of fill) s.destroy();
    py.kill();
  });
  const t0 = performance.now();
  await out.start();
  const startMs = performance.now() - t0;
  assert.ok(startMs < 1500, `start() returned after ${startMs.toFixed(0)} ms`);
  await until(() => out.counters().tcp_connect_failures! >= 2, 3000);
  const c = out.counters();
  assert.ok(c.tcp_connect_failures! >= 2, `connect attempts given up: ${c.tcp_connect_failures}`);
  assert.equal(c.tcp_connects, 0);
});

test('TCP receiver refusing: queue bounded, drops counted, reconnect attempts back off, held frames delivered once it is up', async (t) => {
  const port = await closedPort();
  const out = output(port);
  const receivers: RiskiqReceiver[] = [];
  t.after(async () => {
    await out.close();
    for (const r of receivers) await r.stop();
  });
  await out.start();
  const batch = publicBatch(100);
  const t0 = performance.now();
  let maxQueued = 0;
  for (let i = 0; i < 100; i++) {
    out.write(batch);
    maxQueued = Math.max(maxQueued, out.counters().queued_records!);
  }
  const writeMs = performance.now() - t0;
  let c = out.counters();
  assert.ok(maxQueued <= 1000, `queued ${maxQueued} <= EF_OUTPUT_RISKIQ_QUEUE_SIZE`);
  assert.equal(c.dropped_queue_full, 10_000 - 1000);
  assert.ok(writeMs < 2000, `10 000 records written in ${writeMs.toFixed(0)} ms`);

  // Backoff: 20, 40, 80, 160, 200, 200 ... ms (±20%): a handful of attempts a second, not a tight loop.
  const f0 = c.tcp_connect_failures!;
  await sleep(1000);
  c = out.counters();
  const attempts = c.tcp_connect_failures! - f0;
  assert.ok(f0 >= 1 && attempts >= 3 && attempts <= 15, `connect attempts in 1 s: ${attempts}`);
  // flush() does not hang on a receiver that is down.
  const tf = performance.now();
  await out.flush();
  assert.ok(performance.now() - tf < 1500, 'flush returns while the receiver is down');

  // The receiver comes up: the output reconnects and delivers exactly what it held.
  const got: RiskiqRow[] = [];
  const rx = new RiskiqReceiver({ transport: 'tcp', host: '127.0.0.1', port, keys: new Map([[UUID, KEY]]), onRow: (r) => got.push(r) });
  receivers.push(rx);
  await rx.start();
  await until(() => got.length >= 1000, 3000);
  c = out.counters();
  assert.equal(c.tcp_connects, 1);
  assert.equal(got.length, 1000);
  assert.equal(c.records_sent, 1000);
  assert.equal(c.queued_records, 0);
  // What was held is the first 1000 records, in order.
  assert.deepEqual(got.map((r) => r.dst_port), [...Array(10)].flatMap(() => batch.map((r) => r.dstPort)));

  // The receiver goes away and comes back: a second reconnect.
  await rx.stop();
  receivers.length = 0;
  await sleep(100);
  const rx2 = new RiskiqReceiver({ transport: 'tcp', host: '127.0.0.1', port, keys: new Map([[UUID, KEY]]), onRow: (r) => got.push(r) });
  receivers.push(rx2);
  await rx2.start();
  await until(() => out.counters().tcp_connects === 2, 3000);
  assert.equal(out.counters().tcp_connects, 2, 'reconnected to the restarted receiver');
  out.write(batch);
  await out.flush();
  await until(() => got.length >= 1100, 3000);
  assert.equal(got.length, 1100);
  assert.ok(out.counters().tcp_disconnects! >= 1);
});

test('stopping with the receiver away: what is still queued is dropped, counted, and logged with the drops not reported yet (the counters go with the process)', async () => {
  const port = await closedPort();
  const out = output(port, { queueSize: 500 });
  await out.start();
  out.write(publicBatch(2000));
  const mark = raw.length;
  await out.close();
  const c = out.counters();
  assert.deepEqual([c.dropped_queue_full, c.dropped_shutdown], [1500, 500]);
  const line = raw.slice(mark).map((l) => JSON.parse(l) as { level: string; msg: string; dropped_shutdown?: number }).find((l) => l.msg.startsWith('RiskIQ output: stopped'));
  assert.equal(line?.msg, 'RiskIQ output: stopped with 2000 records dropped since the last report (500 of them still queued at stop, the receiver away)');
  assert.deepEqual([line?.level, line?.dropped_shutdown], ['warn', 500]);
});

test('TCP receiver slow (accepts, never reads): write() stays fast, memory bounded, drops counted; all held frames arrive once it reads', async (t) => {
  const conns: Socket[] = [];
  const chunks: Buffer[] = [];
  const srv: Server = createServer((s) => {
    s.pause();
    conns.push(s);
    s.on('data', (d) => chunks.push(d));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const out = output(port, { queueSize: 5000 });
  t.after(async () => {
    await out.close();
    for (const s of conns) s.destroy();
    await new Promise<void>((r) => srv.close(() => r()));
  });
  await out.start();
  const batch = publicBatch(1000);
  let slowest = 0;
  let maxQueued = 0;
  // 400 000 records, ~37 MB of frames: far more than loopback socket buffers hold.
  for (let i = 0; i < 400; i++) {
    const t = performance.now();
    out.write(batch);
    slowest = Math.max(slowest, performance.now() - t);
    maxQueued = Math.max(maxQueued, out.counters().queued_records!);
    if (i % 20 === 0) await sleep(1);
  }
  const c = out.counters();
  assert.ok(c.dropped_queue_full! > 0, 'records were dropped once the queue was full');
  assert.ok(maxQueued <= 5000, `queued ${maxQueued}`);
  // A write that waited for the socket would wait for good (the receiver reads nothing); the bound
  // leaves room for a garbage collection on a busy machine.
  assert.ok(slowest < 1000, `slowest write of 1000 records: ${slowest.toFixed(1)} ms`);
  assert.equal(c.records_sent! + c.dropped_queue_full! + c.queued_records! + c.inflight_records!, 400_000);

  // Now read: everything handed to the socket, and everything still queued, arrives.
  for (const s of conns) s.resume();
  await out.flush();
  const sent = out.counters().records_sent!;
  const total = () => {
    const all = Buffer.concat(chunks);
    let off = 0;
    let rows = 0;
    while (off + 4 <= all.length) {
      const len = all.readUInt32BE(off);
      if (off + 4 + len > all.length) break;
      rows += all.readUInt16BE(off + 4 + 6);
      off += 4 + len;
    }
    return rows;
  };
  await until(() => total() >= sent, 5000);
  assert.equal(total(), sent);
  assert.equal(sent + out.counters().dropped_queue_full!, 400_000);
});

test('UDP receiver absent: sends fail with ICMP port unreachable, counted as send errors, nothing held', async (t) => {
  const port = await closedPort();
  const out = output(port, { transport: 'udp' });
  t.after(() => out.close());
  await out.start();
  const batch = publicBatch(100);
  for (let i = 0; i < 50; i++) {
    out.write(batch);
    await sleep(1);
  }
  await out.flush();
  const c = out.counters();
  assert.ok(c.dropped_send_error! > 0, 'ECONNREFUSED from loopback is seen and counted');
  assert.equal(c.records_sent! + c.dropped_send_error! + c.dropped_queue_full!, 5000);
  assert.equal(c.queued_records, 0);
});

test('UDP receiver absent at an ordinary pace: the ICMP reports that reach the socket between sends are counted too', async (t) => {
  const port = await closedPort();
  const out = output(port, { transport: 'udp' });
  t.after(() => out.close());
  await out.start();
  const batch = publicBatch(10);
  for (let i = 0; i < 10; i++) {
    out.write(batch);
    await out.flush();
    await sleep(50);
  }
  const c = out.counters();
  // Linux reports most of them to the socket's next read, not to a send: counted as udp_unreachable.
  assert.ok(c.udp_unreachable! > 0, JSON.stringify(c));
  assert.equal(c.records_sent! + c.dropped_send_error! + c.dropped_queue_full!, 100);
});

test('decoding keeps its pace with the receiver refusing: replay throughput with the output on vs off', async () => {
  const pcap = readFileSync(join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap'));
  const port = await closedPort();
  async function run(withRiskiq: boolean): Promise<{ ms: number; records: number; counters: Record<string, number> }> {
    const env: Record<string, string> = withRiskiq
      ? {
        EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_HOST: '127.0.0.1', EF_OUTPUT_RISKIQ_PORT: String(port), EF_OUTPUT_RISKIQ_TRANSPORT: 'tcp',
        EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID, EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY.toString('base64'), EF_OUTPUT_RISKIQ_QUEUE_SIZE: '10000',
      }
      : {};
    const config = testConfig(env);
    const capture = new CaptureOutput();
    const outs = createOutputs({ config, dataDir: config.EF_DATA_DIR });
    const collector = new Collector(config, { outputs: [capture, ...outs] });
    await collector.start();
    const t = performance.now();
    for (let i = 0; i < 3000; i++) collector.replay(pcap);
    const ms = performance.now() - t;
    const counters = outs[0]?.counters() ?? {};
    // stop() must not wait for a receiver that is not there.
    const ts = performance.now();
    await collector.stop();
    assert.ok(performance.now() - ts < 3000, 'stop returns while the receiver is down');
    return { ms, records: capture.records.length, counters };
  }
  await run(false); // warm-up
  const off = await run(false);
  const on = await run(true);
  assert.equal(on.records, off.records);
  assert.equal(on.counters.queued_records! + on.counters.dropped_queue_full!, on.records, 'every record was held or dropped as queue_full');
  assert.ok(on.counters.queued_records! <= 10_000);
  // Generous bound (shared CI machines): the output adds little once its queue is full.
  assert.ok(on.ms < off.ms * 2.5 + 200, `replay of ${on.records} records: ${off.ms.toFixed(0)} ms without, ${on.ms.toFixed(0)} ms with the output`);
  process.stderr.write(`# riskiq: ${on.records} records replayed in ${off.ms.toFixed(0)} ms without, ${on.ms.toFixed(0)} ms with the output (receiver refusing)\n`);
});

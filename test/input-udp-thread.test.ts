import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createMetrics } from '../src/web/metrics.js';
import { Collector } from '../src/collector.js';
import { UdpInput } from '../src/input/udp.js';
import { CaptureOutput, testConfig, until } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';
import { TurnQueue } from '../src/pipeline/turn-queue.js';

test('receive thread: datagrams read on their own thread reach the pipeline in order, from the right exporter, none lost on stop', async () => {
  const capture = new CaptureOutput();
  const config = testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: String(16 << 20) });
  const c = new Collector(config, { outputs: [capture] });
  await c.start();
  const [port] = await c.listen();
  assert.ok(port! > 0, 'the thread reports the ephemeral port it bound');
  const payload = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const sock = await new Promise<dgram.Socket>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.2', () => resolve(s));
  });
  const n = 50;
  for (let i = 0; i < n; i++) {
    const p = Buffer.from(payload);
    p.writeUInt32BE(i, 16); // sequence number: order check below
    await new Promise<void>((r) => sock.send(p, port!, '127.0.0.1', () => r()));
  }
  sock.close();
  await new Promise((r) => setTimeout(r, 200));
  await c.stop();
  assert.equal(capture.records.length, n * 30);
  assert.ok(capture.records.every((r) => r.exporterIp === '127.0.0.2'));
  const seqs = capture.records.map((r) => r.sequence);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  assert.equal(c.pipeline.stats.snapshot().find((x) => x.exporter === '127.0.0.2')?.packets, n);
});

test('receive thread: a port already in use fails start-up with the reason', async () => {
  const holder = dgram.createSocket('udp4');
  const taken = await new Promise<number>((resolve) => holder.bind(0, '127.0.0.1', () => resolve(holder.address().port)));
  const c = new Collector(testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: String(taken), EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: '1048576' }), { outputs: [new CaptureOutput()] });
  await c.start();
  await assert.rejects(c.listen(), /already in use/);
  holder.close();
  await c.stop();
});

test('receive thread: past its queue it drops, and the drops are counted for /metrics (every datagram accounted for)', async () => {
  const capture = new CaptureOutput();
  // Room for about 44 of the 1,464-byte datagrams below while the main thread is held up (the
  // smallest queue allowed: one the largest datagram fits).
  const config = testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: '65536' });
  const c = new Collector(config, { outputs: [capture] });
  await c.start();
  const [port] = await c.listen();
  const payload = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  // The sender is another thread, so it keeps sending while this (main) thread is kept busy.
  const n = 200;
  const sender = new Worker(`
    const dgram = require('node:dgram');
    const { workerData } = require('node:worker_threads');
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.3', async () => {
      for (let i = 0; i < workerData.n; i++) await new Promise((r) => s.send(Buffer.from(workerData.payload), workerData.port, '127.0.0.1', r));
      s.close();
    });`, { eval: true, workerData: { n, payload, port } });
  const until = Date.now() + 700;
  while (Date.now() < until) { /* hold the main thread: the receive thread's queue fills */ }
  await new Promise((r) => sender.once('exit', r));
  await new Promise((r) => setTimeout(r, 1500));
  const received = c.pipeline.stats.snapshot().find((x) => x.exporter === '127.0.0.3')?.packets ?? 0;
  const dropped = c.receiveDropped();
  assert.ok(dropped > 0, 'some dropped');
  assert.equal(received + dropped, n, `received ${received} + dropped ${dropped}`);
  const metrics = await createMetrics(c).metrics();
  assert.match(metrics, new RegExp(`^ufc_udp_receive_dropped_total ${dropped}$`, 'm'));
  // EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY is `auto`: real-time on 2 or more cores where permitted (root).
  const realtime = realtimePermitted() && availableParallelism() >= 2 ? 1 : 0;
  assert.match(metrics, new RegExp(`^ufc_udp_receive_realtime ${realtime}$`, 'm'));
  await c.stop();
});

test('thread messages (turn-queue.ts, the receive and decode threads\' inboxes): handled ones are released even when the queue never runs empty, one a turn, in order', async () => {
  let handled = 0;
  let snapshot: { kept: number; length: number } | null = null;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const order: number[] = [];
  let turns = 0;
  const ticker = (): void => {
    turns++;
    if (handled < 5009) setImmediate(ticker);
  };
  // Sustained overload: a new message arrives for every one handled, so the queue never runs empty.
  const q = new TurnQueue<number>((n) => {
    order.push(n);
    handled++;
    if (handled < 5000) q.push(handled + 9);
    if (handled === 4990) {
      const items = (q as unknown as { items: unknown[] }).items;
      snapshot = { kept: items.filter((m) => m !== undefined).length, length: items.length };
    }
    if (handled === 5009) done();
  });
  for (let i = 0; i < 10; i++) q.push(i);
  setImmediate(ticker);
  await finished;
  assert.ok(snapshot !== null);
  const s = snapshot as { kept: number; length: number };
  assert.ok(s.kept <= 11, `only the messages not yet handled are held (${s.kept})`);
  assert.ok(s.length < 2100, `queue array compacted (length ${s.length})`);
  assert.deepEqual(order, Array.from({ length: 5009 }, (_, i) => i), 'in the order they came');
  assert.ok(turns >= 5000, `other work ran between messages (${turns} turns)`);
  await q.idle();
  assert.equal(q.size, 0);
});

test('receive thread: batches queued from a thread that crashed and from its successor each release their own thread\'s bytes', async () => {
  let handled = 0;
  const u = new UdpInput({ ip: '127.0.0.1', ports: [0], readBufferBytes: 0, receiveThreadBytes: 1 << 20 }, () => handled++);
  const q = u as unknown as { inbox: TurnQueue<unknown> };
  const batch = (counter: Int32Array, bytes: number): unknown => ({
    m: { type: 'datagrams', bytes, batch: { count: 1, data: new ArrayBuffer(8), offsets: Int32Array.of(0), lengths: Int32Array.of(8), ports: Uint16Array.of(2055), receivedAt: Float64Array.of(0), addresses: ['127.0.0.9'] } },
    counter,
  });
  // What each thread counts as handed over and not yet handled (receive-worker.ts stops reading past its limit).
  const crashed = new Int32Array(new SharedArrayBuffer(4));
  const successor = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(crashed, 0, 3 * 100);
  Atomics.store(successor, 0, 2 * 700);
  for (let i = 0; i < 3; i++) q.inbox.push(batch(crashed, 100));
  for (let i = 0; i < 2; i++) q.inbox.push(batch(successor, 700));
  await q.inbox.idle();
  assert.equal(handled, 5);
  assert.equal(Atomics.load(crashed, 0), 0, 'the crashed thread\'s batches released its bytes');
  assert.equal(Atomics.load(successor, 0), 0, 'the successor\'s batches released its own');
});

/**
 * Whether this process may put a thread in SCHED_FIFO at priority 10, by the kernel's rules (sched(7)):
 * CAP_SYS_NICE (bit 23 of CapEff), or a soft RLIMIT_RTPRIO of at least 10. Root in a container may
 * lack the first; a non-root user may have the second.
 */
function realtimePermitted(): boolean {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (capEff !== null && (BigInt(`0x${capEff[1]}`) >> 23n) & 1n) return true;
  const rtprio = /^Max realtime priority\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return rtprio !== null && (rtprio[1] === 'unlimited' || Number(rtprio[1]) >= 10);
}

/** Scheduling policy of one of this process's threads: 0 normal, 1 SCHED_FIFO (from the kernel, not from ufc). */
const policyOf = (tid: number): number => Number(/^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/self/task/${tid}/sched`, 'utf8'))![1]);

test('receive thread: real-time scheduling when asked and permitted (this thread only), normal when not asked or on one core', async (t) => {
  const started: UdpInput[] = [];
  const start = async (receivePriority: 'auto' | 'realtime' | 'normal', cores: number, onDatagram: (b: Buffer) => void = () => {}): Promise<UdpInput> => {
    const u = new UdpInput({ ip: '127.0.0.1', ports: [0], readBufferBytes: 1 << 16, receiveThreadBytes: 1 << 20, receivePriority, cores }, onDatagram);
    started.push(u);
    await u.start();
    return u;
  };
  // Stopped whatever the outcome: a thread left running would keep the test process alive.
  t.after(() => Promise.all(started.map((u) => u.stop())));
  const rt = await start('realtime', 2);
  const s = rt.receiveScheduling!;
  assert.ok(s.tid !== null && s.tid !== process.pid, 'the receive thread reports its own kernel thread id');
  const permitted = realtimePermitted();
  if (permitted) {
    assert.equal(s.realtime, true, s.refused);
    assert.equal(policyOf(s.tid), 1, 'SCHED_FIFO per the kernel');
    assert.match(readFileSync(`/proc/self/task/${s.tid}/sched`, 'utf8'), /^prio\s*:\s*89$/m, 'priority 10 (the kernel shows 99 - 10)');
  } else {
    assert.equal(s.realtime, false);
    assert.ok((s.refused ?? '').length > 0, 'the refusal says why');
    assert.equal(policyOf(s.tid!), 0);
  }
  assert.equal(policyOf(process.pid), 0, 'the main thread keeps the normal class');
  // The receive thread still receives.
  const got: string[] = [];
  const rx = await start('auto', 2, (b) => got.push(b.toString()));
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.send('hello', rx.boundPorts()[0]!, '127.0.0.1', () => r()));
  sock.close();
  await until(() => got.length > 0, 2000);
  assert.deepEqual(got, ['hello'], 'a lone datagram is handed over without waiting for a full batch');
  assert.equal(rx.receiveScheduling!.realtime, permitted, '`auto` asks for real-time on 2 cores');
  for (const [priority, cores] of [['auto', 1], ['normal', 2]] as const) {
    const u = await start(priority, cores);
    assert.equal(u.receiveScheduling!.realtime, false, `${priority} on ${cores} core(s)`);
    assert.equal(u.receiveScheduling!.refused, undefined, 'not asked, so not refused');
    assert.equal(policyOf(u.receiveScheduling!.tid!), 0);
  }
});

test('receive thread: one that stops on its own is started again on the same port, counted for /metrics', async () => {
  const capture = new CaptureOutput();
  const c = new Collector(testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: '1048576' }), { outputs: [capture] });
  await c.start();
  const [port] = await c.listen();
  const payload = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const sock = dgram.createSocket('udp4');
  const send = (): Promise<void> => new Promise<void>((r) => sock.send(payload, port!, '127.0.0.1', () => r()));
  try {
    for (let i = 0; i < 3; i++) await send();
    await new Promise((r) => setTimeout(r, 200));
    await c.flush();
    assert.equal(capture.records.length, 3 * 30);
    // From the input's side a crash and terminate() look the same: the thread exits, its sockets close.
    const udp = (c as unknown as { udp: { worker: Worker; boundPorts(): number[]; restartTimer: NodeJS.Timeout | null } }).udp;
    await udp.worker.terminate();
    await until(() => c.receiveRestarts() > 0);
    assert.equal(c.receiveRestarts(), 1);
    // With the sockets gone, the restart's timer is what keeps a process with nothing else from exiting.
    assert.equal(udp.restartTimer?.hasRef(), true, 'the restart timer holds the process');
    assert.equal((udp as unknown as { receiveScheduling: unknown }).receiveScheduling, null, 'the dead thread\'s scheduling went with it');
    assert.match(await createMetrics(c).metrics(), /^ufc_udp_receive_realtime 0$/m, 'no thread, so not real-time (not the dead one\'s state)');
    assert.equal(c.receiveRealtime(), false);
    // It ran for less than 10 s, so it comes back after a 1 s pause: probe until a datagram gets through.
    const before = capture.records.length;
    for (let i = 0; i < 50 && capture.records.length === before; i++) {
      await send();
      await new Promise((r) => setTimeout(r, 100));
      await c.flush();
    }
    assert.ok(capture.records.length > before, 'received again');
    assert.deepEqual(udp.boundPorts(), [port], 'on the port it had');
    const after = capture.records.length;
    for (let i = 0; i < 3; i++) await send();
    await new Promise((r) => setTimeout(r, 200));
    await c.flush();
    assert.equal(capture.records.length - after, 3 * 30);
    assert.match(await createMetrics(c).metrics(), /^ufc_udp_receive_restarts_total 1$/m);
    assert.notEqual((udp as unknown as { receiveScheduling: unknown }).receiveScheduling, null, 'the successor reports its own');
  } finally {
    sock.close();
    await c.stop();
  }
});

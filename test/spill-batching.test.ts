/** BatchingOutput with and without spill: outage, order, exactly once, restart, memory-only policy. */
import { test } from 'node:test';
import { createLogger, setLogger } from '../src/log/logger.js';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlowRecord } from '../src/record/flow-record.js';
import { BatchingOutput, type BatchingOptions } from '../src/output/batching.js';
import { tempDir } from './helpers/collect.js';
import { SpillLog } from '../src/output/spill/segment-log.js';

/** A target that can be taken down; keeps what it accepted. */
class FakeTarget extends BatchingOutput {
  readonly name = 'fake';
  down = false;
  readonly got: FlowRecord[] = [];
  sends = 0;
  constructor(opts: BatchingOptions) {
    super(opts);
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    this.sends++;
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:1 (test)');
    for (const r of batch) this.got.push(r);
  }
}

const EXPORTERS = ['192.0.2.1', '192.0.2.2', '198.51.100.7'];

function makeBatch(next: Map<string, number>, n: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const e = EXPORTERS[i % EXPORTERS.length]!;
    const r = new FlowRecord();
    r.exporterIp = e;
    const s = next.get(e) ?? 0;
    r.sequence = s;
    next.set(e, s + 1);
    r.bytes = 1000 + s;
    out.push(r);
  }
  return out;
}

/** Every record exactly once and, per exporter, in order. */
function assertExactlyOnceInOrder(got: readonly FlowRecord[], next: Map<string, number>): void {
  const seen = new Map<string, number>();
  for (const r of got) {
    const want = seen.get(r.exporterIp) ?? 0;
    assert.equal(r.sequence, want, `exporter ${r.exporterIp}: expected sequence ${want}, got ${r.sequence}`);
    seen.set(r.exporterIp, want + 1);
  }
  for (const [e, n] of next) assert.equal(seen.get(e) ?? 0, n, `exporter ${e}: all ${n} records`);
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const tmp = (): string => tempDir('ufc-spillq-');

test('without spill: a full memory queue drops and counts, as before', async () => {
  const o = new FakeTarget({ batchMax: 10, deadlineMs: 5, queueMax: 50 });
  o.down = true;
  const next = new Map<string, number>();
  for (let i = 0; i < 10; i++) o.write(makeBatch(next, 10));
  const c = o.counters();
  assert.equal(c.spilled, undefined, 'no spill counters');
  // 10 sent to the failing target first, the queue then holds up to 50.
  assert.ok(c.dropped_queue_full! >= 40, `dropped ${c.dropped_queue_full}`);
  o.down = false;
  await o.close();
  assert.equal(o.got.length + o.counters().dropped_queue_full!, 100);
});

test('with spill: an outage loses nothing; every record arrives exactly once, in order per exporter', async () => {
  const dir = tmp();
  const o = new FakeTarget({ batchMax: 50, deadlineMs: 5, queueMax: 200, spill: { dir, maxBytes: 64 << 20 } });
  await o.start();
  const next = new Map<string, number>();
  // Healthy, then down for a while (writes continue), then back.
  for (let i = 0; i < 20; i++) o.write(makeBatch(next, 17));
  await until(() => o.got.length === 340, 5000);
  o.down = true;
  for (let i = 0; i < 200; i++) {
    o.write(makeBatch(next, 17));
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 20));
  }
  const mid = o.counters();
  assert.ok(mid.spilled! > 0, 'records went to disk');
  assert.ok(mid.failures! > 0);
  assert.equal(mid.dropped_queue_full, 0);
  assert.ok(readdirSync(dir).some((n) => n.endsWith('.seg')), 'segment files exist');
  o.down = false;
  for (let i = 0; i < 30; i++) o.write(makeBatch(next, 17));
  const total = 250 * 17;
  await until(() => o.got.length >= total, 30_000);
  await o.close();
  assert.equal(o.got.length, total);
  assertExactlyOnceInOrder(o.got, next);
  const c = o.counters();
  assert.equal(c.spill_pending, 0);
  assert.equal(c.spill_dropped, 0);
  assert.equal(c.sent, total);
});

test('with spill: a full memory queue with a slow target goes to disk, not dropped', async () => {
  const dir = tmp();
  const o = new FakeTarget({ batchMax: 20, deadlineMs: 5, queueMax: 40, spill: { dir, maxBytes: 64 << 20 } });
  const next = new Map<string, number>();
  for (let i = 0; i < 100; i++) o.write(makeBatch(next, 10));
  assert.ok(o.counters().spilled! > 0);
  await o.flush();
  assert.equal(o.got.length, 1000);
  assertExactlyOnceInOrder(o.got, next);
  await o.close();
});

test('with spill: close while the target is down keeps everything on disk; a restarted output replays it first', async () => {
  const dir = tmp();
  const a = new FakeTarget({ batchMax: 30, deadlineMs: 5, queueMax: 1000, spill: { dir, maxBytes: 64 << 20 } });
  await a.start();
  const next = new Map<string, number>();
  for (let i = 0; i < 5; i++) a.write(makeBatch(next, 30));
  await until(() => a.got.length === 150, 5000);
  a.down = true;
  for (let i = 0; i < 20; i++) a.write(makeBatch(next, 30)); // some in memory, then on disk after the failure
  await a.close();
  const sentBefore = a.got.length;
  assert.equal(a.counters().spill_pending, 750 - sentBefore, 'the rest is on disk');

  const b = new FakeTarget({ batchMax: 30, deadlineMs: 5, queueMax: 1000, spill: { dir, maxBytes: 64 << 20 } });
  await b.start();
  for (let i = 0; i < 3; i++) b.write(makeBatch(next, 30)); // new data must queue behind the replay
  await until(() => b.got.length === 840 - sentBefore, 10_000);
  await b.close();
  assert.equal(b.counters().spill_recovered, 750 - sentBefore);
  assertExactlyOnceInOrder([...a.got, ...b.got], next);
});

test('with spill: past the disk cap the oldest are dropped and counted; the rest arrive in order', async () => {
  const dir = tmp();
  const o = new FakeTarget({ batchMax: 50, deadlineMs: 5, queueMax: 100, spill: { dir, maxBytes: 96 * 1024 } });
  o.down = true;
  const next = new Map<string, number>();
  const total = 6000;
  for (let i = 0; i < total / 20; i++) o.write(makeBatch(next, 20));
  await new Promise((r) => setTimeout(r, 50));
  const c = o.counters();
  assert.ok(c.spill_dropped! > 0, 'some dropped');
  assert.ok(c.spill_bytes! <= 96 * 1024, `disk use ${c.spill_bytes}`);
  o.down = false;
  await until(() => o.got.length + o.counters().spill_dropped! === total, 30_000);
  await o.close();
  const end = o.counters();
  assert.equal(o.got.length + end.spill_dropped!, total, 'delivered + dropped = written');
  // The newest survive; per exporter what arrives is increasing and ends with the last written.
  const last = new Map<string, number>();
  for (const r of o.got) {
    const prev = last.get(r.exporterIp) ?? -1;
    assert.ok(r.sequence > prev, 'in order');
    last.set(r.exporterIp, r.sequence);
  }
  for (const [e, n] of next) assert.equal(last.get(e), n - 1, `${e}: newest kept`);
});

test('with spill: an outage burst larger than the cap, moved from memory at once, keeps its newest records up to the cap; the drops are logged, and the stop says what waits on disk', async () => {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  try {
    const dir = tmp();
    const o = new FakeTarget({ batchMax: 10_000, deadlineMs: 50, queueMax: 10_000, spill: { dir, maxBytes: 300 << 10 } });
    await o.start();
    o.down = true;
    const next = new Map<string, number>();
    // All in memory before the first send (and its failure) moves them to disk together.
    for (let i = 0; i < 60; i++) o.write(makeBatch(next, 100));
    await until(() => (o.counters().spill_pending ?? 0) + (o.counters().spill_dropped ?? 0) === 6000, 5000);
    const c = o.counters();
    assert.ok(c.spill_pending! > 500 && c.spill_bytes! <= 300 << 10, JSON.stringify(c));
    assert.ok(lines.some((l) => l.includes(`fake output: ${c.spill_dropped} records dropped, the oldest first: the spill directory ${dir} reached its cap of ${300 << 10} bytes`)), lines.join('\n'));
    await o.close(100);
    assert.ok(lines.some((l) => l.includes(`fake output: ${c.spill_pending} records spilled while the target was away wait in the spill directory ${dir} for the next start`)), lines.join('\n'));
    // What waits is the newest: the next start delivers each exporter's last records, in order.
    const b = new FakeTarget({ batchMax: 1000, deadlineMs: 5, queueMax: 10_000, spill: { dir, maxBytes: 300 << 10 } });
    await b.start();
    await until(() => b.got.length === c.spill_pending, 10_000);
    await b.close();
    for (const [e, n] of next) assert.equal(b.got.filter((r) => r.exporterIp === e).at(-1)?.sequence, n - 1, `${e}: newest kept`);
  } finally {
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
});

test('with spill, a stop whose records the cap takes at once: the stop\'s lines say what is on disk, not what was written to it', async () => {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  try {
    const dir = tmp();
    class Hung extends FakeTarget {
      protected override send(): Promise<void> {
        return new Promise(() => undefined);
      }
    }
    const o = new Hung({ batchMax: 1000, deadlineMs: 5, queueMax: 1000, spill: { dir, maxBytes: 256 << 10 } });
    await o.start();
    const next = new Map<string, number>();
    o.write(makeBatch(next, 1000));
    await until(() => o.counters().inflight === 1000, 5000);
    o.write(makeBatch(next, 1000));
    for (let i = 0; i < 40; i++) o.write(makeBatch(next, 1000));
    await o.close(100);
    const c = o.counters();
    const said = (re: RegExp): number => lines.map((l) => re.exec(l)).reduce((t, m) => t + (m === null ? 0 : Number(m[1])), 0);
    const kept = said(/stopped with (\d+) records the target did not take/);
    const earlier = said(/(\d+) records spilled while the target was away wait/);
    assert.equal(kept + earlier, c.spill_pending, lines.join('\n'));
    assert.equal(c.spill_pending! + c.spill_dropped!, 42_000, 'every record on disk or dropped at the cap');
    assert.equal(c.dropped_retries, 0, 'nothing counted twice');
    assert.ok(lines.some((l) => l.includes('records dropped, the oldest first')), lines.join('\n'));
    const again = new SpillLog({ dir, maxBytes: 256 << 10 });
    assert.equal(again.pendingRecords, c.spill_pending);
    again.close();
  } finally {
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
});

test('without a spill, a stop while the target keeps failing ends at its deadline: what is left is counted as dropped', async () => {
  const t = new FakeTarget({ batchMax: 10, deadlineMs: 5, queueMax: 1000 });
  await t.start();
  t.down = true;
  const batch = Array.from({ length: 95 }, () => new FlowRecord());
  t.write(batch);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await t.close(300);
  assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
  assert.equal(t.got.length, 0);
  assert.equal(t.counters().dropped_retries, 95, 'every record counted: the failing batch and the queue behind it');
  assert.equal(t.counters().queued, 0);
});

test('a spill that cannot be written (its directory gone) loses nothing: memory is kept and delivered when the target is back', async () => {
  const dir = tempDir('ufc-spill-');
  const t = new FakeTarget({ batchMax: 10, deadlineMs: 5, queueMax: 100, spill: { dir, maxBytes: 1 << 20 } });
  await t.start();
  // The disk fails from the start (the directory is gone, as a failed mount would leave it).
  const { rmSync } = await import('node:fs');
  rmSync(dir, { recursive: true, force: true });
  const next = new Map<string, number>();
  t.down = true;
  for (let i = 0; i < 10; i++) t.write(makeBatch(next, 5));
  await until(() => t.counters().failures >= 3, 5000);
  t.down = false;
  await until(() => t.got.length >= 50, 10_000);
  await t.close();
  assertExactlyOnceInOrder(t.got, next);
  assert.equal(t.got.length, 50);
  assert.equal(t.counters().spill_errors, 0, 'nothing was dropped for the disk');
});

test('a stop does not wait for a send that never ends (a server that accepted and stays silent): its records are counted as dropped', async () => {
  class Silent extends FakeTarget {
    protected override async send(): Promise<void> {
      await new Promise(() => undefined);
    }
  }
  const t = new Silent({ batchMax: 10, deadlineMs: 5, queueMax: 1000 });
  await t.start();
  t.write(Array.from({ length: 25 }, () => new FlowRecord()));
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await t.close(300);
  const took = Date.now() - t0;
  assert.ok(took < 5000, `closed after ${took} ms`);
  assert.equal(t.counters().dropped_retries, 25, 'the batch under way and the rest of the queue');
});

test('with a spill, a stop while the target is slow keeps what memory holds, and the batch it gave up on, on disk: the next start delivers all of it in order', async () => {
  const dir = tempDir('ufc-spill-');
  class Slow extends FakeTarget {
    slow = true;
    protected override async send(batch: FlowRecord[]): Promise<void> {
      // Accepts nothing while slow: the request is still under way when the stop gives up on it.
      if (this.slow) await new Promise(() => undefined);
      return super.send(batch);
    }
  }
  const opts = { batchMax: 10, deadlineMs: 5, queueMax: 10, spill: { dir, maxBytes: 1 << 20 } };
  const t = new Slow(opts);
  await t.start();
  const next = new Map<string, number>();
  t.write(makeBatch(next, 10)); // in flight, never answered
  await new Promise((r) => setTimeout(r, 20));
  t.write(makeBatch(next, 6)); // held in memory
  t.write(makeBatch(next, 9)); // past the memory queue: to disk
  await t.close(200);
  const c = t.counters();
  assert.equal(c.dropped_retries, 0, 'nothing counted as lost');
  assert.equal(c.spill_pending, 25, 'the batch in flight, memory and the disk, all kept');
  const again = new FakeTarget(opts);
  await again.start();
  await until(() => again.got.length === 25, 5000);
  await again.close();
  assertExactlyOnceInOrder(again.got, next);
});

test('a delivered batch whose spill cursor cannot be saved is still a delivery: counted as sent, not as a failure', async () => {
  const dir = tempDir('ufc-spill-');
  const t = new FakeTarget({ batchMax: 10, deadlineMs: 5, queueMax: 10, spill: { dir, maxBytes: 1 << 20 } });
  await t.start();
  const next = new Map<string, number>();
  t.down = true;
  for (let i = 0; i < 3; i++) t.write(makeBatch(next, 10));
  await until(() => t.counters().spill_pending === 30, 5000);
  // The cursor is saved through cursor.json.tmp: a directory there makes every save fail.
  mkdirSync(join(dir, 'cursor.json.tmp'));
  const failures = t.counters().failures;
  t.down = false;
  await until(() => t.got.length === 30, 10_000);
  await t.close();
  const c = t.counters();
  assert.equal(c.sent, 30);
  assert.equal(c.failures, failures, 'no send failed');
  assert.ok(c.spill_cursor_errors! >= 1, JSON.stringify(c));
  assertExactlyOnceInOrder(t.got, next);
});

test('a spill directory that cannot be opened is tried again, and used once it can be; meanwhile memory holds the larger queue', async () => {
  const parent = tempDir('ufc-spill-');
  const dir = join(parent, 'spill');
  writeFileSync(dir, 'a file where the directory should be');
  const t = new FakeTarget({ batchMax: 10, deadlineMs: 5, queueMax: 10, queueMaxWithoutSpill: 50, spill: { dir, maxBytes: 1 << 20 } });
  await t.start();
  t.down = true;
  const next = new Map<string, number>();
  for (let i = 0; i < 4; i++) t.write(makeBatch(next, 10));
  assert.equal(t.counters().dropped_queue_full, 0, 'the memory-only queue takes 40');
  rmSync(dir);
  // The next try is due 30 s after the failure: move the clock on rather than wait.
  const now = Date.now;
  Date.now = () => now() + 31_000;
  try {
    t.write(makeBatch(next, 10));
    assert.ok(readdirSync(dir).length > 0, 'the spill directory is in use');
  } finally {
    Date.now = now;
  }
  t.down = false;
  await until(() => t.got.length === 50, 10_000);
  await t.close();
  assertExactlyOnceInOrder(t.got, next);
});

test('without a spill, a batch waiting to be sent again counts as in flight: the counters add up to what was written while the target is down', async () => {
  const o = new FakeTarget({ batchMax: 100, deadlineMs: 5, queueMax: 1000, maxRetries: 100 });
  await o.start();
  try {
    o.down = true;
    o.write(makeBatch(new Map(), 40));
    const end = Date.now() + 5000;
    while (o.counters().failures! < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const c = o.counters();
    assert.ok(c.failures! >= 2);
    assert.equal(c.queued! + c.inflight! + c.sent! + c.dropped_retries!, 40, JSON.stringify(c));
    o.down = false;
    await o.flush();
    assert.deepEqual([o.counters().sent, o.counters().inflight], [40, 0]);
  } finally {
    await o.close();
  }
});

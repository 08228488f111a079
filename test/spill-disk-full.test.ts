/**
 * A spill whose disk fills up under a running output (also part-way through a batch): what the disk
 * does not take waits in memory up to the memory-only queue, the disk is tried again after a pause,
 * every record is counted once, and order is kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { FlowRecord } from '../src/record/flow-record.js';
import { BatchingOutput, type BatchingOptions } from '../src/output/batching.js';
import { tempDir } from './helpers/collect.js';

/** A target that can be taken down; keeps what it accepted. */
class FakeTarget extends BatchingOutput {
  readonly name = 'fake';
  down = false;
  readonly got: FlowRecord[] = [];
  constructor(opts: BatchingOptions) {
    super(opts);
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:1 (test)');
    for (const r of batch) this.got.push(r);
  }
}

/** Records numbered on from `next.n`, one exporter, so order and gaps show in the sequence. */
function records(next: { n: number }, count: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = new FlowRecord();
    r.exporterIp = '192.0.2.1';
    r.sequence = next.n++;
    r.bytes = 1000;
    out.push(r);
  }
  return out;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sequences(got: readonly FlowRecord[]): number[] {
  return got.map((r) => r.sequence);
}

/**
 * A disk that takes `bytes` more bytes of file writes (descriptors past stdio), a last write cut short
 * included, and then fails them with ENOSPC, as a full one does. Infinity: room again.
 */
class FullDisk {
  private readonly real = fs.writeSync;
  bytes = Infinity;
  constructor() {
    const real = this.real;
    fs.writeSync = ((fd: number, buf: NodeJS.ArrayBufferView, off?: number, len?: number, pos?: number | null) => {
      if (fd <= 2 || this.bytes === Infinity) return real(fd, buf, off, len, pos);
      const want = len ?? buf.byteLength - (off ?? 0);
      if (this.bytes <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      const n = real(fd, buf, off, Math.min(want, this.bytes), pos);
      this.bytes -= n;
      return n;
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
  }
  restore(): void {
    fs.writeSync = this.real;
    syncBuiltinESMExports();
  }
}

/** Moves the clock `ms` on for what runs in `f` (the spill's write retry waits on it). */
function later<T>(ms: number, f: () => T): T {
  const now = Date.now;
  Date.now = () => now() + ms;
  try {
    return f();
  } finally {
    Date.now = now;
  }
}

const opts = (dir: string): BatchingOptions => ({ batchMax: 10, deadlineMs: 5, queueMax: 10, queueMaxWithoutSpill: 50, spill: { dir, maxBytes: 1 << 20 } });

test('a full spill disk while the target is down: records wait in memory up to the memory-only queue, the disk is tried again after a pause, and nothing is lost below that bound', async () => {
  const disk = new FullDisk();
  const t = new FakeTarget(opts(tempDir('ufc-spillw-')));
  try {
    await t.start();
    const next = { n: 0 };
    t.down = true;
    t.write(records(next, 10));
    await until(() => t.counters().spill_pending === 10, 5000, 'the failed batch on disk');
    disk.bytes = 0;
    for (let i = 0; i < 8; i++) t.write(records(next, 10));
    let c = t.counters();
    assert.equal(c.queued, 50, `the memory-only queue holds what the disk did not take: ${JSON.stringify(c)}`);
    assert.equal(c.dropped_queue_full, 30, `dropped past it, and only past it: ${JSON.stringify(c)}`);
    assert.equal(c.spill_errors, 1, `one failed write: the disk is not tried again for every batch: ${JSON.stringify(c)}`);
    disk.bytes = Infinity;
    // Not yet time to try the disk again: still memory (and dropped past its bound).
    t.write(records(next, 10));
    assert.equal(t.counters().spilled, 10, 'the disk is not written to before its retry is due');
    assert.equal(t.counters().dropped_queue_full, 40, 'past the memory-only queue, dropped');
    // Once due, what waited in memory goes to disk first, then the new batch.
    later(6000, () => t.write(records(next, 10)));
    c = t.counters();
    assert.equal(c.queued, 0, `memory moved to disk: ${JSON.stringify(c)}`);
    assert.equal(c.spill_pending, 70, `on disk: the first batch, the 50 held and the new one: ${JSON.stringify(c)}`);
    t.down = false;
    await until(() => t.got.length === 70, 10_000, 'delivery');
    const want = [...Array.from({ length: 60 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 100 + i)];
    assert.deepEqual(sequences(t.got), want, 'in order, the dropped ones missing');
  } finally {
    disk.restore();
    await t.close();
  }
});

test('a full spill disk when the target comes back: the records on disk are sent before those memory held for it (they are older)', async () => {
  const disk = new FullDisk();
  const t = new FakeTarget(opts(tempDir('ufc-spillw-')));
  try {
    await t.start();
    const next = { n: 0 };
    t.down = true;
    t.write(records(next, 10));
    await until(() => t.counters().spill_pending === 10, 5000, 'the failed batch on disk');
    t.write(records(next, 10));
    assert.equal(t.counters().spill_pending, 20, 'the target is down: new records go to disk');
    disk.bytes = 0;
    for (let i = 0; i < 3; i++) t.write(records(next, 10));
    assert.equal(t.counters().queued, 30, 'the disk full: held in memory');
    t.down = false;
    await until(() => t.got.length === 50, 10_000, 'delivery');
    assert.deepEqual(sequences(t.got), Array.from({ length: 50 }, (_, i) => i), 'disk first, then memory: in the order written');
    const c = t.counters();
    assert.equal(c.dropped_queue_full, 0, `nothing dropped: ${JSON.stringify(c)}`);
  } finally {
    disk.restore();
    await t.close();
  }
});

test('a spill disk that fills part-way through a batch: the records it took are on disk, the rest in memory, each counted once and delivered once', async () => {
  const disk = new FullDisk();
  // Entries of 10 records (batchMax): a 50-record batch is five entries.
  const t = new FakeTarget(opts(tempDir('ufc-spillw-')));
  try {
    await t.start();
    const next = { n: 0 };
    t.down = true;
    t.write(records(next, 10));
    await until(() => t.counters().spill_pending === 10, 5000, 'the failed batch on disk');
    // Appended to a segment of its own, left open: the next append adds entries to it, no header.
    const b0 = t.counters().spill_bytes!;
    t.write(records(next, 10));
    const b1 = t.counters().spill_bytes!;
    t.write(records(next, 10));
    const entry = t.counters().spill_bytes! - b1;
    assert.ok(entry > 0 && b1 - b0 > entry, `entry ${entry} bytes, segment header and entry ${b1 - b0}`);
    // Room for two entries and a half: the third is cut short and cut off again.
    disk.bytes = Math.floor(entry * 2.5);
    t.write(records(next, 50));
    const c = t.counters();
    assert.equal(c.spilled, 50, `the first two entries of the batch spilled: ${JSON.stringify(c)}`);
    assert.equal(c.queued, 30, `the rest held in memory: ${JSON.stringify(c)}`);
    assert.equal(c.spilled! + c.queued!, 80, 'written = spilled + held: every record counted once');
    disk.bytes = Infinity;
    t.down = false;
    await until(() => t.got.length === 80, 10_000, 'delivery');
    await t.flush();
    assert.deepEqual(sequences(t.got), Array.from({ length: 80 }, (_, i) => i), 'each once, in order');
    assert.equal(t.counters().spill_corrupt, 0, 'the cut entry left nothing damaged behind');
  } finally {
    disk.restore();
    await t.close();
  }
});


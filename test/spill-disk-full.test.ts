/**
 * A spill whose disk fills up under a running output (also part-way through a batch): what the disk
 * does not take waits in memory up to the memory-only queue, the disk is tried again after a pause,
 * every record is counted once, and order is kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTarget, firstBatchOnDisk, FullDisk, later, opts, records, sequences, until } from './helpers/spill-target.js';
import { tempDir } from './helpers/collect.js';

/** Runs `f` on a started target whose spill's disk it can fill; the disk has room again and the target is closed after. */
async function withFullDisk(f: (t: FakeTarget, disk: FullDisk) => Promise<void>): Promise<void> {
  const disk = new FullDisk();
  const t = new FakeTarget(opts(tempDir('ufc-spillw-')));
  try {
    await t.start();
    await f(t, disk);
  } finally {
    disk.restore();
    await t.close();
  }
}

test('a full spill disk while the target is down: records wait in memory up to the memory-only queue, the disk is tried again after a pause, and nothing is lost below that bound', () => withFullDisk(async (t, disk) => {
  const next = { n: 0 };
  await firstBatchOnDisk(t, next);
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
}));

test('a full spill disk when the target comes back: the records on disk are sent before those memory held for it (they are older)', () => withFullDisk(async (t, disk) => {
  const next = { n: 0 };
  await firstBatchOnDisk(t, next);
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
}));

test('a spill disk that fills part-way through a batch: the records it took are on disk, the rest in memory, each counted once and delivered once', () => withFullDisk(async (t, disk) => {
  // Entries of 10 records (batchMax): a 50-record batch is five entries.
  const next = { n: 0 };
  await firstBatchOnDisk(t, next);
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
}));

/**
 * A batch the spill refused (its disk full) while the target fails is neither delivered nor on disk:
 * flush() must not return while it is in flight, and at a stop it gets the same last try at the disk
 * as the newer records held for it, before them, instead of being dropped while they are kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeTarget, firstBatchOnDisk, FullDisk, opts, records, until } from './helpers/spill-target.js';
import { tempDir } from './helpers/collect.js';

test('the rest of a partly taken batch from disk, refused by a full spill: flush() waits for it, and the stop keeps it on disk before the newer held records', async () => {
  const dir = tempDir('ufc-spill-flush-');
  const disk = new FullDisk();
  const t = new FakeTarget(opts(dir));
  const next = { n: 0 };
  try {
    await t.start();
    await firstBatchOnDisk(t, next);
    t.write(records(next, 10));
    assert.equal(t.counters().spill_pending, 20, 'the target is down: the next batch to disk too');
    // The target takes 5 of the oldest batch and fails again; the disk is full for the other 5.
    disk.bytes = 0;
    t.partial = 5;
    t.down = false;
    await until(() => t.counters().spill_errors === 1, 10_000, 'the rest refused by the spill');
    assert.equal(t.got.length, 5, 'the first 5 delivered');
    assert.equal(t.counters().inflight, 5, `the rest in flight: ${JSON.stringify(t.counters())}`);
    const flushed = await Promise.race([t.flush().then(() => 'returned'), new Promise((r) => setTimeout(r, 400)).then(() => 'waiting')]);
    assert.equal(flushed, 'waiting', 'flush() does not return with 5 records neither delivered nor on disk');
    // Newer records while the disk is refused: held for it, behind the 10 still there.
    t.write(records(next, 10));
    assert.equal(t.counters().queued, 10, `held: ${JSON.stringify(t.counters())}`);
    // Room again, but within the 5 s before the disk is written to again: only the stop writes now.
    disk.bytes = Infinity;
  } finally {
    await t.close(300);
    disk.restore();
  }
  const c = t.counters();
  assert.equal(c.dropped_retries, 0, `nothing dropped at the stop: ${JSON.stringify(c)}`);
  assert.equal(c.spill_pending, 25, `the 5 and the 10 held joined the 10 on disk: ${JSON.stringify(c)}`);
  assert.equal(c.sent! + c.spill_pending! + c.dropped_retries! + c.dropped_queue_full!, 30, `every record counted once: ${JSON.stringify(c)}`);
  // The next start delivers them, oldest first.
  const u = new FakeTarget(opts(dir));
  try {
    await u.start();
    await until(() => u.got.length === 25, 10_000, 'the replay');
    await u.flush();
  } finally {
    await u.close(300);
  }
  assert.deepEqual([...t.got, ...u.got].map((r) => r.sequence), Array.from({ length: 30 }, (_, i) => i), 'each once, in order');
});

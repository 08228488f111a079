/**
 * A spill directory removed under a running output: made again (and locked) at the next write, and
 * the records that went with it counted as lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FakeTarget, firstBatchOnDisk, opts, records, sequences, until } from './helpers/spill-target.js';
import { tempDir } from './helpers/collect.js';

test('a spill directory removed while the target is down is made again (and locked) on the next write; what it held is counted as lost, not to the cap', async () => {
  const parent = tempDir('ufc-spillw-');
  const dir = join(parent, 'sp2', 'spill', 'x');
  const t = new FakeTarget(opts(dir));
  try {
    await t.start();
    const next = { n: 0 };
    // Moved to disk by the failed send, in a segment of its own, closed: the next write makes a file.
    await firstBatchOnDisk(t, next);
    rmSync(join(parent, 'sp2', 'spill'), { recursive: true, force: true });
    for (let i = 0; i < 3; i++) t.write(records(next, 10));
    assert.ok(existsSync(dir), 'the spill directory made again');
    assert.ok(existsSync(join(dir, 'spill.lock')), 'and locked again');
    assert.equal(readFileSync(join(dir, 'spill.lock'), 'utf8').split(' ')[0], String(process.pid), 'by this process');
    let c = t.counters();
    assert.equal(c.spill_errors, 0, `no write failed: ${JSON.stringify(c)}`);
    assert.equal(c.spill_pending, 30, `the new records on disk: ${JSON.stringify(c)}`);
    assert.equal(c.spill_dropped_damaged, 10, `the removed ones counted as lost: ${JSON.stringify(c)}`);
    t.down = false;
    await until(() => t.got.length === 30, 10_000, 'delivery');
    await t.flush();
    assert.deepEqual(sequences(t.got), Array.from({ length: 30 }, (_, i) => 10 + i), 'what was written after the removal, in order');
    c = t.counters();
    assert.equal(c.spill_dropped, 10, `spill_dropped counts them too: ${JSON.stringify(c)}`);
  } finally {
    await t.close();
  }
});

test('a spill directory removed while a segment is open for appending: what comes next goes to the directory made again, not to the removed file', async () => {
  const parent = tempDir('ufc-spillw-');
  const dir = join(parent, 'spill');
  const t = new FakeTarget(opts(dir));
  try {
    await t.start();
    const next = { n: 0 };
    await firstBatchOnDisk(t, next);
    t.write(records(next, 10)); // appended: a segment left open
    rmSync(dir, { recursive: true, force: true });
    t.write(records(next, 10));
    assert.ok(readdirSync(dir).some((n) => n.endsWith('.seg')), 'written to the directory made again');
    t.down = false;
    await until(() => t.got.length === 10, 10_000, 'delivery');
    await t.flush();
    assert.deepEqual(sequences(t.got), Array.from({ length: 10 }, (_, i) => 20 + i), 'the records written after the removal arrive');
    assert.equal(t.counters().spill_dropped_damaged, 20, 'the 20 removed with the directory counted as lost');
  } finally {
    await t.close();
  }
});


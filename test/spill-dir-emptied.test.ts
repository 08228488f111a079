/**
 * A spill directory emptied (rm dir/*, find -delete) or removed and made again by a clean-up job while
 * no segment is open, the normal state once a backlog is delivered: nothing but the lock check before
 * a new segment notices, and without it a second collector could lock the directory and both would
 * replay it. And a directory another process has locked meanwhile is left to it, untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCK_FILE, SpillAppendError, SpillLog } from '../src/output/spill/segment-log.js';
import { LockHeldError, processIdentity } from '../src/output/pid-lock.js';
import { drain, FakeTarget, later, numbered, opts, until } from './helpers/spill-target.js';
import { sleeper } from './helpers/sleeper.js';
import { tempDir } from './helpers/collect.js';


const mine = (): string => `${process.pid} ${processIdentity(process.pid)}`.trim();

for (const how of ['emptied (rm dir/*)', 'removed and made again'] as const) {
  test(`spill directory ${how} after its backlog was delivered: locked again before the next segment, so a second spill cannot take it`, () => {
    const dir = join(tempDir('ufc-spill-emptied-'), 'spill');
    const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10 });
    try {
      s.append(numbered(10));
      assert.equal(s.peek(10).length, 10, 'the backlog read');
      s.commit();
      // Delivered: its segment is removed, so no segment is open when the job runs.
      if (how === 'emptied (rm dir/*)') {
        for (const f of readdirSync(dir)) rmSync(join(dir, f));
      } else {
        rmSync(dir, { recursive: true });
        mkdirSync(dir);
      }
      s.append(numbered(10, 10));
      assert.ok(existsSync(join(dir, LOCK_FILE)), 'the lock is there again');
      assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), mine(), 'naming this process');
      assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10 }).close(), LockHeldError, 'a second spill on the directory is refused');
      assert.equal(s.pendingRecords, 10, 'the new records on disk');
      assert.deepEqual(s.peek(10).map((r) => r.sequence), numbered(10, 10).map((r) => r.sequence), 'and read back');
    } finally {
      s.close();
    }
  });
}

test('spill segment file removed while appended to, the directory and its lock intact: the lock file stays in place (not removed and made again)', () => {
  const dir = tempDir('ufc-spill-emptied-');
  const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10 });
  try {
    s.append(numbered(10));
    const lock = join(dir, LOCK_FILE);
    // Dated back, so a lock file made again (with this process's pid, as before) shows.
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    utimesSync(lock, old, old);
    for (const f of readdirSync(dir)) if (f.endsWith('.seg')) rmSync(join(dir, f));
    s.append(numbered(10, 10));
    // Released and taken again, it is a new file: a collector starting in between would have had it.
    assert.equal(Math.round(statSync(lock).mtimeMs), old.getTime(), 'the same lock file, never given up');
    assert.equal(s.c.damaged, 10, 'the removed segment\'s records counted as lost');
    assert.equal(s.pendingRecords, 10, 'the new ones on disk');
  } finally {
    s.close();
  }
});

test('spill directory removed and made again, and another process has locked it since: given up untouched (no reads, no removals, no cursor), tried again at the next segment', async () => {
  const root = tempDir('ufc-spill-emptied-');
  const dir = join(root, 'spill');
  // What the other process has in the directory: a segment with the same name as ours, and a cursor.
  const elsewhere = join(root, 'elsewhere');
  const e = new SpillLog({ dir: elsewhere, maxBytes: 1 << 20, entryRecords: 10 });
  e.append(numbered(7, 1000));
  e.close();
  const theirSeg = readdirSync(elsewhere).find((f) => f.endsWith('.seg'))!;
  const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10, segmentBytes: 1 });
  const other = await sleeper();
  try {
    // Segments of one entry each (segmentBytes 1): 30 records in three, the oldest being delivered.
    s.append(numbered(30));
    assert.ok(readdirSync(dir).includes(theirSeg), `our oldest segment has their segment's name: ${readdirSync(dir).join(' ')}`);
    assert.equal(s.peek(10).length, 10, 'the oldest segment in flight');
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    copyFileSync(join(elsewhere, theirSeg), join(dir, theirSeg));
    writeFileSync(join(dir, 'cursor.json'), '{"theirs":[1,2]}');
    writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${processIdentity(other.pid)}\n`);
    const theirs = readFileSync(join(dir, theirSeg));
    assert.throws(() => s.append(numbered(10, 30)), (err: unknown) => err instanceof SpillAppendError && err.taken === 0 && err.cause instanceof LockHeldError, 'the write is refused: the directory is another process\'s');
    assert.equal(s.c.damaged, 20, `the two segments not in flight counted as lost: ${JSON.stringify(s.c)}`);
    // The delivery in flight still completes, and counts as replayed, without removing their file.
    s.commit();
    assert.equal(s.c.replayed, 10, `the batch in flight committed: ${JSON.stringify(s.c)}`);
    assert.equal(s.pendingRecords, 0, 'nothing of ours is left there');
    assert.deepEqual(s.peek(10), [], 'their segment is not read');
    assert.throws(() => s.append(numbered(10, 30)), (err: unknown) => err instanceof SpillAppendError && err.cause instanceof LockHeldError, 'still theirs: refused again');
    assert.deepEqual(readdirSync(dir).sort(), ['cursor.json', LOCK_FILE, theirSeg].sort(), 'no file of ours made there');
    assert.deepEqual(readFileSync(join(dir, theirSeg)), theirs, 'their segment untouched');
    assert.equal(readFileSync(join(dir, 'cursor.json'), 'utf8'), '{"theirs":[1,2]}', 'their cursor untouched');
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').split(' ')[0], String(other.pid), 'their lock untouched');
    assert.equal(s.c.spilled, s.c.replayed + s.c.dropped + s.pendingRecords, `the counters add up: ${JSON.stringify(s.c)}`);
  } finally {
    await other.kill();
  }
  // The other process is gone (its lock stale): the directory is taken again, what it left replayed
  // first (it is older), and ours appended after it, not over its segment.
  s.append(numbered(10, 30));
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), mine(), 'locked by this process again');
  assert.equal(s.c.recovered, 7, `their records found: ${JSON.stringify(s.c)}`);
  assert.equal(s.pendingRecords, 17, 'theirs and ours on disk');
  assert.deepEqual(drain(s, 10), [...numbered(7, 1000), ...numbered(10, 30)].map((r) => r.sequence), 'theirs, then ours');
  s.close();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'released at close');
});

test('an output whose spill directory another process locked after it was made again: records wait in memory as without a spill, and the directory is tried again 30 s later', async () => {
  const root = tempDir('ufc-spill-emptied-');
  const dir = join(root, 'spill');
  const t = new FakeTarget(opts(dir));
  const other = await sleeper();
  let n = 0;
  try {
    await t.start();
    t.down = true;
    t.write(numbered(10, n));
    n += 10;
    await until(() => t.counters().spill_pending === 10, 5000, 'the failed batch on disk');
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${processIdentity(other.pid)}\n`);
    t.write(numbered(10, n));
    n += 10;
    let c = t.counters();
    assert.equal(c.queued, 10, `kept in memory: ${JSON.stringify(c)}`);
    assert.equal(c.spill_errors, 0, `not a failed write: ${JSON.stringify(c)}`);
    assert.deepEqual(readdirSync(dir), [LOCK_FILE], 'nothing written to the other process\'s directory');
    await other.kill();
    // Not yet time to try again: memory still.
    t.write(numbered(10, n));
    n += 10;
    assert.equal(t.counters().queued, 20, 'the directory is not tried for every batch');
    later(31_000, () => t.write(numbered(10, n)));
    n += 10;
    c = t.counters();
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), mine(), 'locked by this process again');
    // Memory holds the older records (the disk had nothing of ours left when they came): sent first.
    assert.equal(c.spill_pending, 10, `the new batch on disk: ${JSON.stringify(c)}`);
    assert.equal(c.queued, 20, `the older ones in memory: ${JSON.stringify(c)}`);
    t.down = false;
    await until(() => t.got.length === 30, 10_000, 'delivery');
    await t.flush();
    assert.deepEqual(t.got.map((r) => r.sequence), Array.from({ length: 30 }, (_, i) => 10 + i), 'in order, those removed with the directory missing');
    c = t.counters();
    assert.equal(c.spill_dropped_damaged, 10, `the removed ones counted as lost: ${JSON.stringify(c)}`);
  } finally {
    await other.kill();
    await t.close();
  }
});

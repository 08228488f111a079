/**
 * A spill directory whose lock alone was removed (`find $EF_DATA_DIR -mtime +7 -delete` takes the old
 * lock file and keeps the newer segments), then locked by a second collector or a replay: between new
 * segments this process must notice within about a second, on the write, read and trim sides alike,
 * and leave the directory to that process. And a lock that cannot be read, or taken again, for any
 * other reason (a full disk, too many open files) gives nothing up: the segments are ours and intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve } from 'node:path';
import { LOCK_FILE, SpillAppendError, SpillLog } from '../src/output/spill/segment-log.js';
import { LockHeldError } from '../src/output/pid-lock.js';
import { BatchingOutput, type BatchingOptions } from '../src/output/batching.js';
import { tempDir } from './helpers/collect.js';
import { withLog } from './helpers/log-lines.js';
import { drain, FakeTarget, firstBatchOnDisk, numbered, opts, records, sequences, until } from './helpers/spill-target.js';

const REPO_ROOT = resolve(import.meta.dirname, '..');


const seqs = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** A second collector: locks `dir`, delivers `count` records from it, holds the lock until killed. */
async function taker(dir: string, count: number): Promise<{ recovered: number; got: number[]; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'servers', 'spill-lock-taker-child.ts'), dir, String(count)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const end = Date.now() + 20_000;
  while (!out.includes('\n')) {
    if (Date.now() > end || child.exitCode !== null) {
      await kill();
      throw new Error(`the second collector did not say what it delivered: ${out}`);
    }
    await wait(10);
  }
  const said = JSON.parse(out.split('\n')[0]!) as { recovered: number; got: number[] };
  return { ...said, kill };
}

/**
 * `body` with a spill of 10-record entries in a directory of its own, and `take` to start second
 * collectors on it (taker); every one started is killed and the spill closed after.
 */
async function withTakers(body: (s: SpillLog, dir: string, take: (count: number) => ReturnType<typeof taker>) => Promise<void>): Promise<void> {
  const dir = tempDir('ufc-spill-lock-removed-');
  const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10 });
  const kills: (() => Promise<void>)[] = [];
  try {
    await body(s, dir, async (count) => {
      const o = await taker(dir, count);
      kills.push(o.kill);
      return o;
    });
  } finally {
    for (const kill of kills) await kill();
    s.close();
  }
}

test('spill lock removed alone and another process locks the directory: within about a second this one stops appending, reading and trimming there (no record delivered twice, its cursor kept)', () => withTakers(async (s, dir, take) => {
  s.append(numbered(30));
  const since = Date.now();
  rmSync(join(dir, LOCK_FILE));
  const o = await take(10);
  assert.equal(o.recovered, 30, 'the second collector finds our 30 records');
  assert.deepEqual(o.got, seqs(0, 10), 'and delivers the first 10');
  const cursor = readFileSync(join(dir, 'cursor.json'), 'utf8');
  const files = readdirSync(dir).sort();
  // Past the once-a-second check (the open segment has room: no new segment would check it).
  await wait(Math.max(0, 1100 - (Date.now() - since)));
  assert.throws(() => s.append(numbered(10, 30)), (err: unknown) => err instanceof SpillAppendError && err.taken === 0 && err.cause instanceof LockHeldError, 'the write is refused: the directory is the other process\'s');
  assert.deepEqual(drain(s, 10), [], 'nothing read from it: the other process delivers those records');
  assert.equal(s.pendingRecords, 0, 'our segments there given up');
  assert.equal(s.c.damaged, 30, `and counted as such: ${JSON.stringify(s.c)}`);
  assert.equal(readFileSync(join(dir, 'cursor.json'), 'utf8'), cursor, 'the other process\'s cursor.json untouched');
  assert.deepEqual(readdirSync(dir).sort(), files, 'no file written or removed there');
}));

test('spill lock removed alone, another process locks the directory, delivers 10 and exits before this one looks again: this one takes the lock back and reads on after what that process delivered (none twice)', () => withTakers(async (s, dir, take) => {
  s.append(numbered(30));
  const since = Date.now();
  rmSync(join(dir, LOCK_FILE));
  const o = await take(10);
  assert.deepEqual(o.got, seqs(0, 10), 'the second collector delivers the first 10');
  await o.kill();
  // Past the once-a-second check: the next read finds the lock of a process now gone.
  await wait(Math.max(0, 1100 - (Date.now() - since)));
  assert.deepEqual(drain(s, 10), seqs(10, 20), `only what the other process did not deliver, in order: ${JSON.stringify(s.c)}`);
  assert.deepEqual({ dropped: s.c.dropped, damaged: s.c.damaged, recovered: s.c.recovered, replayed: s.c.replayed, pending: s.pendingRecords }, { dropped: 0, damaged: 0, recovered: 0, replayed: 20, pending: 0 }, `nothing counted lost or found: ${JSON.stringify(s.c)}`);
  s.append(numbered(10, 30));
  assert.deepEqual(drain(s, 10), seqs(30, 10), 'and what is appended after');
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 0, 'every delivered segment removed');
}));

test('spill lock removed alone while a batch is in flight, another process locks the directory and exits: the commit moves the batch past in the segments read again (delivered once)', () => withTakers(async (s, dir, take) => {
  s.append(numbered(30));
  const since = Date.now();
  assert.deepEqual(s.peek(10).map((r) => r.sequence), seqs(0, 10), 'the first batch in flight');
  rmSync(join(dir, LOCK_FILE));
  // It takes none: it only locks the directory, and is gone before this one looks again.
  const o = await take(0);
  await o.kill();
  await wait(Math.max(0, 1100 - (Date.now() - since)));
  s.commit();
  assert.deepEqual(drain(s, 10), seqs(10, 20), `the rest, the batch in flight not again: ${JSON.stringify(s.c)}`);
  assert.equal(s.c.replayed, 30, `each delivery counted once: ${JSON.stringify(s.c)}`);
}));

test('spill lock removed alone while a batch is in flight, another process locks the directory: the commit a second later touches neither its cursor.json nor the segment', () => withTakers(async (s, dir, take) => {
  s.append(numbered(30));
  assert.deepEqual(s.peek(10).map((r) => r.sequence), seqs(0, 10), 'the first batch in flight');
  const since = Date.now();
  rmSync(join(dir, LOCK_FILE));
  const o = await take(20);
  assert.deepEqual(o.got, seqs(0, 20), 'the second collector delivers 20');
  const cursor = readFileSync(join(dir, 'cursor.json'), 'utf8');
  const files = readdirSync(dir).sort();
  await wait(Math.max(0, 1100 - (Date.now() - since)));
  s.commit();
  assert.equal(s.c.replayed, 10, `the delivery counts: ${JSON.stringify(s.c)}`);
  assert.equal(readFileSync(join(dir, 'cursor.json'), 'utf8'), cursor, 'its cursor.json not written over with ours (10 read, not 20)');
  assert.deepEqual(drain(s, 10), [], 'the rest is not read');
  assert.equal(s.c.spilled, s.c.replayed + s.c.dropped + s.pendingRecords, `the counters add up: ${JSON.stringify(s.c)}`);
  assert.deepEqual(readdirSync(dir).sort(), files, 'no file written or removed there');
}));

test('spill.lock replaced by a directory: appends are refused, nothing given up; once it can be locked again, every record delivered once', () => {
  const dir = tempDir('ufc-spill-lock-removed-');
  // One entry per segment, so each append starts a segment (and checks the lock).
  const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10, segmentBytes: 1 });
  try {
    s.append(numbered(30));
    rmSync(join(dir, LOCK_FILE));
    mkdirSync(join(dir, LOCK_FILE));
    assert.throws(() => s.append(numbered(10, 30)), SpillAppendError, 'the write is refused while the lock cannot be read');
    assert.equal(s.c.dropped, 0, `nothing dropped: ${JSON.stringify(s.c)}`);
    assert.equal(s.c.damaged, 0, `nothing counted lost: ${JSON.stringify(s.c)}`);
    assert.equal(s.pendingRecords, 30, 'the 30 records still pending');
    rmSync(join(dir, LOCK_FILE), { recursive: true });
    s.append(numbered(10, 30));
    assert.deepEqual(drain(s, 10), seqs(0, 40), 'all 40 delivered, each once, in order');
    assert.deepEqual({ dropped: s.c.dropped, damaged: s.c.damaged, recovered: s.c.recovered, replayed: s.c.replayed }, { dropped: 0, damaged: 0, recovered: 0, replayed: 40 }, `counters: ${JSON.stringify(s.c)}`);
  } finally {
    s.close();
  }
});

test('spill lock removed and it cannot be taken again (a spill.lock that keeps changing hands): our segments are kept, not read, and read on once it is locked again', () => {
  const dir = tempDir('ufc-spill-lock-removed-');
  const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10, segmentBytes: 1 });
  try {
    s.append(numbered(30));
    assert.deepEqual(s.peek(10).map((r) => r.sequence), seqs(0, 10), 'the first batch in flight');
    rmSync(join(dir, LOCK_FILE));
    // A dangling link: there for the link that makes a lock (EEXIST), gone for the read after it.
    symlinkSync(join(dir, 'nowhere'), join(dir, LOCK_FILE));
    assert.throws(() => s.append(numbered(10, 30)), (err: unknown) => err instanceof SpillAppendError && !(err.cause instanceof LockHeldError) && /keeps changing hands/.test(err.message), 'the write is refused: the directory cannot be locked again');
    assert.equal(s.c.damaged, 0, `nothing counted lost: ${JSON.stringify(s.c)}`);
    assert.equal(s.pendingRecords, 30, 'the 30 still pending');
    // The delivery in flight is done: counted, but no file of the directory touched while it is not locked.
    const files = readdirSync(dir).sort();
    s.commit();
    assert.equal(s.c.replayed, 10, 'the batch in flight committed');
    assert.deepEqual(s.peek(10), [], 'the rest not read meanwhile');
    assert.deepEqual(readdirSync(dir).sort(), files, 'nothing written or removed meanwhile');
    rmSync(join(dir, LOCK_FILE));
    assert.deepEqual(drain(s, 10), seqs(10, 20), 'once locked again, the rest, each once');
    s.append(numbered(10, 30));
    assert.deepEqual(drain(s, 10), seqs(30, 10), 'and what is appended after');
    assert.deepEqual({ dropped: s.c.dropped, damaged: s.c.damaged, recovered: s.c.recovered, replayed: s.c.replayed }, { dropped: 0, damaged: 0, recovered: 0, replayed: 40 }, `counters: ${JSON.stringify(s.c)}`);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.seg')).length, 0, 'every delivered segment removed');
  } finally {
    s.close();
  }
});

test('spill lock that cannot be read for a moment (too many open files): the write is refused, the lock file is neither given up nor made again', () => {
  const dir = tempDir('ufc-spill-lock-removed-');
  const s = new SpillLog({ dir, maxBytes: 1 << 20, entryRecords: 10, segmentBytes: 1 });
  const lock = join(dir, LOCK_FILE);
  const real = fs.readFileSync;
  try {
    s.append(numbered(10));
    // Dated back, so a lock file made again shows.
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    utimesSync(lock, old, old);
    let failed = 0;
    fs.readFileSync = ((p: fs.PathOrFileDescriptor, o?: unknown) => {
      if (p === lock && failed === 0) {
        failed++;
        throw Object.assign(new Error(`EMFILE: too many open files, open '${lock}'`), { code: 'EMFILE' });
      }
      return (real as (p: fs.PathOrFileDescriptor, o?: unknown) => unknown)(p, o);
    }) as typeof fs.readFileSync;
    syncBuiltinESMExports();
    assert.throws(() => s.append(numbered(10, 10)), (err: unknown) => err instanceof SpillAppendError && /EMFILE/.test(err.message), 'refused: whose the lock is cannot be told');
    assert.equal(failed, 1, 'the lock read failed once');
    fs.readFileSync = real;
    syncBuiltinESMExports();
    assert.ok(existsSync(lock), 'the lock is there');
    // Removed and made again, the directory was unlocked for a moment: a collector starting then would have had it.
    assert.equal(Math.round(statSync(lock).mtimeMs), old.getTime(), 'the same lock file, never given up');
    s.append(numbered(10, 10));
    assert.deepEqual(drain(s, 10), seqs(0, 20), 'all delivered');
    assert.equal(s.c.dropped, 0, `nothing dropped: ${JSON.stringify(s.c)}`);
  } finally {
    fs.readFileSync = real;
    syncBuiltinESMExports();
    s.close();
  }
});

test('an output whose spill lock cannot be read while records wait on disk: newer records are delivered meanwhile and a flush returns, leaving the event loop free; those on disk are delivered once it can be read', async () => {
  const dir = join(tempDir('ufc-spill-lock-removed-'), 'spill');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'servers', 'spill-unreadable-child.ts'), dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // A flush spinning on promises never lets a timer run: the child then hangs, and is killed.
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, `the child ended by itself (not killed in a hang): ${out}`);
  const r = JSON.parse(out.trim()) as { meanwhile: { flushed: boolean; got: number[]; c: Record<string, number> }; got: number[]; c: Record<string, number> };
  assert.deepEqual(r.meanwhile.got, seqs(10, 10), `the newer records delivered while the lock could not be read: ${out}`);
  assert.equal(r.meanwhile.flushed, true, `the flush returned, what is left being on disk: ${out}`);
  assert.equal(r.meanwhile.c.spill_pending, 10, `the 10 still on disk: ${out}`);
  assert.deepEqual(r.got, [...seqs(10, 10), ...seqs(0, 10)], `then those on disk, each once (after the newer ones): ${out}`);
  assert.equal(r.c.spill_dropped, 0, `nothing dropped: ${out}`);
});

class Hung extends BatchingOutput {
  readonly name = 'fake';
  constructor(opts: BatchingOptions) {
    super(opts);
  }
  protected send(): Promise<void> {
    return new Promise(() => undefined);
  }
}

test('a stop that finds the spill\'s segments removed: the records it writes are said kept, not taken for what the cap dropped', async () => {
  await withLog(async (lines) => {
    const dir = join(tempDir('ufc-spill-lock-removed-'), 'spill');
    const o = new Hung({ batchMax: 10, deadlineMs: 5, queueMax: 10, spill: { dir, maxBytes: 1 << 20 } });
    await o.start();
    o.write(numbered(10));
    const end = Date.now() + 5000;
    while (o.counters().inflight !== 10) {
      assert.ok(Date.now() < end, 'the first batch in flight');
      await wait(10);
    }
    // Past the memory queue: to disk.
    o.write(numbered(20, 10));
    assert.equal(o.counters().spill_pending, 20, 'the newer 20 on disk');
    // A clean-up job empties the directory, lock and all.
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    await o.close(100);
    const c = o.counters();
    assert.equal(c.spill_dropped_damaged, 20, `the removed ones counted as lost: ${JSON.stringify(c)}`);
    assert.equal(c.spill_pending, 10, `the batch given up in flight on disk: ${JSON.stringify(c)}`);
    assert.ok(lines.some((l) => l.includes('stopped with 10 records the target did not take')), `the stop says it kept them:\n${lines.join('\n')}`);
  });
});

test('an output whose spill lock cannot be read while records wait on disk and the target is back: live records are delivered meanwhile, none dropped; those on disk once it can be read', async () => {
  const dir = join(tempDir('ufc-spill-lock-removed-'), 'spill');
  const t = new FakeTarget(opts(dir));
  await t.start();
  const next = { n: 0 };
  try {
    await firstBatchOnDisk(t, next);
    rmSync(join(dir, LOCK_FILE));
    mkdirSync(join(dir, LOCK_FILE));
    // Past the spill's once-a-second lock check, so the next write and read check it.
    await wait(1100);
    t.down = false;
    // 100 records a second for 4 s: twice the memory bound (50) each second.
    for (let i = 0; i < 40; i++) {
      t.write(records(next, 10));
      await wait(100);
    }
    await until(() => t.got.length >= 400, 3000, 'the live records delivered').catch(() => undefined);
    const c = t.counters();
    assert.equal(c.dropped_queue_full, 0, `nothing dropped while the target takes them: ${JSON.stringify(c)}`);
    assert.deepEqual(sequences(t.got), seqs(10, 400), `the live records delivered, in order: ${JSON.stringify(c)}`);
    assert.equal(c.spill_pending, 10, `the 10 on disk wait: ${JSON.stringify(c)}`);
    rmSync(join(dir, LOCK_FILE), { recursive: true });
    await until(() => t.got.length >= 410, 5000, 'the records on disk delivered').catch(() => undefined);
    assert.deepEqual(sequences(t.got), [...seqs(10, 400), ...seqs(0, 10)], `then those on disk, each once: ${JSON.stringify(t.counters())}`);
    assert.equal(t.counters().spill_dropped, 0, `nothing dropped: ${JSON.stringify(t.counters())}`);
  } finally {
    await t.close(100);
  }
});

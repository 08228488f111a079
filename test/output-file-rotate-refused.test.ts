/**
 * The file output when its rotation cannot go through: the file cannot be renamed (a single-file
 * bind mount answers EBUSY, an immutable or append-only file EPERM), or a rotated file cannot be
 * removed.
 *
 * The rename is refused through node:fs (mocked, the module's named exports synced): a bind mount
 * needs root, and the tests run without it too.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import fs, { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { FileOutput } from '../src/output/file/file.js';
import { tempDir } from './helpers/collect.js';
import { CODEX_VIEW } from './helpers/plain-record.js';
import { withLog } from './helpers/log-lines.js';
import { ports, range, recs } from './helpers/file-ports.js';

const view = CODEX_VIEW;

/** renameSync refuses to move `path` (as the kernel does a bind-mounted file) until restored. */
function refuseRename(path: string): () => void {
  const real = fs.renameSync;
  const m = mock.method(fs, 'renameSync', (from: fs.PathLike, to: fs.PathLike) => {
    if (String(from) === path) throw Object.assign(new Error(`EBUSY: resource busy or locked, rename '${String(from)}' -> '${String(to)}'`), { code: 'EBUSY', errno: -16, syscall: 'rename' });
    real(from, to);
  });
  syncBuiltinESMExports();
  return () => {
    m.mock.restore();
    syncBuiltinESMExports();
  };
}

/** Three rotated files, as a run before this one left them. */
function threeGenerations(path: string): string[] {
  const gens = [1, 2, 3].map((i) => `{"gen":${i}}\n`);
  gens.forEach((g, i) => writeFileSync(`${path}.${i + 1}`, g));
  return gens;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('file output: a file that cannot be renamed (EBUSY, a single-file bind mount) keeps every rotated file, is written past the size and says so once', { timeout: 30_000 }, async () => {
  await withLog(async (lines) => {
    const path = join(tempDir('ufc-file-'), 'flows.ndjson');
    const gens = threeGenerations(path);
    const restore = refuseRename(path);
    try {
      const out = new FileOutput({ path, maxBytes: 1000, maxFiles: 3, view });
      await out.start();
      // Each send passes the size: before the fix, each one (and each retry) shifted the rotated files once more.
      for (let i = 0; i < 100; i += 10) {
        out.write(recs(i, i + 10));
        // Bounded: before the fix the send failed and was retried for ever.
        await Promise.race([out.flush(), wait(2000)]);
      }
      await out.close(1000);
      assert.deepEqual([1, 2, 3].map((i) => existsSync(`${path}.${i}`) ? readFileSync(`${path}.${i}`, 'utf8') : null), gens, 'the rotated files are untouched');
      assert.deepEqual(ports(path), range(0, 100), 'every record is in the file, written past the size');
      assert.ok(!existsSync(`${path}.rotating`), 'nothing left aside');
      assert.equal(out.counters().failures, 0, 'no write failed (nothing retried)');
      assert.equal(out.counters().dropped_retries, 0, 'nothing dropped');
      const warns = lines.filter((l) => l.includes('"level":"warn"') && l.includes(`cannot rotate ${path}`));
      assert.equal(warns.length, 1, `one warning, naming the path: ${lines.join('\n')}`);
      assert.ok(warns[0]!.includes('EBUSY') && warns[0]!.includes('EF_OUTPUT_FILE_MAX_SIZE=0'), `the warning names the error and a way out: ${warns[0]}`);
    } finally {
      restore();
    }
  });
});

test('file output: a rotation that fails after moving the file (the oldest rotated file cannot be removed) puts it back and loses no rotated file', { timeout: 30_000 }, async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  const gens = threeGenerations(path);
  // A directory at .3: removing it without recursion fails, after the file was moved aside.
  rmSync(`${path}.3`);
  mkdirSync(`${path}.3`);
  writeFileSync(join(`${path}.3`, 'keep'), 'x');
  const out = new FileOutput({ path, maxBytes: 1000, maxFiles: 3, view });
  await out.start();
  for (let i = 0; i < 50; i += 10) {
    out.write(recs(i, i + 10));
    await Promise.race([out.flush(), wait(2000)]);
  }
  await out.close(1000);
  assert.deepEqual([1, 2].map((i) => readFileSync(`${path}.${i}`, 'utf8')), gens.slice(0, 2), '.1 and .2 untouched');
  assert.deepEqual(readdirSync(`${path}.3`), ['keep'], '.3 untouched');
  assert.deepEqual(ports(path), range(0, 50), 'the file is back at its path, with every record');
  assert.ok(!existsSync(`${path}.rotating`), 'nothing left aside');
  assert.equal(out.counters().failures, 0, 'no write failed');
});

test('file output: rotation goes on once the file can be renamed again', { timeout: 30_000 }, async () => {
  const path = join(tempDir('ufc-file-'), 'flows.ndjson');
  const gens = threeGenerations(path);
  const restore = refuseRename(path);
  const out = new FileOutput({ path, maxBytes: 1000, maxFiles: 3, view });
  try {
    await out.start();
    out.write(recs(0, 10));
    await Promise.race([out.flush(), wait(2000)]);
  } finally {
    restore();
  }
  // The next try is a minute later: the clock moved on instead of waiting.
  const now = Date.now();
  mock.method(Date, 'now', () => now + 61_000);
  try {
    out.write(recs(10, 12));
    await Promise.race([out.flush(), wait(2000)]);
  } finally {
    mock.restoreAll();
  }
  await out.close(1000);
  assert.deepEqual(ports(`${path}.1`), range(0, 10), 'the file that grew past the size is .1 now');
  assert.deepEqual([2, 3].map((i) => readFileSync(`${path}.${i}`, 'utf8')), gens.slice(0, 2), 'the older ones shifted up once');
  assert.deepEqual(ports(path), range(10, 12), 'the later records in a new file');
});

test('file output: a file left aside by a rotation cut short is never overwritten', { timeout: 30_000 }, async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  // No file at the path: the one left aside is the file again.
  writeFileSync(`${path}.rotating`, '{"left":1}\n');
  const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
  await out.start();
  await out.close(1000);
  assert.equal(readFileSync(path, 'utf8'), '{"left":1}\n', 'the file left aside is the file again');
  // Both there: the one left aside is kept under a name of its own.
  writeFileSync(`${path}.rotating`, '{"left":2}\n');
  const again = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
  await again.start();
  await again.close(1000);
  const kept = readdirSync(dir).filter((f) => f.startsWith('flows.ndjson.rotating-'));
  assert.equal(kept.length, 1, `kept aside: ${readdirSync(dir).join(', ')}`);
  assert.equal(readFileSync(join(dir, kept[0]!), 'utf8'), '{"left":2}\n', 'with what it held');
  assert.equal(readFileSync(path, 'utf8'), '{"left":1}\n', 'the file untouched');
});

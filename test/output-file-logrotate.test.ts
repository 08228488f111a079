/**
 * The file output's file changed under it while running: deleted, moved away (logrotate's `create`
 * mode), or cut to nothing (logrotate's `copytruncate`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, lstatSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { FileOutput } from '../src/output/file/file.js';
import { tempDir } from './helpers/collect.js';
import { CODEX_VIEW, plainRecord } from './helpers/plain-record.js';
import { withLog } from './helpers/log-lines.js';
import { ports, range, recs } from './helpers/file-ports.js';

const view = CODEX_VIEW;
const rec = plainRecord;

/** A little more than the output's interval between looks at its path. */
const lookedAgain = (): Promise<void> => new Promise((r) => setTimeout(r, 1200));

test('file output: a deleted file is made again within about a second, with an info line, instead of written to unseen', { timeout: 20_000 }, async () => {
  await withLog(async (lines) => {
    const path = join(tempDir('ufc-file-'), 'flows.ndjson');
    const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
    await out.start();
    out.write(recs(0, 10));
    await out.flush();
    rmSync(path);
    await lookedAgain();
    out.write(recs(10, 20));
    await out.flush();
    assert.deepEqual(ports(path), range(10, 20), 'the records after the delete are in a new file at the path');
    await out.close();
    assert.ok(lines.some((l) => l.includes('"level":"info"') && l.includes(`file output: ${path} was deleted or moved away: made again`)), lines.join('\n'));
    assert.equal(out.counters().failures, 0, 'no write failed');
  });
});

test('file output: logrotate create (moved away, a new empty file made): later records go to the new file', { timeout: 20_000 }, async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
  await out.start();
  out.write(recs(0, 10));
  await out.flush();
  renameSync(path, `${path}-20240101`);
  writeFileSync(path, '');
  await lookedAgain();
  out.write(recs(10, 20));
  await out.close();
  assert.deepEqual(ports(`${path}-20240101`), range(0, 10), 'the moved file keeps what was written before');
  assert.deepEqual(ports(path), range(10, 20), 'the new file gets what came after');
});

test('file output: a file moved away when its size rotation is due is not rotated (no generation lost, no failure); the records go to a new file', { timeout: 20_000 }, async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  const out = new FileOutput({ path, maxBytes: 4000, maxFiles: 3, view });
  await out.start();
  // Enough for flows.ndjson.1, .2 and .3, each flushed on its own so rotation happens between them.
  for (let i = 0; i < 60; i += 10) {
    out.write(recs(i, i + 10));
    await out.flush();
  }
  // Filled so that the next record would rotate it.
  const line = Math.max(...readFileSync(`${path}.1`, 'utf8').split('\n').map((l) => l.length)) + 1;
  let n = 60;
  while (readFileSync(path).length + line <= 4000) {
    out.write([rec(n++)]);
    await out.flush();
  }
  const before = [1, 2, 3].map((i) => ports(`${path}.${i}`));
  assert.ok(before.every((p) => p.length > 0), 'three rotated files to start with');
  renameSync(path, join(dir, 'moved.ndjson'));
  // At once, with no time for the look once a second: rotation looks first. As many as a new file takes.
  const more = Math.floor(3900 / line);
  out.write(recs(n, n + more));
  await out.close();
  assert.equal(out.counters().failures, 0, 'no write failed');
  assert.deepEqual([1, 2, 3].map((i) => ports(`${path}.${i}`)), before, 'the rotated files unchanged: none shifted, none lost');
  assert.deepEqual(ports(path), range(n, n + more), 'the later records are in a new file at the path');
  const all = [...ports(`${path}.3`), ...ports(`${path}.2`), ...ports(`${path}.1`), ...ports(join(dir, 'moved.ndjson')), ...ports(path)];
  // The oldest went with rotation while filling; from there on, none lost.
  assert.deepEqual(all, range(all[0]!, n + more), 'every record kept once, in order');
});

test('file output: logrotate copytruncate (the file cut to nothing) has its size read again, so rotation by size counts from there', { timeout: 20_000 }, async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  const out = new FileOutput({ path, maxBytes: 4000, maxFiles: 3, view });
  await out.start();
  out.write(recs(0, 10));
  await out.flush();
  const size = readFileSync(path).length;
  assert.ok(size > 2000 && size < 4000, `${size} bytes: more than half the size`);
  copyFileSync(path, `${path}-20240101`);
  truncateSync(path, 0);
  await lookedAgain();
  out.write(recs(10, 20));
  await out.close();
  assert.ok(!existsSync(`${path}.1`), 'not rotated: the file holds only the later records');
  assert.deepEqual(ports(path), range(10, 20), 'the later records, from the start of the file');
});

test('file output: a file that is not a regular one (a FIFO, /dev/null) is not rotated by size', { timeout: 20_000 }, async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  execFileSync('mkfifo', [path]);
  const reader = spawn('cat', [path], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const out = new FileOutput({ path, maxBytes: 1000, maxFiles: 2, view });
    await out.start();
    for (let i = 0; i < 50; i += 10) {
      out.write(recs(i, i + 10));
      await out.flush();
    }
    await out.close();
    assert.ok(!existsSync(`${path}.1`), 'the FIFO was not renamed');
    assert.ok(lstatSync(path).isFIFO(), 'the path is still the FIFO');
    assert.equal(out.counters().sent, 50, 'every record written');
  } finally {
    reader.kill();
  }
});

/**
 * The stdout output with standard output redirected to a file on a disk that fills part-way through
 * a batch: once there is room it goes on from the byte it got to, so each line is in the file once
 * and whole (no piece written twice, none missing).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers/collect.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

test('stdout to a file: a write cut short by a full disk resumes from the byte it got to, no line repeated or cut', async () => {
  const path = join(tempDir('ufc-stdout-'), 'out.ndjson');
  const fd = openSync(path, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'servers', 'stdout-disk-full-child.ts')], { cwd: REPO_ROOT, stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, `the child exited ${code}; its stderr:\n${stderr}`);
  const counters = JSON.parse(/^counters (.*)$/m.exec(stderr)?.[1] ?? '{}') as Record<string, number>;
  assert.equal(counters.sent, 5, `all five records sent; the child's stderr:\n${stderr}`);
  assert.ok((counters.failures ?? 0) >= 1, `the full disk failed a send (else this tests nothing); the child's stderr:\n${stderr}`);

  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'), `the file ends with a line end:\n${text}`);
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, 5, `five lines in the file:\n${text}`);
  for (let n = 1; n <= 5; n++) {
    const seen = text.split(`"10.0.0.${n}"`).length - 1;
    assert.equal(seen, 1, `10.0.0.${n} is in the file ${seen} times, expected once:\n${text}`);
  }
  // Whole JSON lines are not enough: a piece written twice may fall inside a key ("flow.duratiw.start.timestamp")
  // and still parse. The file must be byte for byte what the output writes with room all along.
  const expected = Buffer.from(/^expected (.*)$/m.exec(stderr)?.[1] ?? '', 'base64').toString('utf8');
  assert.equal(text, expected, 'the file holds each line once, whole, with no piece repeated or missing');
});

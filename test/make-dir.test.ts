/** makeDir: `mkdir -p` that fails on a path the kernel refuses, where Node 20's recursive mkdir spins for ever. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDir } from '../src/make-dir.js';
import { tempDir } from './helpers/collect.js';
import { REPO_ROOT } from './helpers/tools.js';

test('makeDir makes every missing level, accepts an existing directory, refuses a file in the way', () => {
  const dir = tempDir('ufc-mkdir-');
  makeDir(join(dir, 'a', 'b', 'c'));
  assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
  makeDir(join(dir, 'a', 'b'));
  writeFileSync(join(dir, 'file'), 'x');
  assert.throws(() => makeDir(join(dir, 'file', 'sub')), /ENOTDIR|EEXIST/);
});

test('makeDir under /proc fails at once with the kernel\'s error (in a child: the old way never returned)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/make-dir.ts').then((m) => { try { m.makeDir('/proc/ufc-no-such/x'); console.log('made'); } catch (e) { console.log(e.code); } })"], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'did not have to be killed');
  assert.equal(r.stdout.trim(), 'ENOENT');
});

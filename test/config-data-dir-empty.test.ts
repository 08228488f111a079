/**
 * An empty EF_DATA_DIR (`EF_DATA_DIR=` in an env file) is refused as other options with a default are,
 * rather than taken as the working directory (flows.duckdb and the caches written into `/` under systemd).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { tempDir } from './helpers/collect.js';

const EMPTY = 'EF_DATA_DIR="": cannot be empty; a directory path (unset it for the default data)';

test('an empty or blank EF_DATA_DIR is a configuration error naming the default', () => {
  for (const v of ['', '  ']) {
    assert.deepEqual(loadConfig({ env: { EF_DATA_DIR: v } }).errors, [EMPTY], `EF_DATA_DIR=${JSON.stringify(v)} refused`);
  }
  assert.deepEqual(loadConfig({ env: {} }).errors, [], 'unset: the default');
});

test('ufc replay with EF_DATA_DIR= exits 2 without writing into the working directory', () => {
  const cwd = tempDir('ufc-data-dir-empty-');
  const env = { PATH: process.env.PATH, EF_DATA_DIR: '', EF_WEBUI_ENABLE: 'false' };
  // tsx by its path: from the temporary working directory the name would not resolve.
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '..', 'src', 'cli', 'main.ts'), 'replay', join(cwd, 'none.pcap')],
    { encoding: 'utf8', env, cwd, timeout: 30_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.ok(r.stderr.includes(EMPTY), `the problem named: ${r.stderr}`);
  assert.ok(!existsSync(join(cwd, 'flows.duckdb')), 'no store in the working directory');
});

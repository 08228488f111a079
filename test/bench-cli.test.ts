import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/tools.js';

const TSX = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Runs a bench or soak script; a script that went on to its real work would hit the timeout. */
function run(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TSX, join(REPO_ROOT, script), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('soak --help prints its usage and starts nothing', () => {
  const r = run('scripts/soak.ts', '--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: .*scripts\/soak\.ts .*--minutes N/);
  assert.doesNotMatch(r.stdout, /RSS|datagrams/);
});

test('bench scripts stop on an unknown option, a missing value or a value that is not a number', () => {
  const unknown = run('bench/peers.ts', '--packet', '10');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown option '--packet'/);
  assert.match(unknown.stderr, /usage: npm run bench:peers/);

  const missing = run('bench/stages.ts', '--rounds');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--rounds <value>' argument missing/);

  const notNumber = run('bench/page-cache.ts', '--mb', '1GB');
  assert.equal(notNumber.status, 2);
  assert.match(notNumber.stderr, /--mb needs a number, got "1GB"/);
  assert.equal(notNumber.stdout, '');
});

/**
 * A gzip bomb refused at the 512 MiB bound (formats.ts, inflated) must give its memory back. In
 * zlib's default 16 KiB output chunks the inflate came from the build worker's malloc arenas, which
 * glibc keeps after the worker exits: a collector went from 207 to 730 MB RSS for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { buildOnWorker } from '../src/threat/build.js';
import { inflated } from '../src/threat/formats.js';

const run = promisify(execFile);
const BUILD = new URL('../src/threat/build.ts', import.meta.url).href;
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

// The child, in the environment bin/ufc gives the collector. The bomb is 75 gzip members of 8 MiB of
// newlines (RFC 1952 section 2.2: a gzip file is a series of members, and Node inflates them all):
// 600 MiB inflated from 2.7 MB, made without holding the 600 MiB. The baseline is taken after a
// first worker build, so it holds what any started worker leaves (tsx, the module graph).
const CHILD = `
const { gzipSync } = await import('node:zlib');
const { buildOnWorker } = await import(${JSON.stringify(BUILD)});
const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 300)); } };
const member = gzipSync(Buffer.alloc(8 << 20, 0x0a), { level: 1 });
const bomb = Buffer.concat([gzipSync('192.0.2.9 ; bomb\\n'), ...Array.from({ length: 75 }, () => member)]);
await buildOnWorker(gzipSync('192.0.2.1\\n'), 'warm');
await settle();
const before = process.memoryUsage().rss;
let message = '';
try { await buildOnWorker(bomb, 'bomb'); } catch (err) { message = err.message; }
await settle();
console.log(JSON.stringify({ before, after: process.memoryUsage().rss, message }));
`;

test('a gzip bomb refused at the bound leaves no memory behind (MALLOC_MMAP_THRESHOLD_ as bin/ufc sets it)', { timeout: 60_000 }, async () => {
  // A file, not --eval: Node 20 refuses --input-type beside --import. Run from the repo, where tsx resolves.
  const dir = await mkdtemp(join(tmpdir(), 'ufc-gzip-memory-'));
  let stdout: string;
  try {
    const script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
    ({ stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
      maxBuffer: 1 << 20,
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const { before, after, message } = JSON.parse(stdout.trim().split('\n').pop()!) as { before: number; after: number; message: string };
  assert.match(message, /inflates to more than the 536870912 bytes accepted/, `the bomb fails as too large (got: ${message})`);
  const kept = (after - before) / 2 ** 20;
  assert.ok(kept < 150, `RSS ${(before / 2 ** 20).toFixed(0)} MB before the bomb, ${(after / 2 ** 20).toFixed(0)} MB after: ${kept.toFixed(0)} MB kept`);
});

test('a gzip list of many inflate chunks, and of several members, inflates whole', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 1_000_000; i++) lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} ; n${i % 7}\n`);
  const text = Buffer.from(lines.join(''));
  assert.ok(text.length > 3 * 4 * 1024 * 1024, `the list (${text.length} bytes) spans several 4 MiB chunks`);
  const half = lines.length / 2;
  const body = Buffer.concat([gzipSync(lines.slice(0, half).join('')), gzipSync(lines.slice(half).join(''))]);
  const out = await inflated(body);
  assert.equal(out.gzip, true, 'read as gzip');
  assert.ok(out.bytes.equals(text), `inflates to the list's bytes (${out.bytes.length} of ${text.length})`);
  const { built } = await buildOnWorker(body, 'mine');
  assert.equal(built.gzip, true, 'the worker reads it as gzip');
  assert.equal(built.bad, 0, 'every line parses');
  assert.equal(built.index.nameOf('10.9.39.191'), `n${(9 * 65536 + 39 * 256 + 191) % 7}`, 'an address from the second member is listed under its name');
});

test('a body that is not gzip is parsed as it came', async () => {
  const body = Buffer.from('192.0.2.1 ; plain\n198.51.100.0/24\n');
  const out = await inflated(body);
  assert.equal(out.gzip, false, 'not read as gzip');
  assert.equal(out.bytes, body, 'the same buffer comes back');
  const { built } = await buildOnWorker(Buffer.from(body), 'mine');
  assert.equal(built.gzip, false, 'the worker does not read it as gzip');
  assert.equal(built.index.nameOf('192.0.2.1'), 'plain', 'its line is listed');
});

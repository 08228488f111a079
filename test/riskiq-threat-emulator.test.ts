/** The PassiveTotal emulator itself: exact sizes, determinism, auth, fault switching, and the CLI command. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateList, LIST_FORMATS, minListBytes, SEED_RESPONSE_BYTES, startPassiveTotalEmulator } from '../src/dev/passivetotal-emulator.js';
import { parseList } from '../src/threat/formats.js';
import { REPO_ROOT } from './helpers/tools.js';
import { until } from './helpers/collect.js';

test('lists hit a requested size exactly, in every format, and parse back whole', async () => {
  for (const format of LIST_FORMATS) {
    const l = generateList({ bytes: 100_003, format, seed: 5 });
    assert.equal(l.body.length, 100_003, format);
    const p = await parseList(l.body, 'blocklist');
    assert.equal(p.set.count, l.entries, format);
    assert.equal(p.set.bad, 0, format);
  }
  // Down to the smallest body of each format, its start and end; below it a size is refused.
  for (const format of LIST_FORMATS) {
    const min = minListBytes(format);
    assert.equal(generateList({ bytes: min, format }).body.length, min, format);
    assert.equal(generateList({ bytes: min + 1, format }).body.length, min + 1, format);
    assert.throws(() => generateList({ bytes: min - 1, format }), /takes at least/);
  }
  const seed = generateList({ bytes: SEED_RESPONSE_BYTES, format: 'text' });
  assert.equal(seed.body.length, 28_762_468);
  assert.ok(seed.entries > 1_000_000);
});

test('lists are deterministic per seed; gzip wraps the same bytes', () => {
  const a = generateList({ entries: 500, seed: 11, format: 'csv' });
  const b = generateList({ entries: 500, seed: 11, format: 'csv' });
  const c = generateList({ entries: 500, seed: 12, format: 'csv' });
  assert.ok(a.body.equals(b.body));
  assert.ok(!a.body.equals(c.body));
  assert.ok(gunzipSync(generateList({ entries: 500, seed: 11, format: 'csv', gzip: true }).body).equals(a.body));
});

test('Basic auth is checked, other paths are 404, faults switch at run time', async () => {
  const emu = await startPassiveTotalEmulator({ user: 'a@example.com', key: 'k-0123456789', entries: 10 });
  try {
    const auth = { authorization: 'Basic ' + Buffer.from('a@example.com:k-0123456789').toString('base64') };
    assert.equal((await fetch(emu.url)).status, 401);
    assert.equal((await fetch(emu.url, { headers: { authorization: 'Basic ' + Buffer.from('a@example.com:nope').toString('base64') } })).status, 401);
    const ok = await fetch(emu.url, { headers: auth });
    assert.equal(ok.status, 200);
    assert.ok(Buffer.from(await ok.arrayBuffer()).equals(emu.list.body));
    assert.equal((await fetch(emu.url.replace('/download', '/other'), { headers: auth })).status, 404);
    const sw = await fetch(emu.url.replace(/\/v2\/.*$/, '/_emulator/fault?mode=500'), { method: 'POST' });
    assert.equal(sw.status, 200);
    assert.equal(emu.fault, '500');
    assert.equal((await fetch(emu.url, { headers: auth })).status, 500);
    assert.equal((await fetch(emu.url.replace(/\/v2\/.*$/, '/_emulator/fault?mode=bogus'), { method: 'POST' })).status, 400);
    assert.deepEqual(emu.stats, { requests: 4, authorized: 2 }); // 401, 401, 200, 500 (the 404 is not the download)
  } finally {
    await emu.close();
  }
});

test('`ufc dev passivetotal-emulator` serves until SIGTERM and prints the EF_ lines', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'dev', 'passivetotal-emulator', '--host', '::1', '--port', '0', '--entries', '25', '--format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('API_KEY='), 20_000);
  const url = /at (http:\S+): 25 entries/.exec(out)?.[1];
  assert.ok(url, out);
  assert.match(out, new RegExp(`EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT=${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  // The fault switch it prints reaches it, on the address it serves (IPv6 here).
  const curl = /curl -X POST '(http:\S+)\?mode=</.exec(out)?.[1];
  assert.equal(curl, `${new URL(url).origin}/_emulator/fault`);
  assert.equal((await fetch(`${curl}?mode=none`, { method: 'POST' })).status, 200);
  const res = await fetch(url, { headers: { authorization: 'Basic ' + Buffer.from('user@example.com:emulator-key-0123456789abcdef').toString('base64') } });
  const items = JSON.parse(await res.text()) as { indicator: string; classification: string }[];
  assert.equal(items.length, 25);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(out, /served 1 download requests \(1 authorized\)/);
});

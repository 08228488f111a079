/** Persistence (atomic), the refresh schedule, include/exclude YAML and the download deadline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListStore, writeFileAtomic } from '../src/threat/persist.js';
import { defaultPolicy, Refresher } from '../src/threat/refresher.js';
import { InclExclFile, parseInclExcl } from '../src/threat/inclexcl.js';
import { BODY_DEADLINE, HEADER_DEADLINE, displayUrl, download } from '../src/threat/download.js';
import { tempDir, until } from './helpers/collect.js';

test('writeFileAtomic replaces the file whole and leaves no temporary file', async () => {
  const dir = tempDir('ufc-threat-');
  const p = join(dir, 'sub', 'x.body');
  await writeFileAtomic(p, 'first');
  await writeFileAtomic(p, Buffer.from('second'));
  assert.equal(readFileSync(p, 'utf8'), 'second');
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['x.body']);
});

test('ListStore round-trips body and meta; a missing store is null', async () => {
  const dir = tempDir('ufc-threat-');
  const s = new ListStore(join(dir, 'threat'), 'riskiq');
  assert.equal(s.load(), null);
  await s.save(Buffer.from('192.0.2.1\n'), { feed: 'riskiq', savedAt: '2026-01-01T00:00:00.000Z', bytes: 10, entries: 1, format: 'text', source: 'http://x/' });
  const got = s.load()!;
  assert.equal(got.body.toString(), '192.0.2.1\n');
  assert.equal(got.meta!.entries, 1);
  assert.equal(s.bodyPath, join(dir, 'threat', 'riskiq.body'));
});

test('the default retry policy: 1 minute doubling, capped at a quarter of the interval and 30 minutes', () => {
  const daily = new Refresher(async () => true, defaultPolicy(1440 * 60_000));
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map((k) => daily.delayAfter(k) / 60_000), [1440, 1, 2, 4, 8, 16, 30, 30]);
  const hourly = new Refresher(async () => true, defaultPolicy(60 * 60_000));
  assert.deepEqual([1, 2, 3, 4, 5].map((k) => hourly.delayAfter(k) / 60_000), [1, 2, 4, 8, 15]);
});

test('Refresher: failures retry with growing delays, runNow joins a run in progress, stop cancels', async () => {
  const at: number[] = [];
  let outcome = false;
  const r = new Refresher(async () => {
    at.push(performance.now());
    await new Promise((res) => setTimeout(res, 5));
    return outcome;
  }, { intervalMs: 60_000, retryBaseMs: 20, retryCapMs: 80 });
  r.start(0);
  await until(() => at.length >= 5, 3000);
  assert.ok(at.length >= 5);
  const gaps = at.slice(1, 5).map((t, i) => t - at[i]!);
  // Delays 20, 40, 80, 80 ms (+5 ms of task each); timers fire late, never early.
  assert.ok(gaps[0]! >= 20 && gaps[1]! >= 40 && gaps[2]! >= 80 && gaps[3]! >= 80, gaps.join(','));
  outcome = true;
  const p1 = r.runNow();
  const p2 = r.runNow();
  assert.equal(p1, p2);
  assert.equal(await p1, true);
  assert.equal(r.consecutiveFailures, 0);
  assert.ok(r.nextAt - Date.now() > 59_000);
  r.stop();
  assert.equal(r.nextAt, 0);
});

test('include/exclude YAML: lists, mappings, names, bad entries; unknown keys and broken YAML are errors', async () => {
  const ie = await parseInclExcl(
    ['include:', '  - 192.0.2.1', '  - { cidr: 198.51.100.0/24, name: lab }', '  - { address: "2001:db8::1", category: v6 }', '  - nonsense', 'exclude:', '  - 10.0.0.0/8', '  - 192.0.2.1'].join('\n'),
    'blocklist',
  );
  assert.equal(ie.include.size, 3);
  assert.equal(ie.exclude.size, 2);
  assert.equal(ie.bad, 1);
  assert.equal(ie.include.nameOf('198.51.100.3'), 'lab');
  assert.equal(ie.include.nameOf('2001:db8::1'), 'v6');
  assert.equal(ie.include.nameOf('192.0.2.1'), 'blocklist');
  assert.equal(ie.exclude.nameOf('10.9.9.9'), 'blocklist');
  const map = await parseInclExcl('include:\n  203.0.113.0/24: tor\n', 'blocklist');
  assert.equal(map.include.nameOf('203.0.113.9'), 'tor');
  assert.equal((await parseInclExcl('', 'blocklist')).include.size, 0);
  await assert.rejects(parseInclExcl('includes: []\n', 'blocklist'), /unknown key "includes"/);
  await assert.rejects(parseInclExcl('include: [1.2.3.4\n', 'blocklist'), /include\/exclude file: /);
});

test('InclExclFile re-reads only when the file changed', async () => {
  const dir = tempDir('ufc-threat-');
  const p = join(dir, 'ie.yml');
  writeFileSync(p, 'exclude: [192.0.2.0/24]\n');
  const f = new InclExclFile(p, 'blocklist');
  assert.equal((await f.loadIfChanged())!.exclude.size, 1);
  assert.equal(await f.loadIfChanged(), null);
  writeFileSync(p, 'exclude: [192.0.2.0/24, 198.51.100.1]\n');
  assert.equal((await f.loadIfChanged())!.exclude.size, 2);
  await assert.rejects(new InclExclFile(join(dir, 'missing.yml'), 'x').loadIfChanged(), /missing\.yml: no such file/);
});

test('download: Basic auth header, the deadline covers headers and body, credentials never in the URL', async () => {
  let auth = '';
  let mode = 'ok';
  const server = createServer((req, res) => {
    auth = req.headers.authorization ?? '';
    if (mode === 'headers') return; // never answers
    res.writeHead(200, { 'content-length': '100' });
    if (mode === 'ok') res.end('x'.repeat(100));
    else res.write('x'.repeat(10)); // body stalls
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dl`;
  try {
    const body = await download({ url, user: 'u@example.com', password: 'p:ss', timeoutMs: 1000 });
    assert.equal(body.length, 100);
    assert.equal(auth, 'Basic ' + Buffer.from('u@example.com:p:ss').toString('base64'));
    mode = 'body';
    const t0 = Date.now();
    await assert.rejects(download({ url, timeoutMs: 300 }), (e: Error & { stage: string }) => e.message === BODY_DEADLINE && e.stage === 'body');
    assert.ok(Date.now() - t0 < 2000);
    mode = 'headers';
    await assert.rejects(download({ url, timeoutMs: 300 }), (e: Error & { stage: string }) => e.message === `Get "${url}": ${HEADER_DEADLINE}` && e.stage === 'request');
  } finally {
    server.closeAllConnections();
    server.close();
  }
  assert.equal(displayUrl('https://user:secret@api.example.com/v2/x?y=1'), 'https://api.example.com/v2/x?y=1');
});

/** Persistence (atomic), the refresh schedule, include/exclude YAML and the download deadline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { ListStore, writeFileAtomic } from '../src/threat/persist.js';
import { ThreatFeed, type ThreatFeedOptions } from '../src/threat/feed.js';
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
  await s.save(Buffer.from('192.0.2.1\n'), { feed: 'riskiq', savedAt: '2026-01-01T00:00:00.000Z', entries: 1, format: 'text', source: 'http://x/' });
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

test('ListStore refuses a saved body that differs from its meta file (cut short, or altered), with the reason', async () => {
  const dir = tempDir('ufc-threat-');
  const s = new ListStore(join(dir, 'threat'), 'riskiq');
  const body = '198.51.100.7 ; c2\n203.0.113.0/24 ; scan\n';
  await s.save(Buffer.from(body), { feed: 'riskiq', savedAt: '2026-01-01T00:00:00.000Z', entries: 2, format: 'text', source: 'http://x/' });
  assert.match(JSON.parse(readFileSync(s.metaPath, 'utf8')).sha256, /^[0-9a-f]{64}$/);
  // Cut short: the last line would read as 192.0.0.0/2.
  writeFileSync(s.bodyPath, body.slice(0, body.indexOf('/24') + 2));
  assert.throws(() => s.load(), /riskiq\.body is 31 bytes but .*riskiq\.meta\.json says 40: damaged, not used/);
  // Same size, other bytes.
  writeFileSync(s.bodyPath, body.replace('c2', 'x2'));
  assert.throws(() => s.load(), /does not match the SHA-256/);
  // A meta file from before the checksum was recorded: the size is still checked, the body used.
  const meta = JSON.parse(readFileSync(s.metaPath, 'utf8'));
  delete meta.sha256;
  writeFileSync(s.metaPath, JSON.stringify(meta));
  assert.equal(s.load()!.body.toString(), body.replace('c2', 'x2'));
});

test('download: API key headers and credentials stay with the configured origin across redirects; redirects are bounded', async () => {
  const seen: { host: string; key: string; auth: string }[] = [];
  const other = createServer((req, res) => {
    seen.push({ host: 'other', key: String(req.headers.key ?? '-'), auth: req.headers.authorization ?? '-' });
    res.end('192.0.2.1\n');
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
  const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/list`;
  const main = createServer((req, res) => {
    seen.push({ host: 'main', key: String(req.headers.key ?? '-'), auth: req.headers.authorization ?? '-' });
    if (req.url === '/same') res.writeHead(302, { location: '/final' }).end();
    else if (req.url === '/away') res.writeHead(302, { location: otherUrl }).end();
    else if (req.url === '/loop') res.writeHead(301, { location: '/loop' }).end();
    else if (req.url === '/file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    else res.end('198.51.100.7\n');
  });
  await new Promise<void>((r) => main.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(main.address() as AddressInfo).port}`;
  const opts = { user: 'u', password: 'p', timeoutMs: 2000, headers: { Key: 'secret-key' } };
  try {
    assert.equal((await download({ ...opts, url: `${base}/same` })).toString(), '198.51.100.7\n');
    assert.deepEqual(seen.splice(0), [{ host: 'main', key: 'secret-key', auth: 'Basic dTpw' }, { host: 'main', key: 'secret-key', auth: 'Basic dTpw' }]);
    assert.equal((await download({ ...opts, url: `${base}/away` })).toString(), '192.0.2.1\n');
    assert.deepEqual(seen.splice(0), [{ host: 'main', key: 'secret-key', auth: 'Basic dTpw' }, { host: 'other', key: '-', auth: '-' }]);
    await assert.rejects(download({ ...opts, url: `${base}/loop` }), /stopped after 5 redirects/);
    assert.equal(seen.splice(0).length, 6);
    await assert.rejects(download({ ...opts, url: `${base}/file` }), /redirect to file: refused/);
  } finally {
    main.close();
    other.close();
  }
});

test('download: a body over the size bound fails (declared or streamed), and a 429 carries its Retry-After', async () => {
  let mode = 'declared';
  const server = createServer((req, res) => {
    if (mode === 'declared') res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
    else if (mode === 'streamed') {
      res.writeHead(200);
      let n = 0;
      const more = (): void => {
        // Bounded: at most 100 writes of 100 bytes.
        if (n++ < 100 && !res.destroyed) res.write('x'.repeat(100), () => setImmediate(more));
        else res.end();
      };
      more();
    } else if (mode === '429-seconds') res.writeHead(429, { 'retry-after': '3600' }).end();
    else res.writeHead(503, { 'retry-after': new Date(Date.now() + 120_000).toUTCString() }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dl`;
  try {
    await assert.rejects(download({ url, timeoutMs: 2000, maxBytes: 1000 }), (e: Error & { stage: string }) => e.stage === 'body' && /5000 bytes is larger than the 1000 accepted/.test(e.message));
    mode = 'streamed';
    await assert.rejects(download({ url, timeoutMs: 2000, maxBytes: 1000 }), /larger than the 1000 bytes accepted; download stopped/);
    mode = '429-seconds';
    await assert.rejects(download({ url, timeoutMs: 2000 }), (e: Error & { status: number; retryAfterMs: number }) => e.status === 429 && e.retryAfterMs === 3_600_000);
    mode = '503-date';
    await assert.rejects(download({ url, timeoutMs: 2000 }), (e: Error & { retryAfterMs: number }) => e.retryAfterMs > 100_000 && e.retryAfterMs <= 120_000);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('Refresher: a Retry-After longer than the backoff sets the retry, up to the interval, for that failure only', () => {
  const r = new Refresher(async () => false, defaultPolicy(1440 * 60_000));
  r.retryNoSoonerThan(3600_000);
  assert.equal(r.delayAfter(1), 3600_000);
  r.retryNoSoonerThan(7 * 86400_000);
  assert.equal(r.delayAfter(1), 1440 * 60_000, 'never past the refresh interval');
});

test('Refresher: after a failure that carried a Retry-After, the next failure waits the normal backoff', async () => {
  let n = 0;
  const r = new Refresher(async () => {
    n++;
    // Only the first attempt's server asks for an hour.
    if (n === 1) r.retryNoSoonerThan(3600_000);
    return false;
  }, defaultPolicy(1440 * 60_000));
  r.start(3600_000);
  try {
    assert.equal(await r.runNow(), false, 'the first attempt fails');
    const first = r.nextAt - Date.now();
    assert.ok(first > 3500_000 && first <= 3600_000, `first retry in ${first} ms, expected about an hour (the Retry-After)`);
    assert.equal(await r.runNow(), false, 'the second attempt fails');
    const second = r.nextAt - Date.now();
    // Two failures: base 1 min doubled once, 2 min; the first server's hour no longer applies.
    assert.ok(second > 60_000 && second <= 120_000, `second retry in ${second} ms, expected the 2 min backoff`);
  } finally {
    r.stop();
  }
});

test('Refresher: a wait longer than a Node timer holds (2^31-1 ms) does not fire early', async () => {
  let runs = 0;
  const thirtyDays = 30 * 86400_000;
  const r = new Refresher(async () => {
    runs++;
    return true;
  }, defaultPolicy(thirtyDays));
  r.start(thirtyDays);
  try {
    await sleep(200);
    assert.equal(runs, 0, `a refresh due in 30 days ran ${runs} times within 200 ms`);
    assert.ok(r.nextAt - Date.now() > thirtyDays - 60_000, `next refresh at ${r.nextAt}, expected 30 days on`);
  } finally {
    r.stop();
  }
});

test('OTX pages share one timeout: the option bounds a refresh, not each page', async () => {
  const { fetchOtxPages } = await import('../src/threat/feeds/otx.js');
  let served = 0;
  const server = createServer((req, res) => {
    served++;
    const n = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
    // Each page takes 300 ms; ten of them would take 3 s.
    setTimeout(() => res.end(JSON.stringify({ results: [], next: n < 10 ? `/pulses?page=${n + 1}` : null })), 300);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pulses?page=1`;
  const t0 = Date.now();
  try {
    await assert.rejects(fetchOtxPages({ url, timeoutMs: 1000 }), /context deadline exceeded/);
    assert.ok(Date.now() - t0 < 1500, `failed after ${Date.now() - t0} ms`);
    assert.ok(served <= 4, `${served} pages asked for`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a downloaded list whose save fails is saved on a later try, and the tries stop with the feed', async () => {
  const dir = tempDir('ufc-save-');
  const stateDir = join(dir, 'threat');
  // A file where the directory should be: the save cannot make it.
  writeFileSync(stateDir, 'in the way');
  const calls: string[] = [];
  const opts: ThreatFeedOptions = {
    feed: 'retry', defaultName: 'listed', url: 'http://127.0.0.1:9/list', timeoutMs: 1000, stateDir, policy: defaultPolicy(3_600_000),
    offThread: false, saveRetryMs: 50, onIndex: () => {},
    fetchBody: async () => Buffer.from('198.51.100.7\n203.0.113.0/24\n'),
    hooks: {
      fetching: () => {}, received: () => {}, requestFailed: () => {}, readFailed: () => {}, skipped: () => {}, populated: () => {}, failed: () => {},
      storeFailed: (_cause, op) => calls.push(`failed ${op}`),
      storedLater: (path) => calls.push(`saved ${path}`),
    },
  };
  const feed = new ThreatFeed(opts);
  assert.equal(await feed.refresh(), true, 'the list is active though not saved');
  assert.deepEqual(calls, ['failed save']);
  await sleep(200);
  assert.deepEqual(calls, ['failed save'], 'tried again, quietly, while it still fails');
  rmSync(stateDir);
  await until(() => calls.length === 2, 2000);
  assert.deepEqual(calls, ['failed save', `saved ${new ListStore(stateDir, 'retry').bodyPath}`]);
  assert.equal(new ListStore(stateDir, 'retry').load()?.body.toString(), '198.51.100.7\n203.0.113.0/24\n');
  feed.stop();

  // Stopped, a feed tries no more.
  const other = join(dir, 'threat2');
  writeFileSync(other, 'in the way');
  const stopped = new ThreatFeed({ ...opts, stateDir: other });
  assert.equal(await stopped.refresh(), true);
  stopped.stop();
  rmSync(other);
  await sleep(200);
  assert.equal(existsSync(other), false);
  assert.equal(calls.length, 3);
});

/**
 * A user feed's secrets (src/enrich/threat-feeds.ts, src/threat/feeds/resolve.ts): a key in any
 * query parameter of a URL the user wrote, a short header value, the URL's user:password. None may
 * reach a log line, the status page or the files kept in the data directory; user:password is sent
 * as HTTP Basic credentials. A small list server on 127.0.0.1 stands in for the user's feed host.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, setLogger } from '../src/log/logger.js';
import { redact } from '../src/log/redact.js';
import { ThreatFeedsEnricher } from '../src/enrich/threat-feeds.js';
import { maskedUrl } from '../src/threat/download.js';
import type { UserFeed } from '../src/threat/feeds/userdef.js';
import { tempDir, testConfig } from './helpers/collect.js';

const raw: string[] = [];
setLogger(createLogger({ level: 'debug', encoding: 'json', sink: (l) => raw.push(l) }));

const LIST = '185.220.101.1\n45.155.205.0/24\n';
/** Azure Functions' key parameter: a name no key-like pattern catches. */
const CODE = 'SEKRIT-azfunc-5b8e1d0c7a9f';
const USER = 'feed-reader';
const PASSWORD = 'p@ss:w0rd-3c1e';

let server: Server;
let base: string;
/** Authorization headers the server was sent, by path. */
const auth = new Map<string, string | undefined>();
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    hits++;
    const path = (req.url ?? '/').split('?')[0]!;
    auth.set(path, req.headers.authorization);
    if (path === '/basic' && req.headers.authorization !== 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64')) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="feeds"' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(LIST);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((r) => server.close(r));
});

function enricher(dataDir: string, feeds: UserFeed[], autoRefresh = false): ThreatFeedsEnricher {
  const config = testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'tor-exit', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: base, EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_TIMEOUT: '2' });
  return new ThreatFeedsEnricher({ config, dataDir, userFeeds: feeds, autoRefresh, offThread: false, retry: { retryBaseMs: 50, retryCapMs: 100 } });
}

/** The files the user feeds (`corp...`) keep in the data directory, as text. */
function stateFiles(dataDir: string): Map<string, string> {
  const dir = join(dataDir, 'threat');
  return new Map(readdirSync(dir).filter((f) => f.startsWith('corp') && f.endsWith('.json')).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
}

test('maskedUrl: every query value of a user URL, only key-like ones of a built-in; names, bare flags and the path kept', () => {
  assert.equal(maskedUrl('https://f.example/api/list?code=abc123&format=json', true), 'https://f.example/api/list?code=***&format=***', 'a user URL: every value');
  assert.equal(maskedUrl('https://f.example/api/list?code=abc123&apikey=k1', false), 'https://f.example/api/list?code=abc123&apikey=***', 'a built-in: key-like names only');
  assert.equal(maskedUrl('https://api.example/v2/blacklist?confidenceMinimum=90&plaintext', true), 'https://api.example/v2/blacklist?confidenceMinimum=***&plaintext', 'a bare flag stays');
  assert.equal(maskedUrl('https://u:p@f.example/x?empty=&t=1#token=abc', true), 'https://f.example/x?empty=&t=***#***', 'no user info, an empty value kept, a fragment masked');
  assert.equal(maskedUrl('https://f.example/x', true), 'https://f.example/x', 'nothing to mask');
});

test('a user feed key in a query parameter of any name stays out of the log, the status page and error messages', async () => {
  const mark = raw.length;
  const e = enricher(tempDir('ufc-feed-secrets-'), [
    { name: 'corp2', url: `${base}/list?code=${CODE}&days=7&list=corp-intel-feed-2024`, format: 'plain', headers: {} },
    // Nothing listens on port 9 of the loopback: the error message names the URL.
    { name: 'corp-down', url: `http://127.0.0.1:9/list?code=${CODE}`, format: 'plain', headers: {} },
  ]);
  await e.start();
  await e.refreshAll();
  await e.stop();
  const logged = raw.slice(mark);
  for (const l of logged) assert.ok(!l.includes(CODE), `key logged: ${l}`);
  assert.ok(logged.some((l) => l.includes(`Threat feed corp2: user feed, plain format, every 60 min from ${base}/list?code=***&days=***&list=***`)), 'the start line shows the URL masked');
  assert.ok(logged.some((l) => l.includes(`Threat feed corp2: Fetching Threat DB from ${base}/list?code=***&days=***&list=***`)), 'the fetch line too');
  const st = e.status().feeds;
  const corp2 = st.find((f) => f.feed === 'corp2')!;
  const down = st.find((f) => f.feed === 'corp-down')!;
  assert.equal(corp2.entries, 2, 'the feed loaded');
  assert.equal(corp2.source, `${base}/list?code=***&days=***&list=***`, 'the status page shows the URL masked');
  // Ordinary values (a list's name, a count) are masked in the URL but not made secrets: the redactor
  // would blank them in every line (a feed's own name in its status, a review found).
  for (const word of ['corp-intel-feed-2024', 'plain', '5000']) assert.equal(redact(`feed ${word} here`), `feed ${word} here`, `${word} is no secret`);
  assert.equal(redact(`the key ${CODE}`), 'the key ***', 'the key is');
  assert.match(String(down.lastError), /^Get "http:\/\/127\.0\.0\.1:9\/list\?code=\*\*\*": /, 'the error message names the URL masked');
  assert.ok(!JSON.stringify(st).includes(CODE), 'the status holds no key, before any redaction');
  assert.equal(redact(`echoed ${CODE}`), 'echoed ***', 'the value is known to the redactor, for a line that echoes it');
});

test('user header values of 4 characters or more are redacted; shorter ones and short query words are not', () => {
  enricher(tempDir('ufc-feed-secrets-'), [{ name: 'corp-h', url: `${base}/list?format=json&limit=5000&sig=a1b2c`, format: 'plain', headers: { 'X-Key': 'k9x2z', 'X-Pin': 'k7q' } }]);
  assert.equal(redact('key k9x2z'), 'key ***', 'a 5-character header value is a secret');
  assert.equal(redact('pin k7q'), 'pin k7q', 'under the redactor\'s 4 characters: not redacted');
  assert.equal(redact('sig a1b2c'), 'sig ***', 'a key-like query name: at the redactor\'s minimum');
  assert.equal(redact('received response: 15000 bytes, format json'), 'received response: 15000 bytes, format json', 'short query words and counts under another name do not blank lines');
});

test('no key is written to the data directory, and a restart on the same URL does not download again', async () => {
  const dir = tempDir('ufc-feed-secrets-');
  const feeds = (): UserFeed[] => [{ name: 'corp2', url: `${base}/list?code=${CODE}`, format: 'plain', headers: {}, intervalMin: 60 }];
  const first = enricher(dir, feeds());
  await first.start();
  await first.refreshAll();
  await first.stop();
  const files = stateFiles(dir);
  assert.deepEqual([...files.keys()].sort(), ['corp2.attempt.json', 'corp2.meta.json'], 'both files written');
  for (const [f, text] of files) {
    assert.ok(!text.includes(CODE), `${f} holds the key: ${text}`);
    assert.equal((JSON.parse(text) as { source: string }).source, `${base}/list?code=***`, `${f} shows the URL masked`);
  }
  const h0 = hits;
  const second = enricher(dir, feeds(), true);
  await second.start();
  await new Promise((r) => setTimeout(r, 150));
  await second.stop();
  assert.equal(hits, h0, 'the stored copy is fresh: not asked again');
  // Another query value is another list: fetched at once.
  const moved = enricher(dir, [{ ...feeds()[0]!, url: `${base}/list?code=${CODE}x` }], true);
  await moved.start();
  for (let i = 0; i < 100 && hits === h0; i++) await new Promise((r) => setTimeout(r, 20));
  await moved.stop();
  assert.equal(hits, h0 + 1, 'a changed URL downloads at once, though it shows the same masked');
});

test('files written by an older version (the URL whole) keep the schedule after an upgrade and lose the key', async () => {
  const dir = tempDir('ufc-feed-secrets-');
  const url = `${base}/list?code=${CODE}`;
  const first = enricher(dir, [{ name: 'corp2', url, format: 'plain', headers: {} }]);
  await first.start();
  await first.refreshAll();
  await first.stop();
  // As the older version wrote them: `source` the URL whole, no hash.
  const threat = join(dir, 'threat');
  const meta = JSON.parse(readFileSync(join(threat, 'corp2.meta.json'), 'utf8')) as Record<string, unknown>;
  delete meta.sourceSha256;
  writeFileSync(join(threat, 'corp2.meta.json'), JSON.stringify({ ...meta, source: url }));
  const attempt = JSON.parse(readFileSync(join(threat, 'corp2.attempt.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(threat, 'corp2.attempt.json'), JSON.stringify({ at: attempt.at, source: url, failures: 0 }));
  const h0 = hits;
  const second = enricher(dir, [{ name: 'corp2', url, format: 'plain', headers: {} }], true);
  await second.start();
  await new Promise((r) => setTimeout(r, 150));
  const st = second.status().feeds.find((f) => f.feed === 'corp2')!;
  await second.stop();
  assert.equal(st.entries, 2, 'the old stored copy is loaded');
  assert.equal(hits, h0, 'and is fresh: no download at the upgrade');
  assert.ok((st.nextRefresh as number) > Date.now() + 55 * 60_000, 'the next download when the interval is up');
  for (const [f, text] of stateFiles(dir)) assert.ok(!text.includes(CODE), `${f} still holds the key after the start: ${text}`);
});

test('user:password in a user feed URL is sent as HTTP Basic credentials and never shown', async () => {
  const mark = raw.length;
  const dir = tempDir('ufc-feed-secrets-');
  const url = `http://${USER}:${encodeURIComponent(PASSWORD)}@${base.slice('http://'.length)}/basic`;
  const e = enricher(dir, [{ name: 'corp-basic', url, format: 'plain', headers: {} }]);
  await e.start();
  await e.refreshAll();
  await e.stop();
  const st = e.status().feeds.find((f) => f.feed === 'corp-basic')!;
  assert.equal(st.lastError, null, `the protected feed answered: ${String(st.lastError)}`);
  assert.equal(st.entries, 2, 'the feed loaded');
  assert.equal(auth.get('/basic'), 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64'), 'credentials sent percent-decoded, in the Authorization header');
  assert.equal(st.source, `${base}/basic`, 'the status shows no user info');
  for (const l of raw.slice(mark)) assert.ok(!l.includes(PASSWORD) && !l.includes(encodeURIComponent(PASSWORD)) && !l.includes(`${USER}:`), `credentials logged: ${l}`);
  for (const [f, text] of stateFiles(dir)) assert.ok(!text.includes(USER) && !text.includes(encodeURIComponent(PASSWORD)), `${f} holds the credentials: ${text}`);
  // The password is known to the redactor; the user name, a word, is not (it would be blanked wherever it stands).
  assert.equal(redact(`a ${PASSWORD} b ${USER}`), `a *** b ${USER}`, 'the password is known to the redactor, the user name not');
});

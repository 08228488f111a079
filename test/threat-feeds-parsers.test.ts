/**
 * The feed formats and the private-space filter on their own: each parser on the shapes its
 * provider documents, the IANA special-purpose edge cases (more specific public entries inside
 * private blocks, embedded IPv4), and the worker and main-thread builds agreeing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchOtxPages } from '../src/threat/feeds/otx.js';
import { DownloadError } from '../src/threat/download.js';
import { catalogueFeed } from '../src/threat/feeds/catalogue.js';
import { parseForFeed, type FeedParseSpec } from '../src/threat/feeds/parse.js';
import { PrivateSpace } from '../src/threat/feeds/private-space.js';
import { buildHere, buildOnWorker } from '../src/threat/build.js';
import { ListFormatError } from '../src/threat/formats.js';
import { Slicer } from '../src/threat/slicer.js';
import { ThreatMatcher } from '../src/threat/matcher.js';
import { parseIPv4, parseIPv6 } from '../src/threat/ip.js';

async function names(body: string | Buffer, spec: FeedParseSpec, lookups: string[]): Promise<{ found: (string | null)[]; bad: number; dropped: number; count: number }> {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const p = await parseForFeed(b, 'default', new Slicer(), spec);
  const built = await buildHere(b, 'default', new Slicer(), spec);
  const m = new ThreatMatcher();
  m.setList(built.index);
  return { found: lookups.map((ip) => m.nameFor(ip)), bad: p.set.bad, dropped: p.dropped, count: p.set.count };
}

test('Spamhaus JSON lines: cidr named by sblid, the metadata record skipped, gzip accepted', async () => {
  const body = '{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}\n{"cidr":"2a06:5280::/29","sblid":"SBL608911","rir":"ripencc"}\n{"type":"metadata","timestamp":1764252000,"size":118,"records":2,"copyright":"(c) 2026 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}\n';
  for (const b of [body, gzipSync(body)]) {
    const r = await names(b, { format: 'jsonl', dropPrivate: true }, ['1.10.31.255', '1.10.32.0', '2a06:5287:ffff::1']);
    assert.deepEqual(r.found, ['SBL256894', null, 'SBL608911']);
    assert.equal(r.bad, 0);
    assert.equal(r.count, 2);
  }
});

test('JSON records: Feodo (ip_address/malware), AbuseIPDB (data[].ipAddress), bad lines counted', async () => {
  const feodo = JSON.stringify([{ ip_address: '162.243.103.246', port: 8080, malware: 'Emotet' }, { ip_address: '51.75.33.127', malware: 'QakBot' }]);
  assert.deepEqual((await names(feodo, { format: 'json' }, ['162.243.103.246', '51.75.33.127'])).found, ['Emotet', 'QakBot']);
  const abuse = JSON.stringify({ meta: { generatedAt: '2026-11-27T14:00:00+00:00' }, data: [{ ipAddress: '118.25.6.39', countryCode: 'CN', abuseConfidenceScore: 100 }] });
  assert.deepEqual((await names(abuse, { format: 'json' }, ['118.25.6.39'])).found, ['default']);
  const r = await names('{"ip":"94.232.46.19","name":"bruteforce"}\nnot json\n{"nothing":1}\n', { format: 'jsonl' }, ['94.232.46.19']);
  assert.deepEqual(r.found, ['bruteforce']);
  assert.equal(r.bad, 2);
});

test('AbuseIPDB in its JSON form (data[].ipAddress) reads under the feed\'s own format, not only as json', async () => {
  // The catalogue asks for plain text; a mirror, a proxy or an Accept header may still bring the JSON.
  const format = catalogueFeed('abuseipdb')!.format;
  const abuse = JSON.stringify({ meta: { generatedAt: '2026-11-27T14:00:00+00:00' }, data: [{ ipAddress: '118.25.6.39', countryCode: 'CN', abuseConfidenceScore: 100 }, { ipAddress: '2a03:b0c0:3:d0::1', abuseConfidenceScore: 100 }] });
  const r = await names(abuse, { format, dropPrivate: true }, ['118.25.6.39', '2a03:b0c0:3:d0::1']);
  assert.deepEqual(r.found, ['default', 'default'], `both addresses read as ${format}`);
  assert.equal(r.bad, 0, 'nothing skipped');
  // A CSV export of the same list names its column ipAddress too.
  assert.deepEqual((await names('ipAddress,abuseConfidenceScore\n118.25.6.39,100\n', { format: 'csv' }, ['118.25.6.39'])).found, ['default'], 'CSV column ipAddress');
});

test('DShield block.txt: start plus the Netblock prefix length; header row and comments skipped', async () => {
  const body = '#   DShield.org Recommended Block List\n#\nStart\tEnd\tNetblock\tAttacks\tName\tCountry\temail\n193.32.162.0\t193.32.162.255\t24\t3861\tEX\tNL\tabuse@example.net\n';
  const r = await names(body, { format: 'dshield' }, ['193.32.162.200', '193.32.163.1']);
  assert.deepEqual(r.found, ['default', null]);
  assert.equal(r.bad, 0);
});

test('Zeek Intel: ADDR and SUBNET kept (named by meta.desc, else meta.source), other types skipped silently', async () => {
  const body = '#separator \\x09\n#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n141.98.11.0\tIntel::ADDR\tcorp\tphishing, kit\n141.98.10.0/24\tIntel::SUBNET\tcorp\t-\nevil.example.com\tIntel::DOMAIN\tcorp\tC2\n';
  const r = await names(body, { format: 'zeek' }, ['141.98.11.0', '141.98.10.77']);
  // The ',' in a name would split the joined threat fields.
  assert.deepEqual(r.found, ['phishing kit', 'corp']);
  assert.equal(r.bad, 0);
  assert.equal(r.count, 2);
});

test('Suricata iprep: ip or CIDR, category named, score 0 (no data) skipped', async () => {
  const r = await names('179.43.187.0,1,101\n179.43.188.0/24,6,88\n45.9.148.3,2,0\nbogus\n', { format: 'iprep' }, ['179.43.187.0', '179.43.188.9', '45.9.148.3']);
  assert.deepEqual(r.found, ['iprep-category-1', 'iprep-category-6', null]);
  assert.equal(r.bad, 1);
});

test('OTX pulses: IPv4, IPv6 and CIDR indicators named by the pulse; a body without results is unreadable', async () => {
  const body = JSON.stringify({ results: [{ name: 'Pulse A', indicators: [{ indicator: '194.26.29.113', type: 'IPv4' }, { indicator: 'x.example', type: 'domain' }, { indicator: '2a0e:1c80::/32', type: 'CIDR' }] }] });
  assert.deepEqual((await names(body, { format: 'otx' }, ['194.26.29.113', '2a0e:1c80::1'])).found, ['Pulse A', 'Pulse A']);
  await assert.rejects(parseForFeed(Buffer.from('{"detail":"Authentication required"}'), 'd', new Slicer(), { format: 'otx' }), /no "results" array/);
});

test('private space: registry blocks, more specific public entries, embedded IPv4, user ranges', () => {
  const s = new PrivateSpace(['77.90.185.0/24', '2a01:4f8::/32']);
  const v4 = (c: string): boolean => {
    const [a, p] = c.split('/');
    return s.overlapsV4Cidr(parseIPv4(a!), Number(p ?? 32));
  };
  const v6 = (c: string): boolean => {
    const [a, p] = c.split('/');
    const w = new Uint32Array(4);
    assert.ok(parseIPv6(a!, w), c);
    return s.overlapsV6Cidr(w, Number(p ?? 128));
  };
  for (const c of ['10.0.0.0/8', '8.0.0.0/6', '0.0.0.0/0', '192.0.0.8/30', '224.0.0.0/3', '100.64.0.1', '203.0.113.9', '77.90.185.60', '255.255.255.255']) assert.ok(v4(c), `${c} private`);
  for (const c of ['192.0.0.9', '192.0.0.10', '192.88.99.0/24', '1.10.16.0/20', '11.0.0.0/8', '8.8.8.8', '77.90.184.0/24']) assert.ok(!v4(c), `${c} public`);
  for (const c of ['fd00::1', 'fe80::/10', '::ffff:10.0.0.1', '64:ff9b::192.168.0.1', '2002:c0a8:1::/48', '2001:db8::/32', '2001::/16', '::/0', '2a01:4f8:1::1', 'ff02::1', '4000::/3', '::a00:1', '::ffff:0:a00:1']) assert.ok(v6(c), `${c} private`);
  for (const c of ['2a06:5280::/29', '2001:20::/28', '2001::/32', '64:ff9b::808:808', '2002:0808:0808::/48', '2620:4f:8000::/48', '::808:808', '::ffff:0:808:808']) assert.ok(!v6(c), `${c} public`);
});

test('the worker and the main thread build the same filtered list', async () => {
  const body = Buffer.from('# netset\n10.0.0.0/8\n5.188.10.0/23\n192.168.0.0/16\n2a06:5280::/29\nfd00::/8\n');
  const spec: FeedParseSpec = { format: 'plain', dropPrivate: true };
  const here = await buildHere(Buffer.from(body), 'lvl1', new Slicer(1), spec);
  const { built: there } = await buildOnWorker(Buffer.from(body), 'lvl1', spec);
  for (const b of [here, there]) {
    assert.equal(b.dropped, 3);
    assert.deepEqual(b.droppedSamples, ['10.0.0.0/8', '192.168.0.0/16', 'fd00:0:0:0:0:0:0:0/8']);
    assert.equal(b.index.size, 2);
  }
  assert.equal(there.builtOn, 'worker');
});

test('OTX paging: `next` is followed on the same origin only (the key header never leaves it), pages are bounded', async () => {
  let served = 0;
  const srv = createServer((req, res) => {
    served++;
    const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '1');
    const next = req.url?.startsWith('/evil') ? 'http://127.0.0.2:9/steal' : `http://127.0.0.1:${(srv.address() as AddressInfo).port}/otx?page=${page + 1}`;
    res.end(JSON.stringify({ next, results: [{ name: `p${page}`, indicators: [{ indicator: `45.9.148.${page}`, type: 'IPv4' }] }] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  try {
    const body = await fetchOtxPages({ url: `${base}/otx?limit=1`, timeoutMs: 2000, headers: { 'X-OTX-API-KEY': 'k' } }, 3);
    const doc = JSON.parse(body.toString()) as { pages: number; results: { name: string }[] };
    assert.equal(doc.pages, 3, 'stops at the page limit');
    assert.deepEqual(doc.results.map((r) => r.name), ['p1', 'p2', 'p3']);
    served = 0;
    await assert.rejects(fetchOtxPages({ url: `${base}/evil`, timeoutMs: 2000 }), /points to another host \(http:\/\/127\.0\.0\.2:9\); not followed/);
    assert.equal(served, 1);
  } finally {
    srv.close();
  }
});

test('OTX paging: the body size limit bounds all pages together, not each page', async () => {
  const pad = 'x'.repeat(1000);
  const srv = createServer((req, res) => {
    const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '1');
    const next = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/otx?page=${page + 1}`;
    res.end(JSON.stringify({ next, results: [{ name: `p${page}`, description: pad, indicators: [{ indicator: `45.9.148.${page}`, type: 'IPv4' }] }] }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/otx`;
  try {
    const all = JSON.parse((await fetchOtxPages({ url, timeoutMs: 2000, maxBytes: 10_000 }, 5)).toString()) as { pages: number };
    assert.equal(all.pages, 5, 'five pages of about 1.1 kB fit in 10 kB');
    await assert.rejects(fetchOtxPages({ url, timeoutMs: 2000, maxBytes: 2500 }, 5),
      (err: Error) => err instanceof DownloadError && err.stage === 'body' && /^OTX page 3 takes the pages past the 2500 bytes accepted for all of them together/.test(err.message),
      'each page is below 2500 bytes, the three together are not');
  } finally {
    srv.close();
  }
});

test('gzip in the named formats is bounded like a plain body: a bomb is refused as unreadable, not inflated into memory', async () => {
  const { MAX_BODY_BYTES } = await import('../src/threat/download.js');
  // About 0.5 MB of gzip inflating past the limit; the parsers once inflated it whole and made one string of it.
  const bomb = gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20));
  for (const format of ['jsonl', 'json', 'dshield', 'zeek', 'iprep'] as const) {
    await assert.rejects(parseForFeed(bomb, 'default', new Slicer(), { format }), (e: Error) => e instanceof ListFormatError && /inflates to more than the \d+ bytes accepted/.test(e.message), format);
  }
});

test('a body whose parse throws fails as unreadable on the build worker (a ListFormatError), not as the worker\'s failure', async () => {
  // A control character inside a JSON member name: JSON.parse of the name threw a SyntaxError, which
  // came back as the worker's own failure and moved every later build of the feed to the main thread.
  const bad = Buffer.from('{"a\tb":[]}');
  await assert.rejects(buildOnWorker(bad, 'default'), (e: Error) => e instanceof ListFormatError && /malformed JSON at offset 1: bad member name/.test(e.message));
  await assert.rejects(buildHere(bad, 'default', new Slicer()), (e: Error) => e instanceof ListFormatError);
});

test('lone CR line ends (old Mac files) split lines in every line format', async () => {
  assert.deepEqual((await names('8.8.8.8\r1.1.1.1 ; dns\r\r9.9.9.9\r', { format: 'plain' }, ['8.8.8.8', '1.1.1.1', '9.9.9.9'])).found, ['default', 'dns', 'default']);
  assert.deepEqual((await names('{"ip":"8.8.8.8","name":"a"}\r{"ip":"1.1.1.1","name":"b"}\r\n{"ip":"9.9.9.9","name":"c"}', { format: 'jsonl' }, ['8.8.8.8', '1.1.1.1', '9.9.9.9'])).found, ['a', 'b', 'c']);
  assert.deepEqual((await names('8.8.8.8,1,50\r1.1.1.1,2,50\r', { format: 'iprep' }, ['8.8.8.8', '1.1.1.1'])).found, ['iprep-category-1', 'iprep-category-2']);
});

test('Zeek: the #fields line is split on the #separator the file declares', async () => {
  const body = '#separator \\x2c\n#fields,indicator,indicator_type,meta.source\n8.8.8.8,Intel::ADDR,src-a\n203.0.113.0/24,Intel::SUBNET,src-b\n';
  const r = await names(body, { format: 'zeek' }, ['8.8.8.8', '203.0.113.9']);
  assert.deepEqual(r.found, ['src-a', 'src-b']);
  assert.equal(r.bad, 0);
});

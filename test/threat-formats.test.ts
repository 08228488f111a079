/** Blocklist bodies: format sniffing and each accepted format, gzip, and the bad-entry accounting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListFormatError, parseList, sniffFormat, splitCsvLine } from '../src/threat/formats.js';
import { buildPrefixIndex } from '../src/threat/prefix-index.js';
import { generateList, LIST_FORMATS } from '../src/dev/passivetotal-emulator.js';

async function names(body: string | Buffer, probes: string[]): Promise<{ format: string; gzip: boolean; bad: number; got: (string | null)[] }> {
  const p = await parseList(typeof body === 'string' ? Buffer.from(body) : body, 'blocklist');
  const index = await buildPrefixIndex(p.set);
  return { format: p.format, gzip: p.gzip, bad: p.set.bad, got: probes.map((ip) => index.nameOf(ip)) };
}

test('JSON array of strings', async () => {
  const r = await names('["192.0.2.1", "198.51.100.0/24", "2001:db8::/32", "nope"]', ['192.0.2.1', '198.51.100.9', '2001:db8::5', '203.0.113.1']);
  assert.equal(r.format, 'json');
  assert.deepEqual(r.got, ['blocklist', 'blocklist', 'blocklist', null]);
  assert.equal(r.bad, 1);
});

test('JSON objects: every address key and every name key, tags arrays, case-insensitive keys', async () => {
  const body = JSON.stringify([
    { ip: '192.0.2.1', name: 'n-name' },
    { address: '192.0.2.2', classification: 'n-class' },
    { indicator: '192.0.2.3', category: 'n-cat' },
    { Value: '192.0.2.4', Threat: 'n-threat' },
    { cidr: '10.1.0.0/16', tags: ['malware', 'c2'] },
    { network: '2001:db8:5::/48' },
    { other: '192.0.2.9' },
    ['192.0.2.10', 'pair'],
    42,
  ]);
  const r = await names(body, ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '10.1.200.1', '2001:db8:5::1', '192.0.2.9', '192.0.2.10']);
  assert.deepEqual(r.got, ['n-name', 'n-class', 'n-cat', 'n-threat', 'malware,c2', 'blocklist', null, 'pair']);
  assert.equal(r.bad, 2);
});

test('JSON object holding the array (a well-known key, or the first array member)', async () => {
  const a = await names('{"count": 2, "meta": {"x": [1]}, "blocklist": ["192.0.2.1", {"ip": "192.0.2.2", "name": "x"}]}', ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(a.got, ['blocklist', 'x']);
  const b = await names('{"success": true, "list": [{"value": "192.0.2.3"}]}', ['192.0.2.3']);
  assert.deepEqual(b.got, ['blocklist']);
  await assert.rejects(parseList(Buffer.from('{"count": 3}'), 'blocklist'), /JSON object holds no array/);
  await assert.rejects(parseList(Buffer.from('["192.0.2.1", "192.0.2.2"'), 'blocklist'), ListFormatError);
});

test('JSON strings with escapes and non-ASCII names are decoded properly', async () => {
  const r = await names('[{"ip":"192.0.2.1","name":"caf\\u00e9 \\"c2\\""},{"ip":"192.0.2.2","name":"Bösartig ☠"}]', ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(r.got, ['café "c2"', 'Bösartig ☠']);
});

test('CSV with a header: columns found by name, in any order, quoted fields', async () => {
  const r = await names('first_seen,classification,ip\n2024-01-01,"botnet, mirai",192.0.2.1\n2024-01-02,scanner,198.51.100.0/24\n2024-01-03,x,bogus\n', ['192.0.2.1', '198.51.100.7']);
  assert.equal(r.format, 'csv');
  assert.deepEqual(r.got, ['botnet,mirai', 'scanner']);
  assert.equal(r.bad, 1);
  // A first row that names no address column is no header: counted as bad, like every row after it here.
  const none = await parseList(Buffer.from('when,what\n2024,x\n'), 'blocklist');
  assert.equal(none.set.count, 0);
  assert.equal(none.set.bad, 2);
  assert.deepEqual(none.set.badSamples, ['when,what', '2024,x']);
});

test('CSV without a header: the first address column, the name after it', async () => {
  const r = await names('# exported\n2024-01-01,192.0.2.1,phishing\n2024-01-02,192.0.2.2,\n', ['192.0.2.1', '192.0.2.2']);
  assert.equal(r.format, 'csv');
  assert.deepEqual(r.got, ['phishing', 'blocklist']);
});

test('splitCsvLine follows RFC 4180 quoting', () => {
  assert.deepEqual(splitCsvLine('a,"b,c","d""e",'), ['a', 'b,c', 'd"e', '']);
  assert.deepEqual(splitCsvLine(' 1.2.3.4 , x '), ['1.2.3.4', 'x']);
});

test('plain text: comments, trailing "; name", inline "#", whitespace-separated name, CRLF', async () => {
  const body = '# Spamhaus-style list\r\n; another comment\r\n192.0.2.1 ; SBL123\r\n198.51.100.0/24 # no name\r\n203.0.113.5\tscanner\r\n\r\n2001:db8::/32;v6\r\nnot an address\r\n';
  const r = await names(body, ['192.0.2.1', '198.51.100.1', '203.0.113.5', '2001:db8::1']);
  assert.equal(r.format, 'text');
  assert.deepEqual(r.got, ['SBL123', 'blocklist', 'scanner', 'v6']);
  assert.equal(r.bad, 1);
});

test('gzip of each format is sniffed by its magic bytes (RFC 1952 section 2.3.1)', async () => {
  for (const format of LIST_FORMATS) {
    const plain = generateList({ entries: 50, format, seed: 3 });
    const gz = generateList({ entries: 50, format, seed: 3, gzip: true });
    assert.deepEqual([...gz.body.subarray(0, 2)], [0x1f, 0x8b]);
    const a = await parseList(plain.body, 'blocklist');
    const b = await parseList(gz.body, 'blocklist');
    assert.equal(b.gzip, true);
    assert.equal(b.set.count, 50, format);
    assert.equal(a.set.count, 50, format);
    assert.equal(b.format, format.startsWith('json') ? 'json' : format.startsWith('csv') ? 'csv' : 'text');
  }
  await assert.rejects(parseList(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 'blocklist'), (err: Error) => err instanceof ListFormatError && err.message.startsWith('gzip: '));
});

test('a UTF-8 byte order mark is skipped', async () => {
  const r = await names(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('["192.0.2.1"]')]), ['192.0.2.1']);
  assert.deepEqual(r.got, ['blocklist']);
});

test('a list cut mid-line at a megabyte boundary still parses every line (pieces are cut at newlines)', async () => {
  const list = generateList({ bytes: 3 * 1024 * 1024 + 17, format: 'text', seed: 9 });
  const p = await parseList(list.body, 'blocklist');
  assert.equal(p.set.count, list.entries);
  assert.equal(p.set.bad, 0);
});

test('sniffFormat', () => {
  assert.equal(sniffFormat('  \n[1]'), 'json');
  assert.equal(sniffFormat('{"a":1}'), 'json');
  assert.equal(sniffFormat('# c\n1.2.3.4 ; a, b\n'), 'text');
  assert.equal(sniffFormat('ip,name\n'), 'csv');
  assert.equal(sniffFormat('1.2.3.4\n'), 'text');
  // A comma in a note, or after the blank of a text line's name, does not make a list CSV.
  assert.equal(sniffFormat('198.51.100.7 # reported by a, b\n203.0.113.9\n'), 'text');
  assert.equal(sniffFormat('198.51.100.7 botnet,mirai\n'), 'text');
  assert.equal(sniffFormat('198.51.100.7, c2\n'), 'csv');
  assert.equal(sniffFormat('"first seen",ip\n'), 'csv');
  // abuse.ch SSLBL: a blank inside the first field (a timestamp).
  assert.equal(sniffFormat('# Firstseen,DstIP,DstPort\n2021-01-17 07:44:46,51.75.66.248,443\n'), 'csv');
});

test('a CSV whose first field holds a blank (abuse.ch SSLBL) parses as CSV', async () => {
  const r = await names('# Firstseen,DstIP,DstPort\n2021-01-17 07:44:46,51.75.66.248,443\n2021-01-18 08:00:00,198.51.100.9,8443\n', ['51.75.66.248', '198.51.100.9']);
  assert.equal(r.format, 'csv');
  assert.deepEqual(r.got, ['443', '8443']);
  assert.equal(r.bad, 0);
});

test('one odd line does not cost the whole list: comma notes in text, a headerless CSV whose first row is no address', async () => {
  const text = await names('198.51.100.7 # reported by a, b\n203.0.113.9\n198.51.100.8 botnet,mirai\n', ['198.51.100.7', '203.0.113.9', '198.51.100.8']);
  assert.equal(text.format, 'text');
  assert.deepEqual(text.got, ['blocklist', 'blocklist', 'botnet,mirai']);
  const csv = await names('example.com,phishing\n198.51.100.7,c2\n203.0.113.9,scanner\n', ['198.51.100.7', '203.0.113.9']);
  assert.equal(csv.format, 'csv');
  assert.deepEqual(csv.got, ['c2', 'scanner']);
  assert.equal(csv.bad, 1, 'the first row is counted as a bad entry');
  // A real header still picks its columns by name.
  const header = await names('name,ip\nc2,198.51.100.7\n', ['198.51.100.7']);
  assert.deepEqual(header.got, ['c2']);
});

test('names with commas are several names, each trimmed: "botnet, mirai" is botnet and mirai', async () => {
  const r = await names('198.51.100.7,"botnet, mirai"\n198.51.100.8,", scanner ,"\n', ['198.51.100.7', '198.51.100.8']);
  assert.deepEqual(r.got, ['botnet,mirai', 'scanner']);
});

test('IPv4-mapped IPv6 entries are stored as the IPv4 prefix they name, so mapped and plain flow addresses match', async () => {
  const r = await names('::ffff:198.51.100.7 ; c2\n::ffff:203.0.113.0/120 ; scan\n::ffff:0:0/80 ; wide\n', ['198.51.100.7', '::ffff:198.51.100.7', '203.0.113.9', '::ffff:203.0.113.9', '203.0.114.1']);
  assert.deepEqual(r.got, ['c2', 'c2', 'scan', 'scan', null]);
  assert.equal(r.bad, 0);
});

test('a gzip body that inflates past the accepted size is refused as a whole, not inflated into memory', async () => {
  const { MAX_BODY_BYTES } = await import('../src/threat/download.js');
  const { gzipSync } = await import('node:zlib');
  // Zeros compress about 1000:1, so this is about 0.5 MB of gzip.
  const bomb = gzipSync(Buffer.alloc(MAX_BODY_BYTES + 1024));
  await assert.rejects(parseList(bomb, 'blocklist'), (e: Error) => e instanceof ListFormatError && /inflates to more than the \d+ bytes accepted/.test(e.message));
});

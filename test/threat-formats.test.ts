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
  assert.deepEqual(r.got, ['botnet, mirai', 'scanner']);
  assert.equal(r.bad, 1);
  await assert.rejects(parseList(Buffer.from('when,what\n2024,x\n'), 'blocklist'), /CSV header "when,what" names no address column/);
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
});

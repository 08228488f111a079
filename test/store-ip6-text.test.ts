/**
 * IPv6 filters compare stored text (src/store/sql.ts): an address by equality with its RFC 5952
 * text, a prefix by the text its addresses start with. Both hold only if every address has one
 * text, the one the decoders write (decode/ip.ts ipv6At), and if the text prefixes are right for
 * every address, wherever its '::' falls. The store tests check the SQL against the reference over
 * a few dozen addresses; these check the two rules themselves over many.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipv6At } from '../src/decode/ip.js';
import { CLICKHOUSE_DIALECT, DUCKDB_DIALECT, buildQuery, v6TextPrefixes } from '../src/store/sql.js';

/** A 16-bit group, zero half the time: the '::' rules only matter around runs of zeros. */
const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));
const groups = fc.array(group, { minLength: 8, maxLength: 8 });
/** Prefix lengths on a group boundary half the time, where the text rules apply (a /128 is an equality instead). */
const prefixLen = fc.oneof(fc.integer({ min: 0, max: 7 }).map((k) => 16 * k), fc.integer({ min: 0, max: 127 }));

const hexOf = (g: number[]): string => g.map((x) => x.toString(16).padStart(4, '0')).join('');
const textOf = (g: number[]): string => ipv6At(Buffer.from(hexOf(g), 'hex'), 0);
const bitsOf = (hex: string): string => [...hex].map((c) => parseInt(c, 16).toString(2).padStart(4, '0')).join('');
/** The prefix's first address, as parseIpOrCidr gives it: its bits past `len` cleared. */
const loOf = (g: number[], len: number): string => {
  const bits = bitsOf(hexOf(g)).slice(0, len).padEnd(128, '0');
  let hex = '';
  for (let i = 0; i < 128; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return hex;
};

test('stored IPv6 text is the one RFC 5952 text of its address (WHATWG URL serialiser as the oracle)', () => {
  fc.assert(fc.property(groups, (g) => {
    const text = textOf(g);
    const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
    // The URL serialiser writes the same text (RFC 5952 section 4) except for IPv4-mapped addresses,
    // which it leaves in hex where section 5 writes the dotted quad.
    const want = mapped ? `::ffff:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}` : new URL(`http://[${text}]/`).hostname.slice(1, -1);
    assert.equal(text, want, `text of ${hexOf(g)}`);
  }), { numRuns: 20_000 });
});

test('IPv6 prefix text: every address inside starts with one of the prefixes, and when exact no other does', () => {
  fc.assert(fc.property(groups, prefixLen, groups, fc.integer({ min: 0, max: 7 }), group, (p, len, a, at, v) => {
    const lo = loOf(p, len);
    const { prefixes, exact, group } = v6TextPrefixes(lo, len);
    // Two addresses: one inside (the prefix's bits, then a's), one that shares the prefix's groups
    // but one (and so may fall just outside).
    const inside = bitsOf(lo).slice(0, len) + bitsOf(hexOf(a)).slice(len);
    const insideGroups = Array.from({ length: 8 }, (_, i) => parseInt(inside.slice(16 * i, 16 * i + 16), 2));
    const near = p.map((x, i) => (i === at ? v : x));
    for (const addr of [insideGroups, near, a]) {
      const text = textOf(addr);
      // As the SQL reads a group: the n-th piece between colons ('' inside '::'), padded to 4 digits.
      const piece = (text.split(':')[group?.n === undefined ? 0 : group.n - 1] ?? '').padStart(4, '0');
      const starts = (prefixes.length === 0 || prefixes.some((x) => text.startsWith(x))) && (group === undefined || (piece >= group.lo && piece <= group.hi));
      const within = bitsOf(hexOf(addr)).slice(0, len) === bitsOf(lo).slice(0, len);
      if (within) assert.ok(starts, `${text} is in ${lo}/${len} but starts with none of ${JSON.stringify(prefixes)}`);
      if (exact) assert.equal(starts, within, `${text} against ${lo}/${len}, exact prefixes ${JSON.stringify(prefixes)}`);
    }
  }), { numRuns: 50_000 });
});

test('IPv6 prefix text for the prefixes a search is likely to name', () => {
  const cases: [string, number, string[], boolean, { n: number; lo: string; hi: string }?][] = [
    ['20010db8aaaa00000000000000000000', 48, ['2001:db8:aaaa:'], true],
    ['20010db8000000010000000000000000', 64, ['2001:db8:0:1:'], true],
    // The prefix ends in zeros: written out, or the '::' (a run of two at least, RFC 5952 section 4.2.2).
    ['20010db8000000000000000000000000', 48, ['2001:db8::', '2001:db8:0:'], true],
    ['20010db8000000000000000000000000', 64, ['2001:db8::', '2001:db8:0:0:'], true],
    ['00000000000000000000000000000000', 32, ['::', '0:0:'], true],
    ['20020000000000000000000000000000', 16, ['2002:'], true],
    // Three zeros or more: 2001:db8::5:6:7:8 is outside 2001:db8::/80 and starts the same; parsed.
    ['20010db8000000000000000000000000', 80, ['2001:db8:'], false],
    ['20010db8000000000000000000000000', 32, ['2001:db8:'], true],
    ['20010db8000000000000000000000000', 33, ['2001:db8:'], true, { n: 3, lo: '0000', hi: '7fff' }],
    ['20010db8000000000000000000000000', 49, ['2001:db8:'], false],
    // A length inside a group that cannot be zero: that group's text, in its range.
    ['20010db8aa0000000000000000000000', 40, ['2001:db8:'], true, { n: 3, lo: 'aa00', hi: 'aaff' }],
    ['20010db8000000700000000000000000', 60, ['2001:db8:0:'], true, { n: 4, lo: '0070', hi: '007f' }],
    ['fe800000000000000000000000000000', 10, [], true, { n: 1, lo: 'fe80', hi: 'febf' }],
    ['00000000000000000000000000000000', 0, [], true],
    ['00000000000000000000ffff00000000', 96, ['::', '0:'], false],
  ];
  for (const [lo, len, prefixes, exact, group] of cases) assert.deepEqual(v6TextPrefixes(lo, len), { prefixes, exact, ...(group ? { group } : {}) }, `${lo}/${len}`);
});

/**
 * The slowness this replaced: every IPv6 filter parsed every IPv6 row's text (ufc_ip6hex in DuckDB),
 * 5-14 s for one address over 1M flows, 70% IPv6, during which every other API query waited.
 */
test('an IPv6 address in any spelling, or a prefix its text tells, parses no row; other prefixes parse only rows their text picks', () => {
  const range = { from: 1, to: 2 };
  for (const d of [DUCKDB_DIALECT, CLICKHOUSE_DIALECT]) {
    const parse = d.name === 'duckdb' ? 'ufc_ip6hex' : 'IPv6StringToNum';
    for (const ip of ['2001:DB8::1', '2001:db8:0:0:0:0:0:1', '2001:0db8::0001']) {
      const q = buildQuery(d, 'count', { ...range, filter: { srcIp: ip } }, 'flows');
      assert.ok(!q.sql.includes(parse), `${d.name}: ${ip} is not parsed per row: ${q.sql}`);
      assert.match(q.sql, /src_ip = \?/, `${d.name}: ${ip} is one equality`);
      assert.ok(q.params.includes('2001:db8::1'), `${d.name}: ${ip} compared as 2001:db8::1 (params ${JSON.stringify(q.params)})`);
    }
    for (const ip of ['2001:db8:aaaa::/48', '2001:db8::/48', '2001:db8:0:1::/64', '2002::/16', '::/0']) {
      const q = buildQuery(d, 'count', { ...range, filter: { ip } }, 'flows');
      assert.ok(!q.sql.includes(parse), `${d.name}: ${ip} is not parsed per row: ${q.sql}`);
    }
    // 2001:db8::5:6:7:8 starts like 2001:db8:0:0:0::/80 and is outside it: parsed, but only the rows starting 2001:db8:.
    const q = buildQuery(d, 'count', { ...range, filter: { srcIp: '2001:db8::/80' } }, 'flows');
    const behind = d.name === 'duckdb' ? 'CASE WHEN (starts_with(src_ip, ?)) THEN ufc_ip6hex' : 'if((startsWith(src_ip, ?)), lower(hex(IPv6StringToNum';
    assert.ok(q.sql.includes(behind), `${d.name}: a /80 parses only the rows starting 2001:db8: ${q.sql}`);
    assert.ok(q.params.includes('2001:db8:'), `${d.name}: a /80's rows picked by 2001:db8: (params ${JSON.stringify(q.params)})`);
    // A /40: in DuckDB the third group's text, in ClickHouse its own parser behind the prefix test.
    const q40 = buildQuery(d, 'count', { ...range, filter: { srcIp: '2001:db8:aa00::/40' } }, 'flows');
    const test40 = d.name === 'duckdb' ? "CASE WHEN (starts_with(src_ip, ?)) THEN lpad(split_part(src_ip, ':', 3), 4, '0') BETWEEN ? AND ?" : 'if((startsWith(src_ip, ?)), lower(hex(IPv6StringToNum';
    assert.ok(q40.sql.includes(test40), `${d.name}: a /40 tested as ${test40}: ${q40.sql}`);
  }
});

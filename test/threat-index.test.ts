/** Address parsing and the longest-prefix-match index, checked against a brute-force oracle. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIPv4, parseIPv4, parseIPv6 } from '../src/threat/ip.js';
import { EntrySet, THREAT_NAME_MAX, THREAT_NAMES_MAX } from '../src/threat/entries.js';
import { buildPrefixIndex, PrefixIndex } from '../src/threat/prefix-index.js';
import { Slicer } from '../src/threat/slicer.js';
import { ThreatMatcher } from '../src/threat/matcher.js';

test('parseIPv4 accepts dotted quads and rejects everything else', () => {
  assert.equal(parseIPv4('0.0.0.0'), 0);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('192.0.2.1'), 0xc0000201);
  assert.equal(parseIPv4('010.001.002.003'), 0x0a010203);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.-4', '1234.1.1.1', '::1'])
    assert.equal(parseIPv4(bad), -1, bad);
});

test('parseIPv6 handles compression, embedded IPv4 and zones (RFC 4291 section 2.2)', () => {
  const w = new Uint32Array(4);
  const hex = (): string[] => [...w].map((x) => x.toString(16));
  assert.ok(parseIPv6('2001:db8::1', w));
  assert.deepEqual(hex(), ['20010db8', '0', '0', '1']);
  assert.ok(parseIPv6('::', w));
  assert.deepEqual(hex(), ['0', '0', '0', '0']);
  assert.ok(parseIPv6('::ffff:192.0.2.1', w));
  assert.deepEqual(hex(), ['0', '0', 'ffff', 'c0000201']);
  assert.ok(parseIPv6('fe80::1%eth0', w));
  assert.deepEqual(hex(), ['fe800000', '0', '0', '1']);
  assert.ok(parseIPv6('1:2:3:4:5:6:7:8', w));
  assert.deepEqual(hex(), ['10002', '30004', '50006', '70008']);
  assert.ok(parseIPv6('1:2:3:4:5:6::', w));
  assert.deepEqual(hex(), ['10002', '30004', '50006', '0']);
  for (const bad of ['', ':', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '1:2:3:4:5:6:7', 'g::1', '1:', ':1', '::1.2.3'])
    assert.equal(parseIPv6(bad, w), false, bad);
});

/** The oracle: the longest matching CIDR by scanning every entry (first listed wins a tie). */
function bruteV4(cidrs: { addr: number; prefix: number; name: string }[], ip: number): string | null {
  let best: { prefix: number; name: string } | null = null;
  for (const c of cidrs) {
    const mask = c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0;
    if (((ip & mask) >>> 0) === ((c.addr & mask) >>> 0) && (best === null || c.prefix > best.prefix)) best = { prefix: c.prefix, name: c.name };
  }
  return best?.name ?? null;
}

test('IPv4 longest-prefix match equals a brute-force scan (property, nested and overlapping CIDRs)', async () => {
  // Addresses drawn from a small space so CIDRs nest and collide often.
  const addr = fc.tuple(fc.constantFrom(10, 192, 255, 0), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b, c, d]) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0);
  const cidr = fc.record({ addr, prefix: fc.integer({ min: 0, max: 32 }), name: fc.constantFrom('a', 'b', 'c', 'd', 'e') });
  await fc.assert(
    fc.asyncProperty(fc.array(cidr, { maxLength: 40 }), fc.array(addr, { minLength: 1, maxLength: 40 }), async (cidrs, probes) => {
      const set = new EntrySet('blocklist');
      for (const c of cidrs) assert.ok(set.add(`${formatIPv4(c.addr)}/${c.prefix}`, c.name));
      const index = await buildPrefixIndex(set);
      // The oracle sees the same entries with host bits cleared, as the set stores them.
      const norm = cidrs.map((c) => ({ ...c, addr: (c.addr & (c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0)) >>> 0 }));
      const uniq: typeof norm = [];
      for (const c of norm) if (!uniq.some((u) => u.addr === c.addr && u.prefix === c.prefix)) uniq.push(c);
      for (const ip of [...probes, ...uniq.map((c) => c.addr), 0, 0xffffffff]) {
        assert.equal(index.nameOf(formatIPv4(ip)), bruteV4(uniq, ip), formatIPv4(ip));
      }
    }),
    { numRuns: 300 },
  );
});

test('IPv6 longest-prefix match: nesting, neighbours and IPv4-mapped addresses', async () => {
  const set = new EntrySet('blocklist');
  for (const [c, n] of [
    ['2001:db8::/32', 'wide'],
    ['2001:db8:1::/48', 'mid'],
    ['2001:db8:1::42', 'host'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'last'],
    ['::/0', 'everything'],
    ['192.0.2.0/24', 'v4net'],
  ])
    assert.ok(set.add(c!, n!));
  const index = await buildPrefixIndex(set);
  assert.equal(index.nameOf('2001:db8:1::42'), 'host');
  assert.equal(index.nameOf('2001:db8:1::43'), 'mid');
  assert.equal(index.nameOf('2001:db8:2::1'), 'wide');
  assert.equal(index.nameOf('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), 'last');
  assert.equal(index.nameOf('2001:db9::'), 'everything');
  assert.equal(index.nameOf('::ffff:192.0.2.7'), 'v4net', 'IPv4-mapped is looked up as IPv4');
  assert.equal(index.nameOf('192.0.3.1'), null, '::/0 does not cover IPv4');
  assert.equal(index.nameOf('not-an-ip'), null);
  assert.equal(index.nameOf(''), null);
  assert.equal(index.v6Entries, 5);
  assert.equal(index.v4Entries, 1);
});

test('list names are kept to THREAT_NAME_MAX units each and THREAT_NAMES_MAX together, never inside a surrogate pair; short ones as they are', async () => {
  const set = new EntrySet('blocklist');
  const long = 'L'.repeat(100_000);
  const emoji = 'a'.repeat(THREAT_NAME_MAX - 1) + '\u{1F600}tail';
  const many = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'n'.repeat(60)}`).join(', ');
  const spaced = 'x'.repeat(THREAT_NAME_MAX - 1) + ' tail';
  for (const [c, n] of [['192.0.2.1', long], ['192.0.2.2', emoji], ['192.0.2.3', many], ['192.0.2.4', ' botnet , mirai '], ['192.0.2.5', spaced]]) assert.ok(set.add(c!, n!), c);
  const index = await buildPrefixIndex(set);
  assert.equal(index.nameOf('192.0.2.1'), 'L'.repeat(THREAT_NAME_MAX));
  assert.equal(index.nameOf('192.0.2.2'), 'a'.repeat(THREAT_NAME_MAX - 1), 'the pair goes whole');
  const joined = index.nameOf('192.0.2.3')!;
  assert.ok(joined.length <= THREAT_NAMES_MAX && joined.length > THREAT_NAMES_MAX - 64, `${joined.length}`);
  assert.ok(many.replace(/, /g, ',').startsWith(joined + ','), 'the first names, in order, each whole');
  assert.equal(index.nameOf('192.0.2.4'), 'botnet,mirai');
  assert.equal(index.nameOf('192.0.2.5'), 'x'.repeat(THREAT_NAME_MAX - 1), 'no space left at the cut');
});

test('identical CIDRs: the first listed name wins, host bits are cleared, bad entries are counted', async () => {
  const set = new EntrySet('blocklist');
  set.add('198.51.100.7/24', 'first');
  set.add('198.51.100.0/24', 'second');
  set.add('203.0.113.9', '');
  for (const bad of ['198.51.100.0/33', '2001:db8::/129', '1.2.3.4/x', 'example.com', '']) assert.equal(set.add(bad, 'x'), false, bad);
  assert.equal(set.bad, 5);
  assert.deepEqual(set.badSamples, ['198.51.100.0/33', '2001:db8::/129', '1.2.3.4/x']);
  const index = await buildPrefixIndex(set);
  assert.equal(index.nameOf('198.51.100.200'), 'first');
  assert.equal(index.nameOf('203.0.113.9'), 'blocklist');
  assert.equal(index.size, 2);
});

test('an empty index matches nothing', () => {
  const e = PrefixIndex.empty();
  assert.equal(e.lookupV4(0), -1);
  assert.equal(e.lookupV4(0xffffffff), -1);
  assert.equal(e.nameOf('2001:db8::1'), null);
});

test('building 200,000 entries yields to the event loop (time slices)', async () => {
  const set = new EntrySet('blocklist');
  let x = 7;
  for (let i = 0; i < 200_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    set.pushV4(x, 32, set.nameId('n'));
  }
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const index = await buildPrefixIndex(set, new Slicer(1));
  clearInterval(timer);
  assert.ok(ticks > 0, 'timers ran while the index was built');
  assert.equal(index.lookupV4(x), 0);
});

test('ThreatMatcher: exclude wins, then include, then the list; namesFor agrees with nameFor', async () => {
  const list = new EntrySet('blocklist');
  for (const [c, n] of [['10.0.0.0/8', 'ten'], ['192.0.2.0/24', 'doc'], ['2001:db8::/32', 'v6'], ['198.51.100.7', 'host']]) list.add(c!, n!);
  const inc = new EntrySet('blocklist');
  inc.add('192.0.2.128/25', 'mine');
  inc.add('203.0.113.1', '');
  const exc = new EntrySet('blocklist');
  exc.add('10.1.0.0/16', '');
  exc.add('192.0.2.200', '');
  const m = new ThreatMatcher();
  m.setList(await buildPrefixIndex(list));
  const probes = ['10.2.3.4', '10.1.2.3', '192.0.2.1', '192.0.2.129', '192.0.2.200', '203.0.113.1', '2001:db8::9', '::ffff:198.51.100.7', '', 'x', '8.8.8.8'];
  const before = probes.map((p) => m.nameFor(p));
  assert.deepEqual(before, ['ten', 'ten', 'doc', 'doc', 'doc', null, 'v6', 'host', null, null, null]);
  m.setInclExcl(await buildPrefixIndex(inc), await buildPrefixIndex(exc));
  const expected = ['ten', null, 'doc', 'mine', null, 'blocklist', 'v6', 'host', null, null, null];
  assert.deepEqual(probes.map((p) => m.nameFor(p)), expected);
  const out: (string | null)[] = [];
  m.namesFor(probes, probes.length, out);
  assert.deepEqual(out, expected);
  m.setInclExcl(PrefixIndex.empty(), PrefixIndex.empty());
  m.namesFor(probes, probes.length, out);
  assert.deepEqual(out, before);
});

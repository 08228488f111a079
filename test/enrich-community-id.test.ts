/**
 * Community ID v1 against the corelight spec baselines (JSON from combined.pcap.gz, the README
 * tables) and the Zeek plugin's hashed byte strings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TESTDATA } from './helpers/tools.js';
import { communityId, communityIdIcmp, CommunityIdEnricher } from '../src/enrich/community-id.js';
import { FlowRecord } from '../src/record/flow-record.js';

const SPEC = join(TESTDATA, 'community-id-spec', 'baseline');

interface Row { proto: number; saddr: string; daddr: string; sport: number | null; dport: number | null; communityid: string }

for (const [file, seed, b64] of [['baseline_deflt.json', 0, true], ['baseline_seed1.json', 1, true], ['baseline_nob64.json', 0, false]] as const) {
  test(`community-id spec ${file}: every tuple`, () => {
    const rows = JSON.parse(readFileSync(join(SPEC, file), 'utf8')) as Row[];
    assert.ok(rows.length >= 20, `${rows.length} rows`);
    for (const r of rows) {
      assert.equal(communityId(r.proto, r.saddr, r.daddr, r.sport ?? 0, r.dport ?? 0, seed, b64), r.communityid, JSON.stringify(r));
    }
  });
}

test('community-id spec README tables (raw ICMP type/code, port-less RSVP, upper-case IPv6)', () => {
  const tables = JSON.parse(readFileSync(join(SPEC, 'readme_tables.json'), 'utf8')) as Record<string, { seed: number; base64: boolean; rows: Row[] }>;
  let n = 0;
  for (const t of Object.values(tables)) {
    for (const r of t.rows) {
      assert.equal(communityId(r.proto, r.saddr, r.daddr, r.sport ?? 0, r.dport ?? 0, t.seed, t.base64), r.communityid, JSON.stringify(r));
      n++;
    }
  }
  assert.equal(n, 48);
});

test('community-id: ports of port-less protocols are ignored', () => {
  assert.equal(communityId(46, '1.2.3.4', '5.6.7.8', 99, 77), communityId(46, '1.2.3.4', '5.6.7.8', 0, 0));
  assert.equal(communityId(46, '1.2.3.4', '5.6.7.8', 0, 0), '1:ikv3kmf89luf73WPz1jOs49S768=');
});

test('community-id: ICMP one-way messages keep direction; pairs are symmetric', () => {
  // Echo request and reply share an ID; time-exceeded in each direction differs.
  assert.equal(communityIdIcmp('1.2.3.4', '5.6.7.8', 8, 0), communityIdIcmp('5.6.7.8', '1.2.3.4', 0, 0));
  assert.notEqual(communityIdIcmp('1.2.3.4', '5.6.7.8', 11, 0), communityIdIcmp('5.6.7.8', '1.2.3.4', 11, 0));
  assert.equal(communityIdIcmp('fe80::1', 'fe80::2', 135, 0), communityIdIcmp('fe80::2', 'fe80::1', 136, 0));
  // Equal addresses: the ports decide the order.
  assert.equal(communityId(6, '10.0.0.1', '10.0.0.1', 80, 1234), communityId(6, '10.0.0.1', '10.0.0.1', 1234, 80));
  // Mixed families give no ID.
  assert.equal(communityId(6, '10.0.0.1', '::1', 80, 1234), '');
});

function hexBytes(s: string): Buffer {
  return Buffer.from(s.replace(/[: ]/g, ''), 'hex');
}

test('zeek-community-id baselines: the hashed bytes and IDs', () => {
  const dir = join(TESTDATA, 'zeek-community-id', 'Baseline');
  let n = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcap.out'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^(\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) \((\d+) bytes\) -> (\S+)$/.exec(line);
      if (m === null) continue;
      const [, seedHex, sa, da, protoHex, , spHex, dpHex, , id] = m;
      // The bytes as Zeek hashed them: check our reading of them, then our ID from the tuple.
      const raw = hexBytes([seedHex, sa, da, protoHex, '00', spHex, dpHex].join(':'));
      assert.equal('1:' + createHash('sha1').update(raw).digest('base64'), id);
      const toIp = (h: string): string => {
        const b = hexBytes(h);
        if (b.length === 4) return [...b].join('.');
        const g: string[] = [];
        for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
        return g.join(':');
      };
      const seed = hexBytes(seedHex!).readUInt16BE(0);
      const proto = parseInt(protoHex!, 16);
      const sp = hexBytes(spHex!).readUInt16BE(0);
      const dp = hexBytes(dpHex!).readUInt16BE(0);
      const ours = communityId(proto, toIp(sa!), toIp(da!), sp, dp, seed);
      assert.equal(ours, id, line);
      n++;
    }
  }
  assert.ok(n >= 15, `${n} lines`);
});

test('CommunityIdEnricher: uses icmpType/icmpCode, seed, skips counters', () => {
  const mk = (p: Partial<FlowRecord>): FlowRecord => Object.assign(new FlowRecord(), p);
  const a = mk({ proto: 1, srcIp: '1.2.3.4', dstIp: '5.6.7.8', dstPort: 8 * 256, icmpType: 8, icmpCode: 0 });
  const b = mk({ proto: 6, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 1122, dstPort: 3344 });
  const c = mk({ kind: 'counter', srcIp: '1.2.3.4', dstIp: '5.6.7.8' });
  new CommunityIdEnricher(0).enrich([a, b, c]);
  assert.equal(a.communityId, '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=');
  assert.equal(b.communityId, '1:wCb3OG7yAFWelaUydu0D+125CLM=');
  assert.equal(c.communityId, '');
  const d = mk({ proto: 6, srcIp: '1.2.3.4', dstIp: '5.6.7.8', srcPort: 1122, dstPort: 3344 });
  new CommunityIdEnricher(1).enrich([d]);
  assert.equal(d.communityId, '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=');
});

test('CommunityIdEnricher: the recent-tuple cache gives exactly the computed IDs (both directions, collisions, seeds)', () => {
  let rnd = 7;
  const next = (): number => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
  for (const seed of [0, 4711]) {
    const e = new CommunityIdEnricher(seed);
    const recs: FlowRecord[] = [];
    for (let i = 0; i < 20000; i++) {
      // Few addresses and ports, so tuples repeat, reverse and collide in the 4096-slot table.
      const a = `10.0.${next() & 3}.${next() & 7}`, b = `192.0.2.${next() & 7}`;
      const pa = 1000 + (next() & 3), pb = next() & 1 ? 80 : 1000 + (next() & 3);
      const proto = [6, 17, 132][next() % 3]!;
      const rev = (next() & 1) === 1;
      recs.push(Object.assign(new FlowRecord(), { proto, srcIp: rev ? b : a, dstIp: rev ? a : b, srcPort: rev ? pb : pa, dstPort: rev ? pa : pb }));
    }
    for (let i = 0; i < recs.length; i += 30) e.enrich(recs.slice(i, i + 30));
    for (const r of recs) assert.equal(r.communityId, communityId(r.proto, r.srcIp, r.dstIp, r.srcPort, r.dstPort, seed));
    assert.ok(e.hits > 10000, `${e.hits} cache hits`);
  }
});

test('community-id: equal IPv6 addresses are ordered by port, lower port first (spec: ports decide when the addresses tie)', () => {
  // The spec's hash input, written out here: seed (2 bytes), the smaller endpoint's address, the other's,
  // protocol, a zero pad byte, then the smaller endpoint's port and the other's.
  const loopback = Buffer.alloc(16);
  loopback[15] = 1;
  const port = (p: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(p); return b; };
  const bySpec = '1:' + createHash('sha1').update(Buffer.concat([Buffer.from([0, 0]), loopback, loopback, Buffer.from([6, 0]), port(1000), port(2000)])).digest('base64');
  assert.equal(communityId(6, '::1', '::1', 2000, 1000), bySpec, 'from the higher port');
  assert.equal(communityId(6, '::1', '::1', 1000, 2000), bySpec, 'from the lower port');
});

test('CommunityIdEnricher: two tuples of one host pair in the same cache slot each get their own ID', () => {
  const mk = (sp: number): FlowRecord => Object.assign(new FlowRecord(), { proto: 6, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: sp, dstPort: 80 });
  // Find, by behaviour, a source port whose tuple takes (1000, 80)'s slot: with (1000, 80) cached, B then
  // (1000, 80) again make one cache hit unless B took that slot (none: B replaced it; two: B was taken
  // for it, the defect this test is for).
  const e = new CommunityIdEnricher(0);
  e.enrich([mk(1000)]);
  let p = -1;
  for (let sp = 1001; sp < 65536 && p < 0; sp++) {
    const hits = e.hits;
    e.enrich([mk(sp), mk(1000)]);
    if (e.hits - hits !== 1) p = sp;
  }
  assert.ok(p > 0, 'a source port sharing the slot of 1000 -> 80');
  const [a, b] = [mk(1000), mk(p)];
  new CommunityIdEnricher(0).enrich([a, b]);
  assert.equal(a.communityId, communityId(6, '10.0.0.1', '10.0.0.2', 1000, 80), 'the first tuple');
  assert.equal(b.communityId, communityId(6, '10.0.0.1', '10.0.0.2', p, 80), `the second tuple (source port ${p}), not the first's ID from the cache`);
});

/**
 * sFlow v5 cases no capture we hold carries, built here from the spec's XDR layouts
 * (sflow_version_5.txt): an IPv6 agent, an agent of address type 0, expanded counter samples,
 * sampled IPv6 records, VLAN data sources, the expanded discard format, an MPLS header protocol,
 * other enterprises' records, and hostile counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SflowDecoder } from '../src/decode/sflow/datagram.js';
import { DecodeError, type PacketContext } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';

const ctx: PacketContext = { exporterIp: '192.0.2.50', exporterPort: 6343, receivedAt: 1_700_000_000_000 };

const u32 = (...v: number[]) => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i)); return b; };
const pad4 = (b: Buffer) => (b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]));
const rec = (format: number, body: Buffer) => Buffer.concat([u32(format, body.length), body]);
const ipv6 = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');

function datagram(agent: Buffer, samples: Buffer[], subAgent = 3, seq = 77): Buffer {
  return Buffer.concat([u32(5), agent, u32(subAgent, seq, 123456, samples.length), ...samples]);
}
const agent4 = (a: number[]) => Buffer.concat([u32(1), Buffer.from(a)]);
const agent6 = (hex: string) => Buffer.concat([u32(2), ipv6(hex)]);

function flowSampleExpanded(rate: number, srcType: number, srcIndex: number, inFmt: number, inVal: number, outFmt: number, outVal: number, records: Buffer[]): Buffer {
  const body = Buffer.concat([u32(1, srcType, srcIndex, rate, 1000, 0, inFmt, inVal, outFmt, outVal, records.length), ...records]);
  return rec(3, body);
}

function decode(buf: Buffer): FlowRecord[] {
  const out: FlowRecord[] = [];
  new SflowDecoder().decode(buf, ctx, out);
  return out;
}

const IPV6_SRC = '20010db8000000000000000000000001', IPV6_DST = '20010db8000000000000000000000002';

test('sampled IPv6 record (0:4) in an expanded sample, IPv6 agent, VLAN data source kept as extras', () => {
  const sampledV6 = rec(4, Buffer.concat([u32(1240, 17), ipv6(IPV6_SRC), ipv6(IPV6_DST), u32(5353, 53, 0, 0x28)]));
  const buf = datagram(agent6('2001:0db8:00ff:0000:0000:0000:0000:0010'), [flowSampleExpanded(2000, 1, 42, 0, 70000, 0, 80000, [sampledV6])]);
  const [r] = decode(buf);
  assert.equal(r!.exporterIp, '2001:db8:ff::10');
  assert.equal(r!.ipVersion, 6);
  assert.equal(r!.srcIp, '2001:db8::1');
  assert.equal(r!.dstIp, '2001:db8::2');
  assert.deepEqual([r!.proto, r!.srcPort, r!.dstPort, r!.tos], [17, 5353, 53, 0x28]);
  assert.deepEqual([r!.inIf, r!.outIf, r!.samplingRate, r!.packets, r!.bytes], [70000, 80000, 2000, 2000, 1240 * 2000]);
  assert.deepEqual([r!.observationDomain, r!.sequence], [3, 77]);
  assert.equal(r!.direction, -1);
  assert.equal(r!.extra?.['sflow.source.id.type'], 1);
  assert.equal(r!.extra?.['sflow.source.id.index'], 42);
});

test('sampled IPv4 record with ICMP carries type and code in the port fields', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(84, 1), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(3, 1, 0, 0)]));
  const [r] = decode(datagram(agent4([10, 1, 1, 1]), [flowSampleExpanded(1, 0, 5, 0, 5, 0, 6, [sampledV4])]));
  assert.deepEqual([r!.proto, r!.icmpType, r!.icmpCode, r!.srcPort, r!.dstPort], [1, 3, 1, 0, 0]);
  assert.equal(r!.direction, 0); // data source 5 = input 5: ingress sampling
});

test('agent address type 0 (unknown): the UDP source is the exporter', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(60, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1000, 80, 0x12, 0)]));
  const [r] = decode(datagram(u32(0), [flowSampleExpanded(10, 0, 1, 0, 1, 0, 2, [sampledV4])]));
  assert.equal(r!.exporterIp, ctx.exporterIp);
  assert.equal(r!.tcpFlags, 0x12);
});

test('an IPv4 agent written as IPv4-mapped IPv6 is named by its IPv4 address, as the UDP input names such a source', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(84, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1234, 80, 0, 0)]));
  const sample = flowSampleExpanded(1, 0, 5, 0, 5, 0, 6, [sampledV4]);
  const [mapped] = decode(datagram(agent6('0000:0000:0000:0000:0000:ffff:c000:0233'), [sample]));
  const [plain] = decode(datagram(agent4([192, 0, 2, 51]), [sample]));
  assert.equal(mapped!.exporterIp, '192.0.2.51');
  assert.equal(plain!.exporterIp, '192.0.2.51');
  // Only the mapped form: an IPv6 agent whose low 32 bits look like an address stays IPv6.
  const [compat] = decode(datagram(agent6('0000:0000:0000:0000:0000:0000:c000:0233'), [sample]));
  assert.equal(compat!.exporterIp, '::c000:233');
});

test('expanded discard format: output 0 and the reason kept; unknown-enterprise records skipped', () => {
  const vendor = rec((9 << 12) | 1, Buffer.alloc(12, 0xee)); // enterprise 9, format 1: not ours
  const sampledV4 = rec(3, Buffer.concat([u32(40, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1, 2, 0x02, 0)]));
  const [r] = decode(datagram(agent4([10, 1, 1, 1]), [flowSampleExpanded(1, 0, 9, 0, 9, 1, 259, [vendor, sampledV4])]));
  assert.equal(r!.outIf, 0);
  assert.equal(r!.extra?.['sflow.out.discard.reason'], 259);
  assert.equal(r!.srcPort, 1);
});

test('expanded "internal" interface is 0xFFFFFFFF (sFlow v5 interface_expanded), read as unknown; 0x3FFFFFFF is an ordinary ifIndex there', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(40, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1, 2, 0x02, 0)]));
  const [fromAgent, toAgent, big] = decode(datagram(agent4([10, 1, 1, 1]), [
    flowSampleExpanded(1, 0, 9, 0, 0xffffffff, 0, 9, [sampledV4]),
    flowSampleExpanded(1, 0, 9, 0, 9, 0, 0xffffffff, [sampledV4]),
    flowSampleExpanded(1, 0, 0x3fffffff, 0, 0x3fffffff, 0, 9, [sampledV4]),
  ]));
  assert.deepEqual([fromAgent!.inIf, fromAgent!.outIf], [0, 9]);
  assert.deepEqual([toAgent!.inIf, toAgent!.outIf], [9, 0]);
  assert.deepEqual([big!.inIf, big!.direction], [0x3fffffff, 0], 'a 30-bit-all-ones ifIndex is the sampled input in the expanded form');
});

test('multiple-output format: the value is the count of outputs, 0 meaning "more than one, how many unknown" (-1), compact and expanded', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(40, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1, 2, 0x02, 0)]));
  const compact = (out: number) => rec(1, Buffer.concat([u32(1, 9, 1, 1000, 0, 9, out >>> 0, 1), sampledV4]));
  const recs = decode(datagram(agent4([10, 1, 1, 1]), [
    compact(0x80000000), compact(0x80000007), compact(0xbfffffff),
    flowSampleExpanded(1, 0, 9, 0, 9, 2, 0, [sampledV4]), flowSampleExpanded(1, 0, 9, 0, 9, 2, 3, [sampledV4]),
  ]));
  assert.deepEqual(recs.map((r) => [r.outIf, r.extra?.['sflow.out.multiple']]), [[0, -1], [0, 7], [0, 0x3fffffff], [0, -1], [0, 3]]);
});

test('extended switch record: VLAN 4095 (reserved by 802.1Q) and 0xFFFFFFFF mean no VLAN; 4094 is a VLAN', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(40, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1, 2, 0x02, 0)]));
  // src_vlan, src_priority, dst_vlan, dst_priority
  const sw = (src: number, dst: number) => rec(1001, u32(src, 0, dst, 0));
  const recs = decode(datagram(agent4([10, 1, 1, 1]), [
    flowSampleExpanded(1, 0, 9, 0, 9, 0, 2, [sampledV4, sw(4095, 4094)]),
    flowSampleExpanded(1, 0, 9, 0, 9, 0, 2, [sampledV4, sw(0xffffffff, 4095)]),
  ]));
  assert.deepEqual(recs.map((r) => [r.srcVlan, r.dstVlan]), [[0, 4094], [0, 0]], '4095 is not a VLAN');
});

test('raw header with header protocol 13 (MPLS) and 11 (IPv4)', () => {
  const ip4tcp = Buffer.from('450000340000400040060000c0a80001c0a80002' + '1f90c350000000000000000050120000', 'hex');
  const mpls = Buffer.concat([u32((1000 << 12) | 0x100 | 64), ip4tcp]); // one label, bottom of stack
  const hdr = (proto: number, h: Buffer) => rec(1, Buffer.concat([u32(proto, h.length + 4, 4, h.length), pad4(h)]));
  const recs = decode(datagram(agent4([10, 1, 1, 1]), [flowSampleExpanded(1, 0, 1, 0, 1, 0, 2, [hdr(13, mpls)]), flowSampleExpanded(1, 0, 1, 0, 1, 0, 2, [hdr(11, ip4tcp)])]));
  assert.equal(recs.length, 2);
  for (const r of recs) {
    assert.deepEqual([r.srcIp, r.dstIp, r.proto, r.srcPort, r.dstPort, r.tcpFlags, r.bytes], ['192.168.0.1', '192.168.0.2', 6, 8080, 50000, 0x12, 52]);
  }
  assert.equal(recs[0]!.extra?.['mpls.labels'], '1000');
});

test('expanded counter sample (format 4) with generic counters: 64-bit octets, ifIndex beyond 24 bits', () => {
  const generic = rec(1, Buffer.concat([u32(0x1000001, 6), u32(0, 1_000_000_000), u32(1, 3), u32(1, 5), u32(10, 11, 12, 13, 14, 15), u32(0, 7), u32(20, 21, 22, 23, 24, 1)]));
  const sample = rec(4, Buffer.concat([u32(9, 0, 0x1000001, 1), generic]));
  const [r] = decode(datagram(agent4([10, 1, 1, 1]), [sample]));
  assert.equal(r!.kind, 'counter');
  assert.equal(r!.inIf, 0x1000001);
  const c = (n: string) => r!.extra?.['sflow.counter.' + n];
  assert.equal(c('if_speed'), 1_000_000_000);
  assert.equal(c('if_in_octets'), 2 ** 32 + 5);
  assert.equal(c('if_out_octets'), 7);
  assert.deepEqual([c('if_in_ucast_pkts'), c('if_in_unknown_protos'), c('if_out_ucast_pkts'), c('if_promiscuous_mode')], [10, 15, 20, 1]);
  assert.equal(c('sample_sequence'), 9);
});

test('hostile counts and lengths are named errors', () => {
  const reason = (b: Buffer): string => {
    try { decode(b); } catch (e) { assert.ok(e instanceof DecodeError, String(e)); return e.reason; }
    return 'ok';
  };
  const a = agent4([10, 1, 1, 1]);
  assert.equal(reason(Buffer.concat([u32(5), a, u32(0, 1, 1, 0xffffffff)])), 'bad sample count');
  assert.equal(reason(datagram(a, [rec(1, Buffer.concat([u32(1, 0, 1, 0, 0, 1, 2, 0xffffffff)]))])), 'bad flow record count');
  assert.equal(reason(datagram(a, [rec(2, u32(1, 1, 0xfffffff))])), 'bad counter record count');
  // AS path with 2^32-1 segments inside an extended gateway record.
  const gw = rec(1003, Buffer.concat([u32(1, 0x0a000001, 65000, 65001, 65002, 0xffffffff)]));
  assert.equal(reason(datagram(a, [flowSampleExpanded(1, 0, 1, 0, 1, 0, 2, [gw])])), 'bad AS path segment count');
  // A raw header whose stated header length exceeds its record.
  const hdr = rec(1, u32(1, 100, 0, 9999));
  assert.equal(reason(datagram(a, [flowSampleExpanded(1, 0, 1, 0, 1, 0, 2, [hdr])])), 'sampled header overruns record');
  assert.equal(reason(datagram(Buffer.concat([u32(3), Buffer.alloc(4)]), [])), 'bad address type');
});

test('a sample count that understates: the counted samples are kept and the rest is counted as a loss; zero padding is not', () => {
  const sampledV4 = rec(3, Buffer.concat([u32(40, 6), Buffer.from([10, 0, 0, 1, 10, 0, 0, 2]), u32(1, 2, 0x02, 0)]));
  const sample = flowSampleExpanded(1, 0, 9, 0, 9, 0, 2, [sampledV4]);
  const three = datagram(agent4([10, 1, 1, 1]), [sample, sample, sample]);
  three.writeUInt32BE(1, 24); // num_samples: the IPv4 agent's header is 28 bytes, the count its last word
  const d = new SflowDecoder();
  const out: FlowRecord[] = [];
  d.decode(three, ctx, out);
  assert.equal(out.length, 1);
  assert.deepEqual(d.takeLosses(), new Map([[ctx.exporterIp, new Map([['bytes after the last sample', 1]])]]));
  assert.equal(d.takeLosses(), null, 'handed over once');
  d.decode(Buffer.concat([datagram(agent4([10, 1, 1, 1]), [sample]), Buffer.alloc(8)]), ctx, out);
  assert.equal(out.length, 2);
  assert.equal(d.takeLosses(), null);
});

test('an agent\'s drops counters: their growth is counted per data source, from the second sample on; a counter that went back starts over', () => {
  const sampledV4 = rec(3, u32(60, 17, 0xc0000201, 0xc0000202, 1000, 53, 0, 0));
  // Compact flow sample: sequence, source (type << 24 | index), rate, pool, drops, input, output, records.
  const compact = (index: number, drops: number) => rec(1, Buffer.concat([u32(1, index, 100, 1000, drops, 1, 2, 1), sampledV4]));
  const expanded = (index: number, drops: number) => {
    const s = flowSampleExpanded(100, 0, index, 0, 1, 0, 2, [sampledV4]);
    s.writeUInt32BE(drops, 8 + 20); // after the record header: sequence, type, index, rate, pool, then drops
    return s;
  };
  const d = new SflowDecoder();
  const drops: number[] = [];
  const feed = (seq: number, samples: Buffer[]) => {
    const out: FlowRecord[] = [];
    d.decode(datagram(agent4([192, 0, 2, 60]), samples, 0, seq), ctx, out);
    assert.equal(out.length, samples.length);
    drops.push(d.takeSequenceGaps()?.get(ctx.exporterIp)?.agentDrops ?? 0);
  };
  feed(1, [compact(5, 100), expanded(6, 7)]); // first sight: where the counters are
  feed(2, [compact(5, 130), expanded(6, 7)]); // 30 more dropped on source 5
  feed(3, [compact(5, 20)]); // the agent restarted
  feed(4, [compact(5, 25), expanded(6, 9)]);
  assert.deepEqual(drops, [0, 30, 0, 7]);
});

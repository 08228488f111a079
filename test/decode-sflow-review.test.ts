/**
 * sFlow v5 quirks a review of the decoder found: a sub-agent ID past 16 bits and data source types
 * past 4 bits (agent drops not followed), the extended switch record before the raw header (its
 * VLANs lost to the header's tags), and IP headers cut short in the sampled header or stating no
 * length (bytes counted from the whole frame).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTDATA } from './helpers/tools.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { SflowDecoder } from '../src/decode/sflow/datagram.js';
import type { PacketContext } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';

const ctx: PacketContext = { exporterIp: '192.0.2.70', exporterPort: 6343, receivedAt: 1_700_000_000_000 };

const u32 = (...v: number[]) => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i)); return b; };
const pad4 = (b: Buffer) => (b.length % 4 === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]));
const rec = (format: number, body: Buffer) => Buffer.concat([u32(format, body.length), body]);
const datagram = (subAgent: number, seq: number, samples: Buffer[]) => Buffer.concat([u32(5, 1, 0xc0000246, subAgent, seq, 123456, samples.length), ...samples]);
const sampledV4 = rec(3, u32(60, 17, 0xc0000201, 0xc0000202, 1000, 53, 0, 0));
/** Compact flow sample (format 1): sequence, source (type << 24 | index), rate, pool, drops, input, output, records. */
const compact = (type: number, index: number, drops: number, records: Buffer[] = [sampledV4]) => rec(1, Buffer.concat([u32(1, (type << 24) | index, 10, 1000, drops, 1, 2, records.length), ...records]));
/** Expanded flow sample (format 3): sequence, type, index, rate, pool, drops, input and output (format, value), records. */
const expanded = (type: number, index: number, drops: number) => rec(3, Buffer.concat([u32(1, type, index, 10, 1000, drops, 0, 1, 0, 2, 1), sampledV4]));
/** A sampled header record (format 1) of an Ethernet frame, 4 octets (the FCS) stripped. */
const header = (frameLength: number, h: Buffer) => rec(1, Buffer.concat([u32(1, frameLength, 4, h.length), pad4(h)]));
const ETH = '00000c9f0001' + '00000c9f0002';
/** IPv4 (total length 60, TCP, 192.0.2.1 -> 192.0.2.2) and TCP 1234 -> 80, SYN. */
const IPV4_TCP = '4500003c000040004006' + '0000' + 'c0000201' + 'c0000202' + '04d20050' + '00000000' + '00000000' + '5002' + '0000';

function decodeOne(buf: Buffer): FlowRecord {
  const out: FlowRecord[] = [];
  new SflowDecoder().decode(buf, ctx, out);
  assert.equal(out.length, 1, 'one flow sample, one record');
  return out[0]!;
}

test('a sub-agent ID past 16 bits (akvorado data-sflow-raw-ipv4.pcap, sub-agent 100000): no errors, its agent drops are followed', () => {
  const pcap = join(TESTDATA, 'akvorado/sflow/data-sflow-raw-ipv4.pcap');
  const d = new SflowDecoder();
  const out: FlowRecord[] = [];
  for (const dg of readUdpDatagrams(readFileSync(pcap))) d.decode(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: 1 }, out);
  assert.equal(out.length, 2, 'two flow samples in the capture');
  assert.equal(out[0]!.observationDomain, 100000, 'the sub-agent ID is the domain');
  assert.equal(d.takeLosses(), null, 'no sample counted as "agent drops not followed"');
});

test('agent drops of every sub-agent ID and data source type the format allows are followed: 32-bit sub-agent, compact type 255, expanded type 3 with a 32-bit index', () => {
  const d = new SflowDecoder();
  const feed = (seq: number, drops: number) => {
    const out: FlowRecord[] = [];
    d.decode(datagram(0xfffffffe, seq, [compact(255, 0xffffff, drops), compact(16, 1, drops), expanded(3, 0xffffffff, drops)]), ctx, out);
    assert.equal(out.length, 3, 'three flow samples');
    return d.takeSequenceGaps()?.get(ctx.exporterIp)?.agentDrops ?? 0;
  };
  assert.equal(feed(1, 100), 0, 'first sight: where the counters are');
  assert.equal(feed(2, 105), 15, '5 more dropped on each of the three sources');
  assert.equal(d.takeLosses(), null, 'no sample counted as "agent drops not followed"');
});

test('agent drops: the same data source under two sub-agents is two sources', () => {
  const d = new SflowDecoder();
  const out: FlowRecord[] = [];
  d.decode(datagram(1, 1, [compact(0, 7, 10)]), ctx, out);
  d.decode(datagram(65537, 1, [compact(0, 7, 50)]), ctx, out);
  d.decode(datagram(1, 2, [compact(0, 7, 12)]), ctx, out);
  assert.equal(d.takeSequenceGaps()?.get(ctx.exporterIp)?.agentDrops, 2, 'sub-agent 65537 (1 in 16 bits) does not stand for sub-agent 1');
});

test('agent drops: the 4,096 sources an agent may have are counted over all its sub-agents, and forgotten ones make room again', () => {
  const d = new SflowDecoder();
  const at = (receivedAt: number) => ({ ...ctx, receivedAt });
  const out: FlowRecord[] = [];
  // 16 sub-agents of 256 sources each: the agent's 4,096.
  for (let sub = 0; sub < 16; sub++) {
    d.decode(datagram(sub * 65536, 1, Array.from({ length: 256 }, (_, i) => compact(0, i, 0))), at(ctx.receivedAt), out);
  }
  assert.equal(d.takeLosses(), null, '4,096 sources followed');
  d.decode(datagram(99, 1, [compact(0, 1, 0)]), at(ctx.receivedAt), out);
  assert.deepEqual(d.takeLosses(), new Map([[ctx.exporterIp, new Map([['agent drops not followed: data source past the bounds', 1]])]]), 'the 4,097th, under another sub-agent, is past the bound');
  // Eleven minutes on: the silent sources are forgotten when the new one needs room.
  d.decode(datagram(99, 2, [compact(0, 1, 0)]), at(ctx.receivedAt + 660_000), out);
  assert.equal(d.takeLosses(), null, 'room again once the silent ones are forgotten');
  d.decode(datagram(99, 3, [compact(0, 1, 4)]), at(ctx.receivedAt + 661_000), out);
  assert.equal(d.takeSequenceGaps()?.get(ctx.exporterIp)?.agentDrops, 4, 'the new source is followed');
});

test('extended switch VLANs beat the raw header\'s 802.1Q tag whether the switch record comes before or after the header', () => {
  const tagged = header(82, Buffer.from(ETH + '8100' + '000a' + '0800' + IPV4_TCP, 'hex')); // VID 10
  const sw = rec(1001, u32(30, 0, 40, 0));
  for (const [order, records] of [['switch first', [sw, tagged]], ['header first', [tagged, sw]]] as const) {
    const r = decodeOne(datagram(0, 1, [compact(0, 1, 0, [...records])]));
    assert.deepEqual([r.srcVlan, r.dstVlan], [30, 40], order);
    assert.deepEqual([r.srcIp, r.dstPort], ['192.0.2.1', 80], `${order}: the header is still read`);
  }
  // Without a switch record the tag stands for both sides.
  const r = decodeOne(datagram(0, 1, [compact(0, 1, 0, [tagged])]));
  assert.deepEqual([r.srcVlan, r.dstVlan], [10, 10], 'the header\'s tag alone');
});

test('an IPv4 header cut short after 12 bytes still gives its total length for the bytes (tshark: ip.len 60); its other fields are not taken', () => {
  // Ethernet, then 12 bytes of IPv4: version, IHL, total length 60, ..., protocol 6; no addresses. 78 = 14 + 60 + FCS.
  const cut = header(78, Buffer.from(ETH + '0800' + IPV4_TCP.slice(0, 24), 'hex'));
  const r = decodeOne(datagram(0, 1, [compact(0, 1, 0, [cut])]));
  assert.equal(r.bytes, 600, 'total length 60 x rate 10, not frame length 78 x 10');
  assert.deepEqual([r.ipVersion, r.proto, r.srcIp, r.srcPort], [0, 0, '', 0], 'nothing else read from the cut header');
  // A sampled IPv4 record (format 3) still fills the flow the cut header could not.
  const withRecord = decodeOne(datagram(0, 1, [compact(0, 1, 0, [cut, sampledV4])]));
  assert.deepEqual([withRecord.srcIp, withRecord.proto, withRecord.dstPort], ['192.0.2.1', 17, 53], 'the sampled IPv4 record fills the flow');
});

test('an IPv6 header cut short after 8 bytes still gives its payload length + 40 for the bytes', () => {
  const cut = header(158, Buffer.from(ETH + '86dd' + '60000000' + '0064' + '0640', 'hex')); // payload 100
  const r = decodeOne(datagram(0, 1, [compact(0, 1, 0, [cut])]));
  assert.equal(r.bytes, 1400, '(100 + 40) x rate 10');
  assert.equal(r.srcIp, '', 'no addresses read');
});

test('IPv4 total length 0 (captured before segmentation offload): bytes are the frame from the IP header on, without the stripped FCS', () => {
  const zero = '45000000' + IPV4_TCP.slice(8);
  // 9,018 = 14 (Ethernet) + 9,000 + 4 (FCS); with an 802.1Q tag, 9,022.
  const plain = decodeOne(datagram(0, 1, [compact(0, 1, 0, [header(9018, Buffer.from(ETH + '0800' + zero, 'hex'))])]));
  assert.equal(plain.bytes, 90_000, '(9,018 - 14 - 4) x rate 10');
  assert.deepEqual([plain.srcIp, plain.dstPort], ['192.0.2.1', 80], 'the header is read');
  const tagged = decodeOne(datagram(0, 1, [compact(0, 1, 0, [header(9022, Buffer.from(ETH + '8100' + '000a' + '0800' + zero, 'hex'))])]));
  assert.equal(tagged.bytes, 90_000, '(9,022 - 18 - 4) x rate 10');
});

test('an inner VXLAN packet cut short leaves the outer flow and its IP length', () => {
  // Outer IPv4 (total length 150) UDP 4789, VXLAN (I flag), inner Ethernet and 12 bytes of IPv4 (total length 100).
  const outer = '45000096000000004011' + '0000' + '0a000001' + '0a000002' + '1234' + '12b5' + '0082' + '0000';
  const vxlan = '08000000' + '00006400';
  const inner = ETH + '0800' + '45000064000040004006' + '0000';
  const r = decodeOne(datagram(0, 1, [compact(0, 1, 0, [header(168, Buffer.from(ETH + '0800' + outer + vxlan + inner, 'hex'))])]));
  assert.deepEqual([r.srcIp, r.dstPort], ['10.0.0.1', 4789], 'the outer flow');
  assert.equal(r.bytes, 1500, 'outer total length 150 x rate 10');
});

/**
 * sFlow v5 decoder against real captures: akvorado's sFlow pcaps and expectations (its Go tests'
 * expected flows, mapped to our fields), akvorado's packet-header captures (MPLS, EoMPLS, VLAN),
 * Cistern's and nxthdr's dumps (values asserted by their upstream tests) and nDPI's capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TESTDATA } from './helpers/tools.js';
import { CaptureOutput, testConfig } from './helpers/collect.js';
import { createDecoders } from '../src/decode/registry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { SflowDecoder } from '../src/decode/sflow/datagram.js';
import { parseSampledHeader, HEADER_PROTOCOL_ETHERNET, HEADER_PROTOCOL_IPV4 } from '../src/decode/sflow/packet-header.js';
import { COUNTER_NAMES } from '../src/decode/sflow/counter-sample.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { DecodeError, type PacketContext } from '../src/pipeline/types.js';

const AKV = join(TESTDATA, 'akvorado');
const MISC = join(TESTDATA, 'sflow-misc');
const RECEIVED = 1_700_000_000_123;
const ctx: PacketContext = { exporterIp: '192.0.2.99', exporterPort: 6343, receivedAt: RECEIVED };

function payloads(pcap: string): Buffer[] {
  return [...readUdpDatagrams(readFileSync(pcap))].map((d) => d.payload);
}

function decodeAll(bufs: Buffer[], dec = new SflowDecoder()): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (const b of bufs) dec.decode(b, ctx, out);
  return out;
}

const unmap = (a: string): string => (a.startsWith('::ffff:') ? a.slice(7) : a);

interface AkvScenario {
  decoder: string;
  test: string;
  pcaps?: string[];
  expected_flows?: Record<string, unknown>[];
}

/** akvorado's field -> ours. Bytes and Packets are raw there (one sampled frame), scaled here. */
function expectedView(e: Record<string, unknown>): Record<string, unknown> {
  const rate = (e.SamplingRate as number) ?? 0;
  const eType = e.EType as number;
  return {
    samplingRate: rate,
    inIf: e.InIf ?? 0,
    outIf: e.OutIf ?? 0,
    srcVlan: e.SrcVlan ?? 0,
    dstVlan: e.DstVlan ?? 0,
    srcIp: unmap((e.SrcAddr as string) ?? ''),
    dstIp: unmap((e.DstAddr as string) ?? ''),
    exporterIp: unmap(e.ExporterAddress as string),
    nextHop: e.NextHop === undefined || e.NextHop === '::ffff:0.0.0.0' ? '' : unmap(e.NextHop as string),
    bytes: (e.Bytes as number) * rate,
    packets: (e.Packets as number) * rate,
    ipVersion: eType === 2048 ? 4 : eType === 34525 ? 6 : 0,
    proto: e.Proto ?? 0,
    srcPort: e.SrcPort ?? 0,
    dstPort: e.DstPort ?? 0,
    tcpFlags: e.TCPFlags ?? 0,
    tos: e.IPTos ?? 0,
    srcAs: e.SrcAS ?? 0,
    dstAs: e.DstAS ?? 0,
    srcMask: e.SrcNetMask ?? 0,
    dstMask: e.DstNetMask ?? 0,
    srcMac: e.SrcMAC ?? '',
    dstMac: e.DstMAC ?? '',
    icmpType: (e.ICMPv4Type ?? e.ICMPv6Type ?? 0) as number,
    asPath: e.DstASPath === undefined ? undefined : (e.DstASPath as number[]).join(' '),
    communities: e.DstCommunities === undefined ? undefined : (e.DstCommunities as number[]).join(','),
  };
}

function ourView(r: FlowRecord): Record<string, unknown> {
  return {
    samplingRate: r.samplingRate, inIf: r.inIf, outIf: r.outIf, srcVlan: r.srcVlan, dstVlan: r.dstVlan,
    srcIp: r.srcIp, dstIp: r.dstIp, exporterIp: r.exporterIp, nextHop: r.nextHop, bytes: r.bytes, packets: r.packets,
    ipVersion: r.ipVersion, proto: r.proto, srcPort: r.srcPort, dstPort: r.dstPort, tcpFlags: r.tcpFlags, tos: r.tos,
    srcAs: r.srcAs, dstAs: r.dstAs, srcMask: r.srcMask, dstMask: r.dstMask, srcMac: r.srcMac, dstMac: r.dstMac,
    icmpType: r.icmpType,
    asPath: r.extra?.['flow.dst.as.path'], communities: r.extra?.['flow.bgp.communities'],
  };
}

const scenarios = (JSON.parse(readFileSync(join(AKV, 'expectations.json'), 'utf8')) as AkvScenario[])
  .filter((s) => s.decoder === 'sflow' && s.expected_flows !== undefined && s.pcaps !== undefined);

test('akvorado sFlow expectations cover the eleven captures', () => {
  const files = new Set(scenarios.flatMap((s) => s.pcaps!));
  assert.equal(files.size, 11);
});

for (const s of scenarios) {
  test(`akvorado sFlow: ${s.test} (${s.pcaps!.join(', ')})`, () => {
    const recs = decodeAll(s.pcaps!.flatMap((p) => payloads(join(AKV, p))));
    assert.equal(recs.length, s.expected_flows!.length);
    for (let i = 0; i < recs.length; i++) {
      assert.deepEqual(ourView(recs[i]!), expectedView(s.expected_flows![i]!), `flow ${i}`);
      assert.equal(recs[i]!.kind, 'flow');
      assert.equal(recs[i]!.exportType, 'sflow');
      assert.equal(recs[i]!.exportVersion, 5);
    }
  });
}

test('sFlow: the agent address is the exporter, not the UDP source', () => {
  const recs = decodeAll(payloads(join(AKV, 'sflow/data-1140.pcap')));
  for (const r of recs) assert.equal(r.exporterIp, '172.16.0.3');
  assert.notEqual(ctx.exporterIp, '172.16.0.3');
});

test('sFlow: collect, start and end times are the receive time; sequence and sub-agent from the header', () => {
  const [r] = decodeAll(payloads(join(AKV, 'sflow/data-qinq.pcap')));
  assert.equal(r!.collectTs, RECEIVED);
  assert.equal(r!.startTs, RECEIVED);
  assert.equal(r!.endTs, RECEIVED);
  assert.equal(r!.exportTs, 0);
  assert.equal(r!.sequence, 184089);
  assert.equal(r!.observationDomain, 100);
});

test('sFlow: special output interfaces (local, discard, multiple) read as 0 with the reason kept', () => {
  const local = decodeAll(payloads(join(AKV, 'sflow/data-local-interface.pcap')))[0]!;
  const discard = decodeAll(payloads(join(AKV, 'sflow/data-discard-interface.pcap')))[0]!;
  const multiple = decodeAll(payloads(join(AKV, 'sflow/data-multiple-interfaces.pcap')))[0]!;
  for (const r of [local, discard, multiple]) assert.equal(r.outIf, 0);
  assert.equal(typeof discard.extra?.['sflow.out.discard.reason'], 'number');
  assert.equal(multiple.extra?.['sflow.out.multiple'], 7);
});

test('sFlow: egress sampling (data source = output ifIndex) sets direction egress', () => {
  const [r] = decodeAll(payloads(join(AKV, 'sflow/data-1140.pcap')));
  assert.equal(r!.outIf, 28);
  assert.equal(r!.direction, 1);
});

test('sFlow: VXLAN inner packet replaces the outer one, the tunnel is kept as extras', () => {
  const [r] = decodeAll(payloads(join(AKV, 'sflow/data-encap-vxlan.pcap')));
  assert.equal(r!.srcIp, '2001:db8:4::1');
  assert.equal(r!.extra?.['vxlan.vni'], 100);
  assert.equal(r!.extra?.['tunnel.src.ip.addr'], '192.168.108.40');
  assert.equal(r!.extra?.['tunnel.dst.ip.addr'], '192.168.15.14');
});

// akvorado's helpers_test.go parsed lengths for the sampled-header parser; DECAP_NONE cases only
// (IP-in-IP, GRE and SRv6 decapsulation are akvorado options we do not offer).
interface HeaderCase { test: string; pcap: string; decapsulation: string; expected_parsed_length: number; expected_fields: Record<string, unknown> | null }
const headerCases = (JSON.parse(readFileSync(join(AKV, 'packet-headers/expectations.json'), 'utf8')) as HeaderCase[])
  .filter((c) => c.decapsulation === 'DECAP_NONE');

for (const c of headerCases) {
  test(`packet header: ${c.test} (${c.pcap})`, () => {
    const file = readFileSync(join(AKV, c.pcap));
    const incl = file.readUInt32LE(24 + 8); // first record of a classic little-endian pcap
    const r = new FlowRecord();
    const l3 = parseSampledHeader(HEADER_PROTOCOL_ETHERNET, file, 40, incl, r);
    if (c.expected_parsed_length === 0) {
      assert.equal(l3, -1);
      assert.equal(r.srcIp, '');
      return;
    }
    assert.equal(l3, c.expected_parsed_length);
    const e = c.expected_fields!;
    assert.equal(r.srcIp, unmap(e.SrcAddr as string));
    assert.equal(r.dstIp, unmap(e.DstAddr as string));
    assert.equal(r.proto, e.Proto);
    assert.equal(r.srcPort, e.SrcPort ?? 0);
    assert.equal(r.dstPort, e.DstPort ?? 0);
    assert.equal(r.tcpFlags, e.TCPFlags ?? 0);
    assert.equal(r.tos, e.IPTos ?? 0);
    assert.equal(r.srcMac, e.SrcMAC);
    assert.equal(r.dstMac, e.DstMAC);
    assert.equal(r.srcVlan, e.SrcVlan ?? 0);
    if (e.MPLSLabels !== undefined) assert.equal(r.extra?.['mpls.labels'], (e.MPLSLabels as number[]).join(','));
  });
}

test('packet header: EoMPLS nested through a crafted header ends, it does not overflow the stack', () => {
  // Ethernet (MPLS), one label with bottom-of-stack set, then an Ethernet frame (EoMPLS), again and again.
  const layer = Buffer.from('010203040506' + '0a0b0c0d0e0f' + '8847' + '00001140', 'hex');
  const ipv4 = Buffer.from('450000140000000040060000c0000201c6336407', 'hex');
  for (const [depth, decodes] of [[1, true], [2, true], [3, false], [3000, false]] as const) {
    const r = new FlowRecord();
    const buf = Buffer.concat([...Array<Buffer>(depth).fill(layer), Buffer.from('0a0b0c0d0e0f010203040506', 'hex'), Buffer.from('0800', 'hex'), ipv4]);
    const l3 = parseSampledHeader(HEADER_PROTOCOL_ETHERNET, buf, 0, buf.length, r);
    assert.equal(l3 > 0, decodes, `${depth} deep`);
    assert.equal(r.srcIp, decodes ? '192.0.2.1' : '', `${depth} deep`);
  }
  // The bound is EoMPLS's own: a VXLAN packet inside an EoMPLS frame is still decapsulated.
  const outer = '45000000000000004011' + '0000' + '0a000001' + '0a000002' + '1234' + '12b5' + '00000000' + '08000000' + '00006400';
  const vx = Buffer.from(layer.toString('hex') + '0a0b0c0d0e0f010203040506' + '0800' + outer + '0a0b0c0d0e0f010203040506' + '0800' + ipv4.toString('hex'), 'hex');
  const r = new FlowRecord();
  assert.ok(parseSampledHeader(HEADER_PROTOCOL_ETHERNET, vx, 0, vx.length, r) > 0);
  assert.equal(r.srcIp, '192.0.2.1', 'the inner packet');
  assert.equal(r.extra?.['tunnel.src.ip.addr'], '10.0.0.1');
});

test('packet header: IPv6 extension headers, AH among them, are skipped to the transport header', () => {
  const eth = '0a0b0c0d0e0f010203040506' + '86dd';
  const addrs = '20010db8000000000000000000000001' + '20010db8000000000000000000000002';
  // Hop-by-hop (8 bytes) then AH (Payload Len 4: 24 bytes) then TCP 40000 -> 443, SYN.
  const hbh = '33' + '00' + '010400000000';
  const ah = '06' + '04' + '0000' + '00000100' + '00000001' + '00'.repeat(12);
  const tcp = '9c40' + '01bb' + '00000000' + '00000000' + '5002' + 'ffff' + '0000' + '0000';
  const ip6 = '60000000' + (8 + 24 + 20).toString(16).padStart(4, '0') + '00' + '40' + addrs;
  const buf = Buffer.from(eth + ip6 + hbh + ah + tcp, 'hex');
  const r = new FlowRecord();
  assert.ok(parseSampledHeader(HEADER_PROTOCOL_ETHERNET, buf, 0, buf.length, r) > 0);
  assert.deepEqual([r.srcIp, r.proto, r.srcPort, r.dstPort, r.tcpFlags], ['2001:db8::1', 6, 40000, 443, 2]);
});

test('packet header: a later IPv4 fragment has no transport header, so its first payload bytes are not read as ports', () => {
  // Fragment offset 185 (x8 = 1480 bytes in): bytes 20-23 are the middle of the datagram, not a UDP header.
  const h = Buffer.alloc(28);
  h[0] = 0x45;
  h.writeUInt16BE(1500, 2);
  h.writeUInt16BE(185, 6);
  h[8] = 64;
  h[9] = 17;
  Buffer.from([198, 51, 100, 7]).copy(h, 12);
  Buffer.from([192, 0, 2, 9]).copy(h, 16);
  h.writeUInt16BE(1234, 20);
  h.writeUInt16BE(5678, 22);
  const r = new FlowRecord();
  assert.equal(parseSampledHeader(HEADER_PROTOCOL_IPV4, h, 0, 28, r), 1500, 'the IP length of the fragment');
  assert.deepEqual([r.srcIp, r.proto], ['198.51.100.7', 17], 'addresses and protocol are still read');
  assert.deepEqual([r.srcPort, r.dstPort], [0, 0], 'a later fragment gives no ports');
});

test('Cistern counter_sample.dump: generic interface and ethernet counters as one counter record', () => {
  const recs = decodeAll([readFileSync(join(MISC, 'cistern-sflow/counter_sample.dump'))]);
  assert.equal(recs.length, 1);
  const r = recs[0]!;
  assert.equal(r.kind, 'counter');
  assert.equal(r.exporterIp, '208.85.240.52');
  assert.equal(r.sequence, 1086077);
  assert.equal(r.inIf, 9);
  const c = (n: string) => r.extra?.['sflow.counter.' + n];
  assert.equal(c('if_index'), 9);
  assert.equal(c('if_type'), 6);
  assert.equal(c('if_speed'), 100000000);
  assert.equal(c('if_direction'), 1);
  assert.equal(c('if_status'), 3);
  assert.equal(c('if_in_octets'), 79282473);
  assert.equal(c('if_in_ucast_pkts'), 329128);
  assert.equal(c('if_in_multicast_pkts'), 0);
  assert.equal(c('if_in_broadcast_pkts'), 1493);
  assert.equal(c('if_out_octets'), 764247430);
  assert.equal(c('if_out_ucast_pkts'), 9470970);
  assert.equal(c('if_out_multicast_pkts'), 780342);
  assert.equal(c('if_out_broadcast_pkts'), 877721);
  assert.equal(c('if_promiscuous_mode'), 1);
  for (const n of ['if_in_discards', 'if_in_errors', 'if_in_unknown_protos', 'if_out_discards', 'if_out_errors']) assert.equal(c(n), 0, n);
  // Ethernet counters are all zero in this sample, and every one is present.
  for (const k of COUNTER_NAMES.filter((k) => k.includes('dot3'))) assert.equal(r.extra?.[k], 0, k);
  assert.equal(r.bytes, 0);
});

test('Cistern flow_sample.dump: raw header + extended switch, rate 4096, frame length 318', () => {
  const recs = decodeAll([readFileSync(join(MISC, 'cistern-sflow/flow_sample.dump'))]);
  assert.equal(recs.length, 1);
  const r = recs[0]!;
  assert.equal(r.exporterIp, '208.85.240.52');
  assert.equal(r.samplingRate, 4096);
  assert.equal(r.packets, 4096);
  assert.equal(r.srcVlan, 16);
  assert.equal(r.ipVersion, 4);
  // Bytes are the IP length: frame 318 less 14 Ethernet and 4 stripped FCS = 300.
  assert.equal(r.bytes, 300 * 4096);
});

test('Cistern flow_samples_2.dump: two datagrams back to back give 2 + 1 samples', () => {
  const buf = readFileSync(join(MISC, 'cistern-sflow/flow_samples_2.dump'));
  const recs = decodeAll([buf.subarray(0, 352), buf.subarray(352)]);
  assert.equal(recs.length, 3);
  for (const r of recs) assert.equal(r.samplingRate, 512);
  assert.equal(recs[0]!.sequence, recs[1]!.sequence);
  assert.notEqual(recs[2]!.sequence, recs[0]!.sequence);
});

test('Cistern flow_sample_3.dump: 3 samples at rate 512, each with a VLAN', () => {
  const recs = decodeAll([readFileSync(join(MISC, 'cistern-sflow/flow_sample_3.dump'))]);
  assert.equal(recs.length, 3);
  for (const r of recs) {
    assert.equal(r.samplingRate, 512);
    assert.equal(r.srcVlan, 16);
    assert.equal(r.proto, 6);
  }
});

test('Cistern event_discarded_packet.dump: an unknown sample format is skipped by length, not an error', () => {
  const dec = new SflowDecoder();
  const recs = decodeAll([readFileSync(join(MISC, 'cistern-sflow/event_discarded_packet.dump'))], dec);
  assert.equal(recs.length, 0);
  assert.equal(dec.describe().samplesSkipped, 1);
});

test('Cistern host_sample.dump: host-sFlow structures skipped, the sample still counted as one record', () => {
  const recs = decodeAll([readFileSync(join(MISC, 'cistern-sflow/host_sample.dump'))]);
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.kind, 'counter');
  assert.equal(recs[0]!.exporterIp, '192.168.1.7');
  assert.equal(recs[0]!.extra?.['sflow.counter.if_index'], undefined);
});

test('nxthdr sflow.pcap: sampled IPv4 record (0:3), rate 1000, agent 1.1.1.1', () => {
  const recs = decodeAll(payloads(join(MISC, 'nxthdr-sflow-parser/sflow.pcap')));
  assert.equal(recs.length, 1);
  const r = recs[0]!;
  assert.equal(r.exporterIp, '1.1.1.1');
  assert.equal(r.samplingRate, 1000);
  assert.equal(r.srcIp, '3.3.3.3');
  assert.equal(r.dstIp, '4.4.4.4');
  assert.equal(r.proto, 6);
  assert.ok(r.bytes > 0 && r.bytes % 1000 === 0);
  // The same payload as a raw dump decodes the same.
  const same = decodeAll([readFileSync(join(MISC, 'nxthdr-sflow-parser/sflow.bin'))]);
  assert.deepEqual(ourView(same[0]!), ourView(r));
});

test('nDPI sflow.pcap: 8 counter samples and 1 flow sample from agent 172.21.35.17, seq 415-423', () => {
  const recs = decodeAll(payloads(join(TESTDATA, 'ndpi/pcap/sflow.pcap')));
  assert.equal(recs.length, 9);
  assert.equal(recs.filter((r) => r.kind === 'counter').length, 8);
  const flows = recs.filter((r) => r.kind === 'flow');
  assert.equal(flows.length, 1);
  assert.equal(flows[0]!.sequence, 418);
  assert.deepEqual(recs.map((r) => r.sequence), [415, 416, 417, 418, 419, 420, 421, 422, 423]);
  for (const r of recs) assert.equal(r.exporterIp, '172.21.35.17');
  for (const r of recs.filter((r) => r.kind === 'counter')) {
    assert.equal(r.extra?.['sflow.counter.if_index'], r.inIf);
    assert.equal(r.extra?.['sflow.counter.if_speed'], 100000000);
  }
});

test('sFlow options: flows or counters turned off emit none of that kind', () => {
  const bufs = payloads(join(TESTDATA, 'ndpi/pcap/sflow.pcap'));
  assert.equal(decodeAll(bufs, new SflowDecoder({ flows: false, counters: true })).length, 8);
  assert.equal(decodeAll(bufs, new SflowDecoder({ flows: true, counters: false })).length, 1);
});

test('sFlow: every truncation of a real datagram throws DecodeError or decodes fewer samples, never anything else', () => {
  const buf = payloads(join(AKV, 'sflow/data-1140.pcap'))[0]!;
  for (let n = 0; n < buf.length; n++) {
    const out: FlowRecord[] = [];
    try {
      new SflowDecoder().decode(buf.subarray(0, n), ctx, out);
      assert.fail(`truncated to ${n} bytes decoded without error`);
    } catch (err) {
      assert.ok(err instanceof DecodeError, `at ${n}: ${(err as Error).message}`);
    }
    assert.ok(out.length < 5);
  }
});

test('sFlow: a sample length past the datagram and a bad address type are named errors', () => {
  const buf = Buffer.from(payloads(join(AKV, 'sflow/data-1140.pcap'))[0]!);
  const bad = Buffer.from(buf);
  bad.writeUInt32BE(0xffff, 32); // first sample's length (after the 28-byte IPv4 header and format)
  assert.throws(() => new SflowDecoder().decode(bad, ctx, []), (e: unknown) => e instanceof DecodeError && e.reason === 'sample overruns datagram');
  const addr = Buffer.from(buf);
  addr.writeUInt32BE(7, 4);
  assert.throws(() => new SflowDecoder().decode(addr, ctx, []), (e: unknown) => e instanceof DecodeError && e.reason === 'bad address type');
});

test('akvorado historical data-vlan-interfaces: the side-branch expectations (flows 0 and 1)', () => {
  const recs = decodeAll(payloads(join(AKV, 'historical/sflow-data-vlan-interfaces.pcap')));
  assert.equal(recs.length, 7);
  const [a, b] = recs;
  assert.deepEqual([a!.srcIp, a!.srcPort, a!.dstIp, a!.dstPort, a!.proto], ['23.62.157.110', 443, '103.167.249.200', 49683, 6]);
  assert.deepEqual([a!.inIf, a!.outIf, a!.srcVlan, a!.samplingRate, a!.sequence, a!.exporterIp], [13, 50, 131, 1024, 204609, '10.88.11.251']);
  // That old test counted the 1502-byte frame (IP 1480 + Ethernet 14 + 802.1Q 4 + FCS 4); we count L3 bytes.
  assert.equal(a!.bytes, (1502 - 14 - 4 - 4) * 1024);
  assert.deepEqual([b!.srcIp, b!.srcPort, b!.dstIp, b!.dstPort], ['23.45.168.73', 443, '103.167.249.36', 60081]);
  assert.deepEqual([b!.inIf, b!.outIf, b!.srcVlan], [19, 49, 890]);
  assert.equal(b!.bytes, (1492 - 22) * 1024);
});

test('docs/schema-counters.md lists exactly the counters the decoder emits', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/schema-counters.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/`(sflow\.counter\.[a-z0-9_]+)`/g)].map((m) => m[1]!));
  const emitted = new Set([...COUNTER_NAMES, 'sflow.counter.sample_sequence', 'sflow.counter.source_id_type', 'sflow.counter.source_id_index']);
  assert.deepEqual([...documented].sort(), [...emitted].sort());
  // And a real counter record carries every one of them.
  const [r] = decodeAll([readFileSync(join(MISC, 'cistern-sflow/counter_sample.dump'))]);
  assert.deepEqual(Object.keys(r!.extra!).sort(), [...emitted].sort());
});

test('registry: EF_PROCESSOR_DECODE_SFLOW5/_SFLOW_FLOWS/_SFLOW_COUNTERS and NETFLOW1/7 options are honoured', () => {
  const bufs = payloads(join(TESTDATA, 'ndpi/pcap/sflow.pcap'));
  const run = (env: Record<string, string>) => {
    const cap = new CaptureOutput();
    const config = testConfig(env);
    const p = new Pipeline(createDecoders({ config, stateDir: config.EF_DATA_DIR }), [], [cap]);
    for (const b of bufs) p.handle(b, ctx);
    return { records: cap.records, errors: p.stats.snapshot()[0]!.errors };
  };
  const all = run({});
  assert.equal(all.records.length, 9);
  assert.equal(run({ EF_PROCESSOR_DECODE_SFLOW_COUNTERS_ENABLE: 'false' }).records.length, 1);
  assert.equal(run({ EF_PROCESSOR_DECODE_SFLOW_FLOWS_ENABLE: 'false' }).records.length, 8);
  const off = run({ EF_PROCESSOR_DECODE_SFLOW5_ENABLE: 'false' });
  assert.equal(off.records.length, 0);
  assert.deepEqual(off.errors, { 'sflow5 disabled': 9 });
  const config = testConfig({ EF_PROCESSOR_DECODE_NETFLOW1_ENABLE: 'false' });
  const decoders = createDecoders({ config, stateDir: config.EF_DATA_DIR });
  assert.equal(decoders.has('netflow1'), false);
  assert.equal(decoders.has('netflow7'), true);
  assert.equal(decoders.has('sflow5'), true);
});

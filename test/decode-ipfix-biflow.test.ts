/**
 * IPFIX biflows (RFC 5103): what the reverse record takes from the exporter's reverse elements, and
 * YAF's TCP flags, which it sends in elements of its own (CERT PEN 6871) rather than tcpControlBits.
 * On YAF's capture from the logstash-codec-netflow set, and on hand-built packets (RFC 7011 layout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTDATA } from './helpers/tools.js';
import { ipfixMsg, ipfixTemplate, ip, set, u16, u32, u64, type Spec } from './helpers/ipfix-build.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';

const BASE: TemplateDecoderOptions = { templateLifetimeS: 1e9, pendingMax: 1024, pendingTimeoutS: 1e9, stateDir: '' };
const EXPORT_S = 1_700_000_000;
const REVERSE_PEN = 29305, YAF_PEN = 6871;

function run(dec: IpfixDecoder, pkt: Buffer): FlowRecord[] {
  const out: FlowRecord[] = [];
  dec.decode(pkt, { exporterIp: '192.0.2.1', exporterPort: 4739, receivedAt: EXPORT_S * 1000 }, out);
  dec.drainReleased(out);
  return out;
}

const isReverse = (r: FlowRecord) => r.extra?.['flow.biflow_direction'] === 'reverse';

/** YAF's capture: an options template, then templates 45841 and 45873 and one biflow record of each. */
function yaf(): FlowRecord[] {
  const dir = join(TESTDATA, 'logstash-codec-netflow', 'dat');
  const dec = new IpfixDecoder(BASE);
  const out: FlowRecord[] = [];
  for (const f of ['ipfix_test_yaf_tpls_option_tpl.dat', 'ipfix_test_yaf_tpl45841.dat', 'ipfix_test_yaf_data45841.dat', 'ipfix_test_yaf_data45873.dat']) {
    out.push(...run(dec, readFileSync(join(dir, f))));
  }
  return out;
}

test('YAF biflow: the reverse record takes reverseIpClassOfService, not the forward ToS', () => {
  const out = yaf();
  assert.deepEqual(out.map((r) => [isReverse(r), r.srcIp, r.dstIp]), [
    [false, '172.16.32.201', '172.16.32.100'], [true, '172.16.32.100', '172.16.32.201'],
    [false, '172.16.32.100', '172.16.32.215'], [true, '172.16.32.215', '172.16.32.100'],
  ], 'two biflows, each a forward record and its reverse');
  const [, , fwd, rev] = out;
  // Logstash's expected event (and flowbeat's golden): ipClassOfService 2, reverseIpClassOfService 0.
  assert.equal(fwd!.tos, 2, 'forward ToS');
  assert.equal(rev!.tos, 0, 'reverse ToS from reverseIpClassOfService');
  assert.deepEqual([rev!.bytes, rev!.packets], [92, 2], 'reverse octets and packets');
  assert.deepEqual([rev!.srcVlan, rev!.dstVlan], [0, 0], 'reverse VLAN from reverseVlanId');
  // Read into the reverse record, the reverse elements no longer ride on the forward one.
  assert.equal(fwd!.extra?.['ipfix.reverseIpClassOfService'], undefined, 'reverseIpClassOfService not kept on the forward record');
  assert.equal(fwd!.extra?.['ipfix.reverseVlanId'], undefined, 'reverseVlanId not kept on the forward record');
});

test('YAF TCP flags: initialTCPFlags | unionTCPFlags for each direction, the elements kept as sent', () => {
  const [udpFwd, udpRev, fwd, rev] = yaf();
  // Logstash's expected event: initialTCPFlags 194, unionTCPFlags 17; reverse 18 and 17.
  assert.equal(fwd!.tcpFlags, 194 | 17, 'forward flags: CWR ECE SYN, then ACK FIN');
  assert.equal(rev!.tcpFlags, 18 | 17, 'reverse flags: SYN ACK, then ACK FIN');
  assert.deepEqual(
    [fwd!.extra?.['yaf.initialTCPFlags'], fwd!.extra?.['yaf.unionTCPFlags'], fwd!.extra?.['yaf.reverseInitialTCPFlags'], fwd!.extra?.['yaf.reverseUnionTCPFlags']],
    [194, 17, 18, 17], 'YAF\'s elements stay on the forward record',
  );
  assert.deepEqual([udpFwd!.tcpFlags, udpRev!.tcpFlags], [0, 0], 'the UDP biflow (a template without them) has none');
});

// Hand-built IPFIX (helpers/ipfix-build.ts).
const msg = (sets: Buffer[]): Buffer => ipfixMsg(sets, EXPORT_S);
const template = (tid: number, fields: Spec[]): Buffer => ipfixTemplate(tid, fields);

// src, dst, sport, dport, proto, ToS, vlanId, postVlanId, ingress/egress interfaces, octets, packets,
// and their reverse octets and packets.
const FWD: Spec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [5, 1], [58, 2], [59, 2], [10, 4], [14, 4], [1, 8], [2, 8], [1, 8, REVERSE_PEN], [2, 8, REVERSE_PEN]];
function fwdRecord(revBytes: number): Buffer {
  return Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u16(5000), u16(443), Buffer.from([6, 0x28]), u16(10), u16(20), u32(3), u32(4), u64(100), u64(2), u64(revBytes), u64(revBytes > 0 ? 1 : 0)]);
}

test('RFC 5103 reverse elements fill the reverse record; what the exporter does not send is the forward record\'s, swapped', () => {
  const d = new IpfixDecoder(BASE);
  // Reverse ToS, vlanId, ingressInterface and icmpTypeCodeIPv4; no reverse postVlanId or egressInterface.
  const fields: Spec[] = [...FWD, [5, 1, REVERSE_PEN], [58, 2, REVERSE_PEN], [10, 4, REVERSE_PEN], [32, 2, REVERSE_PEN]];
  run(d, msg([set(2, template(300, fields))]));
  const [fwd, rev] = run(d, msg([set(300, Buffer.concat([fwdRecord(900), Buffer.from([0xb8]), u16(30), u32(7), u16(0)]))]));
  assert.deepEqual([fwd!.tos, fwd!.srcVlan, fwd!.dstVlan, fwd!.inIf, fwd!.outIf], [0x28, 10, 20, 3, 4], 'forward record as sent');
  assert.ok(rev !== undefined && isReverse(rev), 'a reverse record follows');
  assert.equal(rev.tos, 0xb8, 'reverse ToS from reverseIpClassOfService');
  assert.equal(rev.srcVlan, 30, 'reverse VLAN from reverseVlanId');
  assert.equal(rev.dstVlan, 10, 'no reversePostVlanId: the forward vlanId, swapped');
  assert.equal(rev.inIf, 7, 'reverse ingress interface from reverseIngressInterface');
  assert.equal(rev.outIf, 3, 'no reverseEgressInterface: the forward ingress, swapped');
  assert.deepEqual([rev.srcIp, rev.dstIp, rev.srcPort, rev.dstPort, rev.bytes], ['10.0.0.2', '10.0.0.1', 443, 5000, 900], 'tuple swapped, reverse octets');
  assert.equal(rev.extra?.['ipfix.reverseIpClassOfService'], undefined, 'not kept raw on the reverse record');
  for (const k of ['ipfix.reverseIpClassOfService', 'ipfix.reverseVlanId', 'ipfix.reverseIngressInterface']) {
    assert.equal(fwd!.extra?.[k], undefined, `${k} not kept on the forward record`);
  }
});

test('RFC 5103 reverse ICMP type 0 (echo reply) is the reverse record\'s, not the forward echo request\'s', () => {
  const d = new IpfixDecoder(BASE);
  run(d, msg([set(2, template(301, [[8, 4], [12, 4], [4, 1], [32, 2], [1, 8], [2, 8], [1, 8, REVERSE_PEN], [2, 8, REVERSE_PEN], [32, 2, REVERSE_PEN]]))]));
  const [fwd, rev] = run(d, msg([set(301, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), Buffer.from([1]), u16(0x0800), u64(84), u64(1), u64(84), u64(1), u16(0)]))]));
  assert.deepEqual([fwd!.icmpType, fwd!.icmpCode], [8, 0], 'forward: echo request');
  assert.deepEqual([rev!.icmpType, rev!.icmpCode], [0, 0], 'reverse: echo reply');
});

test('RFC 5103 reverse elements of a record with no reverse direction stay on it, raw', () => {
  const d = new IpfixDecoder(BASE);
  run(d, msg([set(2, template(302, [...FWD, [5, 1, REVERSE_PEN], [58, 2, REVERSE_PEN]]))]));
  const out = run(d, msg([set(302, Buffer.concat([fwdRecord(0), Buffer.from([0]), u16(0)]))]));
  assert.equal(out.length, 1, 'no reverse bytes or packets: no reverse record');
  assert.equal(out[0]!.extra?.['ipfix.reverseIpClassOfService'], 0, 'reverseIpClassOfService kept');
  assert.equal(out[0]!.extra?.['ipfix.reverseVlanId'], 0, 'reverseVlanId kept');
});

test('YAF TCP flags beside tcpControlBits: the record\'s flags are tcpControlBits alone', () => {
  const d = new IpfixDecoder(BASE);
  run(d, msg([set(2, template(303, [[8, 4], [12, 4], [4, 1], [6, 1], [14, 1, YAF_PEN], [15, 1, YAF_PEN], [1, 8], [2, 8]]))]));
  const [r] = run(d, msg([set(303, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), Buffer.from([6, 0x18, 0x02, 0x11]), u64(100), u64(2)]))]));
  assert.equal(r!.tcpFlags, 0x18, 'tcpControlBits as sent');
  assert.deepEqual([r!.extra?.['yaf.initialTCPFlags'], r!.extra?.['yaf.unionTCPFlags']], [0x02, 0x11], 'YAF\'s elements kept');
});

test('RFC 5103 reverse interfaces are named from the exporter\'s interface table, as the forward ones', () => {
  const d = new IpfixDecoder(BASE);
  // Options template 410: scope ingressInterface (10), interfaceName (82), 16 octets.
  run(d, msg([set(3, Buffer.concat([u16(410), u16(2), u16(1), u16(10), u16(4), u16(82), u16(16)]))]));
  const name = (s: string) => { const b = Buffer.alloc(16); b.write(s); return b; };
  run(d, msg([set(410, Buffer.concat([u32(3), name('ge-0/0/3'), u32(4), name('ge-0/0/4'), u32(7), name('ge-0/0/7')]))]));
  run(d, msg([set(2, template(304, [...FWD, [10, 4, REVERSE_PEN]]))]));
  const [fwd, rev] = run(d, msg([set(304, Buffer.concat([fwdRecord(900), u32(7)]))]));
  assert.deepEqual([fwd!.inIf, fwd!.inIfName, fwd!.outIf, fwd!.outIfName], [3, 'ge-0/0/3', 4, 'ge-0/0/4'], 'forward interfaces named');
  assert.deepEqual([rev!.inIf, rev!.inIfName, rev!.outIf, rev!.outIfName], [7, 'ge-0/0/7', 3, 'ge-0/0/3'], 'reverse ingress from reverseIngressInterface, named; egress the forward ingress');
});

/**
 * Decoder defects a review found, one named test each, on hand-built packets (RFC 7011 IPFIX and
 * the Cisco NetFlow v5 layout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../src/record/flow-record.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';
import { NetflowV1Decoder } from '../src/decode/netflow-legacy/v1.js';
import { NetflowV5Decoder } from '../src/decode/netflow-legacy/v5.js';
import type { PacketContext } from '../src/pipeline/types.js';
import { CommunityIdEnricher } from '../src/enrich/community-id.js';
import { ipfixMsg as buildIpfixMsg, ipfixTemplate, set, u16, u32, u64, type Spec } from './helpers/ipfix-build.js';

const EXPORT_S = 1_700_000_000;

const ipfixMsg = (sets: Buffer[]): Buffer => buildIpfixMsg(sets, EXPORT_S);

const legacyCtx: PacketContext = { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: EXPORT_S * 1000 };

const BASE: TemplateDecoderOptions = { templateLifetimeS: 3600, pendingMax: 16, pendingTimeoutS: 60, stateDir: '' };

function run(pkt: Buffer): FlowRecord[] {
  const out: FlowRecord[] = [];
  const dec = new IpfixDecoder(BASE);
  dec.decode(pkt, { exporterIp: '192.0.2.9', exporterPort: 4739, receivedAt: EXPORT_S * 1000 }, out);
  dec.drainReleased(out);
  return out;
}

test('IPFIX flowStart/EndDeltaMicroseconds: times floored to the millisecond, not rounded toward the export time', () => {
  // tshark: 10000500 us before 22:13:20 is 22:13:09.9995, 2500 us before is 22:13:19.9975.
  const out = run(ipfixMsg([
    set(2, ipfixTemplate(300, [[8, 4], [12, 4], [4, 1], [158, 4], [159, 4], [1, 4], [2, 4]])),
    set(300, Buffer.concat([u32(0x0a000001), u32(0x0a000002), Buffer.from([17]), u32(10_000_500), u32(2500), u32(100), u32(1)])),
  ]));
  assert.equal(out.length, 1, 'one record');
  assert.equal(new Date(out[0]!.startTs).toISOString(), '2023-11-14T22:13:09.999Z', 'start floored');
  assert.equal(new Date(out[0]!.endTs).toISOString(), '2023-11-14T22:13:19.997Z', 'end floored');
});

test('IPFIX flowDurationMicroseconds (IE 162) with only an end: the start floored to the millisecond too', () => {
  // End at flowEndMilliseconds 22:13:10.000; 1500 us before it is 22:13:09.9985, so :09.998.
  const out = run(ipfixMsg([
    set(2, ipfixTemplate(301, [[8, 4], [12, 4], [4, 1], [153, 8], [162, 4], [1, 4], [2, 4]])),
    set(301, Buffer.concat([u32(0x0a000001), u32(0x0a000002), Buffer.from([17]), u64(EXPORT_S * 1000 - 10_000), u32(1500), u32(100), u32(1)])),
  ]));
  assert.equal(out.length, 1, 'one record');
  assert.equal(new Date(out[0]!.endTs).toISOString(), '2023-11-14T22:13:10.000Z', 'end as sent');
  assert.equal(new Date(out[0]!.startTs).toISOString(), '2023-11-14T22:13:09.998Z', 'start floored');
});

/** A v5 (24-byte header) or v1 (16-byte header) datagram of one UDP record, First/Last 1 s and 0 s before the export. */
function legacy(version: 1 | 5, unixNsecs: number): Buffer {
  const h = version === 5 ? 24 : 16;
  const b = Buffer.alloc(h + 48);
  b.writeUInt16BE(version, 0); b.writeUInt16BE(1, 2); b.writeUInt32BE(100_000, 4);
  b.writeUInt32BE(EXPORT_S, 8); b.writeUInt32BE(unixNsecs, 12);
  b.writeUInt32BE(0x0a000001, h); b.writeUInt32BE(0x0a000002, h + 4);
  b.writeUInt32BE(1, h + 16); b.writeUInt32BE(64, h + 20);
  b.writeUInt32BE(99_000, h + 24); b.writeUInt32BE(100_000, h + 28); b[h + 38] = 17;
  return b;
}

test('NetFlow v1/v5/v7 unix_nsecs of a second or more: taken as 0 ns and counted, not added to every time', () => {
  const reason = 'time: unix_nsecs of a second or more (0 ns used)';
  for (const [version, dec] of [[5, new NetflowV5Decoder()], [1, new NetflowV1Decoder()]] as const) {
    const out: FlowRecord[] = [];
    dec.decode(legacy(version, 4_000_000_000), legacyCtx, out);
    assert.deepEqual([out[0]!.exportTs, out[0]!.startTs, out[0]!.endTs], [EXPORT_S * 1000, EXPORT_S * 1000 - 1000, EXPORT_S * 1000], `v${version}: times from unix_secs alone`);
    // A valid one still counts, and nothing is counted for it.
    dec.decode(legacy(version, 999_999_999), legacyCtx, out);
    assert.equal(out[1]!.exportTs, EXPORT_S * 1000 + 999, `v${version}: 999999999 ns kept`);
    assert.deepEqual(dec.describe(), { counters: { [reason]: 1 }, byExporter: { '192.0.2.1': { [reason]: 1 } } }, `v${version}: one record counted`);
  }
});

function v6(s: string): Buffer {
  const [head, tail] = s.split('::') as [string, string | undefined];
  const part = (t: string | undefined): number[] => (t === undefined || t === '' ? [] : t.split(':').map((h) => parseInt(h, 16)));
  const a = part(head), b = part(tail);
  const words = tail === undefined ? a : [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  return Buffer.concat(words.map(u16));
}
function v4(s: string): Buffer { return Buffer.from(s.split('.').map(Number)); }

/** proto, sport, dport, octets, packets, flowStart/EndMilliseconds: the rest of each record below. */
const REST: Spec[] = [[4, 1], [7, 2], [11, 2], [1, 4], [2, 4], [152, 8], [153, 8]];
function rest(proto: number): Buffer {
  const ms = Buffer.alloc(16); ms.writeBigUInt64BE(BigInt(EXPORT_S * 1000 - 1000)); ms.writeBigUInt64BE(BigInt(EXPORT_S * 1000), 8);
  return Buffer.concat([Buffer.from([proto]), u16(0), u16(0), u32(72), u32(1), ms]);
}

function tuple(r: FlowRecord): [number, string, string, number, number] {
  return [r.ipVersion, r.srcIp, r.dstIp, r.srcIp4, r.dstIp4];
}

test('a template with both address families: both ends of a record in its own family, whichever family comes first', () => {
  // IPv4 elements first, an IPv6 record (an all-zeros source: ICMPv6 neighbour solicitation from ::).
  const [a] = run(ipfixMsg([
    set(2, ipfixTemplate(301, [[8, 4], [12, 4], [27, 16], [28, 16], ...REST])),
    set(301, Buffer.concat([v4('0.0.0.0'), v4('0.0.0.0'), v6('::'), v6('ff02::1:ff00:1'), rest(58)])),
  ]));
  assert.deepEqual(tuple(a!), [6, '::', 'ff02::1:ff00:1', -1, -1], 'IPv6 ends');
  // IPv6 elements first, an IPv4 record (a DHCP discover from 0.0.0.0).
  const [b] = run(ipfixMsg([
    set(2, ipfixTemplate(302, [[27, 16], [28, 16], [8, 4], [12, 4], ...REST])),
    set(302, Buffer.concat([v6('::'), v6('::'), v4('0.0.0.0'), v4('255.255.255.255'), rest(17)])),
  ]));
  assert.deepEqual(tuple(b!), [4, '0.0.0.0', '255.255.255.255', 0, 0xffffffff], 'IPv4 ends');
  // Community ID takes them as any record's.
  const cid = new CommunityIdEnricher();
  cid.enrich([a!, b!]);
  assert.match(a!.communityId, /^1:/, 'IPv6 record has a Community ID');
  assert.match(b!.communityId, /^1:/, 'IPv4 record has a Community ID');
});

test('a template with both address families, all four zero: ipVersion (IE 60) names the family, else the later element\'s', () => {
  const zeros = Buffer.concat([v4('0.0.0.0'), v4('0.0.0.0'), v6('::'), v6('::')]);
  const byIe = run(ipfixMsg([
    set(2, Buffer.concat([
      ipfixTemplate(303, [[8, 4], [12, 4], [27, 16], [28, 16], [60, 1], ...REST]),
      ipfixTemplate(307, [[27, 16], [28, 16], [8, 4], [12, 4], [60, 1], ...REST]),
    ])),
    set(303, Buffer.concat([zeros, Buffer.from([6]), rest(58)])),
    set(307, Buffer.concat([v6('::'), v6('::'), v4('0.0.0.0'), v4('0.0.0.0'), Buffer.from([6]), rest(58)])),
  ]));
  assert.deepEqual(byIe.map(tuple), [[6, '::', '::', -1, -1], [6, '::', '::', -1, -1]], 'IE 60 says 6, wherever the IPv4 elements are');
  const [byOrder] = run(ipfixMsg([
    set(2, ipfixTemplate(304, [[27, 16], [28, 16], [8, 4], [12, 4], ...REST])),
    set(304, Buffer.concat([v6('::'), v6('::'), v4('0.0.0.0'), v4('0.0.0.0'), rest(1)])),
  ]));
  assert.deepEqual(tuple(byOrder!), [4, '0.0.0.0', '0.0.0.0', 0, 0], 'IPv4 elements later');
  // A single-family template is as before: the zero address is the record's.
  const [one] = run(ipfixMsg([
    set(2, ipfixTemplate(305, [[27, 16], [28, 16], ...REST])),
    set(305, Buffer.concat([v6('::'), v6('ff02::2'), rest(58)])),
  ]));
  assert.deepEqual(tuple(one!), [6, '::', 'ff02::2', -1, -1], 'IPv6 only');
});

test('a template with both address families, both filled (Cisco SRv6: outer IPv6, then inner IPv4): the inner, later pair', () => {
  const [r] = run(ipfixMsg([
    set(2, ipfixTemplate(306, [[27, 16], [28, 16], [8, 4], [12, 4], ...REST])),
    set(306, Buffer.concat([v6('fcba:be00:3001::1'), v6('fcba:be00:3002:e002::'), v4('192.0.41.1'), v4('192.0.42.1'), rest(1)])),
  ]));
  assert.deepEqual(tuple(r!), [4, '192.0.41.1', '192.0.42.1', 0xc0002901, 0xc0002a01], 'inner IPv4 pair');
});

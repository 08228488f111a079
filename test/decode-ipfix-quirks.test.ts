/**
 * NetFlow v9 / IPFIX behaviours, one named test per quirk, on hand-built packets (RFC 7011 and
 * RFC 3954 layouts). The replayed vendor captures are in decode-netflow9-ipfix-logstash.test.ts
 * and decode-ipfix-akvorado.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../src/record/flow-record.js';
import { DecodeError } from '../src/pipeline/types.js';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';
import { MAX_EXTRAS, OP } from '../src/decode/template/compile.js';
import { SAMPLING_IE, SamplingTable } from '../src/decode/sampling.js';
import { PendingSets, type HeldSet } from '../src/decode/template/pending.js';
import { TemplateStore } from '../src/decode/template/store.js';
import { CaptureOutput, tempDir, testConfig, until } from './helpers/collect.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { createDecoders } from '../src/decode/registry.js';
import { eth, ipv4Udp, pcap } from './helpers/capture.js';
import { needTool } from './helpers/tools.js';
import { ipfixMsg as buildIpfixMsg, ipfixTemplate, ip, set, u16, u32, u64, type Spec } from './helpers/ipfix-build.js';
import { execFileSync } from 'node:child_process';

const EXPORT_S = 1_700_000_000;

function ipfixMsg(sets: Buffer[], domain = 1, exportS = EXPORT_S): Buffer {
  return buildIpfixMsg(sets, exportS, domain);
}
function v9Msg(sets: Buffer[], sysUptime: number, sourceId = 0, exportS = EXPORT_S): Buffer {
  return Buffer.concat([u16(9), u16(sets.length), u32(sysUptime), u32(exportS), u32(1), u32(sourceId), ...sets]);
}
function v9Template(tid: number, fields: [number, number][]): Buffer {
  return Buffer.concat([u16(tid), u16(fields.length), ...fields.flatMap(([id, len]) => [u16(id), u16(len)])]);
}
function v9OptionsTemplate(tid: number, scope: [number, number][], fields: [number, number][]): Buffer {
  const s = Buffer.concat(scope.flatMap(([id, len]) => [u16(id), u16(len)]));
  const f = Buffer.concat(fields.flatMap(([id, len]) => [u16(id), u16(len)]));
  return Buffer.concat([u16(tid), u16(s.length), u16(f.length), s, f]);
}

const BASE: TemplateDecoderOptions = { templateLifetimeS: 3600, pendingMax: 16, pendingTimeoutS: 60, stateDir: '' };
const ctxAt = (ms: number) => ({ exporterIp: '192.0.2.9', exporterPort: 4739, receivedAt: ms });
const NOW = EXPORT_S * 1000;

function run(dec: IpfixDecoder | Netflow9Decoder, pkt: Buffer, at = NOW): FlowRecord[] {
  return runAs(dec, pkt, '192.0.2.9', at);
}

function runAs(dec: IpfixDecoder | Netflow9Decoder, pkt: Buffer, exporterIp: string, at = NOW): FlowRecord[] {
  const out: FlowRecord[] = [];
  dec.decode(pkt, { exporterIp, exporterPort: 4739, receivedAt: at }, out);
  dec.drainReleased(out);
  return out;
}

// A small IPv4 template: src, dst, sport, dport, proto, octets, packets.
const T4: Spec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 8], [2, 8]];
function rec4(src: string, dst: string, sp: number, dp: number, proto: number, bytes: number, pkts: number): Buffer {
  return Buffer.concat([ip(src), ip(dst), u16(sp), u16(dp), Buffer.from([proto]), u64(bytes), u64(pkts)]);
}

test('template cache: written atomically on close and reloaded, so data after a restart decodes at once', async () => {
  const dir = tempDir('ufc-tpl-');
  const a = new IpfixDecoder({ ...BASE, stateDir: dir });
  assert.deepEqual(run(a, ipfixMsg([set(2, ipfixTemplate(300, T4))])), []);
  await a.close();
  const files = readdirSync(dir);
  assert.deepEqual(files, ['templates-ipfix.json'], 'no temp file left behind');
  const saved = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { format: number; domains: { templates: { id: number }[] }[] };
  assert.equal(saved.format, 1);
  assert.equal(saved.domains[0]!.templates[0]!.id, 300);

  const b = new IpfixDecoder({ ...BASE, stateDir: dir });
  const out = run(b, ipfixMsg([set(300, rec4('10.1.1.1', '10.2.2.2', 1234, 80, 6, 1500, 3))]));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.srcIp, '10.1.1.1');
  assert.equal(out[0]!.bytes, 1500);
});

test('template cache: saved in the background when templates change (not per packet)', async () => {
  const dir = tempDir('ufc-tpl-');
  const a = new IpfixDecoder({ ...BASE, stateDir: dir, saveIntervalS: 0 });
  run(a, ipfixMsg([set(2, ipfixTemplate(300, T4))]), NOW);
  run(a, ipfixMsg([set(2, ipfixTemplate(301, T4))]), NOW + 2000);
  await until(() => existsSync(join(dir, 'templates-ipfix.json')), 1000);
  assert.ok(existsSync(join(dir, 'templates-ipfix.json')));
});

test('template cache: a template learnt in the last packet before the exporter falls silent is saved within the interval', async () => {
  const dir = tempDir('ufc-tpl-');
  const a = new IpfixDecoder({ ...BASE, stateDir: dir, saveIntervalS: 1 });
  const file = join(dir, 'templates-ipfix.json');
  const saved = (): number[] => existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { domains: { templates: { id: number }[] }[] }).domains.flatMap((d) => d.templates.map((t) => t.id))
    : [];
  run(a, ipfixMsg([set(2, ipfixTemplate(300, T4))]), NOW);
  await until(() => saved().includes(300), 2000);
  // Within the interval of that save, and within a second of the last packet: no later packet comes.
  run(a, ipfixMsg([set(2, ipfixTemplate(301, T4))]), NOW + 100);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(saved(), [300], 'at most one save per interval');
  await until(() => saved().includes(301), 3000);
  assert.deepEqual(saved().sort(), [300, 301]);
  await a.close();
});

test('template cache: a clock stepped back does not postpone the save by the step', async (t) => {
  const dir = tempDir('ufc-tpl-');
  const a = new IpfixDecoder({ ...BASE, stateDir: dir, saveIntervalS: 0.3 });
  const file = join(dir, 'templates-ipfix.json');
  run(a, ipfixMsg([set(2, ipfixTemplate(300, T4))]), NOW);
  await until(() => existsSync(file), 2000);
  const realNow = Date.now;
  t.after(() => { Date.now = realNow; });
  Date.now = () => realNow() - 3_600_000;
  run(a, ipfixMsg([set(2, ipfixTemplate(301, T4))]), NOW + 100);
  await until(() => readFileSync(file, 'utf8').includes('"id":301'), 3000);
  Date.now = realNow;
  const ids = (JSON.parse(readFileSync(file, 'utf8')) as { domains: { templates: { id: number }[] }[] }).domains.flatMap((d) => d.templates.map((x) => x.id));
  assert.deepEqual(ids.sort(), [300, 301], 'saved within the interval although the clock went back an hour');
  await a.close();
});

test('template cache: a damaged file is ignored, not fatal', () => {
  const dir = tempDir('ufc-tpl-');
  writeFileSync(join(dir, 'templates-netflow9.json'), '{not json');
  const d = new Netflow9Decoder({ ...BASE, stateDir: dir });
  assert.equal((d.describe() as { templates: number }).templates, 0);
});

test('templates are scoped by exporter address and observation domain', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, T4))], 1));
  const data = rec4('10.1.1.1', '10.2.2.2', 1, 2, 17, 10, 1);
  assert.equal(run(d, ipfixMsg([set(300, data)], 2)).length, 0, 'other domain: held');
  const other: FlowRecord[] = [];
  d.decode(ipfixMsg([set(300, data)], 1), { ...ctxAt(NOW), exporterIp: '192.0.2.10' }, other);
  assert.equal(other.length, 0, 'other exporter: held');
  assert.equal(run(d, ipfixMsg([set(300, data)], 1)).length, 1);
});

test('IPFIX template withdrawal: one template, then all data templates of the domain (RFC 7011 §8.1)', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, Buffer.concat([ipfixTemplate(300, T4), ipfixTemplate(301, T4)]))]));
  const data = (tid: number) => ipfixMsg([set(tid, rec4('10.1.1.1', '10.2.2.2', 1, 2, 17, 10, 1))]);
  assert.equal(run(d, data(300)).length, 1);
  run(d, ipfixMsg([set(2, Buffer.concat([u16(300), u16(0)]))]));
  assert.equal(run(d, data(300)).length, 0);
  assert.equal(run(d, data(301)).length, 1);
  run(d, ipfixMsg([set(2, Buffer.concat([u16(2), u16(0)]))]));
  assert.equal(run(d, data(301)).length, 0);
  assert.equal(d.counters.get('templates withdrawn'), 2);
});

test('template lifetime: a template not refreshed within EF_PROCESSOR_DECODE_TEMPLATE_LIFETIME is not used', () => {
  const d = new IpfixDecoder({ ...BASE, templateLifetimeS: 60 });
  run(d, ipfixMsg([set(2, ipfixTemplate(300, T4))]), NOW);
  const data = ipfixMsg([set(300, rec4('10.1.1.1', '10.2.2.2', 1, 2, 17, 10, 1))]);
  assert.equal(run(d, data, NOW + 59_000).length, 1);
  assert.equal(run(d, data, NOW + 121_000).length, 0);
  assert.equal(d.counters.get('data without template: held'), 1);
});

test('held data comes out ahead of the records of the datagram whose template released it: one exporter\'s records stay in order', () => {
  const capture = new CaptureOutput();
  const p = new Pipeline(createDecoders({ config: testConfig(), stateDir: '' }), [], [capture]);
  const ctx = { exporterIp: '192.0.2.90', exporterPort: 2055, receivedAt: NOW };
  const data = (sp: number): Buffer => set(300, Buffer.concat([rec4('10.0.0.1', '10.0.0.2', sp, 80, 6, 100, 1), rec4('10.0.0.1', '10.0.0.2', sp + 1, 80, 6, 100, 1)]));
  const tmpl = (): Buffer => Buffer.concat([u16(300), u16(T4.length), ...T4.flatMap(([id, len]) => [u16(id), u16(len)])]);
  const v9 = (sets: Buffer[], seq: number): Buffer => Buffer.concat([u16(9), u16(sets.length), u32(1000), u32(EXPORT_S), u32(seq), u32(0), ...sets]);
  p.handle(v9([data(0)], 0), ctx);
  p.handle(v9([data(2)], 1), ctx);
  p.handle(v9([set(0, tmpl()), data(4)], 2), ctx);
  assert.deepEqual(capture.records.map((r) => r.srcPort), [0, 1, 2, 3, 4, 5]);
});

test('data before template: held, released when the template arrives, bounded by count and age', () => {
  const d = new IpfixDecoder({ ...BASE, pendingMax: 2, pendingTimeoutS: 10 });
  const data = (n: number) => ipfixMsg([set(300, rec4('10.1.1.' + n, '10.2.2.2', n, 2, 17, 10, 1))]);
  for (let n = 1; n <= 3; n++) assert.equal(run(d, data(n), NOW).length, 0);
  assert.equal(d.counters.get('data without template: evicted (EF_PROCESSOR_DECODE_PENDING_MAX)'), 1);
  const out = run(d, ipfixMsg([set(2, ipfixTemplate(300, T4))]), NOW + 1000);
  assert.deepEqual(out.map((r) => r.srcIp), ['10.1.1.2', '10.1.1.3']);
  assert.equal(out[0]!.collectTs, NOW, 'decoded as of its own arrival');
  // Age: held data older than the timeout is dropped and counted.
  assert.equal(run(d, data(4), NOW + 2000).length, 1, 'template known now: decoded at once');
  const e = new IpfixDecoder({ ...BASE, pendingMax: 8, pendingTimeoutS: 10 });
  run(e, data(5), NOW);
  run(e, ipfixMsg([set(2, ipfixTemplate(999, T4))]), NOW + 11_000);
  assert.equal(e.counters.get('data without template: expired'), 1);
  assert.equal(run(e, ipfixMsg([set(2, ipfixTemplate(300, T4))]), NOW + 12_000).length, 0);
});

test('the same IE twice in one template: the last (inner) occurrence fills the record, earlier ones are extras', () => {
  // As Cisco exports an IP-in-IP / SRv6 tunnel: outer protocol and ports first, then the inner packet's.
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [12, 4], [4, 1], [7, 2], [11, 2], [4, 1], [7, 2], [11, 2]]))]));
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), Buffer.from([4]), u16(0), u16(0), Buffer.from([17]), u16(1111), u16(2222)]))]));
  assert.deepEqual([r!.srcIp, r!.proto, r!.srcPort, r!.dstPort], ['10.0.0.1', 17, 1111, 2222]);
  assert.deepEqual([r!.extra?.['ipfix.protocolIdentifier.1'], r!.extra?.['ipfix.sourceTransportPort.1']], [4, 0]);
});

test('variable-length IEs: 1-octet and 3-octet length prefixes (RFC 7011 §7)', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [96, 65535], [82, 65535]]))]));
  const long = 'x'.repeat(300);
  const body = Buffer.concat([ip('10.0.0.1'), Buffer.from([4]), Buffer.from('http'), Buffer.from([255]), u16(long.length), Buffer.from(long)]);
  const [r] = run(d, ipfixMsg([set(300, body)]));
  assert.equal(r!.application, 'http');
  assert.equal(r!.extra?.['ipfix.interfaceName'], long);
});

test('enterprise IEs: known vendor names, unknown ones kept as ie.<pen>.<id>', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [133, 4, 5951], [77, 4, 99999]]))]));
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), u32(42), u32(7)]))]));
  assert.equal(r!.extra?.['netscaler.connectionId'], 42);
  assert.equal(r!.extra?.['ie.99999.77'], 7);
});

test('unknown IEs are read by their length in the template, not by each value (Elasticsearch maps a field by its first value and refuses another type): variable-length always text, 8 octets as an unsigned64 always (a number, its decimal text past 2^53)', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [5, 65535, 99999], [6, 8, 99999]]))]));
  const varlen = (b: Buffer): Buffer => Buffer.concat([Buffer.from([b.length]), b]);
  const body = Buffer.concat([
    ip('10.0.0.1'), varlen(Buffer.from('hi')), u64(7),
    ip('10.0.0.2'), varlen(Buffer.from('xyz')), Buffer.from('ABCDEFGH'),
    ip('10.0.0.3'), varlen(Buffer.from([0, 0, 1, 0])), Buffer.from('fffffffffffffff0', 'hex'),
  ]);
  const rs = run(d, ipfixMsg([set(300, body)]));
  assert.deepEqual(rs.map((r) => r.extra?.['ie.99999.5']), ['hi', 'xyz', '00000100']);
  assert.deepEqual(rs.map((r) => r.extra?.['ie.99999.6']), [7, '4702394921427289928', '18446744073709551600']);
});

test('a data template keeps at most MAX_EXTRAS unmapped fields a record: the rest are skipped (counted once, when learnt), mapped fields after them still read', () => {
  const d = new IpfixDecoder(BASE);
  const unknown: Spec[] = Array.from({ length: 200 }, (_, i) => [1 + i, 4, 99999] as Spec);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [...unknown, [8, 4], [12, 4]]))]));
  assert.equal(d.counters.get(`template: unmapped fields past ${MAX_EXTRAS} skipped`), 200 - MAX_EXTRAS);
  const body = Buffer.concat([...Array.from({ length: 200 }, (_, i) => u32(i)), ip('10.0.0.1'), ip('10.0.0.2')]);
  const [r] = run(d, ipfixMsg([set(300, body)]));
  assert.equal(Object.keys(r!.extra ?? {}).length, MAX_EXTRAS);
  assert.equal(r!.extra?.['ie.99999.1'], 0);
  assert.equal(r!.extra?.[`ie.99999.${MAX_EXTRAS + 1}`], undefined, 'past the bound: skipped');
  assert.deepEqual([r!.srcIp, r!.dstIp], ['10.0.0.1', '10.0.0.2']);
  // The same template again: no new count.
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [...unknown, [8, 4], [12, 4]]))]));
  assert.equal(d.counters.get(`template: unmapped fields past ${MAX_EXTRAS} skipped`), 200 - MAX_EXTRAS);
});

test('RFC 5103 biflow: reverse counters become a second, reversed record', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [...T4, [1, 8, 29305], [2, 8, 29305], [6, 1, 29305]]))]));
  const body = Buffer.concat([rec4('10.0.0.1', '10.0.0.2', 5000, 443, 6, 100, 2), u64(900), u64(3), Buffer.from([0x12])]);
  const [fwd, rev] = run(d, ipfixMsg([set(300, body)]));
  assert.deepEqual([fwd!.srcIp, fwd!.dstIp, fwd!.srcPort, fwd!.bytes, fwd!.packets], ['10.0.0.1', '10.0.0.2', 5000, 100, 2]);
  assert.deepEqual([rev!.srcIp, rev!.dstIp, rev!.srcPort, rev!.dstPort, rev!.bytes, rev!.packets, rev!.tcpFlags], ['10.0.0.2', '10.0.0.1', 443, 5000, 900, 3, 0x12]);
  assert.equal(rev!.extra?.['flow.biflow_direction'], 'reverse');
});

test('Cisco ASA NSEL: initiator/responder octets and packets (231/232, 298/299) as two directions', () => {
  const d = new Netflow9Decoder(BASE);
  run(d, v9Msg([set(0, v9Template(263, [[8, 4], [12, 4], [231, 4], [232, 4], [298, 4], [299, 4]]))], 1000));
  const [a, b] = run(d, v9Msg([set(263, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u32(69), u32(1500), u32(1), u32(2)]))], 1000));
  assert.deepEqual([a!.bytes, a!.packets, b!.bytes, b!.packets, b!.srcIp], [69, 1, 1500, 2, '10.0.0.2']);
});

test('Juniper uptime wrap: flow times just before the 32-bit sysUptime wrapped', () => {
  const d = new Netflow9Decoder(BASE);
  run(d, v9Msg([set(0, v9Template(256, [[8, 4], [22, 4], [21, 4]]))], 500));
  // Export at uptime 500 ms; the flow started 1000 ms before the wrap and ended 200 ms after it.
  const [r] = run(d, v9Msg([set(256, Buffer.concat([ip('10.0.0.1'), u32(2 ** 32 - 1000), u32(200)]))], 500));
  assert.equal(r!.startTs, NOW - 1500);
  assert.equal(r!.endTs, NOW - 300);
});

test('IPFIX times: systemInitTimeMilliseconds + sysUpTime, seconds, NTP microseconds, delta microseconds', () => {
  const d = new IpfixDecoder(BASE);
  const init = NOW - 3_600_000;
  run(d, ipfixMsg([
    set(3, ipfixTemplate(400, [[149, 4], [160, 8]], 1)),
    set(2, Buffer.concat([ipfixTemplate(300, [[8, 4], [22, 4], [21, 4]]), ipfixTemplate(301, [[8, 4], [150, 4], [151, 4]]),
      ipfixTemplate(302, [[8, 4], [154, 8], [155, 8]]), ipfixTemplate(303, [[8, 4], [158, 4], [159, 4]])])),
    set(400, Buffer.concat([u32(1), u64(init)])),
  ]));
  const ntp = (ms: number) => Buffer.concat([u32(Math.floor(ms / 1000) + 2208988800), u32(Math.round(((ms % 1000) / 1000) * 2 ** 32))]);
  const out = run(d, ipfixMsg([
    set(300, Buffer.concat([ip('10.0.0.1'), u32(1000), u32(5000)])),
    set(301, Buffer.concat([ip('10.0.0.2'), u32(EXPORT_S - 10), u32(EXPORT_S - 5)])),
    set(302, Buffer.concat([ip('10.0.0.3'), ntp(NOW - 2500), ntp(NOW - 1250)])),
    set(303, Buffer.concat([ip('10.0.0.4'), u32(4_000_000), u32(1_000_000)])),
  ]));
  assert.deepEqual(out.map((r) => [r.startTs, r.endTs]), [
    [init + 1000, init + 5000], [NOW - 10_000, NOW - 5000], [NOW - 2500, NOW - 1250], [NOW - 4000, NOW - 1000],
  ]);
});

test('IPFIX sysUpTime times of an exporter up more than 49.7 days (the unsigned32 wrapped) are read against its uptime at export', () => {
  const d = new IpfixDecoder(BASE);
  const init = NOW - 60 * 86_400_000;
  run(d, ipfixMsg([set(3, ipfixTemplate(400, [[149, 4], [160, 8]], 1)), set(400, Buffer.concat([u32(1), u64(init)])), set(2, ipfixTemplate(300, [[8, 4], [22, 4], [21, 4]]))]));
  const up = (ms: number) => u32((ms - init) % 2 ** 32);
  const out = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), up(NOW - 5000), up(NOW - 1000)]))]));
  assert.deepEqual(out.map((r) => [r.startTs - NOW, r.endTs - NOW]), [[-5000, -1000]]);
});

test('egress counters (OUT_BYTES/OUT_PKTS, IE 23/24) are the record\'s bytes and packets when it has no ingress ones; kept raw beside them otherwise', () => {
  const d = new Netflow9Decoder(BASE);
  run(d, v9Msg([set(0, Buffer.concat([v9Template(256, [[8, 4], [12, 4], [23, 4], [24, 4]]), v9Template(257, [[8, 4], [12, 4], [1, 4], [2, 4], [23, 4], [24, 4]])]))], 1000));
  const [egress, both] = run(d, v9Msg([
    set(256, Buffer.concat([ip('8.8.8.8'), ip('10.1.1.1'), u32(7777), u32(77)])),
    set(257, Buffer.concat([ip('8.8.8.8'), ip('10.1.1.1'), u32(500), u32(5), u32(7777), u32(77)])),
  ], 1000));
  assert.deepEqual([egress!.bytes, egress!.packets, egress!.extra], [7777, 77, null]);
  assert.deepEqual([both!.bytes, both!.packets, both!.extra], [500, 5, { 'ipfix.postOctetDeltaCount': 7777, 'ipfix.postPacketDeltaCount': 77 }]);
});

test('records never end before they start: end set to start, counted', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [152, 8], [153, 8]]))]));
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), u64(NOW), u64(NOW - 1000)]))]));
  assert.equal(r!.endTs, r!.startTs);
  assert.equal(d.counters.get('time: end before start (end set to start)'), 1);
});

test('an absolute time no record can carry (all-ones, past 2106) is taken as absent, counted; the record keeps its other times', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [152, 8], [153, 8], [161, 4]]))]));
  const ones = Buffer.alloc(8, 0xff);
  const out = run(d, ipfixMsg([
    set(300, Buffer.concat([ip('10.0.0.1'), u64(NOW - 3000), u64(NOW - 1000), u32(2000)])),
    set(300, Buffer.concat([ip('10.0.0.2'), u64(NOW - 3000), ones, u32(2000)])),
    set(300, Buffer.concat([ip('10.0.0.3'), ones, ones, u32(2000)])),
    set(300, Buffer.concat([ip('10.0.0.4'), u64(NOW * 1_000_000), u64(NOW - 1000), u32(0)])),
  ]));
  assert.deepEqual(out.map((r) => [r.startTs - NOW, r.endTs - NOW]), [[-3000, -1000], [-3000, -1000], [0, 0], [-1000, -1000]]);
  assert.equal(d.counters.get('time: out of range (another time used)'), 3);
  // Seconds past 2106 (a 64-bit seconds element) and a delta of 2^64 µs: the export time stands in.
  run(d, ipfixMsg([set(2, ipfixTemplate(301, [[8, 4], [150, 8], [159, 8]]))]));
  const [far] = run(d, ipfixMsg([set(301, Buffer.concat([ip('10.0.0.5'), u64(2 ** 40), ones]))]));
  assert.deepEqual([far!.startTs, far!.endTs], [NOW, NOW]);
});

test('NTP times: 0 is "not set" and does not replace another element\'s time; seconds below 1970 are NTP era 1 (from 2036)', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [152, 8], [153, 8], [156, 8], [157, 8]]))]));
  const zero = Buffer.alloc(8);
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), u64(NOW - 3000), u64(NOW - 1000), zero, zero]))]));
  assert.deepEqual([r!.startTs - NOW, r!.endTs - NOW], [-3000, -1000]);
  // Only NTP elements, all zero: no time in the record, so the export time bounds it.
  run(d, ipfixMsg([set(2, ipfixTemplate(301, [[8, 4], [156, 8], [157, 8]]))]));
  const [z] = run(d, ipfixMsg([set(301, Buffer.concat([ip('10.0.0.2'), zero, zero]))]));
  assert.deepEqual([z!.startTs, z!.endTs], [NOW, NOW]);
  // In 2038 the NTP seconds have wrapped (era 1): the 32-bit value is below the Unix epoch's.
  const at = 2_150_000_000 * 1000;
  const later = new IpfixDecoder(BASE);
  run(later, ipfixMsg([set(2, ipfixTemplate(301, [[8, 4], [156, 8], [157, 8]]))], 1, 2_150_000_000), at);
  const ntpSecs = (ms: number) => Buffer.concat([u32((ms / 1000 + 2_208_988_800) % 2 ** 32), u32(0)]);
  const [e1] = run(later, ipfixMsg([set(301, Buffer.concat([ip('10.0.0.3'), ntpSecs(at - 10_000), ntpSecs(at - 5000)]))], 1, 2_150_000_000), at);
  assert.deepEqual([e1!.startTs - at, e1!.endTs - at], [-10_000, -5000]);
  assert.equal(new Date(e1!.startTs).toISOString(), '2038-02-17T06:13:10.000Z');
});

test('sampling from v9 options data: per sampler ID, bytes and packets scaled', () => {
  const d = new Netflow9Decoder(BASE);
  run(d, v9Msg([
    set(1, Buffer.concat([v9OptionsTemplate(257, [[1, 4]], [[48, 1], [34, 4]]), u16(0)])),
    set(0, v9Template(256, [[8, 4], [1, 4], [2, 4], [48, 1]])),
    set(257, Buffer.concat([u32(0), Buffer.from([1]), u32(100), u32(0), Buffer.from([2]), u32(1000), Buffer.alloc(2)])),
  ], 1000));
  const out = run(d, v9Msg([set(256, Buffer.concat([ip('10.0.0.1'), u32(60), u32(1), Buffer.from([2]), ip('10.0.0.2'), u32(60), u32(1), Buffer.from([1]), Buffer.alloc(2)]))], 1000));
  assert.deepEqual(out.map((r) => [r.samplingRate, r.bytes, r.packets]), [[1000, 60_000, 1000], [100, 6000, 100]]);
  const scopes = (d.describe() as { scopes: { samplerRates: Record<string, number> }[] }).scopes;
  assert.deepEqual(scopes[0]!.samplerRates, { 1: 100, 2: 1000 });
});

test('sampling from IPFIX options data: samplingPacketInterval/Space (RFC 5477) for the domain', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(3, ipfixTemplate(400, [[149, 4], [305, 4], [306, 4]], 1)), set(400, Buffer.concat([u32(1), u32(1), u32(511)])), set(2, ipfixTemplate(300, T4))]));
  const [r] = run(d, ipfixMsg([set(300, rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1))]));
  assert.deepEqual([r!.samplingRate, r!.bytes, r!.packets], [512, 51_200, 512]);
});

test('sampling: a rate not announced again within the template lifetime is forgotten, and a restart does not bring it back', async () => {
  const stateDir = tempDir('ufc-sampling-');
  const opts = { ...BASE, templateLifetimeS: 60, stateDir };
  const d = new IpfixDecoder(opts);
  const optionsAndTemplate = ipfixMsg([set(3, ipfixTemplate(400, [[149, 4], [34, 4]], 1)), set(400, Buffer.concat([u32(1), u32(100)])), set(2, ipfixTemplate(300, T4))]);
  run(d, optionsAndTemplate);
  const data = (at: number) => run(d, ipfixMsg([set(2, ipfixTemplate(300, T4)), set(300, rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1))], 1, at / 1000), at)[0]!;
  assert.deepEqual([data(NOW + 30_000).samplingRate, data(NOW + 30_000).bytes], [100, 10_000]);
  // A day on, the exporter sends its data template and data, no more sampling options.
  const later = data(NOW + 86_400_000);
  assert.deepEqual([later.samplingRate, later.bytes], [0, 100]);
  await d.close();
  const saved = readFileSync(join(stateDir, readdirSync(stateDir).find((f) => f.startsWith('templates'))!), 'utf8');
  assert.doesNotMatch(saved, /"domain":\[100/, 'the forgotten rate is not saved');
  const d2 = new IpfixDecoder(opts);
  const after = run(d2, ipfixMsg([set(2, ipfixTemplate(300, T4)), set(300, rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1))], 1, (NOW + 86_401_000) / 1000), NOW + 86_401_000)[0]!;
  assert.deepEqual([after.samplingRate, after.bytes], [0, 100]);
  await d2.close();
});

test('sampling: rates scoped to an interface apply to that interface only (IPFIX ingressInterface, v9 scope Interface)', () => {
  const ipfix = new IpfixDecoder(BASE);
  run(ipfix, ipfixMsg([
    set(3, ipfixTemplate(400, [[10, 4], [34, 4]], 1)),
    set(400, Buffer.concat([u32(1), u32(100), u32(2), u32(1000)])),
    set(2, ipfixTemplate(301, [...T4, [10, 4]])),
  ]));
  const a = run(ipfix, ipfixMsg([set(301, Buffer.concat([rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 10, 1), u32(1), rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 10, 1), u32(2), rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 10, 1), u32(3)]))]));
  assert.deepEqual(a.map((r) => [r.inIf, r.samplingRate, r.bytes]), [[1, 100, 1000], [2, 1000, 10_000], [3, 0, 10]]);
  const scopes = (ipfix.describe() as { scopes: { interfaceRates: Record<string, number> }[] }).scopes;
  assert.deepEqual(scopes[0]!.interfaceRates, { 1: 100, 2: 1000 });

  const v9 = new Netflow9Decoder(BASE);
  run(v9, v9Msg([
    set(1, Buffer.concat([v9OptionsTemplate(257, [[2, 4]], [[34, 4]]), u16(0)])),
    set(257, Buffer.concat([u32(5), u32(64), u32(6), u32(512)])),
    set(0, v9Template(256, [[8, 4], [1, 4], [2, 4], [10, 4]])),
  ], 1000));
  const b = run(v9, v9Msg([set(256, Buffer.concat([ip('10.0.0.1'), u32(10), u32(1), u32(6), ip('10.0.0.1'), u32(10), u32(1), u32(5)]))], 1000));
  assert.deepEqual(b.map((r) => [r.inIf, r.samplingRate, r.bytes]), [[6, 512, 5120], [5, 64, 640]]);
});

test('sampling: a record naming a sampler the exporter never described (Cisco 0: not sampled) does not take the only known one', () => {
  const d = new Netflow9Decoder(BASE);
  run(d, v9Msg([
    set(1, Buffer.concat([v9OptionsTemplate(257, [[1, 4]], [[48, 1], [34, 4]]), u16(0)])),
    set(0, Buffer.concat([v9Template(256, [[8, 4], [1, 4], [2, 4], [48, 1]]), v9Template(258, [[8, 4], [1, 4], [2, 4]])])),
    set(257, Buffer.concat([u32(0), Buffer.from([1]), u32(100), Buffer.alloc(3)])),
  ], 1000));
  const named = run(d, v9Msg([set(256, Buffer.concat([ip('10.0.0.1'), u32(60), u32(1), Buffer.from([0]), ip('10.0.0.1'), u32(60), u32(1), Buffer.from([7]), ip('10.0.0.1'), u32(60), u32(1), Buffer.from([1]), Buffer.alloc(3)]))], 1000));
  assert.deepEqual(named.map((r) => [r.samplingRate, r.bytes]), [[0, 60], [0, 60], [100, 6000]]);
  // Naming none: the only sampler there is applies.
  const unnamed = run(d, v9Msg([set(258, Buffer.concat([ip('10.0.0.1'), u32(60), u32(1)]))], 1000));
  assert.deepEqual(unnamed.map((r) => [r.samplingRate, r.bytes]), [[100, 6000]]);
});

test('a 64-bit counter past 2^63 (alone or scaled by the rate) is held at the largest count an int64 holds, and counted', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [...T4, [34, 4]]))]));
  const rec = (bytes: bigint, rate: number) => {
    const b = rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 0, 1);
    b.writeBigUInt64BE(bytes, 13);
    return Buffer.concat([b, u32(rate)]);
  };
  const out = run(d, ipfixMsg([set(300, Buffer.concat([rec(2n ** 64n - 1n, 0), rec(10n ** 16n, 1000), rec(1000n, 1000)]))]));
  assert.deepEqual(out.map((r) => r.bytes), [9_223_372_036_854_774_784, 9_223_372_036_854_774_784, 1_000_000]);
  assert.equal((d.describe() as { counters: Record<string, number> }).counters['counter beyond 2^63 clamped'], 2);
});

test('sampling in the record itself: samplingPacketInterval with samplingPacketSpace (IE 305/306) is 1 in (interval+space)/interval', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, Buffer.concat([ipfixTemplate(300, [...T4, [305, 4], [306, 4]]), ipfixTemplate(301, [...T4, [305, 4]])]))]));
  const out = run(d, ipfixMsg([
    set(300, Buffer.concat([rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 1000, 10), u32(1), u32(99)])),
    set(301, Buffer.concat([rec4('10.0.0.3', '10.0.0.4', 1, 2, 6, 1000, 10), u32(50)])),
  ]));
  // 1 of every 100 packets; an interval alone reads as 1-in-N, as in options data (sampling.ts).
  assert.deepEqual(out.map((r) => [r.samplingRate, r.bytes, r.packets]), [[100, 100_000, 1000], [50, 50_000, 500]]);
});

test('sysUpTime times without systemInitTimeMilliseconds: the end is the export time, the duration is kept', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, Buffer.concat([ipfixTemplate(300, [[8, 4], [22, 4], [21, 4], [161, 4]]), ipfixTemplate(301, [[8, 4], [22, 4], [21, 4]])]))]));
  const out = run(d, ipfixMsg([
    // The Barracuda shape: uptimes and flowDurationMilliseconds (which wins).
    set(300, Buffer.concat([ip('10.0.0.1'), u32(2_395_375_053), u32(2_395_395_322), u32(20_269)])),
    // The uptimes alone: their difference.
    set(301, Buffer.concat([ip('10.0.0.2'), u32(5_000), u32(12_500)])),
  ]));
  assert.deepEqual(out.map((r) => [r.startTs, r.endTs]), [[NOW - 20_269, NOW], [NOW - 7_500, NOW]]);
  assert.equal(d.counters.get('time: sysUpTime without systemInitTimeMilliseconds (export time used)'), 2);
});

test('ICMP type and code: a zero icmpTypeCodeIPv6 beside a real icmpTypeCodeIPv4 (or the reverse) does not erase it', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, Buffer.concat([ipfixTemplate(300, [[8, 4], [4, 1], [32, 2], [139, 2]]), ipfixTemplate(301, [[27, 16], [4, 1], [139, 2], [32, 2]])]))]));
  const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
  const out = run(d, ipfixMsg([
    set(300, Buffer.concat([ip('10.0.0.1'), Buffer.from([1]), u16(0x0800), u16(0)])),
    set(301, Buffer.concat([v6, Buffer.from([58]), u16(0x8700), u16(0)])),
  ]));
  assert.deepEqual(out.map((r) => [r.icmpType, r.icmpCode]), [[8, 0], [135, 0]]);
});

test('ICMP type and code in elements of their own: the IPv6 pair (178/179) at zero after the IPv4 one (176/177) does not erase it, nor the reverse', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, Buffer.concat([
    ipfixTemplate(300, [[8, 4], [4, 1], [176, 1], [177, 1], [178, 1], [179, 1]]),
    ipfixTemplate(301, [[27, 16], [4, 1], [178, 1], [179, 1], [176, 1], [177, 1]]),
  ]))]));
  const v6 = Buffer.from('20010db8000000000000000000000001', 'hex');
  const out = run(d, ipfixMsg([
    set(300, Buffer.concat([ip('10.0.0.1'), Buffer.from([1, 3, 3, 0, 0])])),
    set(301, Buffer.concat([v6, Buffer.from([58, 1, 4, 0, 0])])),
    set(300, Buffer.concat([ip('10.0.0.1'), Buffer.from([1, 0, 0, 0, 0])])),
  ]));
  assert.deepEqual(out.map((r) => [r.icmpType, r.icmpCode]), [[3, 3], [1, 4], [0, 0]]);
});

test('bytes after the last IPFIX message (not zero padding) are counted as a loss of the exporter; the message\'s records are kept', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, T4))]));
  const extra = set(300, rec4('10.0.0.1', '10.0.0.3', 1, 2, 6, 100, 1));
  const out = run(d, Buffer.concat([ipfixMsg([set(300, rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1))]), extra]));
  assert.deepEqual(out.map((r) => r.dstIp), ['10.0.0.2']);
  assert.deepEqual(d.takeLosses(), new Map([['192.0.2.9', new Map([['bytes after the last message', 1]])]]));
  // Zeros after it are padding, and two whole messages back to back are both read.
  assert.equal(run(d, Buffer.concat([ipfixMsg([set(300, rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1))]), Buffer.alloc(8)])).length, 1);
  assert.equal(run(d, Buffer.concat([ipfixMsg([set(300, rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1))]), ipfixMsg([extra])])).length, 2);
  assert.equal(d.takeLosses(), null);
});

test('Cisco AVC connection records (enterprise 9): the client and server addresses and ports are the source and destination', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[12236, 4, 9], [12237, 4, 9], [12240, 2, 9], [12241, 2, 9], [4, 1], [231, 8], [232, 8]]))]));
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('194.87.249.17'), ip('10.204.101.166'), u16(51000), u16(443), Buffer.from([6]), u64(719), u64(0)]))]));
  assert.deepEqual([r!.srcIp, r!.dstIp, r!.srcPort, r!.dstPort, r!.ipVersion, r!.bytes], ['194.87.249.17', '10.204.101.166', 51000, 443, 4, 719]);
  assert.equal(r!.extra, null, 'nothing left over as raw elements');
});

test('a field longer than its element (a port in 4 octets, an ifIndex in 8) is kept raw, not read into the typed field', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [12, 4], [7, 4], [11, 2], [10, 8], [4, 1]]))]));
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u32(70_000), u16(443), u64(2 ** 40), Buffer.from([6])]))]));
  assert.deepEqual([r!.srcPort, r!.dstPort, r!.inIf, r!.proto], [0, 443, 0, 6]);
  assert.deepEqual(Object.values(r!.extra ?? {}).sort(), [70_000, 2 ** 40].sort());
});

test('vlanId / postVlanId (IE 58/59) with priority bits set above the 12-bit VLAN ID: only the VLAN ID is kept', () => {
  // 0x2005: priority 1 (802.1Q PCP, the top 3 bits of the tag control information), VLAN 5.
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [12, 4], [58, 2], [59, 2]]))]));
  const [r] = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u16(0x2005), u16(0xe00a)]))]));
  assert.deepEqual([r!.srcVlan, r!.dstVlan], [5, 10], 'the low 12 bits of each');
});

test('zero-length fields and set padding are skipped', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [27, 0], [12, 4]]))]));
  const out = run(d, ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), Buffer.alloc(3)]))]));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.dstIp, '10.0.0.2');
  assert.equal(d.counters.get('truncated data record'), undefined);
});

test('a record cut short (fewer octets than the template\'s records take, not zero padding) is counted and is a loss, IPFIX and v9, data and options', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, T4)), set(3, ipfixTemplate(400, [[149, 4], [160, 8]], 1))]));
  const out = run(d, ipfixMsg([set(300, Buffer.concat([rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1), Buffer.alloc(20, 7)]))]));
  assert.equal(out.length, 1);
  // A set shorter than one record (data sent under a longer template that replaced the one it was made for).
  assert.equal(run(d, ipfixMsg([set(300, Buffer.alloc(12, 1))])).length, 0);
  run(d, ipfixMsg([set(400, Buffer.concat([u32(1), Buffer.alloc(5, 1)]))]));
  assert.deepEqual([d.counters.get('truncated data record'), d.counters.get('truncated options record')], [2, 1]);
  // Cut inside a variable-length field: counted once.
  run(d, ipfixMsg([set(3, ipfixTemplate(401, [[149, 4], [96, 0xffff]], 1))]));
  run(d, ipfixMsg([set(401, Buffer.concat([u32(1), Buffer.from([20]), Buffer.alloc(2, 1)]))]));
  assert.equal(d.counters.get('truncated options record'), 2);
  const losses = d.takeLosses();
  assert.equal(losses?.get('192.0.2.9')?.get('truncated data record'), 2);
  const v9 = new Netflow9Decoder(BASE);
  // Zero padding after the template is not a template (nor a loss).
  run(v9, v9Msg([set(0, Buffer.concat([v9Template(256, [[8, 4], [12, 4], [1, 8], [2, 8]]), Buffer.alloc(4)]))], 1000));
  assert.equal(v9.counters.get('bad template id'), undefined);
  run(v9, v9Msg([set(256, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u64(1), u64(1), Buffer.alloc(20, 9)]))], 1000));
  assert.equal(v9.counters.get('truncated data record'), 1);
});

test('malformed input throws DecodeError with a reason (counted per exporter by the pipeline)', () => {
  const d = new IpfixDecoder(BASE);
  assert.throws(() => run(d, Buffer.alloc(10)), (e: unknown) => e instanceof DecodeError && e.reason === 'short header');
  const msg = ipfixMsg([set(2, ipfixTemplate(300, T4))]);
  msg.writeUInt16BE(200, 18); // set length beyond the message
  assert.throws(() => run(d, msg), (e: unknown) => e instanceof DecodeError && e.reason === 'bad set length');
  const v9 = new Netflow9Decoder(BASE);
  const bad = v9Msg([set(0, v9Template(256, [[8, 4]]))], 1);
  bad.writeUInt16BE(30, 26); // field count beyond the set
  assert.throws(() => run(v9, bad), (e: unknown) => e instanceof DecodeError && e.reason === 'truncated template');
});

test('a template whose records take no octets does not loop', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([set(2, ipfixTemplate(300, [[8, 0]]))]));
  assert.equal(run(d, ipfixMsg([set(300, Buffer.alloc(64))])).length, 0);
  assert.equal(d.counters.get('template with zero-length records'), 1);
});

test('record reader: every field operation has its literal case label', () => {
  // The hot switch uses literal labels (a jump table); they must stay equal to OP's numbers.
  const src = readFileSync(new URL('../src/decode/template/record-reader.ts', import.meta.url), 'utf8');
  for (const [name, n] of Object.entries(OP)) {
    if (name === 'EXTRA') continue; // the default branch
    assert.ok(src.includes(`case ${n} /* ${name} */:`), `case label for OP.${name} (${n})`);
  }
});

// Bounds of the template store (store.ts) under what a spoofing or broken source can send.

const DATA_FIELDS: Spec[] = [[8, 4], [12, 4]];
const dataFor = (tid: number): Buffer => set(tid, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2')]));
const scopesOf = (d: IpfixDecoder | Netflow9Decoder): number => (d.describe() as { domains: number }).domains;

test('headers without a template make no scope: 10,240 of them leave room for a real exporter', () => {
  for (const proto of ['ipfix', 'v9'] as const) {
    const d = proto === 'ipfix' ? new IpfixDecoder(BASE) : new Netflow9Decoder(BASE);
    // 40 addresses x 256 observation domains / source IDs, a bare header each (the store takes 10,000 scopes).
    for (let a = 0; a < 40; a++) {
      for (let s = 0; s < 256; s++) {
        d.decode(proto === 'ipfix' ? ipfixMsg([], s) : v9Msg([], 1000, s), { exporterIp: `198.51.100.${a}`, exporterPort: 2055, receivedAt: NOW }, []);
      }
    }
    assert.equal(scopesOf(d), 0, proto);
    const tpl = proto === 'ipfix' ? set(2, ipfixTemplate(256, DATA_FIELDS)) : set(0, v9Template(256, DATA_FIELDS as [number, number][]));
    const recs = run(d, proto === 'ipfix' ? ipfixMsg([tpl, dataFor(256)]) : v9Msg([tpl, dataFor(256)], 1000));
    assert.equal(recs.length, 1, proto);
    assert.equal(recs[0]!.dstIp, '10.0.0.2');
    assert.equal(scopesOf(d), 1, proto);
  }
});

test('templates past their lifetime stop counting against the bounds, and their scopes go', () => {
  for (const proto of ['ipfix', 'v9'] as const) {
    const d = proto === 'ipfix' ? new IpfixDecoder({ ...BASE, templateLifetimeS: 60 }) : new Netflow9Decoder({ ...BASE, templateLifetimeS: 60 });
    const tplSet = (ids: number[]): Buffer => (proto === 'ipfix' ? set(2, Buffer.concat(ids.map((i) => ipfixTemplate(i, DATA_FIELDS)))) : set(0, Buffer.concat(ids.map((i) => v9Template(i, DATA_FIELDS as [number, number][])))));
    const msg = (sets: Buffer[], at: number, domain = 1): Buffer => (proto === 'ipfix' ? ipfixMsg(sets, domain, at / 1000) : v9Msg(sets, 1000, domain, at / 1000));
    // A scope's 4,096 IDs in use, each announced once and never again.
    for (let first = 256; first < 256 + 4096; first += 256) run(d, msg([tplSet(Array.from({ length: 256 }, (_, i) => first + i))], NOW), NOW);
    // Full: a new ID is refused at once.
    run(d, msg([tplSet([5000])], NOW + 1000), NOW + 1000);
    assert.equal(d.counters.get('template refused: too many templates'), 1, proto);
    // An hour on, they are all past the 60 s lifetime: the new ID is taken, and its data decodes.
    const later = NOW + 3_600_000;
    const recs = run(d, msg([tplSet([5000]), dataFor(5000)], later), later);
    assert.equal(recs.length, 1, proto);
    assert.equal(d.counters.get('template refused: too many templates'), 1, `${proto}: no second refusal`);
    // A scope whose templates all expired is dropped by the next sweep (a second later), and not saved.
    run(d, msg([tplSet([300])], later, 2), later);
    run(d, msg([], later + 3_600_000, 3), later + 3_600_000);
    assert.equal(scopesOf(d), 0, proto);
    assert.ok((d.counters.get('templates expired') ?? 0) >= 4096, proto);
  }
});

test('application names from options data are bounded per address and across scopes, and a scope whose templates expired goes with its options data', () => {
  const d = new IpfixDecoder({ ...BASE, templateLifetimeS: 60 });
  const names = (exporter?: string): number => ((d as unknown as { store: { toJSON(): { exporter: string; appNames: unknown[] }[] } }).store.toJSON()).reduce((n, x) => n + (exporter === undefined || x.exporter === exporter ? x.appNames.length : 0), 0);
  // 6 observation domains, each naming 65,536 application IDs (IE 95 -> IE 96): two of one address, four of four others.
  const scopes: [string, number][] = [['192.0.2.9', 1], ['192.0.2.9', 2], ['192.0.2.21', 1], ['192.0.2.22', 1], ['192.0.2.23', 1], ['192.0.2.24', 1]];
  for (const [exporter, domain] of scopes) {
    runAs(d, ipfixMsg([set(3, ipfixTemplate(401, [[149, 4], [95, 4], [96, 8]], 1))], domain), exporter);
    for (let first = 0; first < 65_536; first += 1000) {
      const recs: Buffer[] = [];
      for (let i = first; i < Math.min(first + 1000, 65_536); i++) recs.push(Buffer.concat([u32(domain), Buffer.from([1]), Buffer.from([i >> 16, (i >> 8) & 0xff, i & 0xff]), Buffer.from(`app${i}`.padEnd(8, ' '))]));
      runAs(d, ipfixMsg([set(401, Buffer.concat(recs))], domain), exporter);
    }
  }
  assert.equal(names('192.0.2.9'), 65_536, 'one address: 65,536 over its scopes');
  const refused = (d.describe() as { byExporter: Record<string, Record<string, number>> }).byExporter;
  assert.equal(refused['192.0.2.9']!['options data: application name refused (too many names)'], 65_536);
  assert.equal(names(), 262_144, 'all scopes together');
  assert.equal(names('192.0.2.24'), 0);
  // A name is kept to 256 characters (IE 96 may be 65,535 octets long).
  const d2 = new IpfixDecoder(BASE);
  run(d2, ipfixMsg([set(3, ipfixTemplate(401, [[149, 4], [95, 4], [96, 0xffff]], 1))]));
  run(d2, ipfixMsg([set(401, Buffer.concat([u32(1), Buffer.from([1, 0, 0, 9]), Buffer.from([255]), u16(60_000), Buffer.alloc(60_000, 0x61)]))]));
  const saved = (d2 as unknown as { store: { toJSON(): { appNames: [string, string][] }[] } }).store.toJSON();
  assert.deepEqual(saved.flatMap((x) => x.appNames).map(([id, name]) => [id, name.length]), [['1:9', 256]]);
  // A scope that only ever had an options template and options data (system init time, names):
  // once the template is past its lifetime, the next sweep drops the scope and its names.
  run(d, ipfixMsg([set(3, ipfixTemplate(402, [[149, 4], [160, 8]], 1)), set(402, Buffer.concat([u32(7), u64(NOW - 86_400_000)]))], 7));
  const later = NOW + 3_600_000;
  run(d, ipfixMsg([], 8, later / 1000), later);
  run(d, ipfixMsg([], 8, later / 1000 + 2), later + 2000);
  assert.equal(scopesOf(d), 0);
  assert.equal(names(), 0);
});

test('held data sets are bounded in bytes with their overhead: a flood of empty sets meets the bound too', () => {
  const p = new PendingSets(1 << 20, 60_000, 1000, 300_000);
  let held = 0;
  for (let i = 0; i < 10_000; i++) if (p.hold(`198.51.100.${i % 200}`, { domain: 1, templateId: 256 + i, data: Buffer.alloc(0), exportMs: NOW, sysUptime: -1, sequence: 0, receivedAt: NOW, exporterPort: 4739 } satisfies HeldSet) >= 0) held++;
  assert.equal(held, 1000, '300,000 bytes at 300 a set');
  assert.equal(p.size, 1000);
});

test('sampler and interface rates share one budget across scopes; rates that expire give their entries back', () => {
  const budget = { left: 3 };
  const a = new SamplingTable(budget), b = new SamplingTable(budget);
  const rate = (sampler: number) => new Map([[SAMPLING_IE.SAMPLER_ID, sampler], [SAMPLING_IE.SAMPLING_INTERVAL, 100]]);
  for (let i = 1; i <= 2; i++) a.learn(rate(i), NOW);
  for (let i = 1; i <= 2; i++) b.learn(rate(i), NOW + 10_000);
  assert.deepEqual([a.rateFor(2, 0), b.rateFor(1, 0), b.rateFor(2, 0), budget.left], [100, 100, 0, 0]);
  a.learn(rate(1), NOW + 20_000); // a known key is renewed without a new entry
  a.expire(NOW + 65_000, 60_000); // sampler 2 of a goes
  assert.equal(budget.left, 1);
  b.learn(rate(2), NOW + 65_000);
  assert.deepEqual([b.rateFor(2, 0), budget.left], [100, 0]);
  b.release();
  assert.equal(budget.left, 2);
});

test('template fields are bounded per scope: a datagram-sized template cannot take the heap', () => {
  const d = new IpfixDecoder(BASE);
  // 16,370 one-octet fields: a 65,504-octet message.
  const huge: Spec[] = Array.from({ length: 16370 }, (_, i) => [1000 + (i % 30000), 1]);
  for (let tid = 256; tid < 256 + 50; tid++) run(d, ipfixMsg([set(2, ipfixTemplate(tid, huge))]));
  // 65,536 fields a scope: four fit, the other 46 are refused.
  assert.equal((d.describe() as { templates: number }).templates, 4);
  assert.equal(d.counters.get('template refused: too many templates'), 46);
  // A small template in the same scope still fits beside them; in a scope of its own, any does.
  run(d, ipfixMsg([set(2, ipfixTemplate(400, DATA_FIELDS))]));
  assert.equal((d.describe() as { templates: number }).templates, 5);
  assert.equal(run(d, ipfixMsg([set(2, ipfixTemplate(256, DATA_FIELDS)), dataFor(256)], 2)).length, 1);
});

/** IPFIX template sets announcing IDs [first, first + n), 256 a message, of `domain`, from `exporter` at `at`. */
function announce(d: IpfixDecoder, exporter: string, domain: number, first: number, n: number, at = NOW): void {
  for (let id = first; id < first + n; id += 256) {
    const ids = Array.from({ length: Math.min(256, first + n - id) }, (_, i) => id + i);
    runAs(d, ipfixMsg([set(2, Buffer.concat(ids.map((i) => ipfixTemplate(i, DATA_FIELDS))))], domain, at / 1000), exporter, at);
  }
}
const byExporterOf = (d: IpfixDecoder): Record<string, Record<string, number>> => (d.describe() as { byExporter: Record<string, Record<string, number>> }).byExporter;

test('template share per address: 13 domains of 4,096 templates from one address take an eighth of the table, not all of it', () => {
  const d = new IpfixDecoder(BASE);
  for (let domain = 1; domain <= 13; domain++) announce(d, '198.51.100.1', domain, 256, 4096);
  assert.equal((d.describe() as { templates: number }).templates, 6250);
  assert.equal(byExporterOf(d)['198.51.100.1']!['template refused: too many templates from this address'], 13 * 4096 - 6250);
  // Another exporter's templates are taken, and its data decodes.
  const recs = runAs(d, ipfixMsg([set(2, ipfixTemplate(256, DATA_FIELDS)), dataFor(256)]), '192.0.2.50');
  assert.equal(recs.length, 1);
  assert.deepEqual(Object.keys(byExporterOf(d)['192.0.2.50']!).filter((k) => k.startsWith('template')), [], 'nothing refused');
});

test('template share per address: a saved cache brings back only an address\'s share', () => {
  const saved = Array.from({ length: 13 }, (_, i) => ({
    exporter: '198.51.100.1', domain: i + 1, sysInitMs: 0, sampling: undefined, appNames: [],
    templates: Array.from({ length: 4096 }, (_, t) => ({ id: 256 + t, scope: 0, options: false, lastSeen: NOW, fields: [[8, 0, 4]] })),
  }));
  const store = new TemplateStore(false, 3_600_000);
  assert.equal(store.load(saved, NOW), 6250);
});

test('a full template table makes room from templates idle for 35 minutes, least recently active first; announced ones stay', () => {
  const d = new IpfixDecoder({ ...BASE, templateLifetimeS: 86_400 });
  // 8 addresses at their share (6,250 = 4,096 + 2,154 over two domains): 50,000, the decoder's bound.
  const holders = (at: number, from: number): void => {
    for (let a = from; a <= 8; a++) {
      announce(d, `198.51.100.${a}`, 1, 256, 4096, at);
      announce(d, `198.51.100.${a}`, 2, 256, 2154, at + 1000);
    }
  };
  holders(NOW, 1);
  assert.equal((d.describe() as { templates: number }).templates, 50_000);
  // Within the idle window a ninth address is refused: every template was announced since.
  let at = NOW + 30 * 60_000;
  assert.equal(runAs(d, ipfixMsg([set(2, ipfixTemplate(256, DATA_FIELDS)), dataFor(256)], 1, at / 1000), '192.0.2.50', at).length, 0);
  assert.equal(byExporterOf(d)['192.0.2.50']!['template refused: too many templates'], 1);
  // 35 minutes on the first address has neither announced nor used its templates; the others announced theirs.
  at = NOW + 36 * 60_000;
  holders(at - 2000, 2);
  assert.equal(runAs(d, ipfixMsg([set(2, ipfixTemplate(256, DATA_FIELDS)), dataFor(256)], 1, at / 1000), '192.0.2.50', at).length, 1);
  // One batch, 1/64 of the table (782), the first address's oldest: domain 1, announced first.
  assert.equal(byExporterOf(d)['198.51.100.1']!['templates evicted: idle at a full table'], 782);
  assert.equal((d.describe() as { templates: number }).templates, 50_000 - 782 + 1);
  const scopes = (d.describe() as { scopes: { exporter: string; domain: number; templates: number[] }[] }).scopes;
  const first = scopes.filter((x) => x.exporter === '198.51.100.1');
  assert.deepEqual(first.map((x) => [x.domain, x.templates.length, x.templates[0]]), [[1, 4096 - 782, 256 + 782], [2, 2154, 256]]);
  // The next 781 fit in that room without taking more.
  announce(d, '192.0.2.50', 1, 257, 781, at);
  assert.equal(byExporterOf(d)['198.51.100.1']!['templates evicted: idle at a full table'], 782);
  assert.deepEqual(Object.keys(byExporterOf(d)['192.0.2.50']!).filter((k) => k.startsWith('template')), ['template refused: too many templates'], 'nothing refused since');
  for (let a = 2; a <= 8; a++) assert.equal(byExporterOf(d)[`198.51.100.${a}`]?.['templates evicted: idle at a full table'], undefined);
});

test('a template ID reused with a layout the scope has no room for is withdrawn: its data waits instead of being read with the old layout', () => {
  const d = new IpfixDecoder(BASE);
  // Template 256 (2 fields) and 16 more that fill the scope's 65,536 fields.
  run(d, ipfixMsg([set(2, ipfixTemplate(256, DATA_FIELDS))]));
  for (let i = 0; i < 16; i++) {
    const n = i < 15 ? 4096 : 65_536 - 2 - 15 * 4096;
    run(d, ipfixMsg([set(2, ipfixTemplate(257 + i, Array.from({ length: n }, (): Spec => [8, 4])))]));
  }
  assert.equal(run(d, ipfixMsg([dataFor(256)])).length, 1);
  // 256 with one field more: refused, and the layout it replaces is not used again.
  run(d, ipfixMsg([set(2, ipfixTemplate(256, [...DATA_FIELDS, [7, 2]]))]));
  assert.equal(d.counters.get('template refused: too many templates'), 1);
  assert.equal(d.counters.get('template withdrawn: its new layout refused'), 1);
  assert.equal(run(d, ipfixMsg([dataFor(256)])).length, 0);
  assert.equal(d.counters.get('data without template: held'), 1);
});

test('template cache: a save that fails leaves no temporary file behind', async () => {
  const { writeCache, writeCacheSync } = await import('../src/decode/template/persist.js');
  const { mkdirSync } = await import('node:fs');
  const dir = tempDir('ufc-tpl-');
  // A directory where the cache file should be: the write succeeds, the rename fails.
  const path = join(dir, 'templates-ipfix.json');
  mkdirSync(join(path, 'in-the-way'), { recursive: true });
  assert.throws(() => writeCacheSync(path, []));
  await assert.rejects(writeCache(path, []));
  assert.deepEqual(readdirSync(dir), ['templates-ipfix.json']);
});

/** 16 bytes of an IPv6 address written in full or with `::`. */
function ip6(s: string): Buffer {
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, ''];
  const h = head === '' ? [] : head.split(':'), t = tail === '' ? [] : tail.split(':');
  const words = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(words.map((w) => u16(parseInt(w, 16))));
}

// One template for both families, as routers send (akvorado's mpls.pcap carries IE 62, 63, 15 and 18 together):
// src/dst v4 (8, 12), src/dst v6 (27, 28), masks v4 (9, 13) and v6 (29, 30), next hops v4 (15), v6 (62),
// BGP next hops v4 (18), v6 (63), proto (4), octets (1). The other family's fields are zeros.
const TDUAL: Spec[] = [[8, 4], [12, 4], [27, 16], [28, 16], [9, 1], [13, 1], [29, 1], [30, 1], [15, 4], [62, 16], [18, 4], [63, 16], [4, 1], [1, 8]];
function recDual(o: { src4?: string; dst4?: string; src6?: string; dst6?: string; masks4?: [number, number]; masks6?: [number, number]; bgp4?: string; bgp6?: string }): Buffer {
  const m4 = o.masks4 ?? [0, 0], m6 = o.masks6 ?? [0, 0];
  return Buffer.concat([ip(o.src4 ?? '0.0.0.0'), ip(o.dst4 ?? '0.0.0.0'), ip6(o.src6 ?? '::'), ip6(o.dst6 ?? '::'),
    Buffer.from([m4[0], m4[1], m6[0], m6[1]]), ip('0.0.0.0'), ip6('::'), ip(o.bgp4 ?? '0.0.0.0'), ip6(o.bgp6 ?? '::'), Buffer.from([6]), u64(100)]);
}

test('a template of both families: each record keeps its own family\'s prefix lengths and BGP next hop', () => {
  const dec = new IpfixDecoder(BASE);
  const out = run(dec, ipfixMsg([set(2, ipfixTemplate(310, TDUAL)), set(310, Buffer.concat([
    recDual({ src4: '198.51.100.1', dst4: '203.0.113.7', masks4: [24, 16], bgp4: '192.0.2.254' }),
    recDual({ src6: '2001:db8::1', dst6: '2001:db8:1::2', masks6: [64, 48], bgp6: '2001:db8::b9' }),
    // An IPv6 flow over an IPv4 core (6PE): its only BGP next hop is IPv4.
    recDual({ src6: '2001:db8::3', dst6: '2001:db8:1::4', masks6: [56, 40], bgp4: '192.0.2.253' }),
  ]))]));
  assert.deepEqual(out.map((r) => [r.ipVersion, r.srcIp, r.dstIp, r.srcMask, r.dstMask, r.nextHop]), [
    [4, '198.51.100.1', '203.0.113.7', 24, 16, '192.0.2.254'],
    [6, '2001:db8::1', '2001:db8:1::2', 64, 48, '2001:db8::b9'],
    [6, '2001:db8::3', '2001:db8:1::4', 56, 40, '192.0.2.253'],
  ]);
});

test('an IPv6 record with both BGP next hops set takes the IPv6 one, an IPv4 record the IPv4 one', () => {
  const dec = new IpfixDecoder(BASE);
  const out = run(dec, ipfixMsg([set(2, ipfixTemplate(311, TDUAL)), set(311, Buffer.concat([
    recDual({ src6: '2001:db8::1', dst6: '2001:db8::2', bgp4: '192.0.2.1', bgp6: '2001:db8::ff' }),
    recDual({ src4: '198.51.100.1', dst4: '198.51.100.2', bgp4: '192.0.2.1', bgp6: '2001:db8::ff' }),
  ]))]));
  assert.deepEqual(out.map((r) => r.nextHop), ['2001:db8::ff', '192.0.2.1']);
});

/** An IPFIX variable-length value (RFC 7011 §7): one length octet, or 255 and two. */
function varlen(text: string | Buffer): Buffer {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  return Buffer.concat([b.length < 255 ? Buffer.from([b.length]) : Buffer.concat([Buffer.from([255]), u16(b.length)]), b]);
}
/** A NUL-padded fixed-length string, as v9 exporters send IF_NAME / IF_DESC. */
function padded(text: string, len: number): Buffer { const b = Buffer.alloc(len); b.write(text); return b; }

// Data: T4 with ingressInterface (10) and egressInterface (14), 4 octets each.
const T4IF: Spec[] = [...T4, [10, 4], [14, 4]];
const rec4if = (inIf: number, outIf: number): Buffer => Buffer.concat([rec4('10.0.0.1', '10.0.0.2', 1, 2, 6, 100, 1), u32(inIf), u32(outIf)]);
const names = (out: FlowRecord[]): [number, string, number, string][] => out.map((r) => [r.inIf, r.inIfName, r.outIf, r.outIfName]);

test('interface names from IPFIX options data (scope ingressInterface, IE 82 else IE 83) name both ends of later flows, biflow reverse swapped; a rename wins; a restart keeps them', async () => {
  const dir = tempDir('ufc-ifnames-');
  const d = new IpfixDecoder({ ...BASE, stateDir: dir });
  const table = (rows: [number, string, string][]): Buffer => ipfixMsg([set(411, Buffer.concat(rows.map(([i, n, desc]) => Buffer.concat([u32(i), varlen(n), varlen(desc)]))))]);
  run(d, ipfixMsg([
    set(3, ipfixTemplate(411, [[10, 4], [82, 0xffff], [83, 0xffff]], 1)),
    set(2, ipfixTemplate(300, T4IF)),
    set(2, ipfixTemplate(301, [...T4IF, [1, 8, 29305], [2, 8, 29305]])),
  ]));
  // Before any options data: no names.
  assert.deepEqual(names(run(d, ipfixMsg([set(300, rec4if(1, 2))]))), [[1, '', 2, '']]);
  // ifIndex 2 has only a description; 7 has neither (nothing learnt); 0 is no interface.
  assert.deepEqual(run(d, table([[1, 'Gi0/0', 'GigabitEthernet0/0'], [2, '', ' Uplink to "ISP" \u00e9 '], [7, '', ''], [0, 'none', '']])), []);
  assert.deepEqual(names(run(d, ipfixMsg([set(300, Buffer.concat([rec4if(1, 2), rec4if(3, 7), rec4if(0, 1)]))]))),
    [[1, 'Gi0/0', 2, 'Uplink to "ISP" \u00e9'], [3, '', 7, ''], [0, '', 1, 'Gi0/0']]);
  const bi = run(d, ipfixMsg([set(301, Buffer.concat([rec4if(1, 2), u64(500), u64(5)]))]));
  assert.deepEqual(names(bi), [[1, 'Gi0/0', 2, 'Uplink to "ISP" \u00e9'], [2, 'Uplink to "ISP" \u00e9', 1, 'Gi0/0']]);
  // A renamed interface: the newest name from then on.
  run(d, table([[1, 'Gi0/0.100', '']]));
  assert.deepEqual(names(run(d, ipfixMsg([set(300, rec4if(1, 3))]))), [[1, 'Gi0/0.100', 3, '']]);
  // Another observation domain of the same exporter has its own interfaces.
  run(d, ipfixMsg([set(2, ipfixTemplate(300, T4IF))], 2));
  assert.deepEqual(names(run(d, ipfixMsg([set(300, rec4if(1, 2))], 2))), [[1, '', 2, '']]);
  // Saved with the templates: a restarted collector names flows before the exporter resends its table.
  await d.close();
  const again = new IpfixDecoder({ ...BASE, stateDir: dir });
  assert.deepEqual(names(run(again, ipfixMsg([set(300, rec4if(2, 1))]))), [[2, 'Uplink to "ISP" \u00e9', 1, 'Gi0/0.100']]);
  await again.close();
});

test('interface names from v9 options data: scope Interface or INPUT_SNMP with fixed-length, NUL-padded IF_NAME / IF_DESC; bounded in number and length', () => {
  const d = new Netflow9Decoder(BASE);
  run(d, v9Msg([
    // Scope Interface (type 2) as Cisco's interface table sends it, and a System-scoped one keyed by INPUT_SNMP (10).
    set(1, Buffer.concat([v9OptionsTemplate(260, [[2, 4]], [[82, 16], [83, 32]]), v9OptionsTemplate(261, [[1, 4]], [[10, 2], [82, 16]])])),
    set(0, v9Template(256, [[8, 4], [12, 4], [10, 2], [14, 2], [1, 4], [2, 4]])),
    set(260, Buffer.concat([u32(5), padded('Te0/1', 16), padded('TenGigabitEthernet0/1', 32), u32(6), padded('', 16), padded('Loopback0', 32)])),
    set(261, Buffer.concat([u32(0), u16(9), padded('Vlan9', 16), Buffer.alloc(2)])),
  ], 1000));
  const flow = (inIf: number, outIf: number): Buffer => Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u16(inIf), u16(outIf), u32(60), u32(1)]);
  const out = run(d, v9Msg([set(256, Buffer.concat([flow(5, 6), flow(9, 5), flow(6, 4)]))], 1000));
  assert.deepEqual(names(out), [[5, 'Te0/1', 6, 'Loopback0'], [9, 'Vlan9', 5, 'Te0/1'], [6, 'Loopback0', 4, '']]);
  const scopes = (d.describe() as { scopes: { interfaceNames: number }[] }).scopes;
  assert.equal(scopes[0]!.interfaceNames, 3);

  // The interface the record is scoped to wins over an INPUT_SNMP among its fields (v9 scope Interface).
  run(d, v9Msg([set(1, Buffer.concat([v9OptionsTemplate(262, [[2, 4]], [[10, 4], [82, 16]]), u16(0)])), set(262, Buffer.concat([u32(11), u32(12), padded('Gi11', 16)]))], 1000));
  assert.deepEqual(names(run(d, v9Msg([set(256, flow(11, 12))], 1000))), [[11, 'Gi11', 12, '']]);

  // Bounds: a name keeps 255 UTF-16 units, never half a surrogate pair; 65,536 interfaces per scope, 262,144 over all scopes.
  const x = new IpfixDecoder(BASE);
  run(x, ipfixMsg([set(3, ipfixTemplate(412, [[10, 4], [82, 0xffff]], 1)), set(2, ipfixTemplate(300, T4IF))]));
  run(x, ipfixMsg([set(412, Buffer.concat([u32(1), varlen(Buffer.alloc(1000, 0x61)), u32(2), varlen('b'.repeat(254) + '\u{1F600}tail'), u32(3), varlen('c'.repeat(253) + '\u{1F600}tail')]))]));
  assert.deepEqual(names(run(x, ipfixMsg([set(300, Buffer.concat([rec4if(1, 2), rec4if(3, 0)]))]))),
    [[1, 'a'.repeat(255), 2, 'b'.repeat(254)], [3, 'c'.repeat(253) + '\u{1F600}', 0, '']]);
  const learnt = (): number => ((x as unknown as { store: { toJSON(): { ifNames?: unknown[] }[] } }).store.toJSON()).reduce((n, s) => n + (s.ifNames?.length ?? 0), 0);
  // One address a scope: an address holds 65,536 names at most over its scopes.
  for (let domain = 1; domain <= 5; domain++) {
    const exporter = domain === 1 ? '192.0.2.9' : `192.0.2.${100 + domain}`;
    runAs(x, ipfixMsg([set(3, ipfixTemplate(412, [[10, 4], [82, 0xffff]], 1))], domain), exporter);
    for (let first = 1; first <= 70_000; first += 1000) {
      const recs: Buffer[] = [];
      for (let i = first; i < first + 1000; i++) recs.push(Buffer.concat([u32(i), varlen(`if${i}`)]));
      runAs(x, ipfixMsg([set(412, Buffer.concat(recs))], domain), exporter);
    }
  }
  assert.equal(learnt(), 262_144);
  const perScope = ((x as unknown as { store: { toJSON(): { domain: number; ifNames?: unknown[] }[] } }).store.toJSON()).map((s) => [s.domain, s.ifNames?.length]);
  assert.deepEqual(perScope.slice(0, 4), [[1, 65_536], [2, 65_536], [3, 65_536], [4, 65_536]]);
  // A scope whose templates expired goes with its names, and gives their room back to the others.
  const later = NOW + 2 * 3600_000;
  run(x, ipfixMsg([], 9, later / 1000), later);
  run(x, ipfixMsg([set(3, ipfixTemplate(412, [[10, 4], [82, 0xffff]], 1)), set(412, Buffer.concat([u32(5), varlen('Gi5')]))], 6, later / 1000 + 2), later + 2000);
  assert.equal(learnt(), 1);
});

test('interface names: IE 14 keys a record without IE 10, and IE 82 is trimmed like IE 83', () => {
  const d = new IpfixDecoder(BASE);
  run(d, ipfixMsg([
    set(3, Buffer.concat([ipfixTemplate(413, [[14, 4], [82, 0xffff]], 1), ipfixTemplate(414, [[149, 4], [10, 4], [14, 4], [82, 0xffff]], 1)])),
    set(2, ipfixTemplate(300, T4IF)),
  ]));
  // Observation-domain scoped with both: IE 10 names it.
  run(d, ipfixMsg([set(413, Buffer.concat([u32(8), varlen('  Te0/8\t')])), set(414, Buffer.concat([u32(1), u32(9), u32(10), varlen('Po9 ')]))]));
  assert.deepEqual(names(run(d, ipfixMsg([set(300, Buffer.concat([rec4if(8, 9), rec4if(10, 0)]))]))), [[8, 'Te0/8', 9, 'Po9'], [10, '', 0, '']]);
});

test('interface names: the decoder learns what tshark reads in the same v9 options records (pcap of crafted packets)', (t) => {
  const tshark = needTool(t, 'tshark');
  if (tshark === null) return;
  const table: [number, string, string][] = [[1, 'Gi0/0', 'GigabitEthernet0/0'], [2, 'Gi0/1', 'GigabitEthernet0/1'], [10, 'Po1', 'Port-channel1'], [33, 'Vl33', 'Vlan33']];
  const pkts = [
    v9Msg([set(1, Buffer.concat([v9OptionsTemplate(260, [[2, 4]], [[82, 16], [83, 32]]), u16(0)]))], 1000),
    v9Msg([set(260, Buffer.concat(table.map(([i, n, desc]) => Buffer.concat([u32(i), padded(n, 16), padded(desc, 32)]))))], 1000),
  ];
  const dir = tempDir('ufc-ifnames-pcap-');
  const file = join(dir, 'iftable.pcap');
  writeFileSync(file, pcap(pkts.map((p) => ({ data: eth(ipv4Udp('192.0.2.9', '192.0.2.1', 2055, p)) }))));
  const text = execFileSync(tshark, ['-n', '-r', file, '-d', 'udp.port==2055,cflow', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-e', 'cflow.scope_interface', '-e', 'cflow.if_name', '-e', 'cflow.if_descr'], { encoding: 'utf8' });
  const rows = text.trim().split('\n').map((l) => l.split('\t')).filter((c) => c[1] !== '');
  assert.equal(rows.length, 1, text);
  const [ifs, ns, descs] = rows[0]!.map((c) => c.split('|'));
  const theirs = ifs!.map((i, k) => [Number(i), ns![k], descs![k]]);
  assert.deepEqual(theirs, table, 'tshark reads the crafted table');
  const d = new Netflow9Decoder(BASE);
  for (const p of pkts) run(d, p);
  run(d, v9Msg([set(0, v9Template(256, [[10, 2], [14, 2], [1, 4], [2, 4]]))], 1000));
  const out = run(d, v9Msg([set(256, Buffer.concat(theirs.map(([i]) => Buffer.concat([u16(i as number), u16(0), u32(1), u32(1)]))))], 1000));
  assert.deepEqual(out.map((r) => [r.inIf, r.inIfName]), theirs.map(([i, n]) => [i, n]));
});

/**
 * The RiskIQ output end to end: fixture captures replayed through the Collector with the output
 * enabled from EF_OUTPUT_RISKIQ_* into an in-process receiver over loopback (UDP and TCP); the
 * received rows must be the public-side projection of the records the collector produced,
 * Community IDs included. Also: the audit file, and the options as the seed names them.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Collector } from '../src/collector.js';
import { loadConfig } from '../src/config/load.js';
import { communityId } from '../src/enrich/community-id.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import type { RiskiqRow } from '../src/output/riskiq/frame.js';
import { RiskiqOutput } from '../src/output/riskiq/output.js';
import { RiskiqReceiver } from '../src/output/riskiq/receiver.js';
import { createOutputs } from '../src/output/registry.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { CaptureOutput, testConfig, until } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

const UUID = '527dd194-a116-11af-8380-034aba1ce438';
const KEY_B64 = 'twBovkmV8YIxx0QyulybZg==';
const FIXTURES = [
  join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap'),
  join(TESTDATA, 'flowbeat', 'pcap', 'ipt_netflow_v5.pcap'),
];

const byJson = (a: RiskiqRow, b: RiskiqRow) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

/** The Community ID of a record's full tuple, computed here from the record (not by the output). */
function tupleCommunityId(r: FlowRecord): string {
  return r.proto === 1 || r.proto === 58 ? communityId(r.proto, r.srcIp, r.dstIp, r.icmpType, r.icmpCode) : communityId(r.proto, r.srcIp, r.dstIp, r.srcPort, r.dstPort);
}

/**
 * The row the seed's field table says a record becomes, written here rather than taken from the
 * output's projection: an end is sent when the locality enricher found it public (the registries
 * behind that are checked against an oracle of their own in riskiq-privacy.test.ts), a private end
 * is empty, and a record with no public end, or a counter record, is not sent.
 */
function seedRow(r: FlowRecord): RiskiqRow | null {
  if (r.kind !== 'flow') return null;
  const src = r.srcLocality === 'public', dst = r.dstLocality === 'public';
  if (!src && !dst) return null;
  return {
    start_ms: r.startTs, end_ms: r.endTs, bytes: r.bytes, packets: r.packets,
    src_ip: src ? r.srcIp : null, src_port: src ? r.srcPort : null,
    // ICMP: type × 256 + code in the destination port, however the exporter gave them.
    dst_ip: dst ? r.dstIp : null, dst_port: dst ? ((r.proto === 1 || r.proto === 58) && r.dstPort === 0 ? r.icmpType * 256 + r.icmpCode : r.dstPort) : null,
    tcp_flags: r.tcpFlags, protocol: r.proto, community_id: tupleCommunityId(r),
  };
}
const seedRows = (recs: readonly FlowRecord[]): RiskiqRow[] => recs.map(seedRow).filter((r): r is RiskiqRow => r !== null);

async function untilRows(got: RiskiqRow[], n: number, ms = 5000): Promise<void> {
  await until(() => got.length >= n, ms);
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`fixtures through the collector into riskiq-sink over ${transport}: rows are the public-side projection, Community IDs included`, async () => {
    const got: RiskiqRow[] = [];
    const rx = new RiskiqReceiver({ transport, host: '127.0.0.1', port: 0, keys: new Map([[UUID, Buffer.from(KEY_B64, 'base64')]]), onRow: (r) => got.push(r) });
    const port = await rx.start();
    const config = testConfig({
      EF_OUTPUT_RISKIQ_ENABLE: 'true',
      EF_OUTPUT_RISKIQ_HOST: '127.0.0.1',
      EF_OUTPUT_RISKIQ_PORT: String(port),
      EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID,
      EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64,
      EF_OUTPUT_RISKIQ_TRANSPORT: transport,
    });
    const capture = new CaptureOutput();
    const outputs = createOutputs({ config, dataDir: config.EF_DATA_DIR });
    const riskiq = outputs.find((o) => o.name === 'riskiq');
    assert.ok(riskiq instanceof RiskiqOutput, 'EF_OUTPUT_RISKIQ_ENABLE=true adds the RiskIQ output');
    const collector = new Collector(config, { outputs: [capture, ...outputs] });
    await collector.start();
    for (const f of FIXTURES) collector.replay(readFileSync(f));
    await collector.flush();

    const expected = seedRows(capture.records);
    await untilRows(got, expected.length);
    await collector.stop();
    await rx.stop();

    assert.ok(capture.records.length >= 80, `records decoded: ${capture.records.length}`);
    assert.ok(expected.length > 0 && expected.length < capture.records.length, 'some records are sent, some (both ends private) are not');
    assert.deepEqual([...got].sort(byJson), [...expected].sort(byJson));
    if (transport === 'tcp') assert.deepEqual(got, expected, 'TCP keeps the order');

    // Community IDs: every row has the one of its record's full tuple.
    const sent = capture.records.filter((r) => seedRow(r) !== null);
    const cids = new Set(got.map((r) => r.community_id));
    for (const r of sent) {
      const cid = tupleCommunityId(r);
      assert.match(cid, /^1:[A-Za-z0-9+/]{27}=$/);
      assert.ok(cids.has(cid), `community id ${cid} of ${r.srcIp}:${r.srcPort} -> ${r.dstIp}:${r.dstPort} is in the rows`);
    }
    assert.ok(got.every((r) => r.community_id !== null));

    const c = riskiq.counters();
    assert.equal(c.records_sent, expected.length);
    assert.equal(c.records_skipped_private, capture.records.filter((r) => r.kind === 'flow').length - expected.length);
    assert.equal(c.frames_sent, rx.counters().frames);
    assert.equal(c.bytes_sent, rx.counters().bytes);
    assert.equal(c.dropped_queue_full + c.dropped_send_error + c.dropped_shutdown, 0);
    // Frames are filled: ceil(rows / 14) frames at most one partial per flush.
    assert.ok(c.frames_sent! <= Math.ceil(expected.length / 14) + FIXTURES.length + 1, `frames ${c.frames_sent} for ${expected.length} rows`);
  });
}

test('audit mode writes exactly the rows it would send, as JSON lines, and sends nothing', async () => {
  const got: RiskiqRow[] = [];
  const rx = new RiskiqReceiver({ transport: 'udp', host: '127.0.0.1', port: 0, keys: new Map([[UUID, Buffer.from(KEY_B64, 'base64')]]), onRow: (r) => got.push(r) });
  const port = await rx.start();
  const config = testConfig({
    EF_OUTPUT_RISKIQ_ENABLE: 'true',
    EF_OUTPUT_RISKIQ_HOST: '127.0.0.1',
    EF_OUTPUT_RISKIQ_PORT: String(port),
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID,
    EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64,
    EF_OUTPUT_RISKIQ_AUDIT_PATH: 'data/riskiq-audit.ndjson',
  });
  const capture = new CaptureOutput();
  const collector = new Collector(config, { outputs: [capture, ...createOutputs({ config, dataDir: config.EF_DATA_DIR })] });
  await collector.start();
  for (const f of FIXTURES) collector.replay(readFileSync(f));
  await collector.stop();
  await new Promise((r) => setTimeout(r, 100));
  await rx.stop();

  const path = join(config.EF_DATA_DIR, 'riskiq-audit.ndjson');
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.trimEnd().split('\n');
  const expected = seedRows(capture.records);
  assert.deepEqual(lines, expected.map((r) => JSON.stringify(r)));
  assert.equal(got.length, 0, 'nothing reached the network');
  assert.equal(rx.counters().frames, 0);
  // Audit mode needs no nonces.
  assert.ok(!existsSync(join(config.EF_DATA_DIR, 'riskiq-nonce.state')));
});

test('ICMP from a template with its own ICMP elements (IE 32/139, port 0): the row\'s destination port is type × 256 + code, as from NetFlow v5', async () => {
  const config = testConfig({
    EF_OUTPUT_RISKIQ_ENABLE: 'true',
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID,
    EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64,
    EF_OUTPUT_RISKIQ_AUDIT_PATH: 'data/riskiq-audit-icmp.ndjson',
  });
  const capture = new CaptureOutput();
  const collector = new Collector(config, { outputs: [capture, ...createOutputs({ config, dataDir: config.EF_DATA_DIR })] });
  await collector.start();
  // IPFIX (RFC 7011): template 258 of start/end ms, octets, packets, addresses, icmpTypeCodeIPv4 (32) or
  // icmpTypeCodeIPv6 (139), protocol; an echo request 8.8.8.8 -> 1.1.1.1 and an ICMPv6 echo reply.
  const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
  const msg = (sets: Buffer[]) => { const body = Buffer.concat(sets); return Buffer.concat([u16(10), u16(16 + body.length), u32(1_700_000_200), u32(0), u32(1), body]); };
  const set = (id: number, body: Buffer) => Buffer.concat([u16(id), u16(4 + body.length), body]);
  const tmpl = (tid: number, fields: [number, number][]) => Buffer.concat([u16(tid), u16(fields.length), ...fields.flatMap(([id, len]) => [u16(id), u16(len)])]);
  const ctx = { exporterIp: '192.0.2.1', exporterPort: 4739, receivedAt: 1_700_000_200_000 };
  collector.pipeline.handle(msg([
    set(2, Buffer.concat([tmpl(258, [[152, 8], [153, 8], [1, 8], [2, 8], [8, 4], [12, 4], [32, 2], [4, 1]]), tmpl(259, [[152, 8], [153, 8], [1, 8], [2, 8], [27, 16], [28, 16], [139, 2], [4, 1]])])),
    set(258, Buffer.concat([u64(1_700_000_000_000), u64(1_700_000_000_500), u64(84), u64(1), Buffer.from([8, 8, 8, 8, 1, 1, 1, 1]), u16(8 * 256), Buffer.from([1])])),
    set(259, Buffer.concat([u64(1_700_000_000_000), u64(1_700_000_000_500), u64(104), u64(1), Buffer.from('20010db8000000000000000000000001', 'hex').fill(0x26, 0, 1), Buffer.from('2606470000000000000000000000abcd', 'hex'), u16(129 * 256), Buffer.from([58])])),
  ]), ctx);
  await collector.stop();
  const rows = readFileSync(join(config.EF_DATA_DIR, 'riskiq-audit-icmp.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as RiskiqRow);
  assert.equal(capture.records.length, 2, 'two records decoded');
  assert.deepEqual(capture.records.map((r) => [r.dstPort, r.icmpType]), [[0, 8], [0, 129]], 'the decoder leaves the port 0 and fills the ICMP type');
  assert.deepEqual(rows.map((r) => [r.protocol, r.src_port, r.dst_port]), [[1, 0, 8 * 256], [58, 0, 129 * 256]], 'type × 256 + code in the destination port');
});

test('options as the seed names them; a bad key is a start-up error naming the variable and the decoded length', () => {
  const base = { EF_DATA_DIR: '/tmp', EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false' };
  const ok = loadConfig({ env: { ...base, EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID, EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64 } });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.config!.EF_OUTPUT_RISKIQ_HOST, 'flow.riskiq.net');
  assert.equal(ok.config!.EF_OUTPUT_RISKIQ_PORT, 20000);
  assert.equal(ok.config!.EF_OUTPUT_RISKIQ_TRANSPORT, 'udp');
  assert.ok(ok.warnings.some((w) => /EF_OUTPUT_RISKIQ_ENABLE=true but EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=false/.test(w)));
  const bad = loadConfig({ env: { ...base, EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID, EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: Buffer.alloc(10).toString('base64') } });
  assert.equal(bad.config, null);
  assert.ok(bad.errors.some((e) => e.startsWith('EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY') && /decodes to 10 bytes/.test(e)), bad.errors.join('\n'));
  assert.ok(!bad.errors.join('\n').includes(Buffer.alloc(10).toString('base64')), 'the key is not echoed');
  const badUuid = loadConfig({ env: { ...base, EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: 'not-a-uuid', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64 } });
  assert.ok(badUuid.errors.some((e) => e.startsWith('EF_OUTPUT_RISKIQ_CUSTOMER_UUID')));
});

test('live: exporter datagrams over UDP into the collector with decode workers, out to riskiq-sink over TCP', async () => {
  const got: RiskiqRow[] = [];
  const rx = new RiskiqReceiver({ transport: 'tcp', host: '127.0.0.1', port: 0, keys: new Map([[UUID, Buffer.from(KEY_B64, 'base64')]]), onRow: (r) => got.push(r) });
  const port = await rx.start();
  const config = testConfig({
    EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '2',
    EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_HOST: '127.0.0.1', EF_OUTPUT_RISKIQ_PORT: String(port),
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID, EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64, EF_OUTPUT_RISKIQ_TRANSPORT: 'tcp',
  });
  const capture = new CaptureOutput();
  const collector = new Collector(config, { outputs: [capture, ...createOutputs({ config, dataDir: config.EF_DATA_DIR })] });
  await collector.start();
  const [listenPort] = await collector.listen();
  const sock = createSocket('udp4');
  for (const f of FIXTURES) {
    for (const dg of readUdpDatagrams(readFileSync(f))) await new Promise<void>((r) => sock.send(dg.payload, listenPort!, '127.0.0.1', () => r()));
  }
  sock.close();
  await until(() => capture.records.length >= 89, 5000);
  await collector.flush();
  const expected = seedRows(capture.records);
  await untilRows(got, expected.length);
  await collector.stop();
  await rx.stop();
  assert.equal(capture.records.length, 89, 'every datagram decoded (29 + 60 records)');
  assert.ok(capture.records.every((r) => r.communityId !== '' && r.srcLocality !== ''), 'the workers enriched the records');
  assert.deepEqual([...got].sort(byJson), [...expected].sort(byJson));
  assert.ok(expected.length >= 40);
});

test('batching: a full frame leaves at once, a partial one after EF_OUTPUT_RISKIQ_BATCH_DEADLINE; frames respect MAX_DATAGRAM_SIZE', async (t) => {
  const got: RiskiqRow[] = [];
  const key = Buffer.from(KEY_B64, 'base64');
  const rx = new RiskiqReceiver({ transport: 'udp', host: '127.0.0.1', port: 0, keys: new Map([[UUID, key]]), onRow: (r) => got.push(r) });
  const port = await rx.start();
  const config = testConfig({
    EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_HOST: '127.0.0.1', EF_OUTPUT_RISKIQ_PORT: String(port),
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID, EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64,
    EF_OUTPUT_RISKIQ_BATCH_DEADLINE: '1500', EF_OUTPUT_RISKIQ_MAX_DATAGRAM_SIZE: '500',
  });
  const out = createOutputs({ config, dataDir: config.EF_DATA_DIR })[0] as RiskiqOutput;
  t.after(async () => {
    await out.close();
    await rx.stop();
  });
  assert.equal(out.rowsPerFrame, 4, 'floor((500 - 52) / 92)');
  await out.start();
  const capture = new CaptureOutput();
  const c = new Collector(testConfig({}), { outputs: [capture] });
  await c.start();
  c.replay(readFileSync(FIXTURES[0]!));
  await c.stop();
  const recs = capture.records.slice(0, 10);
  const t0 = Date.now();
  out.write(recs);
  // A deadline long enough that a busy machine (tests run two at a time) cannot blur the two cases.
  await untilRows(got, 8, 1000);
  const fullFramesMs = Date.now() - t0;
  assert.equal(got.length, 8, 'two full frames sent without waiting');
  assert.ok(fullFramesMs < 1000, `full frames after ${fullFramesMs} ms`);
  await untilRows(got, 10, 4000);
  const partialMs = Date.now() - t0;
  assert.equal(got.length, 10);
  assert.ok(partialMs >= 1450, `the partial frame waited for its deadline (${partialMs} ms)`);
  const rc = rx.counters();
  assert.equal(rc.frames, 3);
  assert.equal(rc.bytes, 2 * (52 + 4 * 92) + (52 + 2 * 92));
  assert.ok(2 * (52 + 4 * 92) + (52 + 2 * 92) <= 3 * 500);
  assert.deepEqual(got, recs.map(seedRow));
});

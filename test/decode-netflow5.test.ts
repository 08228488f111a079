import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetflowV5Decoder } from '../src/decode/netflow-legacy/v5.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { DecodeError } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { needTool, TESTDATA } from './helpers/tools.js';

const LS = join(TESTDATA, 'logstash-codec-netflow');
const ctx = { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: 1_700_000_000_000 };

function decodeDat(name: string): FlowRecord[] {
  const out: FlowRecord[] = [];
  new NetflowV5Decoder().decode(readFileSync(join(LS, 'dat', name)), ctx, out);
  return out;
}

function decodePcap(path: string): FlowRecord[] {
  const d = new NetflowV5Decoder();
  const out: FlowRecord[] = [];
  for (const dg of readUdpDatagrams(readFileSync(path))) d.decode(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: dg.ts }, out);
  return out;
}

interface Expectation { context: string; files: string[]; records: number | null; fields: Record<string, Record<string, unknown>>; events: Record<string, { '@timestamp': string; netflow: Record<string, unknown> }> }
const expectations = (JSON.parse(readFileSync(join(LS, 'expectations.json'), 'utf8')) as Expectation[]).filter((e) => e.files.every((f) => f.startsWith('netflow5')));

/** Logstash v5 names to ours. */
function compare(r: FlowRecord, ls: Record<string, unknown>, scale: number): void {
  const map: Record<string, unknown> = {
    ipv4_src_addr: r.srcIp, ipv4_dst_addr: r.dstIp, ipv4_next_hop: r.nextHop, l4_src_port: r.srcPort, l4_dst_port: r.dstPort,
    tcp_flags: r.tcpFlags, protocol: r.proto, src_tos: r.tos, src_as: r.srcAs, dst_as: r.dstAs, src_mask: r.srcMask, dst_mask: r.dstMask,
    input_snmp: r.inIf, output_snmp: r.outIf, in_pkts: r.packets / scale, in_bytes: r.bytes / scale, flow_seq_num: r.sequence, version: r.exportVersion,
  };
  for (const [k, v] of Object.entries(ls)) if (k in map) assert.equal(map[k], v, k);
}

for (const e of expectations) {
  test(`logstash: ${e.context}`, () => {
    if (e.records === null) {
      // Malformed: the header count does not fit the payload; a counted DecodeError, never a crash.
      assert.throws(() => decodeDat(e.files[0]!), DecodeError);
      return;
    }
    const recs = decodeDat(e.files[0]!);
    // netflow5.dat is 12 datagrams back to back; Logstash reads only the first (2 records), we read all 30.
    if (e.files[0] === 'netflow5.dat') assert.equal(recs.length, 30);
    else assert.equal(recs.length, e.records);
    for (const [i, f] of Object.entries(e.fields)) compare(recs[Number(i)]!, f, 1 * (recs[Number(i)]!.samplingRate || 1));
    for (const [i, ev] of Object.entries(e.events)) {
      const r = recs[Number(i)]!;
      compare(r, ev.netflow, r.samplingRate || 1);
      assert.equal(r.exportTs, Math.floor(Date.parse(ev['@timestamp'])), 'export time');
      // netflow5.dat: uptime-wrap quirk (see SOURCE.md); Juniper MX80: Logstash's expected start is one second
      // later than header time - (sysUptime - first) = 1469109172000 - (190649064 - 190631000); pinned below instead.
      if (e.files[0] !== 'netflow5.dat' && e.files[0] !== 'netflow5_test_juniper_mx80.dat') {
        // Logstash keeps sub-ms digits; we keep ms.
        assert.equal(r.startTs, Math.floor(Date.parse(String(ev.netflow.first_switched))), 'start');
        assert.equal(r.endTs, Math.floor(Date.parse(String(ev.netflow.last_switched))), 'end');
      }
    }
  });
}

test('v5 sampling interval scales bytes and packets (Juniper MX80, 1 in 1000)', () => {
  const recs = decodeDat('netflow5_test_juniper_mx80.dat');
  const r = recs[28]!;
  assert.equal(r.samplingRate, 1000);
  assert.equal(r.bytes, 104 * 1000);
  assert.equal(r.packets, 2 * 1000);
  assert.equal(r.startTs, 1469109172000 - (190649064 - 190631000));
});

test('uptime wrap: a flow time taken before the counter wrapped is just before the export; one a little after the export stays after it', () => {
  const d = new NetflowV5Decoder();
  const out: FlowRecord[] = [];
  const exportMs = 1_700_000_000_000;
  // Header uptime 100 ms, just past the wrap; the flow started 1,000 ms before the wrap (2^32 - 1000) and ended at 50.
  d.decode(v5(100, exportMs / 1000, 2 ** 32 - 1000, 50), ctx, out);
  assert.deepEqual([out[0]!.startTs, out[0]!.endTs], [exportMs - 1100, exportMs - 50]);
  // Last switched 5 ms after the header's uptime (the exporter stamped the flow after the header).
  d.decode(v5(100_000, exportMs / 1000, 99_000, 100_005), ctx, out);
  assert.deepEqual([out[1]!.startTs, out[1]!.endTs], [exportMs - 1000, exportMs + 5]);
  // The real captures: no flow ends far after its export.
  for (const r of decodeDat('netflow5.dat')) assert.ok(r.startTs <= r.exportTs + 1000 && r.endTs <= r.exportTs + 1000, 'no flow ends far after its export');
});

test('akvorado nfv5.pcap: 29 records, first matches akvorado', () => {
  const recs = decodePcap(join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap'));
  assert.equal(recs.length, 29);
  const r = recs[0]!;
  assert.deepEqual(
    [r.srcIp, r.dstIp, r.nextHop, r.inIf, r.outIf, r.srcAs, r.dstAs, r.srcMask, r.dstMask, r.bytes, r.packets, r.proto, r.srcPort, r.dstPort, r.tcpFlags],
    ['161.202.212.212', '202.152.70.24', '61.6.255.150', 117, 86, 36351, 10101, 19, 24, 133, 1, 6, 30104, 11963, 24],
  );
  assert.equal(Math.floor(r.exportTs / 1000), 1680626679);
  // First switched is 15,000 ms of uptime before the export (2874339000 - 2874324000). akvorado's own
  // expectation (1680611679) subtracts 15000 *seconds*; we keep the arithmetic of the v5 format.
  assert.equal(r.startTs, 1680626679000 - 15000);
});

/** A v5 datagram of one record with the given header uptime and export time and the record's First/Last. */
function v5(sysUptime: number, exportS: number, first: number, last: number): Buffer {
  const b = Buffer.alloc(24 + 48);
  b.writeUInt16BE(5, 0); b.writeUInt16BE(1, 2); b.writeUInt32BE(sysUptime, 4); b.writeUInt32BE(exportS, 8);
  b.writeUInt32BE(0x0a000001, 24); b.writeUInt32BE(0x0a000002, 28); b.writeUInt32BE(1, 40); b.writeUInt32BE(64, 44);
  b.writeUInt32BE(first, 48); b.writeUInt32BE(last, 52); b[62] = 17;
  return b;
}

test('times as for v9: an end before the start is set to the start, a time before 1970 takes the export time; both counted', () => {
  const d = new NetflowV5Decoder();
  const out: FlowRecord[] = [];
  d.decode(v5(100_000, 1_700_000_000, 99_000, 90_000), ctx, out);
  assert.deepEqual([out[0]!.startTs, out[0]!.endTs], [1_700_000_000_000 - 1000, 1_700_000_000_000 - 1000]);
  // An exporter without a clock (export time 0): its uptime-relative times would be before 1970.
  d.decode(v5(100_000, 0, 90_000, 99_000), ctx, out);
  assert.deepEqual([out[1]!.startTs, out[1]!.endTs], [0, 0]);
  // An export time past 2106-02-06T23:59:59.999Z (unix_secs all ones): no time is known.
  d.decode(v5(1000, 0xffffffff, 900, 950), ctx, out);
  assert.deepEqual([out[2]!.startTs, out[2]!.endTs], [0, 0]);
  const changed = { 'time: end before start (end set to start)': 1, 'time: out of range (another time used)': 2 };
  assert.deepEqual(d.describe(), { counters: changed, byExporter: { '192.0.2.1': changed } });
});

test('truncated and short datagrams are DecodeErrors', () => {
  const buf = readFileSync(join(LS, 'dat', 'netflow5_test_microtik.dat'));
  const d = new NetflowV5Decoder();
  assert.throws(() => d.decode(buf.subarray(0, 20), ctx, []), /short header/);
  assert.throws(() => d.decode(buf.subarray(0, 100), ctx, []), /truncated/);
  const zero = Buffer.from(buf);
  zero.writeUInt16BE(0, 2);
  assert.throws(() => d.decode(zero, ctx, []), /bad record count/);
});

for (const pcap of [join(TESTDATA, 'flowbeat', 'pcap', 'ipt_netflow_v5.pcap'), join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')]) {
  test(`agrees with tshark on ${pcap.split('/').slice(-1)[0]}`, (t) => {
    const tshark = needTool(t, 'tshark');
    if (tshark === null) return;
    const ports = [...new Set([...readUdpDatagrams(readFileSync(pcap))].map((d) => d.dstPort))];
    const decodeAs = ports.flatMap((p) => ['-d', `udp.port==${p},cflow`]);
    const fields = ['cflow.srcaddr', 'cflow.dstaddr', 'cflow.srcport', 'cflow.dstport', 'cflow.protocol', 'cflow.octets', 'cflow.packets', 'cflow.timestart', 'cflow.timeend'];
    const text = execFileSync(tshark, ['-r', pcap, ...decodeAs, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    const rows: string[][] = [];
    for (const line of text.trim().split('\n')) {
      const cols = line.split('\t').map((c) => c.split('|'));
      for (let i = 0; i < cols[0]!.length; i++) rows.push(cols.map((c) => c[i] ?? ''));
    }
    const ours = decodePcap(pcap);
    assert.equal(ours.length, rows.length, 'record count');
    ours.forEach((r, i) => {
      const row = rows[i]!;
      assert.deepEqual([r.srcIp, r.dstIp, String(r.srcPort), String(r.dstPort), String(r.proto), String(r.bytes), String(r.packets)], row.slice(0, 7), `record ${i}`);
      // tshark shows start/end relative to uptime ("1234.567000000 seconds"); compare durations.
      const ts = parseFloat(row[7]!), te = parseFloat(row[8]!);
      if (!Number.isNaN(ts) && !Number.isNaN(te)) assert.equal(r.endTs - r.startTs, Math.round((te - ts) * 1000), `duration ${i}`);
    });
  });
}

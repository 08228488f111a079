/**
 * Real NetFlow v9 / IPFIX captures beyond logstash and akvorado:
 *  - pmacct-test-automation: Cisco ASR9k exports (IPv4/IPv6, MPLS, SRv6 and IP-in-IP tunnels, NAT,
 *    sampling options, several exporters); nfacctd's expected Kafka output is aggregated, so we sum
 *    our packets/bytes per (src, dst, sport, dport) and compare every key's sums.
 *  - flowbeat (beats' 2018 prototype): Cisco IPFIX and Ubiquiti v9 pcaps against its goldens.
 *  - nDPI: v9 data without templates (held, nothing decoded) and a FRITZ!Box template-only packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needTool, TESTDATA } from './helpers/tools.js';
import { execFileSync } from 'node:child_process';
import type { FlowRecord } from '../src/record/flow-record.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';

function replay(pcaps: string[], pendingMax = 1024): { records: FlowRecord[]; errors: string[]; v9: Netflow9Decoder; ipfix: IpfixDecoder } {
  const opts = { templateLifetimeS: 1e9, pendingMax, pendingTimeoutS: 1e9, stateDir: '' };
  const v9 = new Netflow9Decoder(opts), ipfix = new IpfixDecoder(opts);
  const records: FlowRecord[] = [];
  const errors: string[] = [];
  for (const p of pcaps) {
    for (const dg of readUdpDatagrams(readFileSync(p))) {
      const ver = dg.payload.length >= 2 ? dg.payload.readUInt16BE(0) : 0;
      if (ver !== 9 && ver !== 10) continue; // BMP/BGP sessions share some captures
      const dec = ver === 9 ? v9 : ipfix;
      try {
        dec.decode(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: dg.ts }, records);
      } catch (err) {
        errors.push((err as Error).message);
      }
      dec.drainReleased(records);
    }
  }
  return { records, errors, v9, ipfix };
}

const PMACCT = join(TESTDATA, 'pmacct-test-automation');
const pmacctTests = readdirSync(PMACCT).filter((d) => /^\d{3}-/.test(d));

for (const t of pmacctTests) {
  test(`pmacct ${t}: packets and bytes per flow key equal nfacctd's output`, (tc) => {
    const dir = join(PMACCT, t);
    const { records, errors } = replay(readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort().map((f) => join(dir, f)));
    assert.deepEqual(errors, []);
    // nfacctd_renormalize false: counters as exported; true: scaled by the sampling rate, as ours are.
    const renormalize = /^nfacctd_renormalize:\s*true/m.test(readFileSync(join(dir, 'nfacctd-00.conf'), 'utf8'));
    const sum = (m: Map<string, [number, number]>, k: string, p: number, b: number) => { const v = m.get(k) ?? [0, 0]; v[0] += p; v[1] += b; m.set(k, v); };
    const ours = new Map<string, [number, number]>();
    for (const r of records) {
      const div = renormalize || r.samplingRate <= 1 ? 1 : r.samplingRate;
      sum(ours, `${r.srcIp} ${r.dstIp} ${r.srcPort} ${r.dstPort}`, r.packets / div, r.bytes / div);
    }
    const expected = new Map<string, [number, number]>();
    for (const line of readFileSync(join(dir, 'output-flow-00.json'), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const j = JSON.parse(line) as { ip_src: string; ip_dst: string; port_src: number; port_dst: number; packets: number; bytes: number };
      sum(expected, `${j.ip_src} ${j.ip_dst} ${j.port_src} ${j.port_dst}`, j.packets, j.bytes);
    }
    tc.diagnostic(`${records.length} records, ${expected.size} keys`);
    assert.ok(expected.size > 0);
    assert.deepEqual(new Map([...ours].sort()), new Map([...expected].sort()));
  });
}

const FLOWBEAT = join(TESTDATA, 'flowbeat');

interface Golden { events: { Fields: { netflow: Record<string, unknown>; event: { start: string; end: string } } }[] }

for (const name of ['ipfix_cisco.pcap', 'netflow9_ubiquiti_edgerouter.pcap']) {
  test(`flowbeat ${name}: records and values equal the golden file`, (tc) => {
    const { records, errors } = replay([join(FLOWBEAT, 'pcap', name)]);
    assert.deepEqual(errors, []);
    const golden = JSON.parse(readFileSync(join(FLOWBEAT, 'golden-2018', `${name}.golden.json`), 'utf8')) as Golden;
    // Our reverse records (NSEL/AVC responder counters) are additions of ours.
    const fwd = records.filter((r) => r.extra?.['flow.biflow_direction'] !== 'reverse');
    assert.equal(fwd.length, golden.events.length);
    let compared = 0;
    golden.events.forEach((ev, i) => {
      const n = ev.Fields.netflow, r = fwd[i]!;
      const pairs: [unknown, unknown][] = [];
      const want = (v: unknown, got: unknown) => { if (v !== undefined) pairs.push([got, v]); };
      want(n.sourceIPv4Address ?? n.sourceIPv6Address, r.srcIp);
      want(n.destinationIPv4Address ?? n.destinationIPv6Address, r.dstIp);
      want(n.sourceTransportPort, r.srcPort);
      want(n.destinationTransportPort, r.dstPort);
      want(n.protocolIdentifier, r.proto);
      want(n.octetDeltaCount ?? n.initiatorOctets, r.bytes);
      want(n.packetDeltaCount ?? n.initiatorPackets, r.packets);
      want(n.ingressInterface, r.inIf);
      want(n.egressInterface, r.outIf);
      want(n.tcpControlBits, r.tcpFlags);
      if (!ev.Fields.event.start.startsWith('0001')) { want(Date.parse(ev.Fields.event.start), r.startTs); want(Date.parse(ev.Fields.event.end), r.endTs); }
      for (const [got, exp] of pairs) assert.deepEqual(got, exp, `record ${i}`);
      compared += pairs.length;
    });
    tc.diagnostic(`compared ${compared} values`);
  });
}

test('flowbeat ipfix_cisco.pcap: the AVC records\' connection client, server and server port are the source, destination and destination port tshark reads', (t) => {
  const tshark = needTool(t, 'tshark');
  if (tshark === null) return;
  const file = join(FLOWBEAT, 'pcap', 'ipfix_cisco.pcap');
  const fields = ['client_ipv4_address', 'server_ipv4_address', 'server_transport_port'].map((f) => ['-e', `cflow.pie.cisco.connection_${f}`]).flat();
  const text = execFileSync(tshark, ['-n', '-r', file, '-d', 'udp.port==2055,cflow', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', ...fields], { encoding: 'utf8' });
  const cols = [[], [], []] as string[][];
  for (const line of text.trim().split('\n')) line.split('\t').forEach((v, i) => cols[i]!.push(...v.split('|')));
  const theirs = cols[0]!.map((c, i) => [c, cols[1]![i], Number(cols[2]![i])]);
  const ours = replay([file]).records.filter((r) => r.extra?.['flow.biflow_direction'] !== 'reverse').map((r) => [r.srcIp, r.dstIp, r.dstPort]);
  assert.ok(theirs.length > 20);
  assert.deepEqual(ours, theirs);
});

test('flowbeat ipt_netflow_v9.pcap: decodes without errors', () => {
  const { records, errors } = replay([join(FLOWBEAT, 'pcap', 'ipt_netflow_v9.pcap')]);
  assert.deepEqual(errors, []);
  assert.ok(records.length > 0);
  assert.ok(records.every((r) => r.srcIp !== '' && r.startTs > 0 && r.endTs >= r.startTs));
});

test('nDPI netflowv9.pcap: data sets without templates are held, none decoded', () => {
  const { records, v9 } = replay([join(TESTDATA, 'ndpi', 'pcap', 'netflowv9.pcap')]);
  assert.equal(records.length, 0);
  // 10 packets carrying 23 data sets (templates 258-263), all held for a template that never comes.
  const d = v9.describe() as { pending: number };
  assert.equal(v9.counters.get('data without template: held'), 23);
  assert.equal(d.pending, 23);
});

test('nDPI netflow-fritz.pcap: FRITZ!Box IPFIX templates and options templates are learnt', () => {
  const { records, ipfix } = replay([join(TESTDATA, 'ndpi', 'pcap', 'netflow-fritz.pcap')]);
  assert.equal(records.length, 0);
  const d = ipfix.describe() as { templates: number; optionsTemplates: number; scopes: { domain: number }[] };
  // One template set (461) and one options template set holding two options templates (466, 467).
  assert.deepEqual([d.templates, d.optionsTemplates, d.scopes[0]!.domain], [1, 2, 262400]);
});

test('IPv4 addresses as numbers (srcIp4, dstIp4) match their text, 128.0.0.0 and above included', () => {
  const dirs = pmacctTests.map((t) => join(PMACCT, t));
  const { records } = replay(dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.pcap')).sort().map((f) => join(d, f))));
  const asNumber = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  let high = 0;
  for (const r of records) {
    if (r.ipVersion !== 4 || r.srcIp === '' || r.dstIp === '') continue;
    assert.equal(r.srcIp4, asNumber(r.srcIp), r.srcIp);
    assert.equal(r.dstIp4, asNumber(r.dstIp), r.dstIp);
    if (r.srcIp4 >= 2 ** 31 || r.dstIp4 >= 2 ** 31) high++;
  }
  assert.ok(high > 0, 'the captures hold addresses of 128.0.0.0 and above');
});

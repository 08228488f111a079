/**
 * Differential test with a real exporter: a pcap of mixed traffic built with scapy (explicit MACs,
 * written to a file, never sent) is exported by softflowd as NetFlow v9 and IPFIX to a UDP socket
 * on loopback; the export is saved as a pcap and decoded both by us and by tshark, and the flows
 * must agree on addresses, ports, protocol, bytes, packets and start/end times.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needTool } from './helpers/tools.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';

const SCAPY = `
import sys
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, Raw, wrpcap
A = '02:00:00:00:00:01'; B = '02:00:00:00:00:02'
pk = []
t = [1700000000.0]
def add(p, dt=0.01):
    t[0] += dt
    p.time = t[0]
    pk.append(p)
for i in range(6):
    sp = 40000 + i
    add(Ether(src=A, dst=B)/IP(src='10.0.0.1', dst='192.0.2.%d' % (10 + i))/TCP(sport=sp, dport=443, flags='S'))
    add(Ether(src=B, dst=A)/IP(src='192.0.2.%d' % (10 + i), dst='10.0.0.1')/TCP(sport=443, dport=sp, flags='SA'))
    for j in range(i + 1):
        add(Ether(src=A, dst=B)/IP(src='10.0.0.1', dst='192.0.2.%d' % (10 + i))/TCP(sport=sp, dport=443, flags='PA')/Raw(b'x' * (100 * j + 10)), 0.2)
    add(Ether(src=A, dst=B)/IP(src='10.0.0.1', dst='192.0.2.%d' % (10 + i))/TCP(sport=sp, dport=443, flags='FA'))
for i in range(4):
    add(Ether(src=A, dst=B)/IP(src='10.0.0.2', dst='198.51.100.53')/UDP(sport=5353 + i, dport=53)/Raw(b'q' * (20 + i)))
    add(Ether(src=B, dst=A)/IP(src='198.51.100.53', dst='10.0.0.2')/UDP(sport=53, dport=5353 + i)/Raw(b'r' * (60 + i)))
for i in range(3):
    add(Ether(src=A, dst=B)/IP(src='10.0.0.3', dst='203.0.113.7')/ICMP(type=8, id=7, seq=i)/Raw(b'p' * 56), 1.0)
for i in range(3):
    add(Ether(src=A, dst=B)/IPv6(src='2001:db8::1', dst='2001:db8:1::%x' % (i + 1))/UDP(sport=6000 + i, dport=123)/Raw(b'n' * 48))
    add(Ether(src=A, dst=B)/IPv6(src='2001:db8::1', dst='2001:db8:1::%x' % (i + 1))/TCP(sport=7000 + i, dport=22, flags='PA')/Raw(b's' * 64), 0.5)
wrpcap(sys.argv[1], pk)
`;
import { tempDir } from './helpers/collect.js';
import { exportWithSoftflowd, toPcap } from './helpers/softflowd.js';

interface Flow { src: string; dst: string; sport: number; dport: number; proto: number; icmp: number; bytes: number; packets: number; start: number; end: number }

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** tshark's absolute time text, e.g. "Nov 14, 2023 22:13:20.010000000 UTC", as epoch ms. */
function tsharkTime(s: string): number {
  const m = /^(\w{3})\s+(\d+), (\d{4}) (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(s);
  assert.ok(m, `time ${s}`);
  return Date.UTC(Number(m[3]), MONTHS.indexOf(m[1]!), Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
}

/** tshark's decode of the export: data flows with absolute times (ms). */
function tsharkFlows(tshark: string, pcap: string, port: number): Flow[] {
  const json = JSON.parse(execFileSync(tshark, ['-r', pcap, '-d', `udp.port==${port},cflow`, '-T', 'json'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString()) as { _source: { layers: { cflow: Record<string, unknown> } } }[];
  const flows: Flow[] = [];
  let sysInit = 0;
  for (const pkt of json) {
    const cf = pkt._source.layers.cflow;
    const unixMs = Number((cf['cflow.timestamp_tree'] as Record<string, string>)['cflow.unix_secs'] ?? (cf['cflow.timestamp_tree'] as Record<string, string>)['cflow.exporttime']) * 1000;
    const upMs = cf['cflow.sysuptime'] === undefined ? -1 : Math.round(Number(cf['cflow.sysuptime']) * 1000);
    for (const [k, set] of Object.entries(cf)) {
      if (!k.includes('flows)')) continue;
      for (const [fk, f] of Object.entries(set as Record<string, Record<string, unknown>>)) {
        if (!fk.startsWith('Flow ')) continue;
        if (typeof f['cflow.sys_init_time'] === 'string') sysInit = tsharkTime(f['cflow.sys_init_time']);
        const src = (f['cflow.srcaddr'] ?? f['cflow.srcaddrv6']) as string | undefined;
        if (src === undefined) continue; // options record
        const tt = f['cflow.timedelta_tree'] as Record<string, string>;
        // Relative (uptime) times: v9 anchors them at the header's (unix_secs, sysUptime) (RFC 3954
        // §5.1), IPFIX at systemInitTimeMilliseconds from options data. Absolute times (-A) as shown.
        // tshark shows an uptime of exactly 0 as an absolute time at the epoch.
        const abs = (rel: string | undefined, absText: string | undefined): number => {
          const a = absText === undefined ? NaN : tsharkTime(absText);
          if (a > 0) return a;
          const t = rel !== undefined ? Math.round(Number(rel) * 1000) : a === 0 ? 0 : NaN;
          return upMs >= 0 ? unixMs - (upMs - t) : sysInit + t;
        };
        flows.push({
          src, dst: (f['cflow.dstaddr'] ?? f['cflow.dstaddrv6']) as string, sport: Number(f['cflow.srcport'] ?? 0), dport: Number(f['cflow.dstport'] ?? 0),
          proto: Number(f['cflow.protocol']), icmp: Number(f['cflow.icmp_type_code_ipv4'] ?? f['cflow.icmp_type_code_ipv6'] ?? 0), bytes: Number(f['cflow.octets']), packets: Number(f['cflow.packets']),
          start: abs(tt['cflow.timestart'], tt['cflow.abstimestart']), end: abs(tt['cflow.timeend'], tt['cflow.abstimeend']),
        });
      }
    }
  }
  return flows;
}

function ourFlows(pcap: string): { flows: Flow[]; records: FlowRecord[] } {
  const opts = { templateLifetimeS: 86400, pendingMax: 64, pendingTimeoutS: 60, stateDir: '' };
  const v9 = new Netflow9Decoder(opts), ipfix = new IpfixDecoder(opts);
  const records: FlowRecord[] = [];
  for (const dg of readUdpDatagrams(readFileSync(pcap))) {
    const dec = dg.payload.readUInt16BE(0) === 9 ? v9 : ipfix;
    dec.decode(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: dg.ts }, records);
    dec.drainReleased(records);
  }
  return {
    records,
    flows: records.map((r) => ({ src: r.srcIp, dst: r.dstIp, sport: r.srcPort, dport: r.dstPort, proto: r.proto, icmp: r.icmpType * 256 + r.icmpCode, bytes: r.bytes, packets: r.packets, start: r.startTs, end: r.endTs })),
  };
}

const sortFlows = (a: Flow[]) => [...a].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

// Uptime-relative times (v9 FIRST/LAST_SWITCHED, IPFIX flowStart/EndSysUpTime) and softflowd's
// absolute forms (-A: flowStart/EndMilliseconds 152/153, Microseconds 154/155 and Nanoseconds
// 156/157 in NTP format).
const MODES: [string, string[], string][] = [
  ['9', [], 'NetFlow v9'], ['10', [], 'IPFIX'], ['9', ['-A', 'milli'], 'NetFlow v9 absolute ms'],
  ['10', ['-A', 'milli'], 'IPFIX absolute ms'], ['10', ['-A', 'micro'], 'IPFIX NTP microseconds'], ['10', ['-A', 'nano'], 'IPFIX NTP nanoseconds'],
];

for (const [version, extra, label] of MODES) {
  test(`softflowd ${label} export: our records equal tshark's decode`, async (t) => {
    const softflowd = needTool(t, 'softflowd');
    const tshark = needTool(t, 'tshark');
    const python = needTool(t, 'python3');
    if (softflowd === null || tshark === null || python === null) return;
    const dir = tempDir('ufc-softflowd-');
    const input = join(dir, 'traffic.pcap');
    writeFileSync(join(dir, 'gen.py'), SCAPY);
    execFileSync(python, [join(dir, 'gen.py'), input], { timeout: 60_000, stdio: 'ignore' });
    const { port, datagrams } = await exportWithSoftflowd(softflowd, input, version, extra, dir);
    assert.ok(datagrams.length > 0, 'softflowd exported nothing');
    const exportPcap = join(dir, `export-v${version}${extra.join('')}.pcap`);
    writeFileSync(exportPcap, toPcap(datagrams, port));

    const theirs = tsharkFlows(tshark, exportPcap, port);
    const { flows, records } = ourFlows(exportPcap);
    // 6 TCP connections (2 directions), 4 DNS exchanges (2 directions), 1 ping, 3+3 IPv6 flows.
    assert.ok(theirs.length >= 20, `tshark decoded ${theirs.length} flows`);
    assert.deepEqual(sortFlows(flows), sortFlows(theirs));
    // Times are in the capture's time frame (2023-11-14), not the export's wall clock; the v9 header
    // carries whole seconds only, so its anchor can be up to a second early.
    for (const r of records) {
      assert.ok(r.startTs >= 1699999999000 && r.endTs >= r.startTs && r.endTs < 1700000100000, `times ${r.startTs}..${r.endTs}`);
      assert.equal(r.exportVersion, Number(version));
    }
  });
}

/**
 * Community ID end to end: a generated capture of mixed TCP/UDP/ICMP/ICMPv6 traffic is exported
 * by a real exporter (softflowd, NetFlow v9 and v5) to a loopback socket, run through our decoders
 * and enricher chain, and every flow.community.id is compared with what tshark's communityid
 * post-dissector computes per packet on the original capture.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needTool } from './helpers/tools.js';
import { CaptureOutput, tempDir, testConfig, until } from './helpers/collect.js';
import { createDecoders } from '../src/decode/registry.js';
import { createEnrichers } from '../src/enrich/chain.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { toDocument } from '../src/record/fields.js';

// Explicit MACs, written to a file only (scapy never sends or resolves here). No tunnels: for GRE
// and other encapsulations tshark hashes the inner packet while a flow exporter reports the outer
// one, and the spec leaves nesting undefined.
const GEN_PCAP = String.raw`
import sys
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, Raw, wrpcap
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6DestUnreach
E = dict(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
R = dict(src='02:00:00:00:00:02', dst='02:00:00:00:00:01')
pk = []
t = [1700000000.0]
def add(p):
    t[0] += 0.01
    p.time = t[0]
    pk.append(p)
c4, s4 = '10.1.2.3', '93.184.216.34'
add(Ether(**E)/IP(src=c4, dst=s4)/TCP(sport=40001, dport=80, flags='S', seq=1))
add(Ether(**R)/IP(src=s4, dst=c4)/TCP(sport=80, dport=40001, flags='SA', seq=100, ack=2))
add(Ether(**E)/IP(src=c4, dst=s4)/TCP(sport=40001, dport=80, flags='PA', seq=2, ack=101)/Raw(b'GET / HTTP/1.0\r\n\r\n'))
add(Ether(**R)/IP(src=s4, dst=c4)/TCP(sport=80, dport=40001, flags='FA', seq=101, ack=20))
add(Ether(**E)/IP(src=c4, dst='5.6.7.8')/TCP(sport=80, dport=80, flags='S'))
add(Ether(**E)/IP(src='192.168.7.7', dst='1.1.1.1')/UDP(sport=53001, dport=53)/Raw(b'\x12\x34' + b'\x00' * 10))
add(Ether(**R)/IP(src='1.1.1.1', dst='192.168.7.7')/UDP(sport=53, dport=53001)/Raw(b'\x12\x34\x80' + b'\x00' * 9))
add(Ether(**E)/IP(src='100.64.1.1', dst='5.6.7.8')/UDP(sport=5060, dport=5060)/Raw(b'x'))
add(Ether(**E)/IP(src=c4, dst='8.8.8.8')/ICMP(type=8, code=0, id=7, seq=1))
add(Ether(**R)/IP(src='8.8.8.8', dst=c4)/ICMP(type=0, code=0, id=7, seq=1))
add(Ether(**E)/IP(src=c4, dst='8.8.4.4')/ICMP(type=13, code=0))
add(Ether(**R)/IP(src='172.16.0.1', dst=c4)/ICMP(type=3, code=1)/IP(src=c4, dst='9.9.9.9')/UDP(sport=1234, dport=4321))
add(Ether(**R)/IP(src='198.51.100.1', dst=c4)/ICMP(type=11, code=0)/IP(src=c4, dst='9.9.9.9')/UDP(sport=1234, dport=33434))
c6, s6 = '2001:db8::10', '2606:4700::1111'
add(Ether(**E)/IPv6(src=c6, dst=s6)/TCP(sport=50123, dport=443, flags='S'))
add(Ether(**R)/IPv6(src=s6, dst=c6)/TCP(sport=443, dport=50123, flags='SA'))
add(Ether(**E)/IPv6(src=c6, dst=s6)/UDP(sport=60000, dport=123)/Raw(b'\x23' + b'\x00' * 47))
add(Ether(**E)/IPv6(src=c6, dst=s6)/ICMPv6EchoRequest(id=1, seq=1))
add(Ether(**R)/IPv6(src=s6, dst=c6)/ICMPv6EchoReply(id=1, seq=1))
add(Ether(**E)/IPv6(src='fe80::1', dst='ff02::1:ff00:2')/ICMPv6ND_NS(tgt='fe80::2'))
add(Ether(**R)/IPv6(src='fe80::2', dst='fe80::1')/ICMPv6ND_NA(tgt='fe80::2'))
add(Ether(**R)/IPv6(src='2001:db8::1', dst=c6)/ICMPv6DestUnreach(code=4)/IPv6(src=c6, dst=s6)/UDP(sport=1, dport=2))
wrpcap(sys.argv[1], pk)
`;

function makePcap(dir: string): string {
  const script = join(dir, 'gen.py');
  const pcap = join(dir, 'mixed.pcap');
  writeFileSync(script, GEN_PCAP);
  execFileSync('/usr/bin/python3', [script, pcap], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  return pcap;
}

/** Per packet: [address family, Community ID] from tshark's communityid post-dissector. */
function tsharkIds(tshark: string, pcap: string): Array<{ v6: boolean; id: string }> {
  const out = execFileSync(tshark, ['-n', '-r', pcap, '--enable-protocol', 'communityid', '-T', 'fields', '-e', 'ipv6.src', '-e', 'communityid'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return out.trimEnd().split('\n').map((l) => { const [v6, id] = l.split('\t'); return { v6: v6 !== '', id: id! }; });
}

/** softflowd exports the capture to a loopback socket; our pipeline takes every datagram. */
async function exportAndCollect(softflowd: string, pcap: string, version: 5 | 9): Promise<CaptureOutput> {
  const config = testConfig();
  const capture = new CaptureOutput();
  const enrichers = createEnrichers({ config, dataDir: config.EF_DATA_DIR });
  for (const e of enrichers) await e.start?.();
  const pipeline = new Pipeline(createDecoders({ config, stateDir: config.EF_DATA_DIR }), enrichers, [capture]);
  const sock = createSocket('udp4');
  let datagrams = 0;
  let last = Date.now();
  sock.on('message', (msg, rinfo) => { datagrams++; last = Date.now(); pipeline.handle(msg, { exporterIp: rinfo.address, exporterPort: rinfo.port, receivedAt: Date.now() }); });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
  const port = sock.address().port;
  await new Promise<void>((res, rej) => execFile(softflowd, ['-d', '-r', pcap, '-n', `127.0.0.1:${port}`, '-v', String(version)], { timeout: 20_000 }, (err) => (err ? rej(err) : res())));
  // Drain: stop when nothing has arrived for 300 ms, and never wait more than 5 s.
  await until(() => datagrams > 0 && Date.now() - last >= 300, 5000);
  sock.close();
  for (const e of enrichers) await e.stop?.();
  assert.ok(datagrams > 0, `softflowd sent no datagrams to port ${port}`);
  return capture;
}

async function agree(t: TestContext, version: 5 | 9): Promise<void> {
  const tshark = needTool(t, 'tshark');
  const softflowd = needTool(t, 'softflowd');
  if (tshark === null || softflowd === null) return;
  const dir = tempDir('ufc-cid-');
  const pcap = makePcap(dir);
  const theirs = tsharkIds(tshark, pcap).filter((p) => version === 9 || !p.v6);
  const theirSet = new Set(theirs.map((p) => p.id));
  assert.ok(theirSet.size >= (version === 9 ? 14 : 8), `tshark gave ${theirSet.size} distinct IDs`);
  const capture = await exportAndCollect(softflowd, pcap, version);
  const flows = capture.records.filter((r) => r.kind === 'flow');
  assert.ok(flows.length >= theirSet.size, `${flows.length} flow records for ${theirSet.size} IDs`);
  const ours = new Set<string>();
  for (const r of flows) {
    const doc = toDocument(r, { ecs: false, timestampSource: 'collect' });
    const id = doc['flow.community.id'];
    assert.equal(typeof id, 'string', `flow ${r.srcIp} -> ${r.dstIp} proto ${r.proto} has an ID`);
    assert.ok(theirSet.has(id as string), `${r.srcIp}:${r.srcPort} -> ${r.dstIp}:${r.dstPort} proto ${r.proto} icmp ${r.icmpType}/${r.icmpCode}: ${String(id)} not among tshark's`);
    ours.add(id as string);
  }
  for (const id of theirSet) assert.ok(ours.has(id), `tshark's ${id} has no flow record`);
  t.diagnostic(`NetFlow v${version}: ${flows.length} flow records, ${ours.size} distinct Community IDs, all equal to tshark's`);
}

test('Community ID agrees with tshark on softflowd NetFlow v9 export (IPv4 and IPv6)', async (t) => agree(t, 9));
test('Community ID agrees with tshark on softflowd NetFlow v5 export (IPv4)', async (t) => agree(t, 5));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { needTool, TESTDATA } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const V5 = join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap');

test('classic pcap, Ethernet: payload, addresses and ports', () => {
  const dgs = [...readUdpDatagrams(readFileSync(V5))];
  assert.equal(dgs.length, 1);
  assert.equal(dgs[0]!.payload.readUInt16BE(0), 5);
  assert.equal(dgs[0]!.payload.length, 24 + 29 * 48);
});

test('pcapng and nanosecond pcap (editcap) read the same datagrams', (t) => {
  const editcap = needTool(t, 'editcap') ?? needTool(t, 'tshark');
  if (editcap === null) return;
  const dir = tempDir('ufc-pcap-');
  const ng = join(dir, 'x.pcapng');
  const ns = join(dir, 'x-ns.pcap');
  execFileSync('/usr/bin/editcap', ['-F', 'pcapng', V5, ng]);
  execFileSync('/usr/bin/editcap', ['-F', 'nsecpcap', V5, ns]);
  const want = [...readUdpDatagrams(readFileSync(V5))];
  for (const f of [ng, ns]) {
    const got = [...readUdpDatagrams(readFileSync(f))];
    assert.equal(got.length, want.length);
    assert.deepEqual(got.map((d) => [d.srcIp, d.dstIp, d.srcPort, d.dstPort, d.payload.toString('hex'), Math.round(d.ts)]),
      want.map((d) => [d.srcIp, d.dstIp, d.srcPort, d.dstPort, d.payload.toString('hex'), Math.round(d.ts)]));
  }
});

test('raw IP, Linux cooked, 802.1Q, IPv6 and IPv4 fragments (scapy-built captures)', (t) => {
  if (needTool(t, 'python3') === null) return;
  const dir = tempDir('ufc-pcap-');
  // scapy only writes files here: explicit MACs, nothing is sent or resolved.
  const script = `
from scapy.all import Ether, Dot1Q, IP, IPv6, UDP, TCP, Raw, CookedLinux, wrpcap, fragment
big = bytes(range(256)) * 12
pkts_eth = [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/Dot1Q(vlan=7)/IP(src='198.51.100.1', dst='203.0.113.9')/UDP(sport=1111, dport=2055)/Raw(b'vlan-payload'),
            Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IPv6(src='2001:db8::1', dst='2001:db8::2')/UDP(sport=2222, dport=4739)/Raw(b'v6-payload'),
            Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='198.51.100.1', dst='203.0.113.9')/TCP(sport=1, dport=2)/Raw(b'not-udp')]
frags = fragment(IP(src='198.51.100.7', dst='203.0.113.9', id=4242)/UDP(sport=3333, dport=6343)/Raw(big), fragsize=1000)
pkts_eth += [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/f for f in frags]
wrpcap('${dir}/eth.pcap', pkts_eth)
wrpcap('${dir}/raw.pcap', [IP(src='192.0.2.5', dst='192.0.2.6')/UDP(sport=5, dport=6)/Raw(b'raw-ip')], linktype=101)
wrpcap('${dir}/sll.pcap', [CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b'\\x02\\x00\\x00\\x00\\x00\\x01\\x00\\x00', proto=0x0800)/IP(src='192.0.2.7', dst='192.0.2.8')/UDP(sport=7, dport=8)/Raw(b'sll')], linktype=113)
`;
  execFileSync('/usr/bin/python3', ['-c', script]);
  const eth = [...readUdpDatagrams(readFileSync(join(dir, 'eth.pcap')))];
  assert.deepEqual(eth.map((d) => [d.srcIp, d.dstIp, d.srcPort, d.dstPort]), [
    ['198.51.100.1', '203.0.113.9', 1111, 2055],
    ['2001:db8::1', '2001:db8::2', 2222, 4739],
    ['198.51.100.7', '203.0.113.9', 3333, 6343],
  ]);
  assert.equal(eth[0]!.payload.toString(), 'vlan-payload');
  assert.equal(eth[1]!.payload.toString(), 'v6-payload');
  const big = Buffer.alloc(256 * 12);
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
  assert.ok(eth[2]!.payload.equals(big), 'fragments reassembled');
  const raw = [...readUdpDatagrams(readFileSync(join(dir, 'raw.pcap')))];
  assert.deepEqual([raw[0]!.srcIp, raw[0]!.payload.toString()], ['192.0.2.5', 'raw-ip']);
  const sll = [...readUdpDatagrams(readFileSync(join(dir, 'sll.pcap')))];
  assert.deepEqual([sll[0]!.srcIp, sll[0]!.dstPort, sll[0]!.payload.toString()], ['192.0.2.7', 8, 'sll']);
});

test('garbage is a clear error', () => {
  assert.throws(() => [...readUdpDatagrams(Buffer.from('this is not a capture file at all'))], /not a pcap file/);
});

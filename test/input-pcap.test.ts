import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader, readUdpDatagrams, type CaptureCounts, type UdpDatagram } from '../src/input/pcap.js';
import { needTool, TESTDATA } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';
import { eth, ipv4Udp, pcap, udpBytes } from './helpers/capture.js';

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

// Captures built byte by byte (helpers/capture.ts), so each case holds exactly the packets it names.

/** An IPv6 packet carrying `body` after a fragment header (RFC 8200 section 4.5). */
function ipv6Fragment(id: number, off: number, more: boolean, next: number, body: Buffer): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(8 + body.length, 4);
  ip[6] = 44;
  ip[7] = 64;
  Buffer.from('20010db8000000000000000000000001', 'hex').copy(ip, 8);
  Buffer.from('20010db8000000000000000000000002', 'hex').copy(ip, 24);
  const fh = Buffer.alloc(8);
  fh[0] = next;
  fh.writeUInt16BE((off / 8) << 3 | (more ? 1 : 0), 2);
  fh.writeUInt32BE(id, 4);
  return Buffer.concat([ip, fh, body]);
}

function counted(buf: Buffer): { dgs: UdpDatagram[]; counts: CaptureCounts } {
  let counts: CaptureCounts | undefined;
  const dgs = readUdpDatagrams(buf, (c) => (counts = c));
  return { dgs, counts: counts! };
}

const PAYLOAD = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));

test('fed in pieces of any size, a capture reads the same as whole', () => {
  const file = pcap([
    { data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('one'))) },
    { data: eth(ipv4Udp('192.0.2.2', '192.0.2.9', 2055, PAYLOAD.subarray(0, 1400))) },
    { data: eth(ipv4Udp('192.0.2.3', '192.0.2.9', 4739, Buffer.from('three'))) },
  ]);
  const whole = readUdpDatagrams(file).map((d) => [d.srcIp, d.payload.toString('hex'), d.ts]);
  assert.equal(whole.length, 3);
  for (const size of [1, 3, 7, 100, 1500]) {
    const got: UdpDatagram[] = [];
    const r = new CaptureReader((d) => got.push(d));
    for (let o = 0; o < file.length; o += size) r.push(file.subarray(o, o + size));
    r.end();
    assert.deepEqual(got.map((d) => [d.srcIp, d.payload.toString('hex'), d.ts]), whole, `pieces of ${size}`);
    assert.equal(r.counts.trailingBytes, 0);
  }
});

test('a frame cut inside its IPv4 header is counted and skipped; the packets after it are read', () => {
  const good = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('after')));
  for (const keep of [15, 16, 17, 20, 33]) {
    const { dgs, counts } = counted(pcap([{ data: good.subarray(0, keep), orig: good.length }, { data: good }]));
    assert.deepEqual(dgs.map((d) => d.payload.toString()), ['after'], `frame of ${keep} bytes`);
    assert.equal(counts.truncated, 1, `frame of ${keep} bytes`);
  }
  const raw = counted(pcap([{ data: Buffer.from([0x45]) }, { data: ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('raw')) }], 101));
  assert.deepEqual(raw.dgs.map((d) => d.payload.toString()), ['raw']);
  assert.equal(raw.counts.truncated, 1);
});

test('IPv4 fragments: a repeated fragment does not complete the datagram early; what never completes is counted', () => {
  const udp = udpBytes(2055, PAYLOAD);
  const frag = (off: number, len: number) => eth(ipv4Udp('192.0.2.7', '192.0.2.9', 2055, Buffer.alloc(0), { id: 99, off, more: off + len < udp.length, data: udp.subarray(off, off + len) }));
  // Last, first, first again, second, third: whole only once the third arrives.
  const { dgs, counts } = counted(pcap([{ data: frag(2400, udp.length - 2400) }, { data: frag(0, 800) }, { data: frag(0, 800) }, { data: frag(800, 800) }, { data: frag(1600, 800) }]));
  assert.equal(dgs.length, 1);
  assert.ok(dgs[0]!.payload.equals(PAYLOAD), 'reassembled payload equals the sent one');
  assert.equal(counts.fragmentsIncomplete, 0);
  // A fragment repeated after its datagram was whole is a repeat, not the start of another datagram.
  const again = counted(pcap([{ data: frag(0, 800) }, { data: frag(800, 800) }, { data: frag(1600, 800) }, { data: frag(2400, udp.length - 2400) }, { data: frag(800, 800) }]));
  assert.deepEqual([again.dgs.length, again.counts.fragmentsIncomplete], [1, 0]);
  const lost = counted(pcap([{ data: frag(0, 800) }, { data: frag(1600, 800) }, { data: frag(2400, udp.length - 2400) }]));
  assert.equal(lost.dgs.length, 0);
  assert.equal(lost.counts.fragmentsIncomplete, 1);
});

test('IPv6 fragments are reassembled', () => {
  const udp = udpBytes(4739, PAYLOAD);
  const frames = [[1448, udp.length - 1448, false], [0, 1448, true]].map(([off, len, more]) =>
    ({ data: eth(ipv6Fragment(7, off as number, more as boolean, 17, udp.subarray(off as number, (off as number) + (len as number))), 0x86dd) }));
  const { dgs, counts } = counted(pcap(frames));
  assert.equal(dgs.length, 1);
  assert.deepEqual([dgs[0]!.srcIp, dgs[0]!.dstPort], ['2001:db8::1', 4739]);
  assert.ok(dgs[0]!.payload.equals(PAYLOAD));
  assert.equal(counts.fragmentsIncomplete, 0);
});

test('link type field with the FCS bits set is still Ethernet', () => {
  const { dgs } = counted(pcap([{ data: Buffer.concat([eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('fcs'))), Buffer.alloc(4)]) }], 0x44000001));
  assert.deepEqual(dgs.map((d) => d.payload.toString()), ['fcs']);
});

test('what is not a UDP datagram is counted by kind: not IP, not UDP, cut by the snapshot length, file cut short', () => {
  const arp = eth(Buffer.alloc(28), 0x0806);
  const tcp = Buffer.from(eth(ipv4Udp('192.0.2.1', '192.0.2.9', 80, Buffer.from('x'))));
  tcp[14 + 9] = 6;
  const big = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, PAYLOAD.subarray(0, 1000)));
  const file = pcap([{ data: arp }, { data: tcp }, { data: big.subarray(0, 200), orig: big.length }, { data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('ok'))) }]);
  const { dgs, counts } = counted(file.subarray(0, file.length - 5));
  assert.equal(dgs.length, 0);
  assert.deepEqual(counts, { frames: 3, notIp: 1, notUdp: 1, truncated: 1, fragmentsIncomplete: 0, trailingBytes: 16 + 14 + 20 + 8 + 2 - 5 });
});

test('pcapng: Obsolete Packet Blocks are read, and a Simple Packet Block takes the time of the packet before it', () => {
  const block = (type: number, body: Buffer): Buffer => {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const b = Buffer.alloc(12 + padded.length);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(b.length, 4);
    padded.copy(b, 8);
    b.writeUInt32LE(b.length, b.length - 4);
    return b;
  };
  const shb = block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'));
  const idb = block(1, Buffer.from('0100000000000000', 'hex')); // Ethernet, snaplen 0, no options: microseconds
  const packet = (type: 2 | 6, us: number, data: Buffer): Buffer => {
    const h = Buffer.alloc(20);
    if (type === 2) h.writeUInt16LE(0, 0); else h.writeUInt32LE(0, 0);
    h.writeUInt32LE(Math.floor(us / 2 ** 32), 4);
    h.writeUInt32LE(us % 2 ** 32, 8);
    h.writeUInt32LE(data.length, 12);
    h.writeUInt32LE(data.length, 16);
    return block(type, Buffer.concat([h, data]));
  };
  const spbData = eth(ipv4Udp('192.0.2.3', '192.0.2.9', 2055, Buffer.from('spb')));
  const spbHead = Buffer.alloc(4);
  spbHead.writeUInt32LE(spbData.length, 0);
  const file = Buffer.concat([shb, idb,
    packet(6, 1_700_000_000_000_000, eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('epb')))),
    packet(2, 1_700_000_001_000_000, eth(ipv4Udp('192.0.2.2', '192.0.2.9', 2055, Buffer.from('opb')))),
    block(3, Buffer.concat([spbHead, spbData])),
  ]);
  const dgs = readUdpDatagrams(file);
  assert.deepEqual(dgs.map((d) => [d.payload.toString(), d.srcIp, d.ts]), [
    ['epb', '192.0.2.1', 1_700_000_000_000], ['opb', '192.0.2.2', 1_700_000_001_000], ['spb', '192.0.2.3', 1_700_000_001_000],
  ]);
});

test('a damaged record length is an error naming its offset, not a wait for the rest of the file', () => {
  const good = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('x')));
  const file = pcap([{ data: good }, { data: good }]);
  file.writeUInt32LE(0x7fff0000, 24 + 16 + good.length + 8); // the second record's captured length
  const r = new CaptureReader(() => {});
  assert.throws(() => {
    for (let o = 0; o < file.length; o += 7) r.push(file.subarray(o, o + 7));
  }, new RegExp(`packet record at byte ${24 + 16 + good.length} has an impossible length 2147418112: the file is damaged`));
});

test('a record longer than a piece is joined once, not copied again for every piece', () => {
  const big = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.alloc(60_000, 7)));
  const file = pcap([{ data: big }]);
  const got: UdpDatagram[] = [];
  const r = new CaptureReader((d) => got.push(d));
  const concat = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], n?: number) => {
    const b = concat(list, n);
    copied += b.length;
    return b;
  }) as typeof Buffer.concat;
  try {
    for (let o = 0; o < file.length; o += 100) r.push(file.subarray(o, o + 100));
  } finally {
    Buffer.concat = concat;
  }
  r.end();
  assert.equal(got.length, 1);
  assert.equal(got[0]!.payload.length, 60_000);
  assert.ok(copied < 2 * file.length, `copied ${copied} bytes for a ${file.length}-byte file`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CaptureReader, linkTypeName, readUdpDatagrams, type CaptureCounts, type UdpDatagram } from '../src/input/pcap.js';
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
  assert.throws(() => [...readUdpDatagrams(Buffer.from('this is not a capture file at all'))], /not a pcap or pcapng file/);
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
  assert.deepEqual([counts.fragmentsIncomplete, counts.fragmentsRepeated], [0, 1]);
  // A fragment repeated after its datagram was whole is a repeat, not the start of another datagram.
  const again = counted(pcap([{ data: frag(0, 800) }, { data: frag(800, 800) }, { data: frag(1600, 800) }, { data: frag(2400, udp.length - 2400) }, { data: frag(800, 800) }]));
  assert.deepEqual([again.dgs.length, again.counts.fragmentsIncomplete, again.counts.fragmentsRepeated], [1, 0, 1]);
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
  assert.deepEqual(counts, {
    frames: 3, notIp: 1, unsupportedLinkType: 0, unsupportedLinkTypes: {}, damaged: 0, untimed: 0, notUdp: 1, truncated: 1,
    fragmentsIncomplete: 0, fragmentsRepeated: 0, trailingBytes: 16 + 14 + 20 + 8 + 2 - 5,
  });
});

// pcapng (little-endian) blocks built by hand: draft-ietf-opsawg-pcapng sections 4.1-4.4.
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
/** An Enhanced (6) or Obsolete (2) Packet Block on `iface`, at `units` of the interface's time resolution. */
const packet = (type: 2 | 6, units: number, data: Buffer, iface = 0): Buffer => {
  const h = Buffer.alloc(20);
  if (type === 2) h.writeUInt16LE(iface, 0); else h.writeUInt32LE(iface, 0);
  h.writeUInt32LE(Math.floor(units / 2 ** 32), 4);
  h.writeUInt32LE(units % 2 ** 32, 8);
  h.writeUInt32LE(data.length, 12);
  h.writeUInt32LE(data.length, 16);
  return block(type, Buffer.concat([h, data]));
};
const simplePacket = (data: Buffer): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(data.length, 0);
  return block(3, Buffer.concat([head, data]));
};

test('pcapng: Obsolete Packet Blocks are read, and a Simple Packet Block takes the time of the packet before it', () => {
  const file = Buffer.concat([shb, idb,
    packet(6, 1_700_000_000_000_000, eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('epb')))),
    packet(2, 1_700_000_001_000_000, eth(ipv4Udp('192.0.2.2', '192.0.2.9', 2055, Buffer.from('opb')))),
    simplePacket(eth(ipv4Udp('192.0.2.3', '192.0.2.9', 2055, Buffer.from('spb')))),
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

/** A datagram of `udp` bytes cut in two IPv4 fragments at byte 800, with `id`, at `ts` seconds. */
function twoFragments(udp: Buffer, id: number, ts: number): { data: Buffer; ts: number }[] {
  return [0, 800].map((off) => ({ ts, data: eth(ipv4Udp('192.0.2.7', '192.0.2.9', 2055, Buffer.alloc(0), { id, off, more: off === 0, data: udp.subarray(off, off === 0 ? 800 : udp.length) })) }));
}

test('IPv4 fragments: an IP ID reused within the reassembly window by another datagram (random IDs, OpenBSD pflow) starts a new datagram', () => {
  // 3,000 datagrams of two fragments in 10 s, with IDs from a fixed pseudo-random sequence: many IDs
  // come back within 30 s, and within the last 1,024 datagrams.
  let seed = 12345;
  const frames = [];
  const sent: Buffer[] = [];
  for (let i = 0; i < 3000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const payload = Buffer.alloc(1200, i & 0xff);
    payload.writeUInt32BE(i, 0);
    sent.push(payload);
    frames.push(...twoFragments(udpBytes(2055, payload), seed >> 15, 1_700_000_000 + Math.floor(i / 300)));
  }
  const { dgs, counts } = counted(pcap(frames));
  assert.equal(dgs.length, 3000);
  assert.ok(dgs.every((d, i) => d.payload.equals(sent[i]!)), 'each datagram whole, in order');
  assert.deepEqual([counts.fragmentsIncomplete, counts.fragmentsRepeated], [0, 0]);
});

test('IPv4 fragments: a repeat after the reassembly window starts a new reassembly, which is counted when it never completes', () => {
  const udp = udpBytes(2055, PAYLOAD.subarray(0, 1200));
  const [first, last] = twoFragments(udp, 7, 1_700_000_000);
  const { dgs, counts } = counted(pcap([first!, last!, { ...last!, ts: 1_700_000_040 }]));
  assert.equal(dgs.length, 1);
  assert.deepEqual([counts.fragmentsIncomplete, counts.fragmentsRepeated], [1, 0]);
});

test('fragments: a reassembly older than the window (its last fragment lost) is counted and not merged into a later datagram with the same ID', () => {
  const a = udpBytes(2055, Buffer.alloc(1200, 0xaa));
  const b = udpBytes(2055, Buffer.alloc(1200, 0xbb));
  // A's last fragment was lost; B, 600 s later, reuses A's ID.
  const v4 = counted(pcap([twoFragments(a, 7, 1_700_000_000)[0]!, ...twoFragments(b, 7, 1_700_000_600)]));
  assert.equal(v4.dgs.length, 1);
  assert.ok(v4.dgs[0]!.payload.equals(Buffer.alloc(1200, 0xbb)), 'B whole, none of A in it');
  assert.equal(v4.counts.fragmentsIncomplete, 1);
  // IPv6: 60 s (ip6frag_time); 61 s later is a new datagram.
  const v6 = (udp: Buffer, ts: number) => [[0, 800, true], [800, udp.length - 800, false]].map(([off, len, more]) =>
    ({ ts, data: eth(ipv6Fragment(9, off as number, more as boolean, 17, udp.subarray(off as number, (off as number) + (len as number))), 0x86dd) }));
  const six = counted(pcap([v6(a, 1_700_000_000)[0]!, ...v6(b, 1_700_000_061)]));
  assert.equal(six.dgs.length, 1);
  assert.ok(six.dgs[0]!.payload.equals(Buffer.alloc(1200, 0xbb)));
  assert.equal(six.counts.fragmentsIncomplete, 1);
});

test('fragments: IPv4 reassemblies are given up when their 30 s pass, though an IPv6 one begun before them (60 s) is still open', () => {
  const t0 = 1_700_000_000;
  const udp = udpBytes(2055, PAYLOAD.subarray(0, 1200));
  const v6 = (id: number, off: number, more: boolean) =>
    ({ ts: t0, data: eth(ipv6Fragment(id, off, more, 17, udp.subarray(off, more ? off + 800 : udp.length)), 0x86dd) });
  const got: UdpDatagram[] = [];
  const r = new CaptureReader((d) => got.push(d));
  // At t0: an IPv6 datagram put together, and one whose last fragment is lost; at t0 + 1 an IPv4 datagram
  // put together, at t0 + 2 one whose last fragment is lost; at t0 + 40 another IPv4 datagram.
  r.push(pcap([v6(8, 0, true), v6(8, 800, false), v6(9, 0, true), ...twoFragments(udp, 1, t0 + 1), twoFragments(udp, 2, t0 + 2)[0]!,
    ...twoFragments(udp, 3, t0 + 40)]));
  assert.equal(got.length, 3);
  // Before the end of the file: the IPv4 reassembly and datagram of t0 + 1 and 2 are past their window,
  // the IPv6 ones of t0 are not.
  assert.equal(r.counts.fragmentsIncomplete, 1);
  assert.deepEqual(r.fragmentsHeld, { reassemblies: 1, datagrams: 2 });
  r.end();
  assert.equal(r.counts.fragmentsIncomplete, 2);
});

test('fragments: with capture time going back (pcapng interfaces merged), a reassembly begun before the one read ahead of it is given up when its window passes', () => {
  const t0 = 1_700_000_000;
  const udp = udpBytes(2055, PAYLOAD.subarray(0, 1200));
  const r = new CaptureReader(() => {});
  // One interface at t0 + 10, the other 10 s behind it: a datagram put together and one whose last
  // fragment is lost on each; then, at t0 + 35, a datagram from the first.
  r.push(pcap([...twoFragments(udp, 1, t0 + 10), twoFragments(udp, 2, t0 + 10)[0]!, ...twoFragments(udp, 3, t0), twoFragments(udp, 4, t0)[0]!,
    ...twoFragments(udp, 5, t0 + 35)]));
  assert.equal(r.counts.fragmentsIncomplete, 1);
  assert.deepEqual(r.fragmentsHeld, { reassemblies: 1, datagrams: 2 });
  // Back an hour (a capture of another day appended): what was begun after it is far outside the window too.
  r.push(pcap([twoFragments(udp, 6, t0 - 3600)[0]!]).subarray(24));
  assert.equal(r.counts.fragmentsIncomplete, 2);
  assert.deepEqual(r.fragmentsHeld, { reassemblies: 1, datagrams: 0 });
  r.end();
  assert.equal(r.counts.fragmentsIncomplete, 3);
});

test('a damaged record: the whole packets before it are handed on, in the same piece too, then the error', () => {
  const good = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('x')));
  const file = pcap([{ data: good }, { data: good }, { data: good }]);
  file.writeUInt32LE(0x7fffffff, 24 + 2 * (16 + good.length) + 8); // the third record's captured length
  const got: UdpDatagram[] = [];
  const r = new CaptureReader((d) => got.push(d));
  assert.throws(() => r.push(file), /impossible length 2147483647: the file is damaged/);
  assert.equal(got.length, 2);
  assert.equal(r.counts.frames, 2);
});

test('pcapng: if_tsoffset (IDB option 14, signed seconds) is added to the packets\' times', (t) => {
  // Option 14 of 8 bytes; option 9 (if_tsresol) of 1 byte, 3: milliseconds; end of options.
  const idbWith = (offsetSeconds: bigint): Buffer => {
    const opts = Buffer.alloc(12 + 8 + 4);
    opts.writeUInt16LE(14, 0);
    opts.writeUInt16LE(8, 2);
    opts.writeBigInt64LE(offsetSeconds, 4);
    opts.writeUInt16LE(9, 12);
    opts.writeUInt16LE(1, 14);
    opts[16] = 3;
    return block(1, Buffer.concat([Buffer.from('0100000000000000', 'hex'), opts]));
  };
  const dg = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('x')));
  const file = Buffer.concat([shb, idbWith(1_700_000_000n), idbWith(-3600n),
    packet(6, 1500, dg, 0), packet(2, 1_700_003_600_250, dg, 1), simplePacket(dg)]);
  const dgs = readUdpDatagrams(file);
  assert.deepEqual(dgs.map((d) => d.ts), [1_700_000_001_500, 1_700_000_000_250, 1_700_000_000_250]);
  const tshark = needTool(t, 'tshark');
  if (tshark === null) return;
  const path = join(tempDir('ufc-pcap-'), 'offset.pcapng');
  writeFileSync(path, file);
  // tshark gives the Simple Packet Block no time at all.
  const times = execFileSync(tshark, ['-r', path, '-c', '2', '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.deepEqual(times.trim().split('\n').map((s) => Math.round(Number(s) * 1000)), dgs.slice(0, 2).map((d) => d.ts), 'tshark reads the same times');
});

test('pcapng: a Simple Packet Block before any packet with a time is given the wall clock and counted; after one, that packet\'s time', () => {
  const dg = (s: string) => eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from(s)));
  const before = Date.now();
  const { dgs, counts } = counted(Buffer.concat([shb, idb, simplePacket(dg('first')), packet(6, 1_700_000_000_000_000, dg('epb')), simplePacket(dg('after'))]));
  assert.deepEqual(dgs.map((d) => d.payload.toString()), ['first', 'epb', 'after']);
  assert.ok(dgs[0]!.ts >= before && dgs[0]!.ts <= Date.now(), `first SPB at ${dgs[0]!.ts}, not 1970`);
  assert.deepEqual(dgs.slice(1).map((d) => d.ts), [1_700_000_000_000, 1_700_000_000_000]);
  assert.equal(counts.untimed, 1);
});

test('pcapng: a packet block naming an interface the section does not describe is counted as damaged', () => {
  const dg = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('x')));
  const { dgs, counts } = counted(Buffer.concat([shb, idb, packet(6, 1, dg, 1), packet(2, 1, dg, 5), packet(6, 1, dg, 0)]));
  assert.equal(dgs.length, 1);
  assert.deepEqual([counts.frames, counts.damaged], [3, 2]);
  const noIdb = counted(Buffer.concat([shb, simplePacket(dg)]));
  assert.deepEqual([noIdb.dgs.length, noIdb.counts.damaged], [0, 1]);
});

test('a gzip-compressed capture (.pcap.gz) is read as the capture inside it', () => {
  const gz = readFileSync(join(TESTDATA, 'community-id-spec', 'pcaps', 'combined.pcap.gz'));
  const inside = readUdpDatagrams(gunzipSync(gz));
  assert.ok(inside.length > 0);
  assert.deepEqual(readUdpDatagrams(gz).map((d) => [d.srcIp, d.dstPort, d.payload.toString('hex')]), inside.map((d) => [d.srcIp, d.dstPort, d.payload.toString('hex')]));
});

test('Ethernet with an MPLS label stack: IPv4 and IPv6 under it are read; Ethernet over MPLS is not IP', () => {
  const labels = (...ls: number[]) => Buffer.concat(ls.map((l, i) => {
    const e = Buffer.alloc(4);
    e.writeUInt32BE((l << 12) | (i === ls.length - 1 ? 0x100 : 0) | 64);
    return e;
  }));
  const v4 = ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('mpls4'));
  const v6 = Buffer.from(ipv6Fragment(1, 0, false, 17, udpBytes(4739, Buffer.from('mpls6'))));
  const pseudowire = Buffer.concat([Buffer.alloc(4), eth(v4)]); // control word 0, then an Ethernet frame
  const { dgs, counts } = counted(pcap([
    { data: eth(Buffer.concat([labels(16, 32), v4]), 0x8847) },
    { data: eth(Buffer.concat([labels(100), v6]), 0x8848) },
    { data: eth(Buffer.concat([labels(16, 17), pseudowire]), 0x8847) },
    { data: eth(labels(16, 17).subarray(0, 6), 0x8847) },
  ]));
  assert.deepEqual(dgs.map((d) => [d.srcIp, d.dstPort, d.payload.toString()]), [['192.0.2.1', 2055, 'mpls4'], ['2001:db8::1', 4739, 'mpls6']]);
  assert.deepEqual([counts.notIp, counts.truncated], [1, 1]);
});

test('PPP: with and without the HDLC address and control bytes, with a 1- or 2-byte protocol; a control packet is not IP', () => {
  const v4 = ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('ppp'));
  const v6 = Buffer.from(ipv6Fragment(1, 0, false, 17, udpBytes(4739, Buffer.from('ppp6'))));
  const lcp = Buffer.from('ff03c02101010004', 'hex');
  for (const linkType of [9, 50]) {
    const { dgs, counts } = counted(pcap([
      { data: Buffer.concat([Buffer.from('ff030021', 'hex'), v4]) },
      { data: Buffer.concat([Buffer.from('0021', 'hex'), v4]) },
      { data: Buffer.concat([Buffer.from('21', 'hex'), v4]) },
      { data: Buffer.concat([Buffer.from('ff030057', 'hex'), v6]) },
      { data: lcp },
    ], linkType));
    assert.deepEqual(dgs.map((d) => d.payload.toString()), ['ppp', 'ppp', 'ppp', 'ppp6'], `link type ${linkType}`);
    assert.deepEqual([counts.notIp, counts.unsupportedLinkType], [1, 0]);
  }
});

/** A Linux NFLOG frame: header, a packet-header TLV, a prefix TLV, then the payload TLV, TLV heads in the given order. */
function nflog(ip: Buffer, le: boolean): Buffer {
  const tlv = (type: number, value: Buffer): Buffer => {
    const b = Buffer.alloc(4 + value.length + ((4 - (value.length % 4)) % 4));
    if (le) { b.writeUInt16LE(4 + value.length, 0); b.writeUInt16LE(type, 2); } else { b.writeUInt16BE(4 + value.length, 0); b.writeUInt16BE(type, 2); }
    value.copy(b, 4);
    return b;
  };
  return Buffer.concat([Buffer.from('02000007', 'hex'), tlv(1, Buffer.from('08000300', 'hex')), tlv(10, Buffer.from('pfx\0')), tlv(9, ip)]);
}

/** `pcap` with the file header and record headers in big-endian order. */
function bigEndian(file: Buffer): Buffer {
  const b = Buffer.from(file);
  b.writeUInt32BE(0xa1b2c3d4, 0);
  b.writeUInt16BE(file.readUInt16LE(4), 4);
  b.writeUInt16BE(file.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) b.writeUInt32BE(file.readUInt32LE(o), o);
  for (let o = 24; o < b.length;) {
    for (const f of [0, 4, 8, 12]) b.writeUInt32BE(file.readUInt32LE(o + f), o + f);
    o += 16 + file.readUInt32LE(o + 8);
  }
  return b;
}

test('Linux NFLOG: the packet in the payload TLV is read, TLV heads in the file\'s byte order (as tshark reads them)', (t) => {
  const ip = ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.from('nflog-payload'));
  const le = pcap([{ data: nflog(ip, true) }, { data: Buffer.from('02000007', 'hex') }], 239);
  const be = bigEndian(pcap([{ data: nflog(ip, false) }], 239));
  for (const [name, file] of [['little-endian', le], ['big-endian', be]] as const) {
    const { dgs } = counted(file);
    assert.deepEqual(dgs.map((d) => [d.srcIp, d.dstPort, d.payload.toString()]), [['192.0.2.1', 2055, 'nflog-payload']], name);
  }
  assert.equal(counted(le).counts.notIp, 1, 'an NFLOG frame without a payload TLV');
  const tshark = needTool(t, 'tshark');
  if (tshark === null) return;
  const dir = tempDir('ufc-pcap-');
  for (const [name, file] of [['le', le], ['be', be]] as const) {
    writeFileSync(join(dir, `${name}.pcap`), file);
    const out: string = execFileSync(tshark, ['-r', join(dir, `${name}.pcap`), '-c', '1', '-T', 'fields', '-e', 'udp.dstport', '-e', 'data.data'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(out.trim(), `2055\t${Buffer.from('nflog-payload').toString('hex')}`, name);
  }
});

test('a link type that is not read is counted by type, not as "not IP"', () => {
  const { counts } = counted(pcap([{ data: Buffer.alloc(40) }, { data: Buffer.alloc(40) }], 147));
  assert.deepEqual([counts.frames, counts.notIp, counts.unsupportedLinkType, counts.unsupportedLinkTypes], [2, 0, 2, { 147: 2 }]);
  assert.equal(linkTypeName(147), '147 (LINKTYPE_USER0)');
  assert.equal(linkTypeName(4242), '4242');
});

test('IPv6: an Authentication Header before UDP is skipped', () => {
  const udp = udpBytes(4739, Buffer.from('ah'));
  const ah = Buffer.alloc(24); // RFC 4302: payload length 4 (6 words of 4 bytes, less 2), SPI, sequence, 12-byte ICV
  ah[0] = 17;
  ah[1] = 4;
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(ah.length + udp.length, 4);
  ip[6] = 51;
  ip[7] = 64;
  const { dgs, counts } = counted(pcap([{ data: eth(Buffer.concat([ip, ah, udp]), 0x86dd) }]));
  assert.deepEqual(dgs.map((d) => [d.dstPort, d.payload.toString()]), [[4739, 'ah']]);
  assert.equal(counts.notUdp, 0);
});

test('an IPv6 frame from an IPv4-mapped address (a dual-stack host\'s capture) gives the exporter as IPv4, as the live socket does', () => {
  const udp = udpBytes(4739, Buffer.from('mapped'));
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(udp.length, 4);
  ip[6] = 17;
  ip[7] = 64;
  Buffer.from('00000000000000000000ffffc0000209', 'hex').copy(ip, 8); // ::ffff:192.0.2.9
  Buffer.from('00000000000000000000000000000001', 'hex').copy(ip, 24); // ::1
  const { dgs } = counted(pcap([{ data: eth(Buffer.concat([ip, udp]), 0x86dd) }]));
  assert.equal(dgs.length, 1, 'one datagram');
  assert.equal(dgs[0]!.srcIp, '192.0.2.9', 'the sender unmapped, as udp.ts unmaps the live socket\'s');
  assert.equal(dgs[0]!.payload.toString(), 'mapped', 'the payload');
});

/**
 * Reads UDP datagrams from pcap and pcapng files: Ethernet (with 802.1Q/QinQ tags), raw IP, BSD
 * loopback, Linux cooked v1/v2; IPv4 (fragments reassembled) and IPv6. Everything that is not UDP
 * is skipped. Formats: libpcap (tcpdump.org "pcap" file format) and pcapng (IETF draft-ietf-opsawg-pcapng).
 */
import { readFileSync } from 'node:fs';
import { ipv4At, ipv6At } from '../decode/ip.js';

export interface UdpDatagram {
  /** Capture time, epoch ms. */
  ts: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  payload: Buffer;
}

export class PcapError extends Error {}

const LINKTYPE_NULL = 0, LINKTYPE_ETHERNET = 1, LINKTYPE_RAW_12 = 12, LINKTYPE_RAW_14 = 14, LINKTYPE_RAW = 101,
  LINKTYPE_LOOP = 108, LINKTYPE_LINUX_SLL = 113, LINKTYPE_IPV4 = 228, LINKTYPE_IPV6 = 229, LINKTYPE_LINUX_SLL2 = 276;

interface Frame { ts: number; linkType: number; data: Buffer }

function* pcapFrames(buf: Buffer): Generator<Frame> {
  const magic = buf.readUInt32LE(0);
  let le: boolean, nano: boolean;
  if (magic === 0xa1b2c3d4) { le = true; nano = false; }
  else if (magic === 0xd4c3b2a1) { le = false; nano = false; }
  else if (magic === 0xa1b23c4d) { le = true; nano = true; }
  else if (magic === 0x4d3cb2a1) { le = false; nano = true; }
  else throw new PcapError('not a pcap file');
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off), frac = u32(off + 4), incl = u32(off + 8);
    off += 16;
    if (off + incl > buf.length) break; // truncated last packet
    yield { ts: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), linkType, data: buf.subarray(off, off + incl) };
    off += incl;
  }
}

function* pcapngFrames(buf: Buffer): Generator<Frame> {
  let off = 0;
  let le = true;
  const ifaces: { linkType: number; tsDiv: number }[] = [];
  while (off + 12 <= buf.length) {
    const type = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(off + 8);
      le = bom === 0x1a2b3c4d;
      ifaces.length = 0;
    }
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const len = u32(off + 4);
    if (len < 12 || off + len > buf.length) break;
    if (type === 1) {
      // Interface Description Block: link type, then options (if_tsresol = option 9).
      let tsDiv = 1000; // default microseconds -> ms
      let o = off + 16;
      while (o + 4 <= off + len - 4) {
        const code = u16(o), olen = u16(o + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const v = buf[o + 4]!;
          const perSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
          tsDiv = perSec / 1000;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linkType: u16(off + 8), tsDiv });
    } else if (type === 6) {
      const iface = ifaces[u32(off + 8)];
      const ts = (u32(off + 12) * 2 ** 32 + u32(off + 16));
      const caplen = u32(off + 20);
      if (iface) yield { ts: ts / iface.tsDiv, linkType: iface.linkType, data: buf.subarray(off + 28, off + 28 + caplen) };
    } else if (type === 3) {
      const iface = ifaces[0];
      const caplen = Math.min(u32(off + 8), len - 16);
      if (iface) yield { ts: 0, linkType: iface.linkType, data: buf.subarray(off + 12, off + 12 + caplen) };
    }
    off += len;
  }
}

/** Offset of the IP header in a frame and its version, or null when it is not IP. */
function ipStart(f: Frame): number | null {
  const d = f.data;
  let etherType: number, off: number;
  switch (f.linkType) {
    case LINKTYPE_ETHERNET:
      if (d.length < 14) return null;
      etherType = d.readUInt16BE(12);
      off = 14;
      while ((etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) && off + 4 <= d.length) {
        etherType = d.readUInt16BE(off + 2);
        off += 4;
      }
      return etherType === 0x0800 || etherType === 0x86dd ? off : null;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return 4;
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_12:
    case LINKTYPE_RAW_14:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return 0;
    case LINKTYPE_LINUX_SLL:
      return d.length >= 16 && (d.readUInt16BE(14) === 0x0800 || d.readUInt16BE(14) === 0x86dd) ? 16 : null;
    case LINKTYPE_LINUX_SLL2:
      return d.length >= 20 && (d.readUInt16BE(0) === 0x0800 || d.readUInt16BE(0) === 0x86dd) ? 20 : null;
    default:
      return null;
  }
}

interface Fragments { parts: { off: number; data: Buffer }[]; total: number; ts: number }

/** Yields every UDP datagram in a capture, in file order. */
export function* readUdpDatagrams(buf: Buffer): Generator<UdpDatagram> {
  if (buf.length < 24) throw new PcapError('file too short to be a capture');
  const isNg = buf.readUInt32LE(0) === 0x0a0d0d0a;
  const frames = isNg ? pcapngFrames(buf) : pcapFrames(buf);
  const frags = new Map<string, Fragments>();
  for (const f of frames) {
    const start = ipStart(f);
    if (start === null || start >= f.data.length) continue;
    const d = f.data;
    const version = d[start]! >> 4;
    if (version === 4) {
      const ihl = (d[start]! & 0x0f) * 4;
      const totalLen = d.readUInt16BE(start + 2);
      if (d[start + 9] !== 17 || ihl < 20) continue;
      const end = Math.min(d.length, start + totalLen);
      const flagsFrag = d.readUInt16BE(start + 6);
      const more = (flagsFrag & 0x2000) !== 0;
      const fragOff = (flagsFrag & 0x1fff) * 8;
      const src = ipv4At(d, start + 12), dst = ipv4At(d, start + 16);
      let l4: Buffer = d.subarray(start + ihl, end);
      if (more || fragOff > 0) {
        const key = `${src}|${dst}|${d.readUInt16BE(start + 4)}`;
        let entry = frags.get(key);
        if (!entry) {
          entry = { parts: [], total: -1, ts: f.ts };
          frags.set(key, entry);
        }
        entry.parts.push({ off: fragOff, data: Buffer.from(l4) });
        if (!more) entry.total = fragOff + l4.length;
        const have = entry.parts.reduce((n, p) => n + p.data.length, 0);
        if (entry.total < 0 || have < entry.total) continue;
        frags.delete(key);
        const whole = Buffer.alloc(entry.total);
        for (const p of entry.parts) p.data.copy(whole, p.off);
        l4 = whole;
      }
      const dg = udpOf(l4, src, dst, f.ts);
      if (dg) yield dg;
    } else if (version === 6) {
      if (start + 40 > d.length) continue;
      let next = d[start + 6]!;
      let off = start + 40;
      // Skip hop-by-hop, routing and destination options headers (RFC 8200 section 4).
      while ((next === 0 || next === 43 || next === 60) && off + 8 <= d.length) {
        next = d[off]!;
        off += (d[off + 1]! + 1) * 8;
      }
      if (next !== 17) continue;
      const payloadLen = d.readUInt16BE(start + 4);
      const dg = udpOf(d.subarray(off, Math.min(d.length, start + 40 + payloadLen)), ipv6At(d, start + 8), ipv6At(d, start + 24), f.ts);
      if (dg) yield dg;
    }
  }
}

function udpOf(l4: Buffer, srcIp: string, dstIp: string, ts: number): UdpDatagram | null {
  if (l4.length < 8) return null;
  const udpLen = l4.readUInt16BE(4);
  const end = udpLen >= 8 && udpLen <= l4.length ? udpLen : l4.length;
  return { ts, srcIp, srcPort: l4.readUInt16BE(0), dstIp, dstPort: l4.readUInt16BE(2), payload: l4.subarray(8, end) };
}

export function readPcapFile(path: string): UdpDatagram[] {
  return [...readUdpDatagrams(readFileSync(path))];
}

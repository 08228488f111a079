/**
 * Reads UDP datagrams from pcap and pcapng files: Ethernet (with 802.1Q/QinQ tags and MPLS label
 * stacks), raw IP, BSD loopback, Linux cooked v1/v2, PPP, Linux NFLOG; IPv4 and IPv6, fragments of
 * either reassembled. Everything that is not UDP is skipped and counted. Formats: libpcap (tcpdump.org
 * "pcap" file format) and pcapng (IETF draft-ietf-opsawg-pcapng).
 *
 * `CaptureReader` takes the file in pieces of any size (`push`), so a capture of any length is read in
 * bounded memory; `readUdpDatagrams` is the whole-buffer form the tests and benchmarks use.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ipv4At, ipv6At } from '../decode/ip.js';
import { unmapIPv4 } from '../host-port.js';

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

/** What a capture held besides its UDP datagrams. */
export interface CaptureCounts {
  /** Packets read from the file. */
  frames: number;
  /** Not IPv4/IPv6 (ARP, a PPP control packet, Ethernet over MPLS, ...). */
  notIp: number;
  /** Frames of a link type this reader does not read (counted by type in `unsupportedLinkTypes`). */
  unsupportedLinkType: number;
  /** Those frames by link type (tcpdump.org link-layer header types). */
  unsupportedLinkTypes: Record<number, number>;
  /** pcapng packet blocks naming an interface their section does not describe: skipped. */
  damaged: number;
  /**
   * pcapng Simple Packet Blocks before any packet with a time: they carry none, so they are given the
   * time they are read at (as a collector receiving them would); later ones take the time of the packet before.
   */
  untimed: number;
  /** IP, but not UDP (TCP, ICMP, ...). */
  notUdp: number;
  /** Cut short, by the capture's snapshot length or a damaged header: the datagram is incomplete. */
  truncated: number;
  /**
   * Fragmented datagrams whose fragments did not all arrive within the reassembly window (or were set
   * aside for newer ones).
   */
  fragmentsIncomplete: number;
  /**
   * Fragments seen again (captures repeat packets): a second one at an offset of a datagram being put
   * together (the first is kept), or one byte for byte a part of a datagram put together within the window.
   */
  fragmentsRepeated: number;
  /** Bytes at the end of the file that do not make a whole packet record (a file cut short). */
  trailingBytes: number;
}

const LINKTYPE_NULL = 0, LINKTYPE_ETHERNET = 1, LINKTYPE_PPP = 9, LINKTYPE_RAW_12 = 12, LINKTYPE_RAW_14 = 14,
  LINKTYPE_PPP_HDLC = 50, LINKTYPE_RAW = 101, LINKTYPE_LOOP = 108, LINKTYPE_LINUX_SLL = 113, LINKTYPE_IPV4 = 228,
  LINKTYPE_IPV6 = 229, LINKTYPE_NFLOG = 239, LINKTYPE_LINUX_SLL2 = 276;

/** Names of link types met in captures that this reader does not read, for the warning that names them. */
const LINK_TYPE_NAMES: Record<number, string> = {
  6: 'IEEE802_5', 10: 'FDDI', 51: 'PPP_ETHER', 104: 'C_HDLC', 105: 'IEEE802_11', 119: 'IEEE802_11_PRISM',
  127: 'IEEE802_11_RADIOTAP', 143: 'DOCSIS', 163: 'IEEE802_11_AVS', 192: 'PPI', 204: 'PPP_WITH_DIR',
  220: 'USB_LINUX_MMAPPED', 253: 'NETLINK',
  ...Object.fromEntries(Array.from({ length: 16 }, (_, i) => [147 + i, `USER${i}`])),
};

/** A link type as a warning names it: its number, and its tcpdump.org name when known. */
export function linkTypeName(type: number): string {
  const name = LINK_TYPE_NAMES[type];
  return name === undefined ? `${type}` : `${type} (LINKTYPE_${name})`;
}

/** Fragmented datagrams being put together at once; past this the oldest is given up (and counted). */
const MAX_REASSEMBLIES = 4096;
/**
 * Longest packet record read (pcap): libpcap's and Wireshark's largest snapshot length. A longer one
 * is a damaged file, not a packet to wait for.
 */
const MAX_RECORD = 262_144;
/** Longest pcapng block read: a packet's, or a name resolution or secrets block's, with room to spare. */
const MAX_BLOCK = 16 * 1024 * 1024;
/**
 * How long the fragments of a datagram are waited for, by capture time: Linux's ipfrag_time (30 s) and
 * ip6frag_time (60 s). A reassembly older than that is given up (and counted); a datagram put together
 * is remembered that long, so a repeat of one of its fragments is not taken for a new datagram.
 */
const REASSEMBLY_WINDOW_MS = { 4: 30_000, 6: 60_000 } as const;
/** Datagrams put together that are remembered at most, by count and by bytes; a repeat after these is counted incomplete. */
const RECENTLY_DONE = 4096;
const RECENTLY_DONE_BYTES = 16 * 1024 * 1024;
/** IPv4 and IPv6 (without jumbograms) datagrams end within 64 KiB. */
const MAX_DATAGRAM = 65_535;

/** A packet's bytes; `le`: the byte order of the file (or pcapng section), which NFLOG's TLV headers are in. */
interface Frame { ts: number; linkType: number; data: Buffer; le: boolean }

/** What `ipStart` returns for a frame that holds no IP packet, and for a link type not read. */
const NOT_IP = -1, UNSUPPORTED = -2;

interface Reassembly {
  /** Capture time of its first fragment read; the rest is waited for a window from it. */
  begun: number;
  /** Fragment data by offset; a repeated offset keeps its first copy. */
  parts: Map<number, Buffer>;
  /** Length of the whole payload, known once the last fragment is seen. */
  total: number;
  /** IPv6: the header that follows the fragment header (taken from the first fragment). */
  next: number;
}

/** A datagram put together, remembered for the repeats of its fragments. */
interface Done { begun: number; whole: Buffer }

/**
 * Entries of one IP version's window, each given up when capture time is further than the window from
 * when it was begun. The window being constant, insertion order is expiry order while capture time moves
 * forward, and a sweep stops at the first entry still within it. Capture time goes back when pcapng
 * interfaces are merged (or captures appended): an entry begun before one already held, or held ones
 * begun further ahead than the window, make the next sweep that may find them expired read every entry.
 */
class WindowedMap<V extends { begun: number }> {
  readonly entries = new Map<string, V>();
  /** The latest begun of the entries set (some may be gone). */
  private latest = -Infinity;
  /** The earliest begun of the entries set behind `latest` (some may be gone). */
  private behind = Infinity;

  constructor(readonly window: number) {}

  /** Whether `begun` is within the window of `ts`, either side (capture time may go back). */
  holds(begun: number, ts: number): boolean {
    return Math.abs(ts - begun) <= this.window;
  }

  set(key: string, v: V): void {
    this.entries.delete(key); // a Map keeps a key's first place: the entry moves to the end
    this.entries.set(key, v);
    if (v.begun < this.latest) this.behind = Math.min(this.behind, v.begun);
    else this.latest = v.begun;
  }

  /** Removes the entries whose window does not hold `ts`, calling `gone` for each. */
  sweep(ts: number, gone: (v: V) => void): void {
    // No entry begun behind another that may be past the window, none further ahead than it: in order.
    if (ts - this.behind <= this.window && this.latest - ts <= this.window) {
      for (const [key, v] of this.entries) {
        if (ts - v.begun <= this.window) return;
        this.entries.delete(key);
        gone(v);
      }
      return;
    }
    let latest = -Infinity, behind = Infinity;
    for (const [key, v] of this.entries) {
      if (!this.holds(v.begun, ts)) {
        this.entries.delete(key);
        gone(v);
      } else if (v.begun < latest) {
        behind = Math.min(behind, v.begun);
      } else {
        latest = v.begun;
      }
    }
    this.latest = latest;
    this.behind = behind;
  }
}

/** Takes a capture file in pieces and calls `onDatagram` for each UDP datagram, in file order. */
export class CaptureReader {
  readonly counts: CaptureCounts = {
    frames: 0, notIp: 0, unsupportedLinkType: 0, unsupportedLinkTypes: {}, damaged: 0, untimed: 0, notUdp: 0, truncated: 0,
    fragmentsIncomplete: 0, fragmentsRepeated: 0, trailingBytes: 0,
  };
  /** Bytes read but not yet made into records, and how many of them there are. */
  private pieces: Buffer[] = [];
  private held = 0;
  /** Bytes the next record needs before it can be read (0: any piece may complete it). */
  private need = 0;
  /** File offset of the first held byte. */
  private base = 0;
  private format: 'pcap' | 'pcapng' | null = null;
  private ended = false;
  // pcap: from the file header.
  private le = true;
  private nano = false;
  private linkType = 0;
  // pcapng: the current section's interfaces, and the last packet's time (for Simple Packet Blocks).
  private readonly ifaces: { linkType: number; tsDiv: number; tsOffsetMs: number }[] = [];
  private lastTs: number | null = null;
  /** Reassemblies by IP version: one window each (REASSEMBLY_WINDOW_MS). */
  private readonly frags = { 4: new WindowedMap<Reassembly>(REASSEMBLY_WINDOW_MS[4]), 6: new WindowedMap<Reassembly>(REASSEMBLY_WINDOW_MS[6]) };
  /**
   * Datagrams put together within the reassembly window, by IP version, with their bytes: a fragment that
   * is byte for byte a part of one is a repeat (captures repeat packets); any other is a new datagram reusing the ID.
   */
  private readonly done = { 4: new WindowedMap<Done>(REASSEMBLY_WINDOW_MS[4]), 6: new WindowedMap<Done>(REASSEMBLY_WINDOW_MS[6]) };
  private doneSize = 0;
  private doneBytes = 0;

  constructor(private readonly onDatagram: (dg: UdpDatagram) => void) {}

  /** Reads as much of `chunk` (after what was left over) as makes whole packet records. */
  push(chunk: Buffer): void {
    if (this.ended) throw new Error('CaptureReader: push after end');
    // Pieces are only joined once the record waiting for them is whole: joining on every piece
    // copied a long record's bytes again for each 1 MiB read.
    this.pieces.push(chunk);
    this.held += chunk.length;
    if (this.held < this.need) return;
    const buf = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.held);
    this.pieces = [];
    let off = 0;
    try {
      if (this.format === null) {
        if (buf.length < 24) {
          this.need = 24;
          this.keep(buf, 0);
          return;
        }
        off = this.readFileHeader(buf);
      }
      off = this.format === 'pcap' ? this.pcapRecords(buf, off) : this.pcapngBlocks(buf, off);
    } catch (err) {
      // A damaged file: the packets before the damage have been handed on; the rest is not read.
      this.ended = true;
      this.held = 0;
      this.dropReassemblies();
      throw err;
    }
    this.keep(buf, off);
  }

  /** Holds `buf` from `off` until `this.need` bytes of it are there (copied: a small rest must not pin a piece). */
  private keep(buf: Buffer, off: number): void {
    this.base += off;
    this.held = buf.length - off;
    if (this.held > 0) this.pieces = [Buffer.from(buf.subarray(off))];
  }

  /** The file is over: counts what is left (a cut record, fragments that never completed). */
  end(): void {
    if (this.ended) return;
    if (this.format === null) {
      this.ended = true;
      throw new PcapError('file too short to be a capture');
    }
    this.abandon();
  }

  /**
   * The file cannot be read further (its gzip stream is cut or damaged): counts what is left as `end` does,
   * without the error of a file too short. Does nothing once `end` or a damaged piece has counted it.
   */
  abandon(): void {
    if (this.ended) return;
    this.ended = true;
    // Bytes before a whole file header are no packet record.
    if (this.format !== null) this.counts.trailingBytes += this.held;
    this.pieces = [];
    this.held = 0;
    this.dropReassemblies();
  }

  /** Fragmented datagrams being put together, and datagrams put together remembered for repeats of their fragments. */
  get fragmentsHeld(): { reassemblies: number; datagrams: number } {
    return { reassemblies: this.frags[4].entries.size + this.frags[6].entries.size, datagrams: this.doneSize };
  }

  /** Counts the reassemblies left open as incomplete. */
  private dropReassemblies(): void {
    for (const t of [this.frags[4], this.frags[6]]) {
      this.counts.fragmentsIncomplete += t.entries.size;
      t.entries.clear();
    }
  }

  private readFileHeader(buf: Buffer): number {
    const magic = buf.readUInt32LE(0);
    if (magic === 0x0a0d0d0a) {
      this.format = 'pcapng';
      return 0;
    }
    if (magic === 0xa1b2c3d4) { this.le = true; this.nano = false; }
    else if (magic === 0xd4c3b2a1) { this.le = false; this.nano = false; }
    else if (magic === 0xa1b23c4d) { this.le = true; this.nano = true; }
    else if (magic === 0x4d3cb2a1) { this.le = false; this.nano = true; }
    else throw new PcapError('not a pcap or pcapng file');
    this.format = 'pcap';
    // The link type is the field's low 16 bits; the bits above may say that frames carry an FCS.
    this.linkType = (this.le ? buf.readUInt32LE(20) : buf.readUInt32BE(20)) & 0xffff;
    return 24;
  }

  private pcapRecords(buf: Buffer, start: number): number {
    const le = this.le;
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    let off = start;
    this.need = 16;
    while (off + 16 <= buf.length) {
      const incl = u32(off + 8);
      if (incl > MAX_RECORD) throw new PcapError(`packet record at byte ${this.base + off} has an impossible length ${incl}: the file is damaged`);
      if (off + 16 + incl > buf.length) {
        this.need = 16 + incl; // the rest of this record is in the next piece
        break;
      }
      const sec = u32(off), frac = u32(off + 4);
      const data = buf.subarray(off + 16, off + 16 + incl);
      this.frame({ ts: sec * 1000 + (this.nano ? frac / 1e6 : frac / 1e3), linkType: this.linkType, data, le });
      off += 16 + incl;
    }
    return off;
  }

  private pcapngBlocks(buf: Buffer, start: number): number {
    let off = start;
    this.need = 12;
    while (off + 12 <= buf.length) {
      let type = buf.readUInt32LE(off); // a Section Header Block's type reads the same in either order
      if (type === 0x0a0d0d0a) {
        this.le = buf.readUInt32LE(off + 8) === 0x1a2b3c4d;
        this.ifaces.length = 0;
      } else if (!this.le) {
        type = buf.readUInt32BE(off);
      }
      const le = this.le;
      const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
      const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
      const len = u32(off + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) throw new PcapError(`pcapng block at byte ${this.base + off} has an impossible length ${len}: the file is damaged`);
      if (off + len > buf.length) {
        this.need = len; // the rest of this block is in the next piece
        break;
      }
      if (type === 1 && len >= 20) {
        this.ifaces.push({ linkType: u16(off + 8), ...interfaceTime(buf, off, len, le) });
      } else if ((type === 6 || type === 2) && len >= 32) {
        // Enhanced Packet Block; Obsolete Packet Block (type 2) has the same layout with a 16-bit interface.
        const iface = this.ifaces[type === 6 ? u32(off + 8) : u16(off + 8)];
        const caplen = Math.min(u32(off + 20), len - 32);
        if (iface === undefined) {
          this.counts.frames++;
          this.counts.damaged++;
        } else {
          const ts = (u32(off + 12) * 2 ** 32 + u32(off + 16)) / iface.tsDiv + iface.tsOffsetMs;
          this.lastTs = ts;
          this.frame({ ts, linkType: iface.linkType, data: buf.subarray(off + 28, off + 28 + caplen), le });
        }
      } else if (type === 3 && len >= 16) {
        // Simple Packet Block: interface 0, no time of its own (the packet before it gives one; before
        // any, the time it is read at, as a collector receiving it would stamp it).
        const iface = this.ifaces[0];
        const orig = u32(off + 8);
        const caplen = Math.min(orig, len - 16);
        if (iface === undefined) {
          this.counts.frames++;
          this.counts.damaged++;
        } else {
          if (this.lastTs === null) this.counts.untimed++;
          this.frame({ ts: this.lastTs ?? Date.now(), linkType: iface.linkType, data: buf.subarray(off + 12, off + 12 + caplen), le });
        }
      }
      off += len;
    }
    return off;
  }

  private frame(f: Frame): void {
    this.counts.frames++;
    const start = ipStart(f);
    const d = f.data;
    if (start === UNSUPPORTED) {
      this.counts.unsupportedLinkType++;
      this.counts.unsupportedLinkTypes[f.linkType] = (this.counts.unsupportedLinkTypes[f.linkType] ?? 0) + 1;
      return;
    }
    if (start === NOT_IP) {
      this.counts.notIp++;
      return;
    }
    if (start >= d.length) {
      this.counts.truncated++;
      return;
    }
    const version = d[start]! >> 4;
    if (version === 4) this.ipv4(f, start);
    else if (version === 6) this.ipv6(f, start);
    else this.counts.notIp++;
  }

  private ipv4(f: Frame, start: number): void {
    const d = f.data;
    if (start + 20 > d.length) {
      this.counts.truncated++;
      return;
    }
    const ihl = (d[start]! & 0x0f) * 4;
    // 0 in a packet captured on its way out with segmentation offload: the frame says how long it is.
    const totalLen = d.readUInt16BE(start + 2) || d.length - start;
    if (ihl < 20 || totalLen < ihl || start + ihl > d.length) {
      this.counts.truncated++;
      return;
    }
    if (d[start + 9] !== 17) {
      this.counts.notUdp++;
      return;
    }
    // Shorter than the header says: cut by the snapshot length (an Ethernet pad or FCS after it is fine).
    if (start + totalLen > d.length) {
      this.counts.truncated++;
      return;
    }
    const flagsFrag = d.readUInt16BE(start + 6);
    const more = (flagsFrag & 0x2000) !== 0;
    const fragOff = (flagsFrag & 0x1fff) * 8;
    const src = ipv4At(d, start + 12), dst = ipv4At(d, start + 16);
    let l4: Buffer = d.subarray(start + ihl, start + totalLen);
    if (more || fragOff > 0) {
      const whole = this.reassemble(4, `4|${src}|${dst}|${d.readUInt16BE(start + 4)}`, f.ts, fragOff, more, l4, 17);
      if (whole === null) return;
      l4 = whole.data;
    }
    this.udp(l4, src, dst, f.ts);
  }

  private ipv6(f: Frame, start: number): void {
    const d = f.data;
    if (start + 40 > d.length) {
      this.counts.truncated++;
      return;
    }
    const payloadLen = d.readUInt16BE(start + 4);
    if (start + 40 + payloadLen > d.length) {
      this.counts.truncated++;
      return;
    }
    const end = start + 40 + payloadLen;
    const src = ipv6At(d, start + 8), dst = ipv6At(d, start + 24);
    let { next, off } = skipExtensions(d, start + 40, end, d[start + 6]!);
    let body = d.subarray(0, end);
    if (next === 44) {
      if (off + 8 > end) {
        this.counts.truncated++;
        return;
      }
      const field = d.readUInt16BE(off + 2);
      const whole = this.reassemble(6, `6|${src}|${dst}|${d.readUInt32BE(off + 4)}`, f.ts, (field >> 3) * 8, (field & 1) !== 0, d.subarray(off + 8, end), d[off]!);
      if (whole === null) return;
      ({ next, off } = skipExtensions(whole.data, 0, whole.data.length, whole.next));
      body = whole.data;
    }
    if (next !== 17) {
      this.counts.notUdp++;
      return;
    }
    // A dual-stack host's capture may show an IPv4 exporter as ::ffff:a.b.c.d: unmapped, as the live socket's sender (udp.ts).
    this.udp(body.subarray(off), unmapIPv4(src), dst, f.ts);
  }

  /** Adds one fragment, captured at `ts`; returns the whole payload once every byte of it has arrived. */
  private reassemble(ip: 4 | 6, key: string, ts: number, offset: number, more: boolean, data: Buffer, next: number): { data: Buffer; next: number } | null {
    const frags = this.frags[ip], dones = this.done[ip];
    this.expire(ts);
    let r = frags.entries.get(key);
    if (r !== undefined && !frags.holds(r.begun, ts)) {
      // Begun longer ago than the window (by capture time): its fragments are not this datagram's.
      frags.entries.delete(key);
      this.counts.fragmentsIncomplete++;
      r = undefined;
    }
    if (r === undefined) {
      // Not a datagram being put together: a repeat of one done, or the first fragment of a new one
      // (an ID is reused within the window by a busy or random-ID exporter; the new datagram's later
      // fragments then join it, whatever they hold).
      const done = dones.entries.get(key);
      if (done !== undefined && dones.holds(done.begun, ts) && done.whole.length >= offset + data.length
        && (more || done.whole.length === offset + data.length) && data.equals(done.whole.subarray(offset, offset + data.length))) {
        this.counts.fragmentsRepeated++;
        return null;
      }
      if (this.frags[4].entries.size + this.frags[6].entries.size >= MAX_REASSEMBLIES) {
        const [oldest, key0] = this.oldest(this.frags);
        oldest.entries.delete(key0);
        this.counts.fragmentsIncomplete++;
      }
      r = { begun: ts, parts: new Map(), total: -1, next: -1 };
      frags.set(key, r);
    }
    if (offset + data.length > MAX_DATAGRAM) {
      frags.entries.delete(key);
      this.counts.truncated++;
      return null;
    }
    if (r.parts.has(offset)) this.counts.fragmentsRepeated++;
    else r.parts.set(offset, Buffer.from(data));
    if (offset === 0) r.next = next;
    if (!more) r.total = offset + data.length;
    if (r.total < 0 || r.next < 0) return null;
    // Whole when the fragments, in order, leave no gap before the end.
    const offsets = [...r.parts.keys()].sort((a, b) => a - b);
    let covered = 0;
    for (const o of offsets) {
      if (o > covered) return null;
      covered = Math.max(covered, o + r.parts.get(o)!.length);
    }
    if (covered < r.total) return null;
    frags.entries.delete(key);
    const whole = Buffer.alloc(r.total);
    for (const o of offsets) r.parts.get(o)!.copy(whole, o, 0, Math.max(0, Math.min(r.parts.get(o)!.length, r.total - o)));
    this.forget(dones, key);
    dones.set(key, { begun: ts, whole });
    this.doneSize++;
    this.doneBytes += whole.length;
    while (this.doneSize > RECENTLY_DONE || this.doneBytes > RECENTLY_DONE_BYTES) {
      const [oldest, key0] = this.oldest(this.done);
      this.forget(oldest, key0);
    }
    return { data: whole, next: r.next };
  }

  /** Of two IP versions' windows (one not empty), the one whose first entry was begun first, and that entry's key. */
  private oldest<V extends { begun: number }>(t: { 4: WindowedMap<V>; 6: WindowedMap<V> }): [WindowedMap<V>, string] {
    const a = t[4].entries.entries().next().value, b = t[6].entries.entries().next().value;
    if (b === undefined || (a !== undefined && a[1].begun <= b[1].begun)) return [t[4], a![0]];
    return [t[6], b[0]];
  }

  /** Gives up the reassemblies, and forgets the datagrams put together, whose window does not hold `ts`. */
  private expire(ts: number): void {
    const incomplete = (): void => void this.counts.fragmentsIncomplete++;
    this.frags[4].sweep(ts, incomplete);
    this.frags[6].sweep(ts, incomplete);
    this.done[4].sweep(ts, (d) => this.forgotten(d));
    this.done[6].sweep(ts, (d) => this.forgotten(d));
  }

  private forget(t: WindowedMap<Done>, key: string): void {
    const d = t.entries.get(key);
    if (d === undefined) return;
    t.entries.delete(key);
    this.forgotten(d);
  }

  private forgotten(d: Done): void {
    this.doneSize--;
    this.doneBytes -= d.whole.length;
  }

  private udp(l4: Buffer, srcIp: string, dstIp: string, ts: number): void {
    const udpLen = l4.length >= 8 ? l4.readUInt16BE(4) : 0;
    if (l4.length < 8 || udpLen > l4.length) {
      this.counts.truncated++;
      return;
    }
    // A UDP length of 0 (IPv6 jumbograms) or below 8 leaves the IP length to say where the data ends.
    const end = udpLen >= 8 ? udpLen : l4.length;
    this.onDatagram({ ts, srcIp, srcPort: l4.readUInt16BE(0), dstIp, dstPort: l4.readUInt16BE(2), payload: l4.subarray(8, end) });
  }
}

/**
 * An Interface Description Block's time unit (option if_tsresol, 9) as the divisor that gives ms, and its
 * offset (if_tsoffset, 14: signed seconds added to every time, pcapng section 4.2) in ms.
 */
function interfaceTime(buf: Buffer, off: number, len: number, le: boolean): { tsDiv: number; tsOffsetMs: number } {
  let tsDiv = 1000; // microseconds by default
  let tsOffsetMs = 0;
  let o = off + 16;
  while (o + 4 <= off + len - 4) {
    const code = le ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
    const olen = le ? buf.readUInt16LE(o + 2) : buf.readUInt16BE(o + 2);
    if (code === 0 || o + 4 + olen > off + len - 4) break;
    if (code === 9 && olen >= 1) {
      const v = buf[o + 4]!;
      tsDiv = (v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v) / 1000;
    } else if (code === 14 && olen === 8) {
      tsOffsetMs = Number(le ? buf.readBigInt64LE(o + 4) : buf.readBigInt64BE(o + 4)) * 1000;
    }
    o += 4 + ((olen + 3) & ~3);
  }
  return { tsDiv, tsOffsetMs };
}

/**
 * Skips IPv6 hop-by-hop, routing and destination options headers (RFC 8200 section 4), and the
 * Authentication Header, whose length counts 4-byte words less 2 (RFC 4302 section 2.2).
 */
function skipExtensions(d: Buffer, start: number, end: number, first: number): { next: number; off: number } {
  let next = first, off = start;
  while ((next === 0 || next === 43 || next === 60 || next === 51) && off + 8 <= end) {
    const len = next === 51 ? (d[off + 1]! + 2) * 4 : (d[off + 1]! + 1) * 8;
    next = d[off]!;
    off += len;
  }
  return { next, off };
}

/** Offset of the IP header in a frame; NOT_IP when it holds none, UNSUPPORTED for a link type not read. */
function ipStart(f: Frame): number {
  const d = f.data;
  switch (f.linkType) {
    case LINKTYPE_ETHERNET: {
      if (d.length < 14) return NOT_IP;
      let etherType = d.readUInt16BE(12);
      let off = 14;
      while ((etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) && off + 4 <= d.length) {
        etherType = d.readUInt16BE(off + 2);
        off += 4;
      }
      return byEtherType(d, etherType, off);
    }
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
      return d.length >= 16 ? byEtherType(d, d.readUInt16BE(14), 16) : NOT_IP;
    case LINKTYPE_LINUX_SLL2:
      return d.length >= 20 ? byEtherType(d, d.readUInt16BE(0), 20) : NOT_IP;
    case LINKTYPE_PPP:
    case LINKTYPE_PPP_HDLC:
      return pppStart(d);
    case LINKTYPE_NFLOG:
      return nflogStart(d, f.le);
    default:
      return UNSUPPORTED;
  }
}

/** Where IP starts after an EtherType at `off`: IPv4, IPv6, or either under an MPLS label stack. */
function byEtherType(d: Buffer, etherType: number, off: number): number {
  if (etherType === 0x0800 || etherType === 0x86dd) return off;
  if (etherType !== 0x8847 && etherType !== 0x8848) return NOT_IP;
  // MPLS unicast and multicast (RFC 5332): 4-byte label stack entries down to the one with the
  // bottom-of-stack bit (RFC 3032 section 2.1). What follows says nothing of its type: IP by its version
  // nibble; anything else (a pseudowire's control word, Ethernet over MPLS) is not read.
  while (off + 4 <= d.length) {
    const bottom = (d[off + 2]! & 1) === 1;
    off += 4;
    if (bottom) {
      if (off >= d.length) return off; // cut after the stack
      const version = d[off]! >> 4;
      return version === 4 || version === 6 ? off : NOT_IP;
    }
  }
  return d.length; // cut inside the stack
}

/**
 * PPP (LINKTYPE_PPP, LINKTYPE_PPP_HDLC): the address and control bytes ff 03 of HDLC-like framing when
 * present (RFC 1662 section 3.1), then the protocol, 2 bytes or 1 when compressed (RFC 1661 section 6.5:
 * a protocol's first byte is even, its last odd). IPv4 is 0x0021, IPv6 0x0057 (RFC 5072 section 3).
 */
function pppStart(d: Buffer): number {
  let off = d.length >= 2 && d[0] === 0xff && d[1] === 0x03 ? 2 : 0;
  if (off >= d.length) return off;
  let protocol: number;
  if ((d[off]! & 1) === 1) {
    protocol = d[off]!;
    off += 1;
  } else {
    if (off + 2 > d.length) return d.length;
    protocol = d.readUInt16BE(off);
    off += 2;
  }
  return protocol === 0x0021 || protocol === 0x0057 ? off : NOT_IP;
}

/**
 * Linux NFLOG (tcpdump.org LINKTYPE_NFLOG): family (1), version (1), resource ID (2, big-endian), then
 * TLVs of length (2, counting the 4-byte header, not the padding to 4 bytes) and type (2), both in the
 * byte order of the host that wrote the file, which is the file's (libpcap and tshark read them so).
 * Type 9, NFULA_PAYLOAD, holds the packet from its IP header; the type's top two bits are netlink flags.
 */
function nflogStart(d: Buffer, le: boolean): number {
  let off = 4;
  while (off + 4 <= d.length) {
    const len = le ? d.readUInt16LE(off) : d.readUInt16BE(off);
    const type = (le ? d.readUInt16LE(off + 2) : d.readUInt16BE(off + 2)) & 0x3fff;
    if (len < 4) return d.length; // a damaged TLV list: nothing after it can be found
    if (type === 9) return off + 4;
    off += (len + 3) & ~3;
  }
  return NOT_IP; // no payload (the rule logged none) or cut before it
}

/** Every UDP datagram in a whole capture held in memory, in file order. */
export function readUdpDatagrams(buf: Buffer, counts?: (c: CaptureCounts) => void): UdpDatagram[] {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf); // a .pcap.gz (RFC 1952 section 2.3.1)
  if (buf.length < 24) throw new PcapError('file too short to be a capture');
  const out: UdpDatagram[] = [];
  const reader = new CaptureReader((dg) => out.push(dg));
  reader.push(buf);
  reader.end();
  counts?.(reader.counts);
  return out;
}

export function readPcapFile(path: string): UdpDatagram[] {
  return readUdpDatagrams(readFileSync(path));
}

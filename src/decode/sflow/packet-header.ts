/**
 * Parser of sampled packet headers: the first bytes of a frame as an sFlow "sampled_header" flow
 * record carries them (sFlow v5 spec, "Raw Packet Header", header_protocol). Fills the record's
 * L2/L3/L4 fields straight from the Buffer.
 *
 * Walks: Ethernet II, 802.1Q / 802.1ad / QinQ tags, MPLS label stacks (with the EoMPLS control
 * word), IPv4, IPv6 (extension headers, AH among them, skipped), TCP, UDP, ICMP, ICMPv6, and the inner frame of a
 * VXLAN tunnel (UDP port 4789, RFC 7348), whose inner flow replaces the outer one in the record.
 * A header that is cut short stops the walk where the bytes end: what was read stays in the record.
 */
import type { FlowRecord } from '../../record/flow-record.js';
import { ipv4At, ipv6At } from '../ip.js';

/** Two lower-case hex digits per byte value: MACs are formatted for every sampled frame. */
const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push((i < 16 ? '0' : '') + i.toString(16));

/** Colon-separated lower-case MAC of 6 bytes at `off` (table-driven: no per-byte toString). */
export function macAt(buf: Buffer, off: number): string {
  return HEX2[buf[off]!]! + ':' + HEX2[buf[off + 1]!]! + ':' + HEX2[buf[off + 2]!]! + ':' + HEX2[buf[off + 3]!]! + ':' + HEX2[buf[off + 4]!]! + ':' + HEX2[buf[off + 5]!]!;
}

/** sFlow v5 spec, enum header_protocol. */
export const HEADER_PROTOCOL_ETHERNET = 1;
export const HEADER_PROTOCOL_IPV4 = 11;
export const HEADER_PROTOCOL_IPV6 = 12;
export const HEADER_PROTOCOL_MPLS = 13;

// IEEE 802 EtherTypes.
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100; // 802.1Q
const ETH_QINQ = 0x88a8; // 802.1ad service tag
const ETH_QINQ_OLD = 0x9100; // pre-standard QinQ outer tag
const ETH_MPLS_UC = 0x8847;
const ETH_MPLS_MC = 0x8848;

/** VXLAN's IANA port (RFC 7348 section 5). */
const VXLAN_PORT = 4789;
/** At most this many stacked VLAN tags / MPLS labels are walked (bounds work on hostile input). */
const MAX_TAGS = 8;
const MAX_LABELS = 16;
/** A VXLAN packet inside a VXLAN packet is decapsulated once only. */
const MAX_DECAP = 1;
/**
 * EoMPLS frames followed inside one another. Counted apart from `depth` (VXLAN's), so that VXLAN in
 * EoMPLS still decapsulates; the parse is synchronous, so one counter for the module is enough.
 */
const MAX_EOMPLS = 2;
let eompls = 0;

/**
 * The IP header the sampled packet's length comes from, left by parseSampledHeader (one reused object:
 * nothing is made per sample): `offset`, where it starts from the sampled header's first byte (-1 when
 * none was found), and `length`, the length it states as parseSampledHeader returns it (0: none). It is
 * found even in a header cut short before its addresses, as long as the length field is there: the
 * length is right, though no other field of such a header is read (and parseSampledHeader returns -1).
 */
export const sampledIp = { offset: -1, length: 0 };

/**
 * Parses `len` header bytes at `off` of the given sFlow header_protocol into `r`. Returns the IP
 * packet's length as its header states it (IPv4 total length, IPv6 payload length + 40: the L3
 * bytes NetFlow and IPFIX count, so sFlow records add up the same), 0 when the IP header gives
 * none (IPv6 jumbogram, IPv4 total length 0 of a capture before segmentation offload), or -1 when no
 * IP header was read (see `sampledIp` for the length of one cut short).
 */
export function parseSampledHeader(protocol: number, buf: Buffer, off: number, len: number, r: FlowRecord): number {
  const end = Math.min(buf.length, off + len);
  sampledIp.offset = -1;
  sampledIp.length = 0;
  let l3: number;
  switch (protocol) {
    case HEADER_PROTOCOL_ETHERNET: l3 = parseEthernet(buf, off, end, r, 0); break;
    case HEADER_PROTOCOL_IPV4: l3 = parseIPv4(buf, off, end, r, 0); break;
    case HEADER_PROTOCOL_IPV6: l3 = parseIPv6(buf, off, end, r, 0); break;
    case HEADER_PROTOCOL_MPLS: l3 = parseMpls(buf, off, end, r, 0); break;
    default: return -1;
  }
  if (sampledIp.offset >= 0) sampledIp.offset -= off;
  return l3;
}

/**
 * Notes the IP header at `o` and the length it states in `sampledIp`. An inner header (VXLAN) replaces
 * the outer one only when it is read whole (`whole`), as the record then holds the inner flow; an
 * inner one cut short leaves the outer flow and its length in place.
 */
function noteIp(o: number, length: number, whole: boolean): void {
  if (!whole && sampledIp.offset >= 0) return;
  sampledIp.offset = o;
  sampledIp.length = length;
}

/** Ethernet II with any 802.1Q/802.1ad tags; the VLAN kept is the innermost (customer) tag. */
export function parseEthernet(buf: Buffer, off: number, end: number, r: FlowRecord, depth: number): number {
  if (off + 14 > end) return -1;
  r.dstMac = macAt(buf, off);
  r.srcMac = macAt(buf, off + 6);
  let etherType = buf.readUInt16BE(off + 12);
  let o = off + 14;
  for (let tags = 0; (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) && tags < MAX_TAGS; tags++) {
    if (o + 4 > end) return -1;
    // Tag control information: PCP(3) DEI(1) VID(12) (IEEE 802.1Q section 9.6).
    const vid = buf.readUInt16BE(o) & 0x0fff;
    r.srcVlan = vid;
    r.dstVlan = vid;
    etherType = buf.readUInt16BE(o + 2);
    o += 4;
  }
  return parseByEtherType(etherType, buf, o, end, r, depth);
}

function parseByEtherType(etherType: number, buf: Buffer, o: number, end: number, r: FlowRecord, depth: number): number {
  switch (etherType) {
    case ETH_IPV4: return parseIPv4(buf, o, end, r, depth);
    case ETH_IPV6: return parseIPv6(buf, o, end, r, depth);
    case ETH_MPLS_UC:
    case ETH_MPLS_MC: return parseMpls(buf, o, end, r, depth);
    default: return -1;
  }
}

/**
 * An MPLS label stack (RFC 3032 section 2.1: label 20 bits, TC 3, S 1, TTL 8), then the payload
 * told by its first nibble: 4 IPv4, 6 IPv6, 0 an Ethernet frame of EoMPLS, after its optional
 * pseudowire control word (RFC 4448 section 3, RFC 4385 section 3). Labels are kept under `mpls.labels`, top first.
 */
function parseMpls(buf: Buffer, o: number, end: number, r: FlowRecord, depth: number): number {
  let labels = '';
  for (let n = 0; n < MAX_LABELS; n++) {
    if (o + 4 > end) return -1;
    const entry = buf.readUInt32BE(o);
    o += 4;
    labels += (n === 0 ? '' : ',') + String(entry >>> 12);
    if (entry & 0x100) {
      r.setExtra('mpls.labels', labels);
      if (o >= end) return -1;
      const nibble = buf[o]! >> 4;
      if (nibble === 4) return parseIPv4(buf, o, end, r, depth);
      if (nibble === 6) return parseIPv6(buf, o, end, r, depth);
      if (nibble === 0) {
        // Bounded: MPLS, Ethernet, MPLS, ... repeated through a crafted header must end, not recurse
        // until the stack is full.
        if (eompls >= MAX_EOMPLS) return -1;
        // EoMPLS: an all-zero control word, else the frame starts at once (no CW; the MAC
        // starts with a 0 nibble). A CW carrying a sequence number is read as no CW, as
        // akvorado does. The outer MACs (the sampled port's link) are kept.
        const srcMac = r.srcMac, dstMac = r.dstMac;
        const at = o + 4 <= end && buf.readUInt32BE(o) === 0 ? o + 4 : o;
        let l3: number;
        eompls++;
        try {
          l3 = parseEthernet(buf, at, end, r, depth);
        } finally {
          eompls--;
        }
        r.srcMac = srcMac;
        r.dstMac = dstMac;
        return l3;
      }
      return -1;
    }
  }
  return -1;
}

/** IPv4 (RFC 791 section 3.1); ports only from the first fragment. */
function parseIPv4(buf: Buffer, o: number, end: number, r: FlowRecord, depth: number): number {
  if (o + 4 > end || buf[o]! >> 4 !== 4) return -1;
  const ihl = (buf[o]! & 0x0f) * 4;
  if (ihl < 20) return -1;
  const l3 = buf.readUInt16BE(o + 2);
  // Cut short before the addresses: the total length (bytes 2-3) still counts the bytes. Nothing else
  // is taken, so a sampled IPv4/IPv6 record, if one came, fills the flow whole rather than half.
  if (o + 20 > end) { noteIp(o, l3, false); return -1; }
  noteIp(o, l3, true);
  r.ipVersion = 4;
  r.tos = buf[o + 1]!;
  r.proto = buf[o + 9]!;
  r.srcIp = ipv4At(buf, o + 12);
  r.dstIp = ipv4At(buf, o + 16);
  r.srcIp4 = buf.readUInt32BE(o + 12);
  r.dstIp4 = buf.readUInt32BE(o + 16);
  r.srcPort = 0;
  r.dstPort = 0;
  r.tcpFlags = 0;
  r.icmpType = 0;
  r.icmpCode = 0;
  const fragOffset = buf.readUInt16BE(o + 6) & 0x1fff;
  if (fragOffset === 0) return parseL4(r.proto, buf, o + ihl, end, r, depth, l3);
  return l3;
}

/**
 * IPv6 (RFC 8200 section 3), skipping hop-by-hop, routing, fragment and destination options headers,
 * and AH (RFC 4302: not encrypted, so the transport header after it is read as `ufc replay` does).
 */
function parseIPv6(buf: Buffer, o: number, end: number, r: FlowRecord, depth: number): number {
  if (o + 6 > end || buf[o]! >> 4 !== 6) return -1;
  const payload = buf.readUInt16BE(o + 4);
  const l3 = payload === 0 ? 0 : payload + 40;
  // Cut short before the addresses: the payload length (bytes 4-5) still counts the bytes (as IPv4's).
  if (o + 40 > end) { noteIp(o, l3, false); return -1; }
  noteIp(o, l3, true);
  r.ipVersion = 6;
  r.tos = (buf.readUInt16BE(o) >> 4) & 0xff; // traffic class
  r.srcIp = ipv6At(buf, o + 8);
  r.dstIp = ipv6At(buf, o + 24);
  r.srcIp4 = -1;
  r.dstIp4 = -1;
  r.srcPort = 0;
  r.dstPort = 0;
  r.tcpFlags = 0;
  r.icmpType = 0;
  r.icmpCode = 0;
  let next = buf[o + 6]!;
  let p = o + 40;
  for (let n = 0; n < MAX_TAGS; n++) {
    if (next === 0 || next === 43 || next === 60) {
      if (p + 8 > end) { r.proto = next; return l3; }
      next = buf[p]!;
      p += (buf[p + 1]! + 1) * 8;
    } else if (next === 44) {
      // Fragment header (RFC 8200 section 4.5): 8 bytes; a later fragment carries no L4 header.
      if (p + 8 > end) { r.proto = next; return l3; }
      const later = (buf.readUInt16BE(p + 2) & 0xfff8) !== 0;
      next = buf[p]!;
      p += 8;
      if (later) { r.proto = next; return l3; }
    } else if (next === 51) {
      // AH (RFC 4302 section 2.2): its Payload Len is its length in 4-byte words, minus 2.
      if (p + 8 > end) { r.proto = next; return l3; }
      next = buf[p]!;
      p += (buf[p + 1]! + 2) * 4;
    } else break;
  }
  r.proto = next;
  return parseL4(next, buf, p, end, r, depth, l3);
}

/** Returns `l3`, or the inner packet's length when a VXLAN tunnel was opened. */
function parseL4(proto: number, buf: Buffer, o: number, end: number, r: FlowRecord, depth: number, l3: number): number {
  switch (proto) {
    case 6: // TCP, RFC 9293 section 3.1: flags in the low 9 bits of bytes 12-13
      if (o + 4 <= end) {
        r.srcPort = buf.readUInt16BE(o);
        r.dstPort = buf.readUInt16BE(o + 2);
      }
      if (o + 14 <= end) r.tcpFlags = buf.readUInt16BE(o + 12) & 0x01ff;
      return l3;
    case 17: // UDP, RFC 768
    case 132: // SCTP, RFC 9260: ports in the same place
    case 136: // UDP-Lite, RFC 3828
      if (o + 4 > end) return l3;
      r.srcPort = buf.readUInt16BE(o);
      r.dstPort = buf.readUInt16BE(o + 2);
      // VXLAN (RFC 7348 section 5): 8-byte header with the I flag, then the inner Ethernet frame.
      if (proto === 17 && r.dstPort === VXLAN_PORT && depth < MAX_DECAP && o + 16 <= end && (buf[o + 8]! & 0x08) !== 0) {
        const inner = decapVxlan(buf, o + 8, end, r, depth);
        if (inner >= 0) return inner;
      }
      return l3;
    case 1: // ICMP, RFC 792
    case 58: // ICMPv6, RFC 4443
      if (o + 2 > end) return l3;
      r.icmpType = buf[o]!;
      r.icmpCode = buf[o + 1]!;
      return l3;
  }
  return l3;
}

/**
 * The record becomes the inner flow; the outer addresses and the VNI stay as extras so the
 * tunnel is not lost. If the inner frame is unreadable the outer flow is kept as it was.
 */
function decapVxlan(buf: Buffer, o: number, end: number, r: FlowRecord, depth: number): number {
  if (o + 8 + 14 > end) return -1;
  const outerSrc = r.srcIp, outerDst = r.dstIp, outerSrc4 = r.srcIp4, outerDst4 = r.dstIp4, outerSrcPort = r.srcPort, outerSrcMac = r.srcMac, outerDstMac = r.dstMac;
  const outerVersion = r.ipVersion, outerProto = r.proto, outerTos = r.tos, outerSrcVlan = r.srcVlan, outerDstVlan = r.dstVlan;
  const inner = parseEthernet(buf, o + 8, end, r, depth + 1);
  if (inner >= 0) {
    r.setExtra('vxlan.vni', buf.readUInt32BE(o + 4) >>> 8);
    r.setExtra('tunnel.src.ip.addr', outerSrc);
    r.setExtra('tunnel.dst.ip.addr', outerDst);
    r.setExtra('tunnel.src.l4.port.id', outerSrcPort);
    return inner;
  }
  r.srcIp = outerSrc; r.dstIp = outerDst; r.srcIp4 = outerSrc4; r.dstIp4 = outerDst4; r.srcPort = outerSrcPort; r.dstPort = VXLAN_PORT;
  r.srcMac = outerSrcMac; r.dstMac = outerDstMac; r.ipVersion = outerVersion; r.proto = outerProto; r.tos = outerTos;
  r.srcVlan = outerSrcVlan; r.dstVlan = outerDstVlan;
  r.tcpFlags = 0; r.icmpType = 0; r.icmpCode = 0;
  return -1;
}

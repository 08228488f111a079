/**
 * Decoding of data records with a compiled template (the hot path), shared by NetFlow v9 and IPFIX:
 * one switch over field operations per field, values read straight from the Buffer into the record.
 */
import { FlowRecord, timeInRange } from '../../record/flow-record.js';
import { HEADER_PROTOCOL_ETHERNET, HEADER_PROTOCOL_IPV4, HEADER_PROTOCOL_IPV6, parseSampledHeader } from '../sflow/packet-header.js';
import { ipAt, ipv4ToString as ipv4ToStringImported, ipv6At as ipv6AtImported, macAt as macAtImported } from '../ip.js';
import { settleTimes, TIME_OUT_OF_RANGE, uptimeToEpoch } from '../time.js';
import { OP, VARLEN, type CompiledTemplate } from './compile.js';
import { heldRate } from '../sampling.js';
import { IeType } from './ie-types.js';

// Module-local copies of imported bindings used per field: a local const is a plain load, an
// imported binding can be an accessor under some loaders (tsx), which showed in profiles.
const ipv4ToString = ipv4ToStringImported, ipv6At = ipv6AtImported, macAt = macAtImported;
const VAR = VARLEN;

/** Seconds between the NTP era 0 epoch (1900) and the Unix epoch (RFC 7011 §6.1.9). */
const NTP_UNIX_OFFSET = 2208988800;

/** Big-endian unsigned integer of 1-8 octets (longer fields lose precision; they are not counters). */
export function uintAt(buf: Buffer, o: number, len: number): number {
  switch (len) {
    case 1: return buf[o]!;
    case 2: return (buf[o]! << 8) | buf[o + 1]!;
    case 4: return buf.readUInt32BE(o);
    case 8: return buf.readUInt32BE(o) * 4294967296 + buf.readUInt32BE(o + 4);
    default: {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + buf[o + i]!;
      return v;
    }
  }
}

/** Big-endian uint32 at `o`, read once for an address's test, text and number. */
function u32At(buf: Buffer, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}

/**
 * NTP timestamp (32-bit seconds, 32-bit fraction) as epoch ms; 0 for the all-zero value, which
 * means "not set" (RFC 5905 §6). Seconds below the Unix epoch's are taken as NTP era 1, which began
 * 2036-02-07T06:28:16Z (RFC 5905 §6): a flow before 1970 is no reading an exporter can mean.
 */
function ntpAt(buf: Buffer, o: number): number {
  const secs = buf.readUInt32BE(o), frac = buf.readUInt32BE(o + 4);
  if (secs === 0 && frac === 0) return 0;
  const era = secs < NTP_UNIX_OFFSET ? 4294967296 : 0;
  return (secs + era - NTP_UNIX_OFFSET) * 1000 + Math.floor((frac / 4294967296) * 1000);
}

function hexAt(buf: Buffer, o: number, len: number): string {
  return buf.toString('hex', o, o + len);
}

/** Value of an unmapped element for `record.extra`, by its registered type (or a guess from its length). */
export function valueAt(buf: Buffer, o: number, len: number, type: number): string | number | boolean {
  switch (type) {
    case IeType.U8: case IeType.U16: case IeType.U32: case IeType.U64:
      if (len > 8) return hexAt(buf, o, len);
      if (len === 8 && buf.readUInt32BE(o) >= 0x200000) return buf.readBigUInt64BE(o).toString();
      return uintAt(buf, o, len);
    case IeType.S8: case IeType.S16: case IeType.S32: case IeType.S64:
      if (len === 1) return buf.readInt8(o);
      if (len === 2) return buf.readInt16BE(o);
      if (len === 4) return buf.readInt32BE(o);
      if (len === 8) return Number(buf.readBigInt64BE(o));
      return hexAt(buf, o, len);
    case IeType.F32: return len === 4 ? buf.readFloatBE(o) : hexAt(buf, o, len);
    case IeType.F64: return len === 8 ? buf.readDoubleBE(o) : len === 4 ? buf.readFloatBE(o) : hexAt(buf, o, len);
    // RFC 7011 §6.1.5: 1 is true, 2 is false.
    case IeType.BOOL: return len === 1 ? buf[o] === 1 : hexAt(buf, o, len);
    case IeType.MAC: return len === 6 ? macAt(buf, o) : hexAt(buf, o, len);
    case IeType.STR: return stringAt(buf, o, len);
    case IeType.IP4: case IeType.IP6: return len === 4 || len === 16 ? ipAt(buf, o, len) : hexAt(buf, o, len);
    case IeType.SEC: case IeType.MS: return len <= 8 ? uintAt(buf, o, len) : hexAt(buf, o, len);
    case IeType.US: case IeType.NS: return len === 8 ? ntpAt(buf, o) : hexAt(buf, o, len);
    case IeType.OCT: case IeType.LIST: return hexAt(buf, o, len);
    // With no registered type, by the element's length in the template, not by each value (a store
    // such as Elasticsearch maps a field by the first value it sees and refuses values of another
    // type): variable-length, text (hex unless printable) at any length; a fixed 1, 2 or 4 octets, a
    // number; 8, as an unsigned64 (a number, or its decimal text past 2^53, which numeric fields
    // take); any other length, text.
    case IeType.UNKNOWN_VARIABLE: return printable(buf, o, len) ? stringAt(buf, o, len) : hexAt(buf, o, len);
    default:
      if (len === 1 || len === 2 || len === 4) return uintAt(buf, o, len);
      if (len === 8) return valueAt(buf, o, len, IeType.U64);
      if (len > 0 && printable(buf, o, len)) return stringAt(buf, o, len);
      return hexAt(buf, o, len);
  }
}

/** Strings are often NUL-padded to the template's fixed length (Cisco, Palo Alto). */
function stringAt(buf: Buffer, o: number, len: number): string {
  let e = o + len;
  while (e > o && buf[e - 1] === 0) e--;
  return buf.toString('utf8', o, e);
}

function printable(buf: Buffer, o: number, len: number): boolean {
  let e = o + len;
  while (e > o && buf[e - 1] === 0) e--;
  if (e === o) return false;
  for (let i = o; i < e; i++) { const b = buf[i]!; if (b < 0x20 || b > 0x7e) return false; }
  return true;
}

/** Application ID (IE 95, RFC 6759 §4): classification engine ID, then a selector. */
export function applicationIdAt(buf: Buffer, o: number, len: number): string {
  if (len === 0) return '';
  const engine = buf[o]!;
  // Engine 20 (PANA-L7-PEN, RFC 6759 §4.1): a 4-octet enterprise number precedes the selector.
  if (engine === 20 && len >= 5) return `20:${buf.readUInt32BE(o + 1)}:${len > 5 ? uintAt(buf, o + 5, Math.min(len - 5, 6)) : 0}`;
  return `${engine}:${len > 1 ? uintAt(buf, o + 1, Math.min(len - 1, 6)) : 0}`;
}

/** Per-record values that are not record fields themselves (times, counters to combine). Reused. */
export class RecordScratch {
  startAbs = 0; endAbs = 0; startUp = -1; endUp = -1; startDeltaUs = -1; endDeltaUs = -1;
  sysInit = 0; durMs = -1; eventMs = 0;
  bytesTotal = -1; pktsTotal = -1; revBytes = 0; revPkts = 0;
  initBytes = -1; respBytes = -1; initPkts = -1; respPkts = -1; outBytes = -1; outPkts = -1;
  samplerId = -1; samplingInterval = 0; appId = '';
  /** samplingPacketInterval and samplingPacketSpace (IE 305/306) in the record; -1 when absent. */
  packetInterval = -1; packetSpace = -1;
  haveBytes = false; havePkts = false;
  revTcpFlags = 0; inIfAlt = 0; outIfAlt = 0;
  /** Sampled frame (1) or IP header (2) section, to fill the tuple when the template has none. */
  sectionKind = 0; sectionOff = 0; sectionLen = 0;
  /**
   * Address families the record's source and destination elements came in (1 IPv4, 2 IPv6, 3 both), each
   * end's offset per family (-1 when absent; the last non-zero one, else the first), and ipVersion (IE 60):
   * what familyOfBoth() needs to give a template carrying both families one family for both ends.
   */
  families = 0; src4Off = -1; dst4Off = -1; src6Off = -1; dst6Off = -1; ipVersionIe = 0;

  reset(): void {
    this.families = 0; this.src4Off = -1; this.dst4Off = -1; this.src6Off = -1; this.dst6Off = -1; this.ipVersionIe = 0;
    this.revTcpFlags = 0; this.inIfAlt = 0; this.outIfAlt = 0;
    this.sectionKind = 0; this.sectionOff = 0; this.sectionLen = 0;
    this.startAbs = 0; this.endAbs = 0; this.startUp = -1; this.endUp = -1; this.startDeltaUs = -1; this.endDeltaUs = -1;
    this.sysInit = 0; this.durMs = -1; this.eventMs = 0;
    this.bytesTotal = -1; this.pktsTotal = -1; this.revBytes = 0; this.revPkts = 0;
    this.initBytes = -1; this.respBytes = -1; this.initPkts = -1; this.respPkts = -1; this.outBytes = -1; this.outPkts = -1;
    this.samplerId = -1; this.samplingInterval = 0; this.appId = '';
    this.packetInterval = -1; this.packetSpace = -1;
    this.haveBytes = false; this.havePkts = false;
  }
}

export class TruncatedRecord extends Error {}

/**
 * Reads one record at `o` (at most `end`) into `r`, leaving time/counter inputs in `s`.
 * Returns the offset after the record, or -1 if the record does not fit (padding or truncation).
 */
export function readRecord(buf: Buffer, o: number, end: number, t: CompiledTemplate, r: FlowRecord, s: RecordScratch): number {
  const ops = t.ops, lens = t.lens, n = ops.length;
  for (let i = 0; i < n; i++) {
    let len = lens[i]!;
    if (len === VAR) {
      // RFC 7011 §7: one length octet, or 255 followed by a 2-octet length.
      if (o >= end) return -1;
      len = buf[o++]!;
      if (len === 255) {
        if (o + 2 > end) return -1;
        len = (buf[o]! << 8) | buf[o + 1]!;
        o += 2;
      }
    }
    if (o + len > end) return -1;
    // Literal case labels (the OP numbers; test/decode-ipfix-quirks checks them): V8 compiles a switch over Smi
    // literals to a jump table, while `case OP.X:` is a property load and compare per case.
    switch (ops[i]) {
      case 0 /* SKIP */: break;
      case 2 /* SRC_IP */:
        if (len === 4) { const v = u32At(buf, o); if (r.srcIp === '' || v !== 0) { r.srcIp = ipv4ToString(v); r.srcIp4 = v; r.ipVersion = 4; } }
        else if (len === 16) { if (r.srcIp === '' || !zeros(buf, o, 16)) { r.srcIp = ipv6At(buf, o); r.srcIp4 = -1; r.ipVersion = 6; } }
        break;
      case 3 /* DST_IP */:
        if (len === 4) { const v = u32At(buf, o); if (r.dstIp === '' || v !== 0) { r.dstIp = ipv4ToString(v); r.dstIp4 = v; r.ipVersion = 4; } }
        else if (len === 16) { if (r.dstIp === '' || !zeros(buf, o, 16)) { r.dstIp = ipv6At(buf, o); r.dstIp4 = -1; r.ipVersion = 6; } }
        break;
      // A template carrying both families (compile.ts, markBothFamilies): each end's last non-zero address
      // of each family (else its first) is noted; which family both ends take is settled after the record.
      case 67 /* SRC_IP_BOTH */:
        if (len === 4) { s.families |= 1; if (s.src4Off < 0 || u32At(buf, o) !== 0) s.src4Off = o; }
        else if (len === 16) { s.families |= 2; if (s.src6Off < 0 || !zeros(buf, o, 16)) s.src6Off = o; }
        break;
      case 68 /* DST_IP_BOTH */:
        if (len === 4) { s.families |= 1; if (s.dst4Off < 0 || u32At(buf, o) !== 0) s.dst4Off = o; }
        else if (len === 16) { s.families |= 2; if (s.dst6Off < 0 || !zeros(buf, o, 16)) s.dst6Off = o; }
        break;
      case 4 /* NEXT_HOP */:
        if (len === 4) { const v = u32At(buf, o); if (r.nextHop === '' || v !== 0) r.nextHop = ipv4ToString(v); }
        else if (len === 16) { if (r.nextHop === '' || !zeros(buf, o, 16)) r.nextHop = ipv6At(buf, o); }
        break;
      case 5 /* SRC_PORT */: r.srcPort = uintAt(buf, o, len); break;
      case 6 /* DST_PORT */: r.dstPort = uintAt(buf, o, len); break;
      case 7 /* PROTO */: r.proto = buf[o + len - 1]!; break;
      case 8 /* TOS */: r.tos = buf[o + len - 1]!; break;
      case 9 /* TCP_FLAGS */: r.tcpFlags = uintAt(buf, o, len); break;
      case 10 /* IN_IF */: r.inIf = uintAt(buf, o, len); break;
      case 11 /* OUT_IF */: r.outIf = uintAt(buf, o, len); break;
      case 12 /* SRC_AS */: r.srcAs = uintAt(buf, o, len); break;
      case 13 /* DST_AS */: r.dstAs = uintAt(buf, o, len); break;
      // A template may carry both families' prefix lengths (IE 9/29, 13/30): the other family's is 0 and must not
      // overwrite this record's, as with the addresses above.
      case 14 /* SRC_MASK */: { const v = buf[o + len - 1]!; if (v !== 0) r.srcMask = v; break; }
      case 15 /* DST_MASK */: { const v = buf[o + len - 1]!; if (v !== 0) r.dstMask = v; break; }
      case 16 /* SRC_VLAN */: r.srcVlan = uintAt(buf, o, len) & 0xfff; break;
      case 17 /* DST_VLAN */: r.dstVlan = uintAt(buf, o, len) & 0xfff; break;
      case 54 /* SRC_VLAN_ALT */: if (r.srcVlan === 0) r.srcVlan = uintAt(buf, o, len) & 0xfff; break;
      case 55 /* DST_VLAN_ALT */: if (r.dstVlan === 0) r.dstVlan = uintAt(buf, o, len) & 0xfff; break;
      case 18 /* SRC_MAC */: if (len === 6) r.srcMac = macAt(buf, o); break;
      case 19 /* DST_MAC */: if (len === 6) r.dstMac = macAt(buf, o); break;
      case 20 /* DIRECTION */: r.direction = buf[o + len - 1]!; break;
      case 21 /* END_REASON */: r.endReason = buf[o + len - 1]!; break;
      case 22 /* IP_VERSION */: s.ipVersionIe = buf[o + len - 1]!; if (r.ipVersion === 0) r.ipVersion = s.ipVersionIe; break;
      case 23 /* BYTES */: r.bytes = uintAt(buf, o, len); s.haveBytes = true; break;
      case 24 /* PACKETS */: r.packets = uintAt(buf, o, len); s.havePkts = true; break;
      case 25 /* BYTES_TOTAL */: s.bytesTotal = uintAt(buf, o, len); break;
      case 26 /* PACKETS_TOTAL */: s.pktsTotal = uintAt(buf, o, len); break;
      case 27 /* REV_BYTES */: s.revBytes = uintAt(buf, o, len); break;
      case 28 /* REV_PACKETS */: s.revPkts = uintAt(buf, o, len); break;
      case 29 /* INIT_BYTES */: s.initBytes = uintAt(buf, o, len); break;
      case 30 /* RESP_BYTES */: s.respBytes = uintAt(buf, o, len); break;
      case 31 /* INIT_PACKETS */: s.initPkts = uintAt(buf, o, len); break;
      case 32 /* RESP_PACKETS */: s.respPkts = uintAt(buf, o, len); break;
      case 33 /* START_UPTIME */: s.startUp = uintAt(buf, o, len); break;
      case 34 /* END_UPTIME */: s.endUp = uintAt(buf, o, len); break;
      // Absolute times: 0 is "not set", and must not replace a time another element of the record gave.
      case 35 /* START_SEC */: { const v = uintAt(buf, o, len) * 1000; if (v !== 0) s.startAbs = v; break; }
      case 36 /* END_SEC */: { const v = uintAt(buf, o, len) * 1000; if (v !== 0) s.endAbs = v; break; }
      case 37 /* START_MS */: { const v = uintAt(buf, o, len); if (v !== 0) s.startAbs = v; break; }
      case 38 /* END_MS */: { const v = uintAt(buf, o, len); if (v !== 0) s.endAbs = v; break; }
      case 39 /* START_NTP */: if (len === 8) { const v = ntpAt(buf, o); if (v !== 0) s.startAbs = v; } break;
      case 40 /* END_NTP */: if (len === 8) { const v = ntpAt(buf, o); if (v !== 0) s.endAbs = v; } break;
      case 41 /* START_DELTA_US */: s.startDeltaUs = uintAt(buf, o, len); break;
      case 42 /* END_DELTA_US */: s.endDeltaUs = uintAt(buf, o, len); break;
      case 43 /* SYS_INIT_MS */: s.sysInit = uintAt(buf, o, len); break;
      case 44 /* DURATION_MS */: s.durMs = uintAt(buf, o, len); break;
      case 45 /* DURATION_US */: s.durMs = uintAt(buf, o, len) / 1000; break;
      case 46 /* EVENT_MS */: s.eventMs = uintAt(buf, o, len); break;
      // IE 32 (IPv4) and IE 139 (IPv6) both land here; templates that carry both fill the other
      // version's with zero, which must not overwrite the real one.
      case 47 /* ICMP_TYPE_CODE */: { const v = uintAt(buf, o, len); if (v !== 0) { r.icmpType = (v >>> 8) & 0xff; r.icmpCode = v & 0xff; } break; }
      // IE 176/177 (IPv4) and 178/179 (IPv6) alike: the other version's zero must not overwrite them either.
      case 48 /* ICMP_TYPE */: { const v = buf[o + len - 1]!; if (v !== 0) r.icmpType = v; break; }
      case 49 /* ICMP_CODE */: { const v = buf[o + len - 1]!; if (v !== 0) r.icmpCode = v; break; }
      case 50 /* APP_ID */: s.appId = applicationIdAt(buf, o, len); break;
      case 51 /* APP_NAME */: { const v = stringAt(buf, o, len); if (v !== '') r.application = v; break; }
      case 52 /* SAMPLER_ID */: s.samplerId = uintAt(buf, o, len); break;
      case 53 /* SAMPLING_INTERVAL */: s.samplingInterval = uintAt(buf, o, len); break;
      // IE 34 and IE 50 both in the template (compile.ts, markBothIntervals): the one not in use sends 0.
      case 69 /* SAMPLING_INTERVAL_EITHER */: { const v = uintAt(buf, o, len); if (v !== 0) s.samplingInterval = v; break; }
      case 61 /* SAMPLING_PACKET_INTERVAL */: s.packetInterval = uintAt(buf, o, len); break;
      case 62 /* SAMPLING_PACKET_SPACE */: s.packetSpace = uintAt(buf, o, len); break;
      case 63 /* OUT_BYTES */: s.outBytes = uintAt(buf, o, len); break;
      case 64 /* OUT_PACKETS */: s.outPkts = uintAt(buf, o, len); break;
      case 56 /* IN_IF_ALT */: s.inIfAlt = uintAt(buf, o, len); break;
      case 57 /* OUT_IF_ALT */: s.outIfAlt = uintAt(buf, o, len); break;
      case 58 /* REV_TCP_FLAGS */: s.revTcpFlags = uintAt(buf, o, len); break;
      // YAF's initial and union TCP flags (compile.ts): the flow's flags, and kept as they came.
      case 65 /* TCP_FLAGS_OR */: { const v = uintAt(buf, o, len); r.tcpFlags |= v; if (t.names[i] !== '') r.setExtra(t.names[i]!, v); break; }
      case 66 /* REV_TCP_FLAGS_OR */: { const v = uintAt(buf, o, len); s.revTcpFlags |= v; if (t.names[i] !== '') r.setExtra(t.names[i]!, v); break; }
      case 59 /* DATALINK_SECTION */: s.sectionKind = 1; s.sectionOff = o; s.sectionLen = len; break;
      case 60 /* IP_SECTION */: s.sectionKind = 2; s.sectionOff = o; s.sectionLen = len; break;
      default: r.setExtra(t.names[i]!, valueAt(buf, o, len, t.types[i]!)); break;
    }
    o += len;
  }
  if (s.families !== 0) familyOfBoth(buf, r, s);
  return o;
}

/**
 * A template with both families' addresses (IE 8/12 and 27/28) fills the other family's with zeros, and a
 * zero one was kept or not by its place in the template: an IPv6 flow could come out as 0.0.0.0 ->
 * ff02::1:ff00:1, which no Community ID or address search can take. Both ends take one family: the one
 * with a non-zero address. When both have one, the later in the template, as a later element of the same
 * family wins: Cisco SRv6 templates give the outer IPv6 header, then the inner IPv4 one (pmacct's
 * 400/500/502 captures), and nfacctd reports the inner. When neither has, ipVersion (IE 60), else again
 * the family of the template's later address element.
 */
function familyOfBoth(buf: Buffer, r: FlowRecord, s: RecordScratch): void {
  const last4 = Math.max(s.src4Off >= 0 && u32At(buf, s.src4Off) !== 0 ? s.src4Off : -1, s.dst4Off >= 0 && u32At(buf, s.dst4Off) !== 0 ? s.dst4Off : -1);
  const last6 = Math.max(s.src6Off >= 0 && !zeros(buf, s.src6Off, 16) ? s.src6Off : -1, s.dst6Off >= 0 && !zeros(buf, s.dst6Off, 16) ? s.dst6Off : -1);
  let v4: boolean;
  if (last4 >= 0 || last6 >= 0) v4 = last4 > last6;
  else if (s.ipVersionIe === 4 || s.ipVersionIe === 6) v4 = s.ipVersionIe === 4;
  else v4 = Math.max(s.src4Off, s.dst4Off) > Math.max(s.src6Off, s.dst6Off);
  if (v4) {
    r.ipVersion = 4;
    r.srcIp4 = s.src4Off >= 0 ? u32At(buf, s.src4Off) : -1;
    r.dstIp4 = s.dst4Off >= 0 ? u32At(buf, s.dst4Off) : -1;
    r.srcIp = r.srcIp4 >= 0 ? ipv4ToString(r.srcIp4) : '';
    r.dstIp = r.dstIp4 >= 0 ? ipv4ToString(r.dstIp4) : '';
  } else {
    r.ipVersion = 6;
    r.srcIp4 = -1; r.dstIp4 = -1;
    r.srcIp = s.src6Off >= 0 ? ipv6At(buf, s.src6Off) : '';
    r.dstIp = s.dst6Off >= 0 ? ipv6At(buf, s.dst6Off) : '';
  }
}

function zeros(buf: Buffer, o: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[o + i] !== 0) return false;
  return true;
}

/** Header values a record's times are relative to. */
export interface TimeBase {
  exportMs: number;
  /** NetFlow v9 header sysUptime (ms); -1 for IPFIX. */
  sysUptime: number;
  /** IPFIX systemInitTimeMilliseconds known for the domain (0 if none). */
  sysInitMs: number;
}

/**
 * Resolves start/end from whichever form the template used. Returns a counted reason when the
 * times had to be adjusted or could not be resolved, '' otherwise.
 */
export function resolveTimes(r: FlowRecord, s: RecordScratch, tb: TimeBase): string {
  let reason = '';
  let start = s.startAbs, end = s.endAbs;
  // An absolute time no record can carry (an all-ones "unset" value, nanoseconds sent in a
  // milliseconds element) is taken as absent, so the record's other time forms or the export time
  // stand in for it.
  if (start !== 0 && !timeInRange(start)) { start = 0; reason = TIME_OUT_OF_RANGE; }
  if (end !== 0 && !timeInRange(end)) { end = 0; reason = TIME_OUT_OF_RANGE; }
  if (start === 0 || end === 0) {
    if (s.startUp >= 0 || s.endUp >= 0) {
      if (tb.sysUptime >= 0) {
        if (start === 0 && s.startUp >= 0) start = uptimeToEpoch(s.startUp, tb.sysUptime, tb.exportMs);
        if (end === 0 && s.endUp >= 0) end = uptimeToEpoch(s.endUp, tb.sysUptime, tb.exportMs);
      } else {
        // IPFIX: flowStart/EndSysUpTime count from systemInitTimeMilliseconds (RFC 7011 §6.1.8, IE 160).
        const init = s.sysInit > 0 ? s.sysInit : tb.sysInitMs;
        if (init > 0) {
          // The uptimes are unsigned32 and wrap every 49.7 days: read them against the exporter's
          // uptime at export time, as NetFlow v9's are, not added to the init time as they are.
          const upNow = ((tb.exportMs - init) % 0x100000000 + 0x100000000) % 0x100000000;
          if (start === 0 && s.startUp >= 0) start = uptimeToEpoch(s.startUp, upNow, tb.exportMs);
          if (end === 0 && s.endUp >= 0) end = uptimeToEpoch(s.endUp, upNow, tb.exportMs);
        } else if (start === 0 && end === 0) {
          // No anchor for the uptimes: the export time is the best bound we have for the end
          // (counted). The duration still holds: flowDurationMilliseconds (IE 161) when sent, else
          // the uptimes' difference, which needs no anchor.
          reason = 'time: sysUpTime without systemInitTimeMilliseconds (export time used)';
          end = tb.exportMs;
          if (s.durMs >= 0) start = end - Math.ceil(s.durMs);
          else if (s.startUp >= 0 && s.endUp >= s.startUp) start = end - (s.endUp - s.startUp);
          else start = end;
        }
      }
    }
    // flowStart/EndDeltaMicroseconds (IE 158/159): microseconds before the export time, floored to
    // the millisecond as every other time is (the delta rounded up): 500 us before :10.000 is :09.999.
    if (start === 0 && s.startDeltaUs >= 0) start = tb.exportMs - Math.ceil(s.startDeltaUs / 1000);
    if (end === 0 && s.endDeltaUs >= 0) end = tb.exportMs - Math.ceil(s.endDeltaUs / 1000);
  }
  // A duration in microseconds (IE 162) is floored to the millisecond on the end it gives, as every
  // time is: a start 1.5 ms before an end at :10.000 is :09.998.
  if (s.durMs >= 0) {
    if (start === 0 && end !== 0) start = end - Math.ceil(s.durMs);
    else if (end === 0 && start !== 0) end = start + Math.floor(s.durMs);
  }
  if (start === 0 && end === 0 && s.eventMs > 0) start = end = s.eventMs;
  // NSEL event time (IE 323) next to flow times: kept, it says when the firewall event happened.
  else if (s.eventMs > 0) r.setExtra('ipfix.observationTimeMilliseconds', s.eventMs);
  if (start === 0 && end !== 0) start = end;
  else if (end === 0 && start !== 0) end = start;
  else if (start === 0 && end === 0) {
    // No time element at all (packet reports, some firewalls): the export time bounds the flow.
    if (reason === '') reason = 'time: none in record (export time used)';
    start = end = tb.exportMs;
  }
  // Times worked out from uptimes, deltas or a duration can still land outside the range, or end
  // before they start: settled as the legacy versions' are.
  const why = settleTimes(r, start, end, tb.exportMs);
  return why !== '' ? why : reason;
}

/**
 * The record's own sampling rate (1 in N), 0 when it carries none: samplingInterval (IE 34/50), else
 * samplingPacketInterval with samplingPacketSpace (IE 305/306, RFC 5477 §8.2.2/8.2.3; rateOf() in
 * sampling.ts reads the same from options data), else the interval alone as 1-in-N; held at MAX_RATE
 * as rateOf() holds it.
 */
export function recordRate(s: RecordScratch): number {
  if (s.samplingInterval > 0) return s.samplingInterval;
  if (s.packetInterval > 0) return heldRate(s.packetSpace >= 0 ? Math.round((s.packetInterval + s.packetSpace) / s.packetInterval) : s.packetInterval);
  return 0;
}

/**
 * Combines counter forms: delta over total; ASA initiator/responder counters as forward/reverse;
 * egress counters (IE 23/24) when the record has no other.
 */
export function resolveCounters(r: FlowRecord, s: RecordScratch): void {
  // A counter form that does not become bytes/packets is still kept (raw, unscaled).
  let outBytesUsed = false, outPktsUsed = false;
  if (!s.haveBytes) {
    if (s.bytesTotal >= 0) r.bytes = s.bytesTotal;
    else if (s.initBytes >= 0) r.bytes = s.initBytes;
    else if (s.outBytes >= 0) { r.bytes = s.outBytes; outBytesUsed = true; }
  } else if (s.bytesTotal >= 0) r.setExtra('ipfix.octetTotalCount', s.bytesTotal);
  if (!s.havePkts) {
    if (s.pktsTotal >= 0) r.packets = s.pktsTotal;
    else if (s.initPkts >= 0) r.packets = s.initPkts;
    else if (s.outPkts >= 0) { r.packets = s.outPkts; outPktsUsed = true; }
  } else if (s.pktsTotal >= 0) r.setExtra('ipfix.packetTotalCount', s.pktsTotal);
  if (s.outBytes >= 0 && !outBytesUsed) r.setExtra('ipfix.postOctetDeltaCount', s.outBytes);
  if (s.outPkts >= 0 && !outPktsUsed) r.setExtra('ipfix.postPacketDeltaCount', s.outPkts);
  if (s.respBytes > 0) s.revBytes = s.respBytes;
  if (s.respPkts > 0) s.revPkts = s.respPkts;
}

/** The reverse direction of a biflow record (RFC 5103 §5): tuple and interfaces swapped, reverse counters. */
export function reverseOf(r: FlowRecord, bytes: number, packets: number, tcpFlags: number): FlowRecord {
  const v = new FlowRecord();
  v.collectTs = r.collectTs; v.exportTs = r.exportTs; v.startTs = r.startTs; v.endTs = r.endTs;
  v.exporterIp = r.exporterIp; v.exportVersion = r.exportVersion; v.exportType = r.exportType;
  v.observationDomain = r.observationDomain; v.sequence = r.sequence;
  v.ipVersion = r.ipVersion; v.srcIp = r.dstIp; v.dstIp = r.srcIp; v.srcIp4 = r.dstIp4; v.dstIp4 = r.srcIp4; v.srcPort = r.dstPort; v.dstPort = r.srcPort;
  v.proto = r.proto; v.icmpType = r.icmpType; v.icmpCode = r.icmpCode;
  v.bytes = bytes; v.packets = packets; v.samplingRate = r.samplingRate;
  v.tcpFlags = tcpFlags; v.tos = r.tos; v.inIf = r.outIf; v.outIf = r.inIf; v.inIfName = r.outIfName; v.outIfName = r.inIfName; v.srcAs = r.dstAs; v.dstAs = r.srcAs;
  v.srcMask = r.dstMask; v.dstMask = r.srcMask; v.srcVlan = r.dstVlan; v.dstVlan = r.srcVlan;
  v.srcMac = r.dstMac; v.dstMac = r.srcMac;
  v.direction = r.direction; v.application = r.application; v.endReason = r.endReason;
  v.setExtra('flow.biflow_direction', 'reverse');
  return v;
}

/**
 * Reads the reverse elements a biflow's record carries (`t.reverse` of its template, compile.ts)
 * into its reverse record `v`, each as its forward element is read into the forward record. What
 * they cover starts empty rather than from the forward record swapped, so a value means the same in
 * either direction: a reverse ICMP type 0 is an echo reply, not "leave the forward's type".
 */
export function readReverse(buf: Buffer, o: number, end: number, rt: CompiledTemplate, v: FlowRecord, s: RecordScratch): void {
  const ops = rt.ops;
  for (let i = 0; i < ops.length; i++) {
    switch (ops[i]) {
      case OP.TOS: v.tos = 0; break;
      case OP.SRC_VLAN: case OP.SRC_VLAN_ALT: v.srcVlan = 0; break;
      case OP.DST_VLAN: case OP.DST_VLAN_ALT: v.dstVlan = 0; break;
      case OP.SRC_MAC: v.srcMac = ''; break;
      case OP.DST_MAC: v.dstMac = ''; break;
      case OP.IN_IF: v.inIf = 0; v.inIfName = ''; break;
      case OP.OUT_IF: v.outIf = 0; v.outIfName = ''; break;
      case OP.SRC_AS: v.srcAs = 0; break;
      case OP.DST_AS: v.dstAs = 0; break;
      case OP.SRC_MASK: v.srcMask = 0; break;
      case OP.DST_MASK: v.dstMask = 0; break;
      case OP.NEXT_HOP: v.nextHop = ''; break;
      case OP.DIRECTION: v.direction = -1; break;
      case OP.END_REASON: v.endReason = -1; break;
      case OP.ICMP_TYPE_CODE: case OP.ICMP_TYPE: case OP.ICMP_CODE: v.icmpType = 0; v.icmpCode = 0; break;
    }
  }
  // Its own scratch: the forward record's (address families above all) must not apply to this one.
  s.reset();
  readRecord(buf, o, end, rt, v, s);
}

/** A next hop worth keeping: an address, and not all zeros. */
function usableHop(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== '0.0.0.0' && v !== '::' ? v : undefined;
}

/**
 * Fills what the template did not carry from the record's own bytes: physical interfaces when no
 * logical ones came, the BGP next hop when no IP next hop came, and the tuple from a sampled frame
 * or IP header section (PSAMP-style records: Cisco, Juniper), parsed like an sFlow sampled header.
 */
export function resolveFallbacks(buf: Buffer, r: FlowRecord, s: RecordScratch): void {
  if (s.inIfAlt !== 0) { if (r.inIf === 0) r.inIf = s.inIfAlt; else r.setExtra('ipfix.ingressPhysicalInterface', s.inIfAlt); }
  if (s.outIfAlt !== 0) { if (r.outIf === 0) r.outIf = s.outIfAlt; else r.setExtra('ipfix.egressPhysicalInterface', s.outIfAlt); }
  if (r.extra !== null && usableHop(r.nextHop) === undefined) {
    // A template may carry both families' BGP next hops, the other family's as zeros: the record's own
    // family first, then the other (an IPv6 flow over an IPv4 core, 6PE, has an IPv4 next hop).
    const v4 = r.extra['ipfix.bgpNextHopIPv4Address'], v6 = r.extra['ipfix.bgpNextHopIPv6Address'];
    const bgp = r.ipVersion === 6 ? usableHop(v6) ?? usableHop(v4) : usableHop(v4) ?? usableHop(v6);
    if (bgp !== undefined) r.nextHop = bgp;
  }
  if (s.sectionKind !== 0 && r.srcIp === '' && s.sectionLen > 0) {
    const proto = s.sectionKind === 1 ? HEADER_PROTOCOL_ETHERNET : buf[s.sectionOff]! >> 4 === 6 ? HEADER_PROTOCOL_IPV6 : HEADER_PROTOCOL_IPV4;
    const l3 = parseSampledHeader(proto, buf, s.sectionOff, s.sectionLen, r);
    // Each such record reports one sampled packet (RFC 5476 packet reports).
    if (r.bytes === 0 && l3 > 0) r.bytes = l3;
    if (r.packets === 0 && r.srcIp !== '') r.packets = 1;
  }
}


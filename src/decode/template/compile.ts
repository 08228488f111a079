/**
 * A template compiled once into a flat array of field operations, so the per-record loop is a
 * switch over small integers with no lookups (the hot path of NetFlow v9 and IPFIX decoding).
 */
import { IANA_IES, type IeDef } from './ie-registry.js';
import { IeType } from './ie-types.js';
import { ieKey, PEN, vendorPrefix, VENDOR_IES } from './vendor-ies.js';

/** One field as announced in a template record (RFC 7011 §3.2, RFC 3954 §5.2). */
export interface TemplateField {
  id: number;
  /** Enterprise number; 0 for IANA elements and NetFlow v9. */
  pen: number;
  /** Octets, or VARLEN (RFC 7011 §7). */
  len: number;
}

/** RFC 7011 §7: a field length of 65535 announces a variable-length encoding. */
export const VARLEN = 65535;

// Field operations. Each maps one element to a FlowRecord property or a scratch value.
export const OP = {
  SKIP: 0, EXTRA: 1,
  SRC_IP: 2, DST_IP: 3, NEXT_HOP: 4, SRC_PORT: 5, DST_PORT: 6, PROTO: 7, TOS: 8, TCP_FLAGS: 9,
  IN_IF: 10, OUT_IF: 11, SRC_AS: 12, DST_AS: 13, SRC_MASK: 14, DST_MASK: 15,
  SRC_VLAN: 16, DST_VLAN: 17, SRC_MAC: 18, DST_MAC: 19, DIRECTION: 20, END_REASON: 21, IP_VERSION: 22,
  BYTES: 23, PACKETS: 24, BYTES_TOTAL: 25, PACKETS_TOTAL: 26, REV_BYTES: 27, REV_PACKETS: 28,
  INIT_BYTES: 29, RESP_BYTES: 30, INIT_PACKETS: 31, RESP_PACKETS: 32,
  START_UPTIME: 33, END_UPTIME: 34, START_SEC: 35, END_SEC: 36, START_MS: 37, END_MS: 38,
  START_NTP: 39, END_NTP: 40, START_DELTA_US: 41, END_DELTA_US: 42, SYS_INIT_MS: 43,
  DURATION_MS: 44, DURATION_US: 45, EVENT_MS: 46,
  ICMP_TYPE_CODE: 47, ICMP_TYPE: 48, ICMP_CODE: 49,
  APP_ID: 50, APP_NAME: 51, SAMPLER_ID: 52, SAMPLING_INTERVAL: 53,
  SRC_VLAN_ALT: 54, DST_VLAN_ALT: 55, IN_IF_ALT: 56, OUT_IF_ALT: 57, REV_TCP_FLAGS: 58,
  DATALINK_SECTION: 59, IP_SECTION: 60, SAMPLING_PACKET_INTERVAL: 61, SAMPLING_PACKET_SPACE: 62,
  OUT_BYTES: 63, OUT_PACKETS: 64, TCP_FLAGS_OR: 65, REV_TCP_FLAGS_OR: 66,
  // SRC_IP/DST_IP of a template carrying both families: only noted, the family settled after the record.
  SRC_IP_BOTH: 67, DST_IP_BOTH: 68,
  // SAMPLING_INTERVAL of a template carrying both samplingInterval and samplerRandomInterval: a 0 is not taken.
  SAMPLING_INTERVAL_EITHER: 69,
} as const;

/** Mapped IANA elements (enterprise 0; NetFlow v9 uses the same numbers, RFC 3954 §8). */
const IANA_OPS: Record<number, number> = {
  1: OP.BYTES, 2: OP.PACKETS, 4: OP.PROTO, 5: OP.TOS, 6: OP.TCP_FLAGS, 7: OP.SRC_PORT, 8: OP.SRC_IP,
  9: OP.SRC_MASK, 10: OP.IN_IF, 11: OP.DST_PORT, 12: OP.DST_IP, 13: OP.DST_MASK, 14: OP.OUT_IF,
  15: OP.NEXT_HOP, 16: OP.SRC_AS, 17: OP.DST_AS, 21: OP.END_UPTIME, 22: OP.START_UPTIME,
  27: OP.SRC_IP, 28: OP.DST_IP, 29: OP.SRC_MASK, 30: OP.DST_MASK, 32: OP.ICMP_TYPE_CODE,
  34: OP.SAMPLING_INTERVAL, 48: OP.SAMPLER_ID, 50: OP.SAMPLING_INTERVAL,
  56: OP.SRC_MAC, 58: OP.SRC_VLAN, 59: OP.DST_VLAN, 60: OP.IP_VERSION, 61: OP.DIRECTION, 62: OP.NEXT_HOP,
  80: OP.DST_MAC, 85: OP.BYTES_TOTAL, 86: OP.PACKETS_TOTAL, 95: OP.APP_ID, 96: OP.APP_NAME,
  136: OP.END_REASON, 139: OP.ICMP_TYPE_CODE,
  150: OP.START_SEC, 151: OP.END_SEC, 152: OP.START_MS, 153: OP.END_MS, 154: OP.START_NTP, 155: OP.END_NTP,
  156: OP.START_NTP, 157: OP.END_NTP, 158: OP.START_DELTA_US, 159: OP.END_DELTA_US, 160: OP.SYS_INIT_MS,
  161: OP.DURATION_MS, 162: OP.DURATION_US, 176: OP.ICMP_TYPE, 177: OP.ICMP_CODE, 178: OP.ICMP_TYPE, 179: OP.ICMP_CODE,
  // RFC 5103-style uniflow counters of NSEL (Cisco ASA): initiator -> responder and back.
  231: OP.INIT_BYTES, 232: OP.RESP_BYTES, 298: OP.INIT_PACKETS, 299: OP.RESP_PACKETS,
  // postOctet/PacketDeltaCount (NetFlow v9 OUT_BYTES/OUT_PKTS): the counters of an exporter that
  // counts on egress; bytes and packets when the record has no ingress counter, kept raw otherwise.
  23: OP.OUT_BYTES, 24: OP.OUT_PACKETS,
  // paddingOctets (RFC 7011 §3.3.1 alignment) carry nothing.
  210: OP.SKIP,
  // Physical interfaces (Cisco, Juniper): used when the logical ones are absent.
  252: OP.IN_IF_ALT, 253: OP.OUT_IF_ALT,
  // Sampled packet sections (RFC 7133 §4.5 dataLinkFrameSection, RFC 5477 ipHeaderPacketSection).
  313: OP.IP_SECTION, 315: OP.DATALINK_SECTION,
  243: OP.SRC_VLAN_ALT, 254: OP.DST_VLAN_ALT, 302: OP.SAMPLER_ID, 323: OP.EVENT_MS,
  // RFC 5477 §8.2.2/8.2.3 in the record itself: `interval` packets selected out of every interval+space.
  305: OP.SAMPLING_PACKET_INTERVAL, 306: OP.SAMPLING_PACKET_SPACE,
};

/** Vendor elements that map to a record field. */
const VENDOR_OPS = new Map<number, number>([
  [ieKey(0, 56701), OP.APP_NAME], // Palo Alto App-ID (v9)
  [ieKey(0, 104), OP.DATALINK_SECTION], // NetFlow v9 layer2packetSectionData (Cisco)
  [ieKey(PEN.PALOALTO, 56), OP.APP_NAME],
  // Cisco AVC connection records carry no IANA addresses or ports: the client is the source (the
  // initiator, whose octets are initiatorOctets), the server the destination.
  [ieKey(PEN.CISCO, 12236), OP.SRC_IP],
  [ieKey(PEN.CISCO, 12237), OP.DST_IP],
  [ieKey(PEN.CISCO, 12240), OP.SRC_PORT],
  [ieKey(PEN.CISCO, 12241), OP.DST_PORT],
  // RFC 5103 §6.1: reverse counterparts of the IANA counters.
  [ieKey(PEN.REVERSE, 1), OP.REV_BYTES],
  [ieKey(PEN.REVERSE, 2), OP.REV_PACKETS],
  [ieKey(PEN.REVERSE, 85), OP.REV_BYTES],
  [ieKey(PEN.REVERSE, 86), OP.REV_PACKETS],
  [ieKey(PEN.REVERSE, 6), OP.REV_TCP_FLAGS],
]);

/**
 * Forward operations whose reverse element (RFC 5103 §6.1: the same id under PEN 29305) fills the
 * reverse record of a biflow, read as the forward element is read into the forward record: the
 * values a direction has of its own. Not here: the flow key (addresses, ports, protocol, IP
 * version), which the reverse record has by swapping the forward one (RFC 5103 §5), and the times,
 * which the two directions' records share.
 */
const REVERSIBLE = new Set<number>([
  OP.TOS, OP.SRC_VLAN, OP.DST_VLAN, OP.SRC_VLAN_ALT, OP.DST_VLAN_ALT, OP.SRC_MAC, OP.DST_MAC,
  OP.IN_IF, OP.OUT_IF, OP.SRC_AS, OP.DST_AS, OP.SRC_MASK, OP.DST_MASK, OP.NEXT_HOP,
  OP.DIRECTION, OP.END_REASON, OP.ICMP_TYPE_CODE, OP.ICMP_TYPE, OP.ICMP_CODE,
]);
/** Compile-time mark of a reverse element in REVERSIBLE; never left in `ops`. */
const REVERSED = 255;

/**
 * YAF's TCP flags (CERT PEN 6871): initialTCPFlags (14) of the first packet and unionTCPFlags (15)
 * of the rest, with the reverse bit 0x4000 for the reverse direction (16398, 16399; YAF's IE
 * registry). YAF sends no tcpControlBits, so their union is the flow's flags, where the template has
 * no tcpControlBits (IE 6) for that direction.
 */
const YAF_TCP_FLAGS = new Set([ieKey(PEN.YAF_CERT, 14), ieKey(PEN.YAF_CERT, 15)]);
const YAF_REV_TCP_FLAGS = new Set([ieKey(PEN.YAF_CERT, 16398), ieKey(PEN.YAF_CERT, 16399)]);

/** Scope field types of NetFlow v9 options templates (RFC 3954 §6.2); they overlap IANA ids 1-5. */
const V9_SCOPE_NAMES = ['', 'system', 'interface', 'lineCard', 'cache', 'template'];

export interface CompiledTemplate {
  readonly id: number;
  readonly fields: TemplateField[];
  /** Number of leading scope fields (options templates); 0 for data templates. */
  readonly scopeCount: number;
  readonly isOptions: boolean;
  readonly ops: Uint8Array;
  readonly lens: Uint16Array;
  readonly types: Uint8Array;
  /** Raw names for EXTRA ops ('' elsewhere). */
  readonly names: string[];
  /** Octets of one record, or -1 when a field is variable-length. */
  readonly fixedLen: number;
  /** Least octets one record can take (variable-length fields count 1). */
  readonly minLen: number;
  /** Unmapped fields past MAX_EXTRAS, skipped rather than read (data templates). */
  readonly skippedExtras: number;
  /**
   * The reverse elements in REVERSIBLE, which the main ops skip: this template reads only them, each
   * with its forward element's operation, into a biflow's reverse record. Null when there are none.
   */
  readonly reverse: CompiledTemplate | null;
  /** The same elements as extras, for a record with no reverse direction to carry them. */
  readonly reverseRaw: CompiledTemplate | null;
  lastSeen: number;
}

/**
 * Unmapped fields a data template's record keeps, at most (`extra`, under raw names). Real templates
 * carry a few; a template of 16,000 unknown fields made each 64 KB datagram one record of 16,000 keys
 * (a 370 KB line, 28 ms to decode), so one sender stalled every exporter's decoding for minutes. The
 * rest are skipped, as fields of length 0 are, and counted when the template is learnt.
 */
export const MAX_EXTRAS = 128;

/** The registry entry (IANA or vendor) of an element, if any. */
export function ieDef(pen: number, id: number): IeDef | undefined {
  if (pen === 0) return IANA_IES.get(id) ?? VENDOR_IES.get(ieKey(0, id));
  if (pen === PEN.REVERSE) {
    const fwd = IANA_IES.get(id);
    return fwd && { id, name: 'reverse' + fwd.name[0]!.toUpperCase() + fwd.name.slice(1), type: fwd.type };
  }
  return VENDOR_IES.get(ieKey(pen, id));
}

/** The raw name an unmapped element is kept under in `record.extra`. */
export function rawName(pen: number, id: number, v9Scope: boolean): string {
  if (v9Scope) return `netflow.scope.${V9_SCOPE_NAMES[id] ?? id}`;
  const def = ieDef(pen, id);
  if (def === undefined) return `ie.${pen}.${id}`;
  if (pen === 0 || pen === PEN.REVERSE) return def.name.includes('.') ? def.name : `ipfix.${def.name}`;
  return def.name.includes('.') ? def.name : `${vendorPrefix(pen) ?? `ie.${pen}`}.${def.name}`;
}

/**
 * A template with addresses of both families (IE 8/12 and 27/28, e.g. nProbe's, Cisco SRv6's) fills the
 * other family's with zeros: its address elements are only noted while a record is read, and the
 * family both ends take is settled once, after it (record-reader.ts, familyOfBoth), rather than every
 * address formatted as it comes and again after.
 */
function markBothFamilies(ops: Uint8Array, lens: Uint16Array): void {
  let families = 0;
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] === OP.SRC_IP || ops[i] === OP.DST_IP) families |= lens[i] === 4 ? 1 : 2;
  }
  if (families !== 3) return;
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] === OP.SRC_IP) ops[i] = OP.SRC_IP_BOTH;
    else if (ops[i] === OP.DST_IP) ops[i] = OP.DST_IP_BOTH;
  }
}

/**
 * samplingInterval (IE 34) and samplerRandomInterval (IE 50) fill one slot; a template carrying both
 * sends 0 in the one its sampler does not use, which must not hide the other's rate. Only such a
 * template reads them with the test for 0; one carrying either alone reads it as before.
 */
function markBothIntervals(ops: Uint8Array): void {
  let n = 0;
  for (let i = 0; i < ops.length; i++) if (ops[i] === OP.SAMPLING_INTERVAL) n++;
  if (n < 2) return;
  for (let i = 0; i < ops.length; i++) if (ops[i] === OP.SAMPLING_INTERVAL) ops[i] = OP.SAMPLING_INTERVAL_EITHER;
}

export function compileTemplate(id: number, fields: TemplateField[], scopeCount: number, isOptions: boolean, v9: boolean, now: number): CompiledTemplate {
  const n = fields.length;
  const ops = new Uint8Array(n), lens = new Uint16Array(n), types = new Uint8Array(n);
  const names: string[] = new Array<string>(n).fill('');
  const seen = new Map<number, number>();
  const total = new Map<number, number>();
  for (const f of fields) { const key = ieKey(f.pen, f.id); total.set(key, (total.get(key) ?? 0) + 1); }
  let fixedLen = 0, minLen = 0, extras = 0, skippedExtras = 0;
  let revOps: Uint8Array | null = null, revRawOps: Uint8Array | null = null;
  const hasFlags = total.has(ieKey(0, 6)), hasRevFlags = total.has(ieKey(PEN.REVERSE, 6));
  for (let i = 0; i < n; i++) {
    const f = fields[i]!;
    lens[i] = f.len;
    if (f.len === VARLEN) { fixedLen = -1; minLen += 1; } else { if (fixedLen >= 0) fixedLen += f.len; minLen += f.len; }
    const v9Scope = v9 && i < scopeCount;
    const key = ieKey(f.pen, f.id);
    const k = (seen.get(key) ?? 0) + 1;
    seen.set(key, k);
    let op: number = v9Scope ? OP.EXTRA : f.pen === 0 ? (IANA_OPS[f.id] ?? OP.EXTRA) : (VENDOR_OPS.get(key) ?? OP.EXTRA);
    if (op === OP.EXTRA && !v9Scope) op = VENDOR_OPS.get(key) ?? OP.EXTRA;
    // A reverse element of a field the reverse record carries: read on its own pass (see `reverse`).
    const fwd = f.pen === PEN.REVERSE && op === OP.EXTRA && !isOptions && REVERSIBLE.has(IANA_OPS[f.id] ?? -1) ? IANA_OPS[f.id]! : -1;
    if (fwd >= 0) op = REVERSED;
    else if (op === OP.EXTRA && !isOptions) {
      if (!hasFlags && YAF_TCP_FLAGS.has(key)) op = OP.TCP_FLAGS_OR;
      else if (!hasRevFlags && YAF_REV_TCP_FLAGS.has(key)) op = OP.REV_TCP_FLAGS_OR;
    }
    // The same element more than once: RFC 7011 §8 orders occurrences as the Metering Process
    // treated them, so the last one is the innermost view (Cisco exports a tunnel's outer header
    // first, then the inner packet's, for SRv6 and IP-in-IP). The last occurrence fills the record;
    // earlier ones are kept as extras suffixed with their occurrence number, so nothing is lost.
    const n = total.get(key)!;
    const def = v9Scope ? undefined : ieDef(f.pen, f.id);
    // With no registered type, a variable-length element is always text (see valueAt).
    types[i] = def?.type ?? (f.len === 65535 && !v9Scope ? IeType.UNKNOWN_VARIABLE : 0);
    if (op !== OP.EXTRA && op !== OP.SKIP && k < n) op = OP.EXTRA;
    // A mapped element of a length its type cannot have (e.g. a 20-octet counter) is kept raw.
    if (op !== OP.EXTRA && op !== OP.SKIP && !fitsOp(op === REVERSED ? fwd : op, f.len)) op = OP.EXTRA;
    // Options data is read whole elsewhere (its scope and names); a data record keeps MAX_EXTRAS.
    // The elements also kept as extras count too (YAF's flags; reverse ones, kept when there is no
    // reverse record); past the bound they only do their other work.
    let raw = op === OP.EXTRA || op === OP.TCP_FLAGS_OR || op === OP.REV_TCP_FLAGS_OR || op === REVERSED;
    if (raw && !isOptions && f.len !== 0) {
      if (extras < MAX_EXTRAS) extras++;
      else {
        raw = false;
        if (op === OP.EXTRA) { op = OP.SKIP; skippedExtras++; }
      }
    }
    if (op === REVERSED) {
      revOps ??= new Uint8Array(fields.length);
      revRawOps ??= new Uint8Array(fields.length);
      if (f.len !== 0) { revOps[i] = fwd; revRawOps[i] = raw ? OP.EXTRA : OP.SKIP; }
      op = OP.SKIP;
    }
    ops[i] = f.len === 0 ? OP.SKIP : op;
    if (raw) names[i] = rawName(f.pen, f.id, v9Scope) + (n > 1 && k < n ? `.${k}` : '');
  }
  markBothFamilies(ops, lens);
  markBothIntervals(ops);
  const t: CompiledTemplate = { id, fields, scopeCount, isOptions, ops, lens, types, names, fixedLen, minLen, skippedExtras, reverse: null, reverseRaw: null, lastSeen: now };
  if (revOps === null || revRawOps === null) return t;
  return { ...t, reverse: { ...t, ops: revOps }, reverseRaw: { ...t, ops: revRawOps } };
}

/**
 * Lengths a mapped operation can read: addresses 4 or 16, MACs 6, and numbers from one octet up to
 * their element's own size (RFC 7011 §6.2 allows reduced-size encoding, never a longer one; NetFlow
 * v9 fields are the same or shorter). A field longer than that (a port in 4 octets, an interface in
 * 8) is kept raw as an extra: read into the record it would be a value no port or ifIndex can have.
 */
function fitsOp(op: number, len: number): boolean {
  switch (op) {
    case OP.SRC_IP: case OP.DST_IP: case OP.NEXT_HOP: return len === 4 || len === 16;
    case OP.SRC_MAC: case OP.DST_MAC: return len === 6;
    case OP.APP_ID: case OP.APP_NAME: case OP.DATALINK_SECTION: case OP.IP_SECTION: return true;
    case OP.START_NTP: case OP.END_NTP: return len === 8;
    case OP.PROTO: case OP.TOS: case OP.SRC_MASK: case OP.DST_MASK: case OP.DIRECTION: case OP.END_REASON:
    case OP.IP_VERSION: case OP.ICMP_TYPE: case OP.ICMP_CODE:
      return len === 1;
    case OP.SRC_PORT: case OP.DST_PORT: case OP.TCP_FLAGS: case OP.REV_TCP_FLAGS: case OP.TCP_FLAGS_OR: case OP.REV_TCP_FLAGS_OR:
    case OP.SRC_VLAN: case OP.DST_VLAN:
    case OP.SRC_VLAN_ALT: case OP.DST_VLAN_ALT: case OP.ICMP_TYPE_CODE:
      return len >= 1 && len <= 2;
    case OP.IN_IF: case OP.OUT_IF: case OP.IN_IF_ALT: case OP.OUT_IF_ALT: case OP.SRC_AS: case OP.DST_AS: case OP.SAMPLING_INTERVAL:
      return len >= 1 && len <= 4;
    default: return len >= 1 && len <= 8;
  }
}

/** Whether two field lists are identical (a re-announced template changes nothing). */
export function sameFields(a: TemplateField[], b: TemplateField[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.id !== b[i]!.id || a[i]!.pen !== b[i]!.pen || a[i]!.len !== b[i]!.len) return false;
  return true;
}

export { IeType };

/**
 * Community ID v1 (https://github.com/corelight/community-id-spec):
 *
 *   "1:" + base64(sha1(seed u16 | saddr | daddr | proto u8 | 0 u8 | sport u16 | dport u16))
 *
 * all big-endian, endpoints ordered so the smaller address (then port) comes first. TCP, UDP and
 * SCTP hash their ports; ICMP and ICMPv6 hash the type and the type of the counterpart message
 * (or the code for messages without one), and those one-way messages keep their direction
 * (pycommunityid icmp.py / icmp6.py, Zeek ICMP.cc); other protocols hash addresses and protocol
 * only. The tuple is written into one reused buffer and hashed with `crypto.hash` (Node 20.12+),
 * falling back to createHash.
 */
import * as crypto from 'node:crypto';
import type { Enricher } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';
import { parseIpv4, parseIpv6 } from './ip-parse.js';

const PROTO_ICMP = 1;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMPV6 = 58;
const PROTO_SCTP = 132;

/** ICMPv4 request/response pairs (RFC 792, RFC 950 mask, RFC 1256 router discovery). */
const ICMP4_COUNTERPART = new Int16Array(256).fill(-1);
for (const [a, b] of [[8, 0], [13, 14], [15, 16], [10, 9], [17, 18]] as const) {
  ICMP4_COUNTERPART[a] = b;
  ICMP4_COUNTERPART[b] = a;
}
/** ICMPv6 pairs: echo (RFC 4443), MLD (RFC 2710), ND (RFC 4861), node info (RFC 4620), HAAD (RFC 6275). */
const ICMP6_COUNTERPART = new Int16Array(256).fill(-1);
for (const [a, b] of [[128, 129], [130, 131], [133, 134], [135, 136], [139, 140], [144, 145]] as const) {
  ICMP6_COUNTERPART[a] = b;
  ICMP6_COUNTERPART[b] = a;
}

const hashFn = (crypto as { hash?: (alg: string, data: Uint8Array, enc: string) => string }).hash;

// Layout offsets: seed 0-1, then addresses, proto, pad, ports.
const BUF = Buffer.alloc(40);
const V4_PORTS = BUF.subarray(0, 16);
const V4_NOPORTS = BUF.subarray(0, 12);
const V6_PORTS = BUF.subarray(0, 40);
const V6_NOPORTS = BUF.subarray(0, 36);
const gA = new Uint16Array(8);
const gB = new Uint16Array(8);

function digest(data: Buffer, base64: boolean): string {
  const enc = base64 ? 'base64' : 'hex';
  return hashFn !== undefined ? hashFn('sha1', data, enc) : crypto.createHash('sha1').update(data).digest(enc);
}

// Ports as the spec hashes them, set by specPorts (module scratch: no allocation per record).
let specSport = 0, specDport = 0, specOneWay = false;

/** TCP/UDP/SCTP ports as they are; ICMP type and counterpart type (or code, one-way) per the spec. */
function specPorts(proto: number, srcPort: number, dstPort: number): void {
  specSport = srcPort & 0xffff;
  specDport = dstPort & 0xffff;
  specOneWay = false;
  if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
    const type = specSport & 0xff;
    const other = (proto === PROTO_ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART)[type]!;
    specSport = type;
    if (other >= 0) specDport = other;
    else { specDport = specDport & 0xff; specOneWay = true; }
  }
}

function hasPortsOf(proto: number): boolean {
  return proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP || proto === PROTO_ICMP || proto === PROTO_ICMPV6;
}

/**
 * The Community ID of a tuple. For ICMP (1) and ICMPv6 (58) pass the type as `srcPort` and the
 * code as `dstPort` (as pycommunityid does); see `communityIdIcmp`. Returns '' when the
 * addresses are not both IPv4 or both IPv6.
 */
export function communityId(proto: number, srcIp: string, dstIp: string, srcPort: number, dstPort: number, seed = 0, base64 = true): string {
  const a4 = parseIpv4(srcIp);
  if (a4 >= 0) {
    const b4 = parseIpv4(dstIp);
    return b4 < 0 ? '' : communityIdV4(proto, a4, b4, srcPort, dstPort, seed, base64);
  }
  if (!parseIpv6(srcIp, gA) || !parseIpv6(dstIp, gB)) return '';
  specPorts(proto, srcPort, dstPort);
  const sport = specSport, dport = specDport;
  BUF[0] = (seed >>> 8) & 0xff;
  BUF[1] = seed & 0xff;
  let cmp = 0;
  for (let i = 0; i < 8 && cmp === 0; i++) cmp = gA[i]! - gB[i]!;
  const flip = !specOneWay && (cmp > 0 || (cmp === 0 && sport > dport));
  const first = flip ? gB : gA;
  const second = flip ? gA : gB;
  for (let i = 0; i < 8; i++) {
    BUF[2 + 2 * i] = first[i]! >>> 8; BUF[3 + 2 * i] = first[i]! & 0xff;
    BUF[18 + 2 * i] = second[i]! >>> 8; BUF[19 + 2 * i] = second[i]! & 0xff;
  }
  BUF[34] = proto & 0xff;
  BUF[35] = 0;
  if (!hasPortsOf(proto)) return '1:' + digest(V6_NOPORTS, base64);
  const p1 = flip ? dport : sport, p2 = flip ? sport : dport;
  BUF[36] = p1 >>> 8; BUF[37] = p1 & 0xff; BUF[38] = p2 >>> 8; BUF[39] = p2 & 0xff;
  return '1:' + digest(V6_PORTS, base64);
}

/** `communityId` for IPv4 addresses already as uint32 (flow-record.ts srcIp4 / dstIp4). */
export function communityIdV4(proto: number, a4: number, b4: number, srcPort: number, dstPort: number, seed = 0, base64 = true): string {
  specPorts(proto, srcPort, dstPort);
  const sport = specSport, dport = specDport;
  BUF[0] = (seed >>> 8) & 0xff;
  BUF[1] = seed & 0xff;
  const flip = !specOneWay && (a4 > b4 || (a4 === b4 && sport > dport));
  return hashV4(flip ? b4 : a4, flip ? a4 : b4, proto, hasPortsOf(proto), flip ? dport : sport, flip ? sport : dport, base64);
}

/** IPv4 tuple already ordered (`lo` first); the seed is in BUF[0..1]. */
function hashV4(lo: number, hi: number, proto: number, hasPorts: boolean, p1: number, p2: number, base64: boolean): string {
  // Plain byte stores: Buffer.write* validate their arguments on every call.
  BUF[2] = lo >>> 24; BUF[3] = (lo >>> 16) & 0xff; BUF[4] = (lo >>> 8) & 0xff; BUF[5] = lo & 0xff;
  BUF[6] = hi >>> 24; BUF[7] = (hi >>> 16) & 0xff; BUF[8] = (hi >>> 8) & 0xff; BUF[9] = hi & 0xff;
  BUF[10] = proto & 0xff;
  BUF[11] = 0;
  if (!hasPorts) return '1:' + digest(V4_NOPORTS, base64);
  BUF[12] = p1 >>> 8; BUF[13] = p1 & 0xff; BUF[14] = p2 >>> 8; BUF[15] = p2 & 0xff;
  return '1:' + digest(V4_PORTS, base64);
}

/** The spec's community_id_icmp: ICMP (v4 addresses) or ICMPv6 (v6 addresses) by type and code. */
export function communityIdIcmp(srcIp: string, dstIp: string, type: number, code: number, seed = 0, base64 = true): string {
  const proto = srcIp.includes(':') ? PROTO_ICMPV6 : PROTO_ICMP;
  return communityId(proto, srcIp, dstIp, type, code, seed, base64);
}

/** Slots of the enricher's recent-tuple cache (direct-mapped). */
const RECENT_BITS = 12;

/**
 * flow.community.id for flow records (EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE, _SEED).
 *
 * Exporters report each direction of a conversation as its own record, and both directions have
 * the same ID; a small direct-mapped cache of recent IPv4 TCP/UDP/SCTP tuples (ordered as the
 * spec orders them) hands the second direction, and a long flow's later exports, the ID without
 * hashing again.
 */
export class CommunityIdEnricher implements Enricher {
  readonly name = 'community-id';
  private readonly kLo = new Float64Array(1 << RECENT_BITS).fill(-1);
  private readonly kHi = new Float64Array(1 << RECENT_BITS);
  private readonly kPorts = new Float64Array(1 << RECENT_BITS);
  private readonly ids: string[] = new Array<string>(1 << RECENT_BITS).fill('');
  hits = 0;
  computed = 0;

  constructor(private readonly seed = 0) {}

  counters(): Record<string, number> {
    return { cacheHits: this.hits, computed: this.computed };
  }

  enrich(batch: FlowRecord[]): void {
    const seed = this.seed;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow' || r.srcIp === '' || r.dstIp === '') continue;
      const proto = r.proto;
      if (proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP) {
        // The decoder's uint32s when it read IPv4 (flow-record.ts srcIp4), else the text.
        const a = r.srcIp4 >= 0 ? r.srcIp4 : parseIpv4(r.srcIp);
        const b = a < 0 ? -1 : r.dstIp4 >= 0 ? r.dstIp4 : parseIpv4(r.dstIp);
        if (b >= 0) {
          const sp = r.srcPort & 0xffff, dp = r.dstPort & 0xffff;
          const flip = a > b || (a === b && sp > dp);
          const lo = flip ? b : a, hi = flip ? a : b;
          // Ports and protocol in one exact double: 16 + 16 + 8 bits.
          const ports = ((flip ? dp : sp) * 65536 + (flip ? sp : dp)) * 256 + proto;
          const slot = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(ports | 0, 0x85ebca6b), 0x27d4eb2f) >>> (32 - RECENT_BITS);
          if (this.kLo[slot] === lo && this.kHi[slot] === hi && this.kPorts[slot] === ports) {
            this.hits++;
            r.communityId = this.ids[slot]!;
            continue;
          }
          BUF[0] = (seed >>> 8) & 0xff;
          BUF[1] = seed & 0xff;
          const id = hashV4(lo, hi, proto, true, flip ? dp : sp, flip ? sp : dp, true);
          this.computed++;
          this.kLo[slot] = lo;
          this.kHi[slot] = hi;
          this.kPorts[slot] = ports;
          this.ids[slot] = id;
          r.communityId = id;
          continue;
        }
      }
      this.computed++;
      // Flow records carry ICMP type/code in their own fields (decoders take them out of the ports).
      const icmp = proto === PROTO_ICMP || proto === PROTO_ICMPV6;
      const sp = icmp ? r.icmpType : r.srcPort, dp = icmp ? r.icmpCode : r.dstPort;
      r.communityId = r.srcIp4 >= 0 && r.dstIp4 >= 0
        ? communityIdV4(proto, r.srcIp4, r.dstIp4, sp, dp, seed)
        : communityId(proto, r.srcIp, r.dstIp, sp, dp, seed);
    }
  }
}

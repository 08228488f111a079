/**
 * Locality: is an address `private` (not globally reachable) or `public`?
 *
 * The built-in answer follows the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (RFC 6890 and the RFCs each entry cites): an entry whose "Globally Reachable" column is False
 * (or N/A for a block that is not usable as such) is private. Multicast, the deprecated IPv6
 * site-local block and a few prefixes that embed an IPv4 address are decided here and
 * documented per entry in the tables below (the `note`), which the tests walk entry by entry.
 * Users add their own private ranges with EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS.
 *
 * Hot path: IPv4 text is parsed to a uint32 without allocating and looked up through a 256-entry
 * table by first octet (most /8s are wholly public or private); only the few mixed /8s need a
 * binary search. IPv6 is parsed into a reused group array and checked against a short prefix list
 * chosen by the first byte.
 */
import type { Enricher } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';
import { parseIpv4, parseIpv6 } from './ip-parse.js';
import { embeddedIpv4Groups } from '../embedded-ipv4.js';

/** How an entry decides: private, public, or by the IPv4 address embedded in it. */
export type SpecialKind = 'private' | 'public' | 'embedded-ipv4';

export interface SpecialEntry {
  cidr: string;
  name: string;
  rfc: string;
  kind: SpecialKind;
  /** Why, where we decide differently from (or more than) the registry's column. */
  note?: string;
}

/** IANA IPv4 Special-Purpose Address Registry, plus multicast (not in that registry). */
export const IPV4_SPECIAL: readonly SpecialEntry[] = [
  { cidr: '0.0.0.0/8', name: '"This network"', rfc: 'RFC 791 section 3.2', kind: 'private' },
  { cidr: '0.0.0.0/32', name: '"This host on this network"', rfc: 'RFC 1122 section 3.2.1.3', kind: 'private' },
  { cidr: '10.0.0.0/8', name: 'Private-Use', rfc: 'RFC 1918', kind: 'private' },
  { cidr: '100.64.0.0/10', name: 'Shared Address Space', rfc: 'RFC 6598', kind: 'private' },
  { cidr: '127.0.0.0/8', name: 'Loopback', rfc: 'RFC 1122 section 3.2.1.3', kind: 'private' },
  { cidr: '169.254.0.0/16', name: 'Link Local', rfc: 'RFC 3927', kind: 'private' },
  { cidr: '172.16.0.0/12', name: 'Private-Use', rfc: 'RFC 1918', kind: 'private' },
  { cidr: '192.0.0.0/24', name: 'IETF Protocol Assignments', rfc: 'RFC 6890 section 2.1', kind: 'private', note: 'Registry: N/A (only its more specific entries are usable); private except the two anycast entries below.' },
  { cidr: '192.0.0.0/29', name: 'IPv4 Service Continuity Prefix', rfc: 'RFC 7335', kind: 'private' },
  { cidr: '192.0.0.8/32', name: 'IPv4 dummy address', rfc: 'RFC 7600', kind: 'private' },
  { cidr: '192.0.0.9/32', name: 'Port Control Protocol Anycast', rfc: 'RFC 7723', kind: 'public' },
  { cidr: '192.0.0.10/32', name: 'Traversal Using Relays around NAT Anycast', rfc: 'RFC 8155', kind: 'public' },
  { cidr: '192.0.0.170/31', name: 'NAT64/DNS64 Discovery', rfc: 'RFC 7050 section 2.2 / RFC 8880', kind: 'private' },
  { cidr: '192.0.2.0/24', name: 'Documentation (TEST-NET-1)', rfc: 'RFC 5737', kind: 'private' },
  { cidr: '192.31.196.0/24', name: 'AS112-v4', rfc: 'RFC 7535', kind: 'public' },
  { cidr: '192.52.193.0/24', name: 'AMT', rfc: 'RFC 7450', kind: 'public' },
  { cidr: '192.88.99.0/24', name: 'Deprecated (6to4 Relay Anycast)', rfc: 'RFC 7526', kind: 'public', note: 'Registry: N/A since deprecation; still routed on the Internet, so public.' },
  { cidr: '192.168.0.0/16', name: 'Private-Use', rfc: 'RFC 1918', kind: 'private' },
  { cidr: '192.175.48.0/24', name: 'Direct Delegation AS112 Service', rfc: 'RFC 7534', kind: 'public' },
  { cidr: '198.18.0.0/15', name: 'Benchmarking', rfc: 'RFC 2544', kind: 'private' },
  { cidr: '198.51.100.0/24', name: 'Documentation (TEST-NET-2)', rfc: 'RFC 5737', kind: 'private' },
  { cidr: '203.0.113.0/24', name: 'Documentation (TEST-NET-3)', rfc: 'RFC 5737', kind: 'private' },
  { cidr: '224.0.0.0/4', name: 'Multicast', rfc: 'RFC 5771', kind: 'private', note: 'Not in the special-purpose registry; a group address is no globally reachable host, so private.' },
  { cidr: '240.0.0.0/4', name: 'Reserved', rfc: 'RFC 1112 section 4', kind: 'private' },
  { cidr: '255.255.255.255/32', name: 'Limited Broadcast', rfc: 'RFC 919 section 7', kind: 'private' },
];

/** IANA IPv6 Special-Purpose Address Registry, plus multicast and site-local. */
export const IPV6_SPECIAL: readonly SpecialEntry[] = [
  { cidr: '::1/128', name: 'Loopback Address', rfc: 'RFC 4291', kind: 'private' },
  { cidr: '::/128', name: 'Unspecified Address', rfc: 'RFC 4291', kind: 'private' },
  { cidr: '::ffff:0:0/96', name: 'IPv4-mapped Address', rfc: 'RFC 4291', kind: 'embedded-ipv4', note: 'Judged by the IPv4 address in its last 32 bits.' },
  { cidr: '::/96', name: 'IPv4-compatible Address (deprecated)', rfc: 'RFC 4291 section 2.5.5.1', kind: 'embedded-ipv4', note: 'Not in the special-purpose registry; judged by the IPv4 address in its last 32 bits, as the mapped form is.' },
  { cidr: '::ffff:0:0:0/96', name: 'IPv4-translated Address', rfc: 'RFC 2765', kind: 'embedded-ipv4', note: 'Not in the special-purpose registry; judged by the IPv4 address in its last 32 bits.' },
  { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 Translat.', rfc: 'RFC 6052', kind: 'embedded-ipv4', note: 'Registry: globally reachable; judged by the embedded IPv4 address (RFC 6052 section 3.1 forbids non-global ones there), so the same answer for real traffic.' },
  { cidr: '64:ff9b:1::/48', name: 'IPv4-IPv6 Translat. (local use)', rfc: 'RFC 8215', kind: 'private' },
  { cidr: '100::/64', name: 'Discard-Only Address Block', rfc: 'RFC 6666', kind: 'private' },
  { cidr: '100:0:0:1::/64', name: 'Dummy IPv6 Prefix', rfc: 'RFC 9780', kind: 'private' },
  { cidr: '2001::/23', name: 'IETF Protocol Assignments', rfc: 'RFC 2928', kind: 'private', note: 'Registry: N/A; private except the globally reachable entries below.' },
  { cidr: '2001::/32', name: 'TEREDO', rfc: 'RFC 4380 / RFC 8190', kind: 'public', note: 'Registry: N/A; Teredo clients are hosts on the Internet reached through public relays, so public.' },
  { cidr: '2001:1::1/128', name: 'Port Control Protocol Anycast', rfc: 'RFC 7723', kind: 'public' },
  { cidr: '2001:1::2/128', name: 'Traversal Using Relays around NAT Anycast', rfc: 'RFC 8155', kind: 'public' },
  { cidr: '2001:1::3/128', name: 'DNS-SD Service Registration Protocol Anycast', rfc: 'RFC 9665', kind: 'public' },
  { cidr: '2001:2::/48', name: 'Benchmarking', rfc: 'RFC 5180', kind: 'private' },
  { cidr: '2001:3::/32', name: 'AMT', rfc: 'RFC 7450', kind: 'public' },
  { cidr: '2001:4:112::/48', name: 'AS112-v6', rfc: 'RFC 7535', kind: 'public' },
  { cidr: '2001:10::/28', name: 'Deprecated (previously ORCHID)', rfc: 'RFC 4843', kind: 'private' },
  { cidr: '2001:20::/28', name: 'ORCHIDv2', rfc: 'RFC 7343', kind: 'public' },
  { cidr: '2001:30::/28', name: 'Drone Remote ID Protocol Entity Tags (DETs) Prefix', rfc: 'RFC 9374', kind: 'public' },
  { cidr: '2001:db8::/32', name: 'Documentation', rfc: 'RFC 3849', kind: 'private' },
  { cidr: '2002::/16', name: '6to4', rfc: 'RFC 3056', kind: 'embedded-ipv4', note: 'Registry: N/A; judged by the IPv4 address in bits 16-47 (the 6to4 site\'s public address).' },
  { cidr: '2620:4f:8000::/48', name: 'Direct Delegation AS112 Service', rfc: 'RFC 7534', kind: 'public' },
  { cidr: '3fff::/20', name: 'Documentation', rfc: 'RFC 9637', kind: 'private' },
  { cidr: '5f00::/16', name: 'Segment Routing (SRv6) SIDs', rfc: 'RFC 9602', kind: 'private' },
  { cidr: 'fc00::/7', name: 'Unique-Local', rfc: 'RFC 4193 / RFC 8190', kind: 'private' },
  { cidr: 'fe80::/10', name: 'Link-Local Unicast', rfc: 'RFC 4291', kind: 'private' },
  { cidr: 'fec0::/10', name: 'Site-Local (deprecated)', rfc: 'RFC 3879', kind: 'private', note: 'Not in the special-purpose registry; deprecated site-local space is never globally routed, so private.' },
  { cidr: 'ff00::/8', name: 'Multicast', rfc: 'RFC 4291 section 2.7', kind: 'private', note: 'Not in the special-purpose registry; a group address is no globally reachable host, so private.' },
  { cidr: '::/8', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '100::/8', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '200::/7', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '400::/6', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '800::/5', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '1000::/4', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '4000::/3', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '6000::/3', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: '8000::/3', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: 'a000::/3', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: 'c000::/3', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: 'e000::/4', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: 'f000::/5', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: 'f800::/6', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
  { cidr: 'fe00::/9', name: 'Reserved by IETF', rfc: 'RFC 4291', kind: 'private', note: 'IANA IPv6 Address Space registry: outside global unicast (2000::/3), not routed on the Internet.' },
];

// ---- IPv4: elementary intervals, most specific entry wins ----

interface V4Range { lo: number; hi: number; prefix: number; priv: boolean }

function v4Range(cidr: string): { lo: number; hi: number; prefix: number } {
  const slash = cidr.indexOf('/');
  const base = parseIpv4(slash < 0 ? cidr : cidr.slice(0, slash));
  const prefix = slash < 0 ? 32 : Number(cidr.slice(slash + 1));
  if (base < 0 || !(prefix >= 0 && prefix <= 32)) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const lo = base - (base % size);
  return { lo, hi: lo + size - 1, prefix };
}

/** Sorted, disjoint [lo, hi] intervals that are private, from entries where the longest prefix decides. */
function flattenV4(ranges: readonly V4Range[]): { starts: Float64Array; ends: Float64Array } {
  const cuts = new Set<number>([0, 2 ** 32]);
  for (const r of ranges) { cuts.add(r.lo); cuts.add(r.hi + 1); }
  const pts = [...cuts].sort((a, b) => a - b);
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const lo = pts[i]!, hi = pts[i + 1]! - 1;
    let best: V4Range | null = null;
    for (const r of ranges) if (r.lo <= lo && r.hi >= hi && (best === null || r.prefix > best.prefix)) best = r;
    if (best === null || !best.priv) continue;
    if (ends.length > 0 && ends[ends.length - 1] === lo - 1) ends[ends.length - 1] = hi;
    else { starts.push(lo); ends.push(hi); }
  }
  return { starts: Float64Array.from(starts), ends: Float64Array.from(ends) };
}

const V4 = flattenV4(IPV4_SPECIAL.map((e) => ({ ...v4Range(e.cidr), priv: e.kind === 'private' })));
/** Per first octet: 0 wholly public, 1 wholly private, 2 look in the intervals. */
const V4_BY_OCTET = new Uint8Array(256);
for (let o = 0; o < 256; o++) {
  const lo = o * 2 ** 24, hi = lo + 2 ** 24 - 1;
  let cls = 0;
  for (let i = 0; i < V4.starts.length; i++) {
    const s = V4.starts[i]!, e = V4.ends[i]!;
    if (s <= lo && e >= hi) { cls = 1; break; }
    if (s <= hi && e >= lo) cls = 2;
  }
  V4_BY_OCTET[o] = cls;
}

/** The index of the sorted, disjoint [starts[i], ends[i]] holding `v`, or -1 (a binary search). */
export function intervalIndex(v: number, starts: Float64Array, ends: Float64Array): number {
  let lo = 0, hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (v < starts[mid]!) hi = mid - 1;
    else if (v > ends[mid]!) lo = mid + 1;
    else return mid;
  }
  return -1;
}

function inIntervals(v: number, starts: Float64Array, ends: Float64Array): boolean {
  return intervalIndex(v, starts, ends) >= 0;
}

/** Built-in answer for an IPv4 address as uint32. */
export function isPrivateIpv4(v: number): boolean {
  const cls = V4_BY_OCTET[v >>> 24]!;
  return cls === 2 ? inIntervals(v, V4.starts, V4.ends) : cls === 1;
}

// ---- IPv6: prefixes bucketed by first byte, most specific first ----

interface V6Prefix { groups: Uint16Array; prefix: number; kind: SpecialKind }

function v6Prefix(cidr: string, kind: SpecialKind): V6Prefix {
  const slash = cidr.indexOf('/');
  const groups = new Uint16Array(8);
  const prefix = slash < 0 ? 128 : Number(cidr.slice(slash + 1));
  if (!parseIpv6(slash < 0 ? cidr : cidr.slice(0, slash), groups) || !(prefix >= 0 && prefix <= 128)) throw new Error(`not an IPv6 CIDR: ${cidr}`);
  return { groups, prefix, kind };
}

function v6Matches(g: Uint16Array, p: V6Prefix): boolean {
  const full = p.prefix >>> 4;
  for (let i = 0; i < full; i++) if (g[i] !== p.groups[i]) return false;
  const rem = p.prefix & 15;
  if (rem === 0) return true;
  const mask = (0xffff << (16 - rem)) & 0xffff;
  return (g[full]! & mask) === (p.groups[full]! & mask);
}

/** Prefixes that can match an address, by its first byte; most specific first. */
function bucketV6(prefixes: V6Prefix[]): V6Prefix[][] {
  const sorted = [...prefixes].sort((a, b) => b.prefix - a.prefix);
  const buckets: V6Prefix[][] = [];
  for (let b = 0; b < 256; b++) {
    buckets.push(sorted.filter((p) => {
      if (p.prefix >= 8) return p.groups[0]! >>> 8 === b;
      const m = (0xff << (8 - p.prefix)) & 0xff;
      return ((p.groups[0]! >>> 8) & m) === (b & m);
    }));
  }
  return buckets;
}

const V6_BUCKETS = bucketV6(IPV6_SPECIAL.map((e) => v6Prefix(e.cidr, e.kind)));
const scratch = new Uint16Array(8);

/** Built-in answer for 8 parsed IPv6 groups. */
export function isPrivateIpv6Groups(g: Uint16Array): boolean {
  const bucket = V6_BUCKETS[g[0]! >>> 8]!;
  for (let i = 0; i < bucket.length; i++) {
    const p = bucket[i]!;
    if (!v6Matches(g, p)) continue;
    if (p.kind !== 'embedded-ipv4') return p.kind === 'private';
    const v4 = embeddedIpv4Groups(g);
    return v4 < 0 || isPrivateIpv4(v4);
  }
  return false;
}

/** embeddedIpv4Groups for address text; -1 for IPv4 text, other IPv6 addresses and non-addresses. */
export function embeddedIpv4(ip: string): number {
  return ip.includes(':') && parseIpv6(ip, scratch) ? embeddedIpv4Groups(scratch) : -1;
}

/**
 * True when the address is not globally reachable by the tables above. Not an address (or empty):
 * false.
 */
export function isPrivateIp(ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4 >= 0) return isPrivateIpv4(v4);
  return parseIpv6(ip, scratch) && isPrivateIpv6Groups(scratch);
}

// ---- User-defined extra private ranges ----

/** EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: addresses or CIDRs, IPv4 or IPv6. */
export class ExtraPrivateRanges {
  private readonly v4: { starts: Float64Array; ends: Float64Array };
  private readonly v6: V6Prefix[];

  constructor(cidrs: readonly string[]) {
    const v4: V4Range[] = [];
    const v6: V6Prefix[] = [];
    for (const c of cidrs) {
      const s = c.trim();
      if (s === '') continue;
      if (!s.includes(':')) {
        v4.push({ ...v4Range(s), priv: true });
        continue;
      }
      const p = v6Prefix(s, 'private');
      const g = p.groups;
      if (p.prefix >= 96 && g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
        // An IPv4-mapped range (::ffff:192.0.2.0/120) is the IPv4 range: records write IPv4 ends as IPv4.
        const size = 2 ** (128 - p.prefix);
        const lo = g[6]! * 65536 + g[7]! - ((g[6]! * 65536 + g[7]!) % size);
        v4.push({ lo, hi: lo + size - 1, prefix: p.prefix - 96, priv: true });
      } else {
        v6.push(p);
      }
    }
    this.v4 = flattenV4(v4);
    this.v6 = v6;
  }

  get empty(): boolean {
    return this.v4.starts.length === 0 && this.v6.length === 0;
  }

  hasV4(v: number): boolean {
    return this.v4.starts.length > 0 && inIntervals(v, this.v4.starts, this.v4.ends);
  }

  hasV6(g: Uint16Array): boolean {
    for (let i = 0; i < this.v6.length; i++) if (v6Matches(g, this.v6[i]!)) return true;
    return false;
  }
}

/** Sets srcLocality / dstLocality on flow records; counter records carry no tuple. */
export class LocalityEnricher implements Enricher {
  readonly name = 'locality';
  private readonly extra: ExtraPrivateRanges;
  private readonly g = new Uint16Array(8);

  constructor(extraPrivateCidrs: readonly string[] = []) {
    this.extra = new ExtraPrivateRanges(extraPrivateCidrs);
  }

  /** Private by the registries or the user's ranges. */
  isPrivate(ip: string): boolean {
    const v4 = parseIpv4(ip);
    if (v4 >= 0) return isPrivateIpv4(v4) || this.extra.hasV4(v4);
    if (!parseIpv6(ip, this.g)) return false;
    if (isPrivateIpv6Groups(this.g)) return true;
    if (this.extra.hasV6(this.g)) return true;
    // An address that carries an IPv4 address (mapped, NAT64, 6to4, ...) also honours the user's IPv4 ranges.
    const inner = embeddedIpv4Groups(this.g);
    return inner >= 0 && this.extra.hasV4(inner);
  }

  /** Private by the registries or the user's ranges, for an IPv4 address as uint32. */
  isPrivateV4(v4: number): boolean {
    return isPrivateIpv4(v4) || this.extra.hasV4(v4);
  }

  enrich(batch: FlowRecord[]): void {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow') continue;
      // The decoder's uint32 when it read IPv4 (flow-record.ts srcIp4), else the text.
      if (r.srcIp !== '') r.srcLocality = (r.srcIp4 >= 0 ? this.isPrivateV4(r.srcIp4) : this.isPrivate(r.srcIp)) ? 'private' : 'public';
      if (r.dstIp !== '') r.dstLocality = (r.dstIp4 >= 0 ? this.isPrivateV4(r.dstIp4) : this.isPrivate(r.dstIp)) ? 'private' : 'public';
    }
  }
}

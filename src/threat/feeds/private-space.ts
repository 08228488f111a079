/**
 * "Never flag the private side": every named feed drops, at load, each entry that covers any
 * private, special-purpose or bogon address (the IANA special-purpose registries as decided in
 * src/enrich/locality.ts, plus the user's EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS). A CIDR that
 * only overlaps private space is dropped whole (FireHOL level1 lists 10.0.0.0/8 and 224.0.0.0/3):
 * a feed entry is never allowed to mark an internal host, and splitting a bogon aggregate into its
 * public remainder would invent entries the provider never listed.
 */
import { IPV4_SPECIAL, IPV6_SPECIAL, isPrivateIpv4 } from '../../enrich/locality.js';
import type { EntrySet } from '../entries.js';
import { formatIPv4, parseIPv4, parseIPv6 } from '../ip.js';

interface V6Entry { words: Uint32Array; prefix: number; kind: 'private' | 'public' | 'embedded-ipv4' }

function v4Bounds(cidr: string): [number, number] {
  const [a, p] = cidr.split('/');
  const base = parseIPv4(a!);
  const prefix = p === undefined ? 32 : Number(p);
  if (base < 0 || !(prefix >= 0 && prefix <= 32)) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const lo = base - (base % size);
  return [lo, lo + size - 1];
}

function v6Entry(cidr: string, kind: V6Entry['kind']): V6Entry {
  const [a, p] = cidr.split('/');
  const words = new Uint32Array(4);
  if (!parseIPv6(a!, words)) throw new Error(`not an IPv6 CIDR: ${cidr}`);
  return { words, prefix: p === undefined ? 128 : Number(p), kind };
}

/** True when the first `bits` bits of a and b agree. */
function samePrefix(a: Uint32Array, b: Uint32Array, bits: number): boolean {
  for (let w = 0; w < 4 && bits > 0; w++, bits -= 32) {
    const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    if (((a[w]! ^ b[w]!) & mask) >>> 0 !== 0) return false;
  }
  return true;
}

export class PrivateSpace {
  /** Sorted disjoint private IPv4 intervals [starts[i], ends[i]]. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly v6: V6Entry[];

  constructor(extraCidrs: readonly string[] = []) {
    // Elementary intervals between every boundary of the registry table; each is wholly private or
    // wholly public, which isPrivateIpv4 of its first address tells (the locality module decides).
    const cuts = new Set<number>([0, 2 ** 32]);
    for (const e of IPV4_SPECIAL) {
      const [lo, hi] = v4Bounds(e.cidr);
      cuts.add(lo);
      cuts.add(hi + 1);
    }
    const extra4: [number, number][] = [];
    const extra6: V6Entry[] = [];
    for (const c of extraCidrs) {
      const t = c.trim();
      if (t === '') continue;
      if (t.includes(':')) extra6.push(v6Entry(t, 'private'));
      else extra4.push(v4Bounds(t));
    }
    for (const [lo, hi] of extra4) {
      cuts.add(lo);
      cuts.add(hi + 1);
    }
    const pts = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < pts.length; i++) {
      const lo = pts[i]!;
      const hi = pts[i + 1]! - 1;
      const priv = isPrivateIpv4(lo) || extra4.some(([a, b]) => a <= lo && b >= hi);
      if (!priv) continue;
      if (this.ends.length > 0 && this.ends[this.ends.length - 1] === lo - 1) this.ends[this.ends.length - 1] = hi;
      else {
        this.starts.push(lo);
        this.ends.push(hi);
      }
    }
    this.v6 = [...IPV6_SPECIAL.map((e) => v6Entry(e.cidr, e.kind)), ...extra6];
  }

  /** Does [lo, hi] (uint32) hold any private address? */
  overlapsV4(lo: number, hi: number): boolean {
    let a = 0;
    let b = this.starts.length - 1;
    // The last interval starting at or before hi; it or none overlaps.
    let k = -1;
    while (a <= b) {
      const m = (a + b) >>> 1;
      if (this.starts[m]! <= hi) {
        k = m;
        a = m + 1;
      } else b = m - 1;
    }
    return k >= 0 && this.ends[k]! >= lo;
  }

  overlapsV4Cidr(addr: number, prefix: number): boolean {
    const size = 2 ** (32 - prefix);
    return this.overlapsV4(addr, addr + size - 1);
  }

  /** Does the IPv6 CIDR (four words, host bits clear) hold any private address? */
  overlapsV6Cidr(w: Uint32Array, prefix: number): boolean {
    for (const q of this.v6) {
      if (q.kind === 'public') continue;
      if (!samePrefix(w, q.words, Math.min(prefix, q.prefix))) continue;
      if (q.kind === 'embedded-ipv4' && prefix >= q.prefix) {
        // Within a translation prefix: judged by the IPv4 addresses it embeds.
        if (q.prefix === 16) {
          // 6to4 (RFC 3056): the IPv4 address is bits 16-47.
          const v4 = (((w[0]! & 0xffff) << 16) | (w[1]! >>> 16)) >>> 0;
          const p4 = Math.min(32, prefix - 16);
          if (this.overlapsV4Cidr(p4 === 0 ? 0 : (v4 & ((0xffffffff << (32 - p4)) >>> 0)) >>> 0, p4)) return true;
          continue;
        }
        const p4 = prefix - 96;
        if (this.overlapsV4Cidr(p4 === 0 ? 0 : (w[3]! & ((0xffffffff << (32 - p4)) >>> 0)) >>> 0, p4)) return true;
        continue;
      }
      // A more specific entry that is not private outright, holding the whole CIDR, overrides: a public
      // one (2001:20::/28 inside 2001::/23), or one judged by its embedded IPv4 (64:ff9b::/96 inside
      // the reserved ::/8), which its own turn of this loop decides.
      const carved = prefix >= q.prefix && this.v6.some((r) => r.kind !== 'private' && r.prefix > q.prefix && r.prefix <= prefix && samePrefix(w, r.words, r.prefix));
      if (!carved) return true;
    }
    return false;
  }
}

export interface DropResult {
  dropped: number;
  samples: string[];
}

/** Removes, in place, every entry of `set` that overlaps private space. */
export function dropPrivate(set: EntrySet, space: PrivateSpace): DropResult {
  const samples: string[] = [];
  let dropped = 0;
  const note = (s: string): void => {
    dropped++;
    if (samples.length < 3) samples.push(s);
  };
  let k = 0;
  for (let i = 0; i < set.v4Count; i++) {
    const a = set.v4Addr[i]!;
    const p = set.v4Prefix[i]!;
    if (space.overlapsV4Cidr(a, p)) {
      note(`${formatIPv4(a)}/${p}`);
      continue;
    }
    set.v4Addr[k] = a;
    set.v4Prefix[k] = p;
    set.v4Val[k] = set.v4Val[i]!;
    k++;
  }
  set.v4Count = k;
  k = 0;
  const w = new Uint32Array(4);
  for (let i = 0; i < set.v6Count; i++) {
    w.set(set.v6Addr.subarray(i * 4, i * 4 + 4));
    const p = set.v6Prefix[i]!;
    if (space.overlapsV6Cidr(w, p)) {
      note(`${formatIPv6(w)}/${p}`);
      continue;
    }
    set.v6Addr.set(w, k * 4);
    set.v6Prefix[k] = p;
    set.v6Val[k] = set.v6Val[i]!;
    k++;
  }
  set.v6Count = k;
  return { dropped, samples };
}

/** Eight hex groups (uncompressed): enough for a log sample. */
function formatIPv6(w: Uint32Array): string {
  const g: string[] = [];
  for (let i = 0; i < 4; i++) g.push((w[i]! >>> 16).toString(16), (w[i]! & 0xffff).toString(16));
  return g.join(':');
}

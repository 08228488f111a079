/**
 * The parsed form of one blocklist: CIDRs in growable typed arrays (no object per entry, so a list
 * of millions stays small), each pointing at a deduplicated name. Parsers add text; the prefix
 * index is built from this.
 */
import { parseIPv4, parseIPv6 } from './ip.js';
import { cutText } from '../cut-text.js';

/**
 * UTF-16 units kept of one name, and of a list entry's names together: every flow to or from the
 * entry carries them (records, the store, exports), and a feed's name may be of any length (a 100 KB
 * one made an API answer of 20 flows 3.7 MB in a review).
 */
export const THREAT_NAME_MAX = 128;
export const THREAT_NAMES_MAX = 512;

const v6Scratch = new Uint32Array(4);

/** `names` (joined by ',') cut to THREAT_NAMES_MAX at the last whole name, so no part of one becomes a name of its own. */
function cutNames(names: string): string {
  if (names.length <= THREAT_NAMES_MAX) return names;
  const comma = names.lastIndexOf(',', THREAT_NAMES_MAX);
  return comma > 0 ? names.slice(0, comma) : cutText(names, THREAT_NAMES_MAX);
}

export class EntrySet {
  v4Addr = new Uint32Array(1024);
  v4Prefix = new Uint8Array(1024);
  v4Val = new Int32Array(1024);
  v4Count = 0;
  /** Four big-endian words per entry. */
  v6Addr = new Uint32Array(4 * 64);
  v6Prefix = new Uint8Array(64);
  v6Val = new Int32Array(64);
  v6Count = 0;
  readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  /** Entries that did not parse, and the first few of them for the summary line. */
  bad = 0;
  readonly badSamples: string[] = [];

  /** `defaultName` is used when the list names nothing (`blocklist` for the RiskIQ feed). */
  constructor(readonly defaultName: string) {}

  get count(): number {
    return this.v4Count + this.v6Count;
  }

  nameId(name: string): number {
    let t = name.trim();
    // Records join several names with ',' (a JSON `tags` array arrives so too): each part is
    // trimmed and empty parts dropped, so `botnet, mirai` is the names `botnet` and `mirai`.
    if (t.includes(',')) t = cutNames(t.split(',').map((p) => cutText(p.trim(), THREAT_NAME_MAX).trimEnd()).filter((p) => p !== '').join(','));
    else t = cutText(t, THREAT_NAME_MAX).trimEnd();
    const n = t === '' ? this.defaultName : t;
    let id = this.nameIndex.get(n);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(n);
      this.nameIndex.set(n, id);
    }
    return id;
  }

  /** Adds `addr` (an address or CIDR); host bits beyond the prefix are cleared. False when it does not parse. */
  add(addr: string, name: string): boolean {
    const ok = this.addAddr(addr.trim(), name);
    if (!ok) this.reject(addr);
    return ok;
  }

  reject(raw: string): void {
    this.bad++;
    if (this.badSamples.length < 3) {
      const t = raw.trim();
      this.badSamples.push(t.length > 60 ? t.slice(0, 57) + '...' : t);
    }
  }

  private addAddr(a: string, name: string): boolean {
    const slash = a.indexOf('/');
    const host = slash < 0 ? a : a.slice(0, slash);
    let prefix = -1;
    if (slash >= 0) {
      const p = a.slice(slash + 1);
      if (!/^\d{1,3}$/.test(p)) return false;
      prefix = Number(p);
    }
    const v4 = parseIPv4(host);
    if (v4 >= 0) {
      if (prefix < 0) prefix = 32;
      if (prefix > 32) return false;
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      this.pushV4((v4 & mask) >>> 0, prefix, this.nameId(name));
      return true;
    }
    if (host.indexOf(':') < 0 || !parseIPv6(host, v6Scratch)) return false;
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return false;
    if (prefix >= 96 && v6Scratch[0] === 0 && v6Scratch[1] === 0 && v6Scratch[2] === 0xffff) {
      // IPv4-mapped (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2): lookups take mapped flow addresses
      // as IPv4 (matcher.ts), so the entry is stored as the IPv4 prefix it names.
      const p4 = prefix - 96;
      const mask = p4 === 0 ? 0 : (0xffffffff << (32 - p4)) >>> 0;
      this.pushV4((v6Scratch[3]! & mask) >>> 0, p4, this.nameId(name));
      return true;
    }
    for (let w = 0; w < 4; w++) {
      const bits = prefix - 32 * w;
      const mask = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v6Scratch[w] = (v6Scratch[w]! & mask) >>> 0;
    }
    this.pushV6(v6Scratch, prefix, this.nameId(name));
    return true;
  }

  pushV4(addr: number, prefix: number, val: number): void {
    if (this.v4Count === this.v4Addr.length) {
      const cap = this.v4Addr.length * 2;
      this.v4Addr = grow(this.v4Addr, new Uint32Array(cap));
      this.v4Prefix = grow(this.v4Prefix, new Uint8Array(cap));
      this.v4Val = grow(this.v4Val, new Int32Array(cap));
    }
    const i = this.v4Count++;
    this.v4Addr[i] = addr;
    this.v4Prefix[i] = prefix;
    this.v4Val[i] = val;
  }

  pushV6(words: Uint32Array, prefix: number, val: number): void {
    if (this.v6Count === this.v6Prefix.length) {
      const cap = this.v6Prefix.length * 2;
      this.v6Addr = grow(this.v6Addr, new Uint32Array(cap * 4));
      this.v6Prefix = grow(this.v6Prefix, new Uint8Array(cap));
      this.v6Val = grow(this.v6Val, new Int32Array(cap));
    }
    const i = this.v6Count++;
    this.v6Addr.set(words.subarray(0, 4), i * 4);
    this.v6Prefix[i] = prefix;
    this.v6Val[i] = val;
  }
}

function grow<T extends Uint32Array | Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

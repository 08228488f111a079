/**
 * What a feed answers per address, on the hot path: the user's exclude list wins over everything,
 * then the user's include list (its own names), then the feed's list. Each part is an immutable
 * PrefixIndex replaced whole by one assignment, so a lookup never sees half a list. The address is
 * parsed once for all three.
 */
import { embeddedIPv4, isV4Mapped, parseIPv4, parseIPv6 } from './ip.js';
import { PrefixIndex, type PrefixIndexParts } from './prefix-index.js';

/** A matcher's lists as plain arrays: posted to decode workers, which copy it (see Enricher 'replica'). */
export interface MatcherState {
  list: PrefixIndexParts;
  include: PrefixIndexParts;
  exclude: PrefixIndexParts;
}

const scratch = new Uint32Array(4);

export class ThreatMatcher {
  private list = PrefixIndex.empty();
  private include = PrefixIndex.empty();
  private exclude = PrefixIndex.empty();
  private hasInclude = false;
  private hasExclude = false;

  setList(index: PrefixIndex): void {
    this.list = index;
  }

  setInclExcl(include: PrefixIndex, exclude: PrefixIndex): void {
    this.include = include;
    this.exclude = exclude;
    this.hasInclude = include.size > 0;
    this.hasExclude = exclude.size > 0;
  }

  state(): MatcherState {
    return { list: this.list.parts().parts, include: this.include.parts().parts, exclude: this.exclude.parts().parts };
  }

  applyState(s: MatcherState): void {
    this.list = PrefixIndex.fromParts(s.list);
    this.setInclExcl(PrefixIndex.fromParts(s.include), PrefixIndex.fromParts(s.exclude));
  }

  get listSize(): number {
    return this.list.size;
  }

  /**
   * Names for `n` addresses at once (out[i] for ips[i], null when not flagged). All IPv4 addresses
   * are parsed first and then looked up in one tight loop: with the parsing out of the way the CPU
   * overlaps the cache misses of independent lookups, which a per-address loop does not allow.
   * `v4`, when given, holds each address as the decoder's IPv4 number (-1: parse the text instead).
   */
  namesFor(ips: readonly string[], n: number, out: (string | null)[], v4?: Float64Array): void {
    if (this.keys.length < n) {
      this.keys = new Float64Array(n * 2);
      this.vals = new Int32Array(n * 2);
    }
    const keys = this.keys;
    const vals = this.vals;
    if (v4 === undefined) for (let i = 0; i < n; i++) keys[i] = parseIPv4(ips[i]!);
    else for (let i = 0; i < n; i++) keys[i] = v4[i]! >= 0 ? v4[i]! : parseIPv4(ips[i]!);
    const list = this.list;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      vals[i] = k >= 0 ? list.lookupV4(k) : -1;
    }
    const names = list.names;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      if (k < 0 || this.hasExclude || this.hasInclude) out[i] = this.nameFor(ips[i]!);
      else out[i] = vals[i]! >= 0 ? names[vals[i]!]! : null;
    }
  }

  private keys = new Float64Array(64);
  private vals = new Int32Array(64);

  /**
   * The threat name for `ip` (text form), or null when it is not flagged. An IPv6 address carrying an
   * IPv4 one (NAT64, 6to4, ...) is looked up in each list as PrefixIndex.lookupV6Or4 does, so an
   * exclude entry for either address keeps it unflagged.
   */
  nameFor(ip: string): string | null {
    let v4 = parseIPv4(ip);
    let v6 = false;
    if (v4 < 0) {
      if (!parseIPv6(ip, scratch)) return null;
      if (isV4Mapped(scratch)) v4 = scratch[3]!;
      else {
        v6 = true;
        v4 = embeddedIPv4(scratch);
      }
    }
    if (this.hasExclude && (v6 ? this.exclude.lookupV6Or4(scratch, v4) : this.exclude.lookupV4(v4)) >= 0) return null;
    if (this.hasInclude) {
      const v = v6 ? this.include.lookupV6Or4(scratch, v4) : this.include.lookupV4(v4);
      if (v >= 0) return this.include.names[v]!;
    }
    const v = v6 ? this.list.lookupV6Or4(scratch, v4) : this.list.lookupV4(v4);
    return v < 0 ? null : this.list.names[v]!;
  }
}

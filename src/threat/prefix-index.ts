/**
 * Longest-prefix match over IPv4 and IPv6 CIDRs, read on the hot path for both ends of every flow.
 *
 * Why this shape: the CIDRs are flattened once, at build time, into a complete partition of the
 * address space (sorted range starts, each with the value of the most specific CIDR covering it,
 * -1 for none), so a lookup is one "last start <= address" search and no per-prefix-length probing.
 * For IPv4 a 262,144-slot directory on the top 18 bits narrows that search to the few ranges inside
 * one /18 (about 8 for a million entries, one cache line since start and value are interleaved),
 * so a lookup touches about 2 cache lines: no hashing (a per-prefix-length hash would probe once
 * per length present), no allocation, flat typed arrays (8 bytes per range plus a 1 MB directory;
 * a million /32s take about 17 MB). IPv6 lists
 * are far shorter, so IPv6 uses a plain binary search over 128-bit starts (four words each).
 *
 * Building sorts with a stable LSD radix sort (prefix length, then the four address bytes) and
 * sweeps with a stack of enclosing CIDRs; both run in time slices (see slicer.ts) so a rebuild of
 * a million entries never stalls the pipeline for more than a slice. The result is immutable and
 * replaces the previous index in one assignment.
 */
import type { EntrySet } from './entries.js';
import { embeddedIPv4, isV4Mapped, parseIPv4, parseIPv6 } from './ip.js';
import { Slicer } from './slicer.js';

const CHUNK = 16384;
/** Directory bits: 2^18 slots (1 MB, stays in L2) leave about 8 ranges (one 64-byte cache line) per slot at 1M entries. */
const DIR_BITS = 18;
const DIR_SHIFT = 32 - DIR_BITS;
const DIR_SLOTS = 1 << DIR_BITS;
const NONE = 0xffffffff;
const scratch = new Uint32Array(4);

/** The arrays of an index, for moving it between threads without copying (see build-worker.ts). */
export interface PrefixIndexParts {
  v4Ranges: Uint32Array;
  v4Dir: Uint32Array;
  v6Starts: Uint32Array;
  v6Vals: Int32Array;
  names: string[];
  v4Entries: number;
  v6Entries: number;
}

export class PrefixIndex {
  constructor(
    /** Interleaved [start, value] pairs so the search and the answer share cache lines; value NONE = no entry. */
    private readonly v4Ranges: Uint32Array,
    private readonly v4Dir: Uint32Array,
    private readonly v6Starts: Uint32Array,
    private readonly v6Vals: Int32Array,
    readonly names: readonly string[],
    /** Entries the index was built from (after de-duplication of identical CIDRs). */
    readonly v4Entries: number,
    readonly v6Entries: number,
  ) {}

  static empty(): PrefixIndex {
    const dir = new Uint32Array(DIR_SLOTS + 1);
    return new PrefixIndex(Uint32Array.of(0, NONE), dir, new Uint32Array(4), Int32Array.of(-1), [], 0, 0);
  }

  static fromParts(p: PrefixIndexParts): PrefixIndex {
    return new PrefixIndex(p.v4Ranges, p.v4Dir, p.v6Starts, p.v6Vals, p.names, p.v4Entries, p.v6Entries);
  }

  /** The parts, and the buffers to transfer with them (each array owns its buffer). */
  parts(): { parts: PrefixIndexParts; transfer: ArrayBuffer[] } {
    const parts = { v4Ranges: this.v4Ranges, v4Dir: this.v4Dir, v6Starts: this.v6Starts, v6Vals: this.v6Vals, names: this.names.slice(), v4Entries: this.v4Entries, v6Entries: this.v6Entries };
    return { parts, transfer: [this.v4Ranges.buffer, this.v4Dir.buffer, this.v6Starts.buffer, this.v6Vals.buffer] as ArrayBuffer[] };
  }

  get size(): number {
    return this.v4Entries + this.v6Entries;
  }

  /** Ranges held (memory is about 16 bytes per IPv4 range and 20 per IPv6 range). */
  get ranges(): number {
    return this.v4Ranges.length / 2 + this.v6Vals.length;
  }

  /** Value index of the most specific CIDR holding `ip` (a uint32), or -1. */
  lookupV4(ip: number): number {
    const r = this.v4Ranges;
    const b = ip >>> DIR_SHIFT;
    let lo = this.v4Dir[b]!;
    let hi = this.v4Dir[b + 1]!;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (r[2 * mid]! <= ip) lo = mid;
      else hi = mid - 1;
    }
    return r[2 * lo + 1]! | 0;
  }

  /** Same for an IPv6 address given as four big-endian words at w[off..off+3]. */
  lookupV6(w: Uint32Array, off = 0): number {
    const s = this.v6Starts;
    let lo = 0;
    let hi = this.v6Vals.length - 1;
    const a0 = w[off]!;
    const a1 = w[off + 1]!;
    const a2 = w[off + 2]!;
    const a3 = w[off + 3]!;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const k = mid * 4;
      const s0 = s[k]!;
      let le: boolean;
      if (s0 !== a0) le = s0 < a0;
      else if (s[k + 1] !== a1) le = s[k + 1]! < a1;
      else if (s[k + 2] !== a2) le = s[k + 2]! < a2;
      else le = s[k + 3]! <= a3;
      if (le) lo = mid;
      else hi = mid - 1;
    }
    return this.v6Vals[lo]!;
  }

  /**
   * An IPv6 address that carries the IPv4 address `v4` (NAT64, 6to4, ...; -1: none, see
   * embeddedIPv4): an IPv6 entry covering the address itself names what the flow carried and wins,
   * else an IPv4 entry covering `v4`. `probeV6` false: the caller knows the index holds no IPv6 entry.
   */
  lookupV6Or4(w: Uint32Array, v4: number, off = 0, probeV6 = true): number {
    const v = probeV6 ? this.lookupV6(w, off) : -1;
    return v >= 0 || v4 < 0 ? v : this.lookupV4(v4);
  }

  /**
   * Value index for an address in text form, or -1. IPv4-mapped IPv6 is looked up as IPv4 (its
   * entries are stored so, see entries.ts); other IPv6 carrying an IPv4 address as lookupV6Or4.
   */
  lookup(ip: string): number {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) return this.lookupV4(v4);
    if (!parseIPv6(ip, scratch)) return -1;
    if (isV4Mapped(scratch)) return this.lookupV4(scratch[3]!);
    return this.lookupV6Or4(scratch, embeddedIPv4(scratch));
  }

  /** The name of the most specific entry holding `ip`, or null. */
  nameOf(ip: string): string | null {
    const v = this.lookup(ip);
    return v < 0 ? null : this.names[v]!;
  }
}

/** Builds the index from a parsed list, in time slices. */
export async function buildPrefixIndex(set: EntrySet, slicer = new Slicer()): Promise<PrefixIndex> {
  const v4 = await buildV4(set, slicer);
  const v6 = await buildV6(set, slicer);
  return new PrefixIndex(v4.ranges, v4.dir, v6.starts, v6.vals, set.names.slice(), v4.entries, v6.entries);
}

async function buildV4(set: EntrySet, slicer: Slicer): Promise<{ ranges: Uint32Array; dir: Uint32Array; entries: number }> {
  const n = set.v4Count;
  const addr = set.v4Addr;
  const prefix = set.v4Prefix;
  const val = set.v4Val;

  // Stable LSD radix sort of entry numbers by (address, prefix length): the prefix pass first, then
  // the address bytes from least to most significant; equal CIDRs keep their list order.
  let idx = new Uint32Array(n);
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(257);
  count.fill(0);
  await slicer.maybePause();
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + CHUNK);
    for (; i < end; i++) count[prefix[i]! + 1]!++;
    await slicer.maybePause();
  }
  for (let b = 1; b < 257; b++) count[b]! += count[b - 1]!;
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + CHUNK);
    for (; i < end; i++) idx[count[prefix[i]!]!++] = i;
    await slicer.maybePause();
  }
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0);
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + CHUNK);
      for (; i < end; i++) count[((addr[idx[i]!]! >>> shift) & 255) + 1]!++;
      await slicer.maybePause();
    }
    for (let b = 1; b < 257; b++) count[b]! += count[b - 1]!;
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + CHUNK);
      for (; i < end; i++) {
        const e = idx[i]!;
        tmp[count[(addr[e]! >>> shift) & 255]!++] = e;
      }
      await slicer.maybePause();
    }
    const t = idx;
    idx = tmp;
    tmp = t;
  }

  // Sweep: a stack of the CIDRs enclosing the current point; each range gets the innermost one.
  const starts = new Uint32Array(2 * n + 1);
  const vals = new Int32Array(2 * n + 1);
  let m = 0;
  const emit = (start: number, v: number): void => {
    if (m > 0 && vals[m - 1] === v) return;
    starts[m] = start;
    vals[m] = v;
    m++;
  };
  const stStart = new Float64Array(34);
  const stEnd = new Float64Array(34);
  const stVal = new Int32Array(34);
  let sp = 0;
  let pos = 0;
  let entries = 0;
  for (let k = 0; k < n; ) {
    const end = Math.min(n, k + CHUNK);
    for (; k < end; k++) {
      const i = idx[k]!;
      const s = addr[i]!;
      const e = s + 2 ** (32 - prefix[i]!) - 1;
      while (sp > 0 && stEnd[sp - 1]! < s) {
        sp--;
        if (pos <= stEnd[sp]!) {
          emit(pos, stVal[sp]!);
          pos = stEnd[sp]! + 1;
        }
      }
      if (pos < s) {
        emit(pos, sp > 0 ? stVal[sp - 1]! : -1);
        pos = s;
      }
      if (sp > 0 && stStart[sp - 1] === s && stEnd[sp - 1] === e) continue; // the same CIDR again: first wins
      stStart[sp] = s;
      stEnd[sp] = e;
      stVal[sp] = val[i]!;
      sp++;
      entries++;
    }
    await slicer.maybePause();
  }
  while (sp > 0) {
    sp--;
    if (pos <= stEnd[sp]!) {
      emit(pos, stVal[sp]!);
      pos = stEnd[sp]! + 1;
    }
  }
  if (pos <= 0xffffffff) emit(pos, -1);
  idx = tmp = new Uint32Array(0);

  const ranges = new Uint32Array(2 * m);
  for (let r = 0; r < m; ) {
    const end = Math.min(m, r + CHUNK);
    for (; r < end; r++) {
      ranges[2 * r] = starts[r]!;
      ranges[2 * r + 1] = vals[r]!;
    }
    await slicer.maybePause();
  }
  // dir[b]: the range holding the first address of slot b; any address in slot b lies in range dir[b]..dir[b+1].
  const dir = new Uint32Array(DIR_SLOTS + 1);
  let j = 0;
  for (let b = 0; b < DIR_SLOTS; ) {
    const end = Math.min(DIR_SLOTS, b + CHUNK);
    for (; b < end; b++) {
      const a = b * 2 ** DIR_SHIFT;
      while (j + 1 < m && starts[j + 1]! <= a) j++;
      dir[b] = j;
    }
    await slicer.maybePause();
  }
  dir[DIR_SLOTS] = m - 1;
  return { ranges, dir, entries };
}

async function buildV6(set: EntrySet, slicer: Slicer): Promise<{ starts: Uint32Array; vals: Int32Array; entries: number }> {
  const n = set.v6Count;
  const w = set.v6Addr;
  const prefix = set.v6Prefix;
  // The same stable LSD radix sort as IPv4: prefix length, then the 16 address bytes, last first.
  let order = new Uint32Array(n);
  let tmp = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const count = new Uint32Array(257);
  const pass = async (key: (e: number) => number): Promise<void> => {
    count.fill(0);
    for (let i = 0; i < n; i++) count[key(order[i]!) + 1]!++;
    for (let b = 1; b < 257; b++) count[b]! += count[b - 1]!;
    for (let i = 0; i < n; i++) {
      const e = order[i]!;
      tmp[count[key(e)]!++] = e;
    }
    const t = order;
    order = tmp;
    tmp = t;
    await slicer.maybePause();
  };
  await pass((e) => prefix[e]!);
  for (let word = 3; word >= 0; word--) {
    for (let shift = 0; shift < 32; shift += 8) await pass((e) => (w[e * 4 + word]! >>> shift) & 255);
  }
  const big = (i: number): bigint =>
    (BigInt(w[i * 4]!) << 96n) | (BigInt(w[i * 4 + 1]!) << 64n) | (BigInt(w[i * 4 + 2]!) << 32n) | BigInt(w[i * 4 + 3]!);
  const outStarts: bigint[] = [];
  const outVals: number[] = [];
  const emit = (start: bigint, v: number): void => {
    if (outVals.length > 0 && outVals[outVals.length - 1] === v) return;
    outStarts.push(start);
    outVals.push(v);
  };
  const stack: { s: bigint; e: bigint; v: number }[] = [];
  let pos = 0n;
  let entries = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const s = big(i);
    const e = s + (1n << BigInt(128 - prefix[i]!)) - 1n;
    while (stack.length > 0 && stack[stack.length - 1]!.e < s) {
      const top = stack.pop()!;
      if (pos <= top.e) {
        emit(pos, top.v);
        pos = top.e + 1n;
      }
    }
    if (pos < s) {
      emit(pos, stack.length > 0 ? stack[stack.length - 1]!.v : -1);
      pos = s;
    }
    const top = stack[stack.length - 1];
    if (top !== undefined && top.s === s && top.e === e) continue;
    stack.push({ s, e, v: set.v6Val[i]! });
    entries++;
    if ((k & 1023) === 0) await slicer.maybePause();
  }
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (pos <= top.e) {
      emit(pos, top.v);
      pos = top.e + 1n;
    }
  }
  if (pos < 1n << 128n) emit(pos, -1);
  const starts = new Uint32Array(outStarts.length * 4);
  for (let r = 0; r < outStarts.length; r++) {
    const b = outStarts[r]!;
    starts[r * 4] = Number((b >> 96n) & 0xffffffffn);
    starts[r * 4 + 1] = Number((b >> 64n) & 0xffffffffn);
    starts[r * 4 + 2] = Number((b >> 32n) & 0xffffffffn);
    starts[r * 4 + 3] = Number(b & 0xffffffffn);
  }
  return { starts, vals: Int32Array.from(outVals), entries };
}

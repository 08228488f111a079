import { parseIpv4 } from './ip-parse.js';

/**
 * A bounded address-to-answer cache for database lookups on the hot path: a busy exporter sends
 * the same few thousand addresses over and over. Two generations of Map give LRU-like eviction at
 * O(1): hits in the old generation are promoted; when the current one fills, the old one is dropped.
 */
export class LookupCache<V, K = string> {
  private cur = new Map<K, V>();
  private old = new Map<K, V>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxPerGeneration = 65536) {}

  get(key: K): V | undefined {
    let v = this.cur.get(key);
    if (v !== undefined) { this.hits++; return v; }
    v = this.old.get(key);
    if (v !== undefined) { this.hits++; this.set(key, v); return v; }
    this.misses++;
    return undefined;
  }

  /** Forgets every answer (the database behind them changed). */
  clear(): void {
    this.cur = new Map();
    this.old = new Map();
  }

  set(key: K, v: V): void {
    if (this.cur.size >= this.maxPerGeneration) {
      this.old = this.cur;
      this.cur = new Map();
    }
    this.cur.set(key, v);
  }

  get size(): number {
    return this.cur.size + this.old.size;
  }
}


/**
 * Address-keyed cache with a loader. IPv4 addresses go to a two-way set-associative table keyed by
 * the uint32 (no string hashing: record addresses are fresh strings, which a Map must hash and
 * often flatten first; two ways per set, on one cache line, so two busy addresses that hash alike
 * do not evict each other), backed by a two-generation Map for addresses that fell out of their
 * set; IPv6 addresses to a LookupCache.
 */
export class AddressCache<V> {
  private static readonly BITS = 16;
  private readonly keys = new Float64Array(1 << AddressCache.BITS).fill(-1);
  private readonly vals: (V | undefined)[] = new Array<V | undefined>(1 << AddressCache.BITS).fill(undefined);
  private readonly v4: LookupCache<V, number>;
  private readonly v6: LookupCache<V>;
  hits = 0;
  misses = 0;

  constructor(private readonly load: (ip: string) => V, perGeneration = 65536) {
    this.v4 = new LookupCache<V, number>(perGeneration);
    this.v6 = new LookupCache<V>(perGeneration);
  }

  /** `known4`: the address as uint32 when the caller has it (flow-record.ts srcIp4), else -1. */
  get(ip: string, known4 = -1): V {
    const v4 = known4 >= 0 ? known4 : parseIpv4(ip);
    if (v4 >= 0) {
      // Fibonacci hashing of the address to a set of two slots (even index: the newer entry).
      const slot = (Math.imul(v4, 0x9e3779b1) >>> (32 - AddressCache.BITS)) & ~1;
      const keys = this.keys;
      if (keys[slot] === v4) { this.hits++; return this.vals[slot]!; }
      if (keys[slot + 1] === v4) { this.hits++; return this.vals[slot + 1]!; }
      // Not in its set: the second level keeps everything recently seen.
      let v = this.v4.get(v4);
      if (v !== undefined) this.hits++;
      else {
        this.misses++;
        v = this.load(ip);
        this.v4.set(v4, v);
      }
      // The previous newer entry moves to the odd slot; the older one leaves the set.
      keys[slot + 1] = keys[slot]!;
      this.vals[slot + 1] = this.vals[slot];
      keys[slot] = v4;
      this.vals[slot] = v;
      return v;
    }
    let v = this.v6.get(ip);
    if (v !== undefined) { this.hits++; return v; }
    this.misses++;
    v = this.load(ip);
    this.v6.set(ip, v);
    return v;
  }

  /** Forgets every answer (a database behind them was reloaded). */
  clear(): void {
    this.keys.fill(-1);
    this.vals.fill(undefined);
    this.v4.clear();
    this.v6.clear();
  }

  get size(): number {
    let n = 0;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i]! >= 0) n++;
    return Math.max(n, this.v4.size) + this.v6.size;
  }
}

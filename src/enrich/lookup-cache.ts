/**
 * A bounded address-to-answer cache for database lookups on the hot path: a busy exporter sends
 * the same few thousand addresses over and over. Two generations of Map give LRU-like eviction at
 * O(1): hits in the old generation are promoted; when the current one fills, the old one is dropped.
 */
export class LookupCache<V> {
  private cur = new Map<string, V>();
  private old = new Map<string, V>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxPerGeneration = 65536) {}

  get(key: string): V | undefined {
    let v = this.cur.get(key);
    if (v !== undefined) { this.hits++; return v; }
    v = this.old.get(key);
    if (v !== undefined) { this.hits++; this.set(key, v); return v; }
    this.misses++;
    return undefined;
  }

  set(key: string, v: V): void {
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

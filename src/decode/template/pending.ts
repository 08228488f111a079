/**
 * Data sets that arrived before their template (common after a collector or exporter restart, and
 * when an exporter sends data and templates in separate datagrams): held per exporter, bounded by
 * count (EF_PROCESSOR_DECODE_PENDING_MAX) and age (EF_PROCESSOR_DECODE_PENDING_TIMEOUT), and replayed
 * when the template arrives. What is evicted or expires is counted by the caller.
 */

export interface HeldSet {
  domain: number;
  templateId: number;
  /** A copy of the set's records (the datagram buffer is reused by the input). */
  data: Buffer;
  /** Header values of the carrying packet, to decode the set as if it had just arrived. */
  exportMs: number;
  sysUptime: number;
  sequence: number;
  receivedAt: number;
  exporterPort: number;
}

/**
 * What holding a set costs beyond its bytes (the HeldSet and its Buffer objects, the queue's slot),
 * measured at about 300 bytes: counted so that a flood of empty sets meets the byte bound too.
 */
const SET_OVERHEAD = 300;

const costOf = (set: HeldSet): number => set.data.length + SET_OVERHEAD;

export class PendingSets {
  private readonly byExporter = new Map<string, HeldSet[]>();
  private total = 0;
  private bytes = 0;

  /**
   * `maxBytes` bounds what the held sets cost over all exporters, a set's copy plus SET_OVERHEAD (a
   * flood of large sets, or of empty ones, cannot grow memory).
   */
  constructor(private readonly maxPerExporter: number, private readonly timeoutMs: number, private readonly maxExporters = 1000, private readonly maxBytes = 32 << 20) {}

  get size(): number {
    return this.total;
  }

  /** Holds a set; returns how many older sets were evicted to make room (0 or 1), or -1 if refused. */
  hold(exporter: string, set: HeldSet): number {
    if (this.maxPerExporter <= 0 || this.bytes + costOf(set) > this.maxBytes) return -1;
    let q = this.byExporter.get(exporter);
    if (q === undefined) {
      if (this.byExporter.size >= this.maxExporters) return -1;
      q = [];
      this.byExporter.set(exporter, q);
    }
    let evicted = 0;
    if (q.length >= this.maxPerExporter) {
      this.bytes -= costOf(q.shift()!);
      this.total--;
      evicted = 1;
    }
    q.push(set);
    this.total++;
    this.bytes += costOf(set);
    return evicted;
  }

  /** Drops sets older than the timeout; returns how many. */
  expire(exporter: string, now: number): number {
    const q = this.byExporter.get(exporter);
    if (q === undefined) return 0;
    let n = 0;
    while (n < q.length && now - q[n]!.receivedAt > this.timeoutMs) n++;
    if (n > 0) {
      for (const s of q.splice(0, n)) this.bytes -= costOf(s);
      this.total -= n;
    }
    if (q.length === 0) this.byExporter.delete(exporter);
    return n;
  }

  /** Drops expired sets of every exporter (periodic sweep); `each` hears how many per exporter. */
  expireAll(now: number, each: (exporter: string, n: number) => void): void {
    for (const ex of [...this.byExporter.keys()]) {
      const n = this.expire(ex, now);
      if (n > 0) each(ex, n);
    }
  }

  /** Removes and returns the held sets of `exporter`/`domain` whose template is now known. */
  take(exporter: string, domain: number, known: (templateId: number) => boolean): HeldSet[] {
    const q = this.byExporter.get(exporter);
    if (q === undefined) return [];
    const out: HeldSet[] = [];
    const keep: HeldSet[] = [];
    for (const s of q) (s.domain === domain && known(s.templateId) ? out : keep).push(s);
    if (out.length === 0) return out;
    this.total -= out.length;
    for (const s of out) this.bytes -= costOf(s);
    if (keep.length === 0) this.byExporter.delete(exporter);
    else this.byExporter.set(exporter, keep);
    return out;
  }
}

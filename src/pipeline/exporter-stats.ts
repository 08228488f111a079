/** Per-exporter counters: packets, bytes, records, and malformed or unknown datagrams by reason. */
import type { Protocol } from './types.js';

export interface ExporterCounters {
  exporter: string;
  protocol: Protocol | 'unknown';
  packets: number;
  bytes: number;
  records: number;
  errors: Record<string, number>;
  firstSeen: number;
  lastSeen: number;
}

/** Past this many exporters, new ones are counted under one overflow entry (spoofed sources cannot grow memory). */
const MAX_EXPORTERS = 10000;
const OVERFLOW = 'other';

export class ExporterStats {
  private readonly byExporter = new Map<string, ExporterCounters>();
  /** Counters kept by decode workers, by worker index (each worker owns its exporters). */
  private readonly fromWorkers = new Map<number, ExporterCounters[]>();

  /** Takes a worker's latest snapshot; snapshot() and totals() include it. */
  absorb(worker: number, snapshot: ExporterCounters[]): void {
    this.fromWorkers.set(worker, snapshot);
  }

  private all(): ExporterCounters[] {
    const list = [...this.byExporter.values()];
    for (const snap of this.fromWorkers.values()) {
      for (const w of snap) {
        const mine = this.byExporter.get(w.exporter);
        if (mine === undefined) list.push(w);
        else {
          // Drops counted on the main thread (backlog) merge into the worker's entry for that exporter.
          const merged = { ...w, errors: { ...w.errors } };
          merged.packets += mine.packets;
          merged.bytes += mine.bytes;
          merged.records += mine.records;
          for (const k in mine.errors) merged.errors[k] = (merged.errors[k] ?? 0) + mine.errors[k]!;
          list[list.indexOf(mine)] = merged;
        }
      }
    }
    return list;
  }

  private entry(exporter: string, now: number): ExporterCounters {
    let e = this.byExporter.get(exporter);
    if (e === undefined) {
      if (this.byExporter.size >= MAX_EXPORTERS) return this.entry(OVERFLOW, now);
      e = { exporter, protocol: 'unknown', packets: 0, bytes: 0, records: 0, errors: {}, firstSeen: now, lastSeen: now };
      this.byExporter.set(exporter, e);
    }
    return e;
  }

  packet(exporter: string, protocol: Protocol | null, bytes: number, records: number, now: number): void {
    const e = this.entry(exporter, now);
    e.packets++;
    e.bytes += bytes;
    e.records += records;
    e.lastSeen = now;
    if (protocol !== null) e.protocol = protocol;
  }

  error(exporter: string, reason: string, now: number): void {
    const e = this.entry(exporter, now);
    e.errors[reason] = (e.errors[reason] ?? 0) + 1;
  }

  /** Adds records decoded later (held data released when its template arrived). */
  records(exporter: string, n: number, now: number): void {
    this.entry(exporter, now).records += n;
  }

  snapshot(): ExporterCounters[] {
    return this.all().map((e) => ({ ...e, errors: { ...e.errors } }));
  }

  totals(): { packets: number; bytes: number; records: number; errors: number } {
    let packets = 0, bytes = 0, records = 0, errors = 0;
    for (const e of this.all()) {
      packets += e.packets;
      bytes += e.bytes;
      records += e.records;
      for (const k in e.errors) errors += e.errors[k]!;
    }
    return { packets, bytes, records, errors };
  }
}

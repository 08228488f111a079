/** Per-exporter counters: packets, bytes, records, and malformed or unknown datagrams by reason. */
import type { Protocol } from './types.js';
import { addSequenceCounts, noSequenceCounts, type SequenceCounts } from '../decode/sequence-gaps.js';
import { ExporterTable } from './exporter-table.js';

export interface ProtocolCounters {
  packets: number;
  bytes: number;
  records: number;
}

export interface ExporterCounters {
  exporter: string;
  /** The protocol of its latest datagram ('unknown' until one is recognised). */
  protocol: Protocol | 'unknown';
  packets: number;
  bytes: number;
  records: number;
  /**
   * The same counts by protocol: one address may send several (a router exporting sFlow and NetFlow,
   * softflowd to two collectors' ports), and each protocol's counts must only ever go up.
   */
  byProtocol: Partial<Record<Protocol | 'unknown', ProtocolCounters>>;
  errors: Record<string, number>;
  /** Loss before the collector, late datagrams and restarts, from the exporter's sequence numbers. */
  sequence: SequenceCounts;
  firstSeen: number;
  lastSeen: number;
}

/** `to`'s counters for `protocol`, made when missing. */
function countersOf(to: ExporterCounters, protocol: Protocol | 'unknown'): ProtocolCounters {
  let c = to.byProtocol[protocol];
  if (c === undefined) c = to.byProtocol[protocol] = { packets: 0, bytes: 0, records: 0 };
  return c;
}

/** A copy that shares nothing with `e`. */
function copyOf(e: ExporterCounters): ExporterCounters {
  const byProtocol: ExporterCounters['byProtocol'] = {};
  for (const k in e.byProtocol) byProtocol[k as Protocol] = { ...e.byProtocol[k as Protocol]! };
  return { ...e, byProtocol, errors: { ...e.errors }, sequence: { ...e.sequence } };
}

/** Adds `from`'s counts to `to`, widens `to`'s first and last seen to cover both, and takes `from`'s protocol when `to` has none. */
function addInto(to: ExporterCounters, from: ExporterCounters): void {
  if (to.protocol === 'unknown') to.protocol = from.protocol;
  to.packets += from.packets;
  to.bytes += from.bytes;
  to.records += from.records;
  for (const k in from.byProtocol) {
    const f = from.byProtocol[k as Protocol]!, t = countersOf(to, k as Protocol);
    t.packets += f.packets;
    t.bytes += f.bytes;
    t.records += f.records;
  }
  for (const k in from.errors) to.errors[k] = (to.errors[k] ?? 0) + from.errors[k]!;
  addSequenceCounts(to.sequence, from.sequence);
  to.firstSeen = Math.min(to.firstSeen, from.firstSeen);
  to.lastSeen = Math.max(to.lastSeen, from.lastSeen);
}

export class ExporterStats {
  /** Counted on this thread (exporter-table.ts bounds it). */
  private readonly table = new ExporterTable<ExporterCounters>((exporter, now) => ({
    exporter, protocol: 'unknown', packets: 0, bytes: 0, records: 0, byProtocol: {}, errors: {}, sequence: noSequenceCounts(), firstSeen: now, lastSeen: now,
  }), addInto);
  /** Counters kept by decode workers, by worker index (each worker owns its exporters). */
  private readonly fromWorkers = new Map<number, ExporterCounters[]>();

  /** Takes a worker's latest snapshot; snapshot() and totals() include it. */
  absorb(worker: number, snapshot: ExporterCounters[]): void {
    this.fromWorkers.set(worker, snapshot);
    // The workers' datagram times move this thread's clock, whose own entries (a retired worker's,
    // the drops counted here) age by it; an exporter a worker still hears from keeps its entry here.
    for (const w of snapshot) {
      this.table.observe(w.lastSeen);
      const own = this.table.entries.get(w.exporter);
      if (own !== undefined && w.lastSeen > own.lastSeen) own.lastSeen = w.lastSeen;
    }
  }

  /**
   * A worker that stopped on its own (worker-pool.ts replaces it): what it last reported stays
   * counted here, and its successor's counts add to it, so no exporter's totals go back.
   */
  retire(worker: number): void {
    const snap = this.fromWorkers.get(worker);
    if (snap === undefined) return;
    this.fromWorkers.delete(worker);
    for (const w of snap) {
      addInto(this.entry(w.exporter, w.lastSeen), w);
    }
  }

  private all(): ExporterCounters[] {
    this.table.age();
    const at = new Map<string, number>();
    const list = [...this.table.entries.values()];
    list.forEach((e, i) => at.set(e.exporter, i));
    for (const snap of this.fromWorkers.values()) {
      for (const w of snap) {
        const i = at.get(w.exporter);
        if (i === undefined) {
          at.set(w.exporter, list.push(w) - 1);
          continue;
        }
        // Counted on the main thread too (backlog drops, a retired worker's totals): one entry.
        const merged = copyOf(w);
        addInto(merged, list[i]!);
        list[i] = merged;
      }
    }
    return list;
  }

  private entry(exporter: string, now: number): ExporterCounters {
    return this.table.get(exporter, now);
  }

  packet(exporter: string, protocol: Protocol | null, bytes: number, records: number, now: number): void {
    const e = this.entry(exporter, now);
    e.packets++;
    e.bytes += bytes;
    e.records += records;
    e.lastSeen = now;
    if (protocol !== null) e.protocol = protocol;
    const c = countersOf(e, protocol ?? 'unknown');
    c.packets++;
    c.bytes += bytes;
    c.records += records;
  }

  error(exporter: string, reason: string, now: number, n = 1): void {
    const e = this.entry(exporter, now);
    e.errors[reason] = (e.errors[reason] ?? 0) + n;
    // Counted now: heard from now (the main thread counts drops with no packet() of its own).
    if (now > e.lastSeen) e.lastSeen = now;
  }

  sequence(exporter: string, c: SequenceCounts, now: number): void {
    const e = this.entry(exporter, now);
    addSequenceCounts(e.sequence, c);
    if (now > e.lastSeen) e.lastSeen = now;
  }

  snapshot(): ExporterCounters[] {
    return this.all().map(copyOf);
  }

  totals(): { packets: number; bytes: number; records: number; errors: number; sequence: SequenceCounts } {
    let packets = 0, bytes = 0, records = 0, errors = 0;
    const sequence = noSequenceCounts();
    for (const e of this.all()) {
      packets += e.packets;
      bytes += e.bytes;
      records += e.records;
      for (const k in e.errors) errors += e.errors[k]!;
      addSequenceCounts(sequence, e.sequence);
    }
    return { packets, bytes, records, errors, sequence };
  }
}

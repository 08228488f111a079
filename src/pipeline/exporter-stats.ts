/** Per-exporter counters: packets, bytes, records, and malformed or unknown datagrams by reason. */
import type { Protocol } from './types.js';
import { addSequenceCounts, noSequenceCounts, type SequenceCounts } from '../decode/sequence-gaps.js';

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

/**
 * Exporters counted one by one (spoofed sources cannot grow memory). A new exporter past it takes the
 * place of those silent for EVICT_IDLE_MS; when every one was heard from more recently, it is counted
 * under the one overflow entry.
 */
const MAX_EXPORTERS = 10000;
const OVERFLOW = 'other';
/** Silence after which an exporter gives its place to a new one when the table is full. */
const EVICT_IDLE_MS = 600_000;
/** Silence after which an exporter is forgotten anyway (its /metrics series go with it). */
const FORGET_IDLE_MS = 86_400_000;
/**
 * Least time between two scans for silent exporters: once a minute for FORGET_IDLE_MS, and once a second
 * when the table is full (a flood of new sources must not make every datagram walk 10,000 entries).
 */
const AGE_EVERY_MS = 60_000;
const MAKE_ROOM_EVERY_MS = 1_000;

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
  private readonly byExporter = new Map<string, ExporterCounters>();
  private lastAged = -Infinity;
  private lastMadeRoom = -Infinity;
  /** Counters kept by decode workers, by worker index (each worker owns its exporters). */
  private readonly fromWorkers = new Map<number, ExporterCounters[]>();

  /** Takes a worker's latest snapshot; snapshot() and totals() include it. */
  absorb(worker: number, snapshot: ExporterCounters[]): void {
    this.fromWorkers.set(worker, snapshot);
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
    const at = new Map<string, number>();
    const list = [...this.byExporter.values()];
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
    let e = this.byExporter.get(exporter);
    if (e === undefined) {
      // Past the bound, the places of silent exporters, else one shared entry (which may take the map
      // one over the bound itself).
      if (this.byExporter.size >= MAX_EXPORTERS && exporter !== OVERFLOW && !this.madeRoom(now)) return this.entry(OVERFLOW, now);
      e = { exporter, protocol: 'unknown', packets: 0, bytes: 0, records: 0, byProtocol: {}, errors: {}, sequence: noSequenceCounts(), firstSeen: now, lastSeen: now };
      this.byExporter.set(exporter, e);
    }
    return e;
  }

  /** Forgets the exporters silent for EVICT_IDLE_MS, unless a scan ran less than MAKE_ROOM_EVERY_MS ago; whether there is room now. */
  private madeRoom(now: number): boolean {
    // Either direction: a replayed capture's clock may run behind.
    if (Math.abs(now - this.lastMadeRoom) < MAKE_ROOM_EVERY_MS) return false;
    this.lastMadeRoom = now;
    this.forget(now, EVICT_IDLE_MS);
    return this.byExporter.size < MAX_EXPORTERS;
  }

  /** Forgets the exporters (not the overflow entry) silent for longer than `idleMs` at `now`. */
  private forget(now: number, idleMs: number): void {
    for (const [exporter, e] of this.byExporter) if (now - e.lastSeen > idleMs && exporter !== OVERFLOW) this.byExporter.delete(exporter);
  }

  packet(exporter: string, protocol: Protocol | null, bytes: number, records: number, now: number): void {
    if (Math.abs(now - this.lastAged) >= AGE_EVERY_MS) {
      this.lastAged = now;
      this.forget(now, FORGET_IDLE_MS);
    }
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
  }

  sequence(exporter: string, c: SequenceCounts, now: number): void {
    addSequenceCounts(this.entry(exporter, now).sequence, c);
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

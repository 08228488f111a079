/**
 * Per-exporter counters: packets, bytes, records, and malformed or unknown datagrams by reason.
 *
 * An address that has not sent records yet (a datagram decoded to flows, sFlow counter samples, or
 * data held until its template came) is counted on its own only while fewer than UNEARNED_MAX such
 * addresses are: an exporter being set up (templates ahead of its data, a version or format not
 * decoded) shows with its reasons, and spoofed or malformed datagrams from any number of sources
 * make at most that many entries (and /metrics series), turned over at most every UNEARNED_IDLE_MS;
 * past it they are counted under 'other'.
 *
 * With decode workers, each worker counts its exporters and hands the main thread what changed once
 * a second (takeReport), which adds it up in its own table (absorb): one table, bounded over all the
 * threads together, and a worker's report is as small as its traffic since the last one.
 */
import type { Protocol } from './types.js';
import { addSequenceCounts, noSequenceCounts, type SequenceCounts } from '../decode/sequence-gaps.js';
import { ExporterTable, OVERFLOW } from './exporter-table.js';

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

/** An entry with nothing counted. */
function fresh(exporter: string, protocol: ExporterCounters['protocol'], firstSeen: number, lastSeen: number): ExporterCounters {
  return { exporter, protocol, packets: 0, bytes: 0, records: 0, byProtocol: {}, errors: {}, sequence: noSequenceCounts(), firstSeen, lastSeen };
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

/** Addresses counted on their own before they have sent records (see above), per thread. */
export const UNEARNED_MAX = 256;
/**
 * Silence after which such an address gives its place to another, when all are taken: as the table's
 * own (exporter-table.ts), so that a flood of spoofed sources turns the places over at most that often
 * (each new address a new series for Prometheus to keep).
 */
const UNEARNED_IDLE_MS = 600_000;
/** Least time between two scans for them (a flood of new sources must not make every datagram walk them). */
const UNEARNED_SCAN_EVERY_MS = 1_000;

export class ExporterStats {
  /** Counted on this thread (exporter-table.ts bounds it). */
  private readonly table: ExporterTable<ExporterCounters> = new ExporterTable<ExporterCounters>((exporter, now) => fresh(exporter, 'unknown', now, now), (from) => {
    if (this.reporting) {
      // What a forgotten exporter had not reported yet goes in the next report, under 'other'.
      const into = this.table.overflow(from.lastSeen);
      addInto(into, from);
      this.changed(into);
    } else {
      addInto(this.gone, from);
    }
  });
  /**
   * What forgotten exporters counted, in the totals and counts by reason but under no exporter: added
   * to 'other', a series of its own, their history would show as a jump of 'other' when they leave
   * (summed over exporters, counted twice). A decode worker hands it over as 'other' in its first
   * report (from then on a forgotten exporter's counts are what it had not reported yet).
   */
  private readonly gone = fresh(OVERFLOW, 'unknown', Infinity, -Infinity);
  /** Set by the first takeReport(): from then on entries hold what is not reported yet, and `moved` tracks which. */
  private reporting = false;
  private readonly moved = new Set<ExporterCounters>();
  /** Addresses with an entry that have not sent records (UNEARNED_MAX), and when they were last scanned. */
  private readonly unearned = new Set<string>();
  private lastScan = -Infinity;

  private changed(e: ExporterCounters): void {
    if (this.reporting) this.moved.add(e);
  }

  /**
   * What was counted since the last call (since start on the first), for the thread that adds it up
   * (absorb): the entries whose counts moved, 'other' among them with what exporters forgotten here
   * had not reported yet. From the first call on, this thread's entries hold only what it has not
   * handed over, so a report costs what changed, not what is known.
   */
  takeReport(): ExporterCounters[] {
    this.table.age();
    if (!this.reporting && this.gone.lastSeen !== -Infinity) {
      const into = this.table.overflow(this.gone.lastSeen);
      addInto(into, this.gone);
      Object.assign(this.gone, fresh(OVERFLOW, 'unknown', Infinity, -Infinity));
    }
    const out: ExporterCounters[] = [];
    for (const e of this.reporting ? this.moved : this.table.entries.values()) {
      // Forgotten since it moved: its counts were added to 'other', which moved with them.
      if (this.table.entries.get(e.exporter) !== e) continue;
      out.push(e);
      this.table.entries.set(e.exporter, fresh(e.exporter, e.protocol, e.firstSeen, e.lastSeen));
    }
    this.reporting = true;
    this.moved.clear();
    return out;
  }

  /**
   * Adds a decode worker's report (takeReport): an exporter it counts on its own gets its entry here,
   * within this table's bound (past it, the counts go to 'other'), and the report's times move this
   * table's clock. Each report is added once, so a worker that stops leaves what it reported counted,
   * and its successor's reports add to it.
   */
  absorb(report: readonly ExporterCounters[]): void {
    for (const r of report) {
      // Records in the report: the address has sent some (in earlier reports, if it has an entry here).
      const e = this.entry(r.exporter, r.lastSeen, r.records > 0);
      addInto(e, r);
      // The latest datagram's protocol is the report's.
      if (r.protocol !== 'unknown') e.protocol = r.protocol;
    }
  }

  /** The addresses counted one by one ('other' too). */
  exporters(): string[] {
    return [...this.table.entries.keys()];
  }

  /**
   * The entry of `exporter`: its own when it has one, or has sent records (`earned`: within the
   * table's bound), or while fewer than UNEARNED_MAX addresses without records have one; else 'other'.
   */
  private entry(exporter: string, now: number, earned: boolean): ExporterCounters {
    // 'other' (a worker's report of it) is no address: it takes no place.
    if (earned || exporter === OVERFLOW) {
      this.unearned.delete(exporter);
      return this.table.get(exporter, now);
    }
    const had = this.table.find(exporter, now);
    if (had !== undefined) return had;
    if (this.unearned.size >= UNEARNED_MAX && !this.freeUnearned(now)) return this.table.get(OVERFLOW, now);
    const e = this.table.get(exporter, now);
    if (e.exporter === exporter) this.unearned.add(exporter);
    return e;
  }

  /**
   * Gives up the places of addresses without records silent for UNEARNED_IDLE_MS (their counts kept as
   * a forgotten exporter's are), and lets go of those the table forgot; at most once every UNEARNED_SCAN_EVERY_MS. Whether
   * a place is free.
   */
  private freeUnearned(now: number): boolean {
    if (Math.abs(now - this.lastScan) < UNEARNED_SCAN_EVERY_MS) return false;
    this.lastScan = now;
    for (const a of this.unearned) {
      const e = this.table.entries.get(a);
      if (e !== undefined && now - e.lastSeen <= UNEARNED_IDLE_MS) continue;
      this.table.retire(a);
      this.unearned.delete(a);
    }
    return this.unearned.size < UNEARNED_MAX;
  }

  /** A datagram of `bytes` holding `records` (an address with records has an entry of its own). */
  packet(exporter: string, protocol: Protocol | null, bytes: number, records: number, now: number): void {
    const e = this.entry(exporter, now, records > 0);
    e.packets++;
    e.bytes += bytes;
    e.records += records;
    e.lastSeen = now;
    if (protocol !== null) e.protocol = protocol;
    const c = countersOf(e, protocol ?? 'unknown');
    c.packets++;
    c.bytes += bytes;
    c.records += records;
    this.changed(e);
  }

  /**
   * `heard`: counted on something the exporter sent, so heard from now (the main thread counts drops
   * with no packet() of its own); not for what a decoder's sweep found later (held data expiring).
   */
  error(exporter: string, reason: string, now: number, n = 1, heard = true): void {
    const e = this.entry(exporter, now, false);
    e.errors[reason] = (e.errors[reason] ?? 0) + n;
    if (heard && now > e.lastSeen) e.lastSeen = now;
    this.changed(e);
  }

  sequence(exporter: string, c: SequenceCounts, now: number, heard = true): void {
    const e = this.entry(exporter, now, false);
    addSequenceCounts(e.sequence, c);
    if (heard && now > e.lastSeen) e.lastSeen = now;
    this.changed(e);
  }

  /** Copies of every entry ('other' included; forgotten exporters' counts are in none: forgotten()). */
  snapshot(): ExporterCounters[] {
    this.table.age();
    return [...this.table.entries.values()].map(copyOf);
  }

  /** A copy of what forgotten exporters counted (under the name 'other', which it is not part of). */
  forgotten(): ExporterCounters {
    this.table.age();
    return copyOf(this.gone);
  }

  totals(): { packets: number; bytes: number; records: number; errors: number; sequence: SequenceCounts } {
    this.table.age();
    let packets = 0, bytes = 0, records = 0, errors = 0;
    const sequence = noSequenceCounts();
    for (const e of [...this.table.entries.values(), this.gone]) {
      packets += e.packets;
      bytes += e.bytes;
      records += e.records;
      for (const k in e.errors) errors += e.errors[k]!;
      addSequenceCounts(sequence, e.sequence);
    }
    return { packets, bytes, records, errors, sequence };
  }
}

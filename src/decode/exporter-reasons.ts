/**
 * A decoder's counted reasons per exporter (its describe().byExporter, which the Exporters API reads),
 * in the same bounded table as the exporter counters (src/pipeline/exporter-table.ts): an exporter
 * forgotten there after its silence is forgotten here alike, and a flood of spoofed sources shares
 * the overflow entry instead of growing the map.
 */
import { ExporterTable } from '../pipeline/exporter-table.js';

interface Reasons {
  lastSeen: number;
  counts: Map<string, number>;
}

export class ExporterReasons {
  private readonly table: ExporterTable<Reasons> = new ExporterTable<Reasons>((_exporter, now) => ({ lastSeen: now, counts: new Map() }), (from) => {
    const into = this.table.overflow(from.lastSeen);
    for (const [reason, n] of from.counts) into.counts.set(reason, (into.counts.get(reason) ?? 0) + n);
    into.lastSeen = Math.max(into.lastSeen, from.lastSeen);
  });

  add(exporter: string, reason: string, n: number, now: number): void {
    const e = this.table.get(exporter, now);
    e.lastSeen = now;
    e.counts.set(reason, (e.counts.get(reason) ?? 0) + n);
  }

  toJSON(): Record<string, Record<string, number>> {
    this.table.age();
    const out: Record<string, Record<string, number>> = {};
    for (const [exporter, e] of this.table.entries) out[exporter] = Object.fromEntries(e.counts);
    return out;
  }
}

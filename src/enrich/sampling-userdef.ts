/**
 * User-defined sampling rates (EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_*): some exporters sample
 * without saying so (or say it wrongly), so the user names the rate per exporter address, or per
 * exporter address and input interface. The file is YAML, a map of `address` or `address/ifIndex`
 * to the rate N (1 in N):
 *
 *   192.0.2.1: 1000
 *   "192.0.2.2/3": 512
 *
 * The override replaces whatever rate the record had: bytes and packets already scaled by the
 * exporter's rate are first unscaled. Reading and re-reading the file: see user-file.ts.
 */
import { parse as parseYaml } from 'yaml';
import { log } from '../log/logger.js';
import { canonicalIp } from '../canonical-ip.js';
import type { Enricher } from '../pipeline/types.js';
import { UserFileEnricher } from './user-file.js';
import { MAX_I64, type FlowRecord } from '../record/flow-record.js';
import { MAX_RATE } from '../decode/sampling.js';

interface ExporterRates {
  /** Rate for every interface, 0 when only per-interface rates are given. */
  rate: number;
  byIf: Map<number, number> | null;
}

export type RateTable = Map<string, ExporterRates>;

/** `192.0.2.0/24` or `2001:db8::/32`: meant as a prefix, surely, though it reads as address/ifIndex. */
function looksLikePrefix(addr: string, n: number): boolean {
  return addr.includes(':') ? addr.endsWith('::') && n <= 128 : addr.endsWith('.0') && n <= 32;
}

/** Parses the YAML text; throws naming the bad entry; what parses but is doubtful goes to `warnings`. */
export function parseRateTable(text: string, source = 'sampling-rate file', warnings?: string[]): RateTable {
  const doc: unknown = parseYaml(text);
  const table: RateTable = new Map();
  if (doc === null || doc === undefined) return table;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source}: expected a map of exporter address (or address/ifIndex) to sampling rate`);
  for (const [key, val] of Object.entries(doc as Record<string, unknown>)) {
    // A number, or digits in quotes; not what Number() also takes (true, [1000], '1e3', '').
    const rate = typeof val === 'number' ? val : typeof val === 'string' && /^\s*\d+\s*$/.test(val) ? Number(val) : NaN;
    if (!Number.isInteger(rate) || rate < 1) throw new Error(`${source}: ${key}: rate ${JSON.stringify(val)} is not a whole number >= 1`);
    // Refused rather than applied: the stores would hold the row's rate at the bound, not the rate its counts were scaled by.
    if (rate > MAX_RATE) throw new Error(`${source}: ${key}: rate ${JSON.stringify(val)} is above ${MAX_RATE}, the largest a stored flow.sampling.rate (32 bits) holds`);
    const slash = key.lastIndexOf('/');
    const addr = canonicalIp(slash < 0 ? key.trim() : key.slice(0, slash).trim());
    if (addr === null) throw new Error(`${source}: ${key}: not an IP address (or address/ifIndex)`);
    let e = table.get(addr);
    if (e === undefined) { e = { rate: 0, byIf: null }; table.set(addr, e); }
    if (slash < 0) e.rate = rate;
    else {
      const ifText = key.slice(slash + 1).trim();
      const ifIndex = /^\d+$/.test(ifText) ? Number(ifText) : NaN;
      if (!Number.isInteger(ifIndex) || ifIndex > 0xffffffff) throw new Error(`${source}: ${key}: interface index is not a whole number from 0 to 4294967295`);
      if (looksLikePrefix(addr, ifIndex)) warnings?.push(`${source}: ${key}: read as exporter ${addr}, input interface ${ifIndex}; address prefixes are not supported, name each exporter`);
      (e.byIf ??= new Map()).set(ifIndex, rate);
    }
  }
  return table;
}

export class UserSamplingEnricher extends UserFileEnricher<RateTable, string[]> implements Enricher {
  readonly name = 'sampling-userdef';
  /** Records whose counts a rate of the file took past 2^63, held there. */
  private clamped = 0;

  constructor(path: string, refreshMinutes = 15, initial?: RateTable) {
    super(path, 'EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH', 'sampling rates', refreshMinutes, initial ?? new Map());
  }

  protected parse(text: string, warnings?: string[]): RateTable {
    return parseRateTable(text, this.path, warnings);
  }

  protected entriesOf(table: RateTable): number {
    let n = 0;
    for (const e of table.values()) n += (e.rate > 0 ? 1 : 0) + (e.byIf?.size ?? 0);
    return n;
  }

  protected override holds(table: RateTable): string {
    return `${this.entriesOf(table)} rates of ${table.size} exporters`;
  }

  protected newNotes(): string[] {
    return [];
  }

  protected report(warnings: string[]): void {
    for (const w of warnings) log.warn(w);
    log.info(`sampling rates: ${this.table.size} exporters from ${this.path}`);
  }

  enrich(batch: FlowRecord[]): void {
    const table = this.table;
    if (table.size === 0) return;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow') continue;
      const e = table.get(r.exporterIp);
      if (e === undefined) continue;
      const rate = (e.byIf !== null ? e.byIf.get(r.inIf) : undefined) ?? e.rate;
      if (rate === 0 || rate === r.samplingRate) continue;
      const prev = r.samplingRate > 1 ? r.samplingRate : 1;
      r.bytes = Math.round((r.bytes / prev) * rate);
      r.packets = Math.round((r.packets / prev) * rate);
      r.samplingRate = rate;
      // As the decoders hold an exporter's rate's counts (docs/enrichment.md): no output stores more.
      if (r.bytes > MAX_I64 || r.packets > MAX_I64) {
        this.clamped++;
        r.bytes = Math.min(r.bytes, MAX_I64);
        r.packets = Math.min(r.packets, MAX_I64);
      }
    }
  }

  counters(): Record<string, number> {
    return { 'counter beyond 2^63 clamped': this.clamped };
  }
}

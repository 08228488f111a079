/** Messages between the main thread and decode workers. */
import type { ExporterCounters } from './exporter-stats.js';
import type { PackedRecords } from './record-transfer.js';
import type { RingPart } from './text-ring.js';
import type { ExporterLabel, UserFileStatus } from './types.js';

/** Datagrams back to back in one transferable buffer. */
export interface DatagramBatch {
  count: number;
  data: ArrayBuffer;
  offsets: Int32Array;
  lengths: Int32Array;
  ports: Uint16Array;
  receivedAt: Float64Array;
  addresses: string[];
}

/**
 * One message's records as NDJSON in one of the views the main thread asked for (an index into
 * them): either a range of the worker's text ring (`ring`, see text-ring.ts) or, when the ring was
 * full, a buffer of its own (`data`, transferred).
 */
export interface EncodedPart {
  view: number;
  records: number;
  ring: RingPart | null;
  data: ArrayBuffer | null;
  length: number;
}

/** A worker's V8 heap, from v8.getHeapStatistics(): bytes in use, reserved, and outside the heap (buffers). */
export interface ThreadHeap {
  used: number;
  total: number;
  external: number;
}

/** Enricher name → counter name → running total (or level: isEnricherLevel). */
export type EnricherCounters = Record<string, Record<string, number>>;

/**
 * Enricher counter names that are levels, not running totals: what a cache holds now, which goes
 * down as it turns over or is cleared. /metrics shows them as gauges (a counter that drops reads as a
 * reset), and a worker that is gone holds nothing, so its levels are not kept.
 */
const ENRICHER_LEVELS = new Set(['cacheSize']);

export function isEnricherLevel(key: string): boolean {
  return ENRICHER_LEVELS.has(key);
}

/** Adds `b`'s totals into `a`; its levels too unless `levels` is false (a stopped worker's). */
export function addEnricherCounters(a: EnricherCounters, b: EnricherCounters, levels = true): void {
  for (const [name, counters] of Object.entries(b)) {
    const into = (a[name] ??= {});
    for (const [k, v] of Object.entries(counters)) if (levels || !ENRICHER_LEVELS.has(k)) into[k] = (into[k] ?? 0) + v;
  }
}

/** The counters of the enrichers that have any. */
export function enricherCounters(enrichers: readonly { name: string; counters?(): Record<string, number> }[]): EnricherCounters {
  const out: EnricherCounters = {};
  for (const e of enrichers) if (e.counters !== undefined) out[e.name] = e.counters();
  return out;
}

/** The statuses of the enrichers fed by a user's file. */
export function fileStatuses(enrichers: readonly { fileStatus?(): UserFileStatus | undefined }[]): UserFileStatus[] {
  const out: UserFileStatus[] = [];
  for (const e of enrichers) {
    const s = e.fileStatus?.();
    if (s !== undefined) out.push(s);
  }
  return out;
}

/**
 * One status per file from several threads' (each decode worker reads its own copy): a failed read
 * wins, else the copy read longest ago, as that is what some records are still enriched with.
 */
export function mergeFileStatuses(lists: readonly (readonly UserFileStatus[])[]): UserFileStatus[] {
  const worse = (than: UserFileStatus, s: UserFileStatus): boolean =>
    (s.error === null) !== (than.error === null) ? s.error !== null : (s.loadedAt ?? 0) < (than.loadedAt ?? 0);
  const by = new Map<string, UserFileStatus>();
  for (const list of lists) {
    for (const s of list) {
      const had = by.get(s.option);
      if (had === undefined || worse(had, s)) by.set(s.option, s);
    }
  }
  return [...by.values()];
}

export type ToWorker =
  | { type: 'datagrams'; batch: DatagramBatch }
  /** A new state for the worker's copy of the 'replica' enricher `name` (Enricher.applyReplicaState). */
  | { type: 'replica'; name: string; state: unknown }
  | { type: 'sync'; id: number }
  | { type: 'close' };

export type ToMain =
  | { type: 'ready' }
  | { type: 'records'; records: PackedRecords | null; encoded: EncodedPart[]; handled: number }
  /** `enrichers`: each enricher's counters() by name, running totals since the worker started. */
  | { type: 'stats'; exporters: ExporterCounters[]; heap: ThreadHeap; enrichers: EnricherCounters; files: UserFileStatus[] }
  | { type: 'synced'; id: number; exporters: ExporterCounters[]; decoders: Record<string, unknown>; labels: Record<string, ExporterLabel> }
  | { type: 'closed'; exporters: ExporterCounters[] };

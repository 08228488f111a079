/** Messages between the main thread and decode workers. */
import type { ExporterCounters } from './exporter-stats.js';
import type { PackedRecords } from './record-transfer.js';

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

/** One message's records as NDJSON in one of the views the main thread asked for (an index into them). */
export interface EncodedPart {
  view: number;
  data: ArrayBuffer;
  length: number;
  records: number;
}

export type ToWorker =
  | { type: 'datagrams'; batch: DatagramBatch }
  /** A new state for the worker's copy of the 'replica' enricher `name` (Enricher.applyReplicaState). */
  | { type: 'replica'; name: string; state: unknown }
  /** An EncodedPart's buffer, written out by the main thread and handed back for the next batch. */
  | { type: 'recycle'; data: ArrayBuffer }
  | { type: 'sync'; id: number }
  | { type: 'close' };

export type ToMain =
  | { type: 'ready' }
  | { type: 'records'; records: PackedRecords | null; encoded: EncodedPart[]; handled: number }
  | { type: 'stats'; exporters: ExporterCounters[] }
  | { type: 'synced'; id: number; exporters: ExporterCounters[]; decoders: Record<string, unknown> }
  | { type: 'closed'; exporters: ExporterCounters[] };

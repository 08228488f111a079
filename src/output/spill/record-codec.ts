/**
 * FlowRecords as spill entry payloads: UTF-8 JSON of an array of rows, each row the record's own
 * properties in the order of `keys`. The key list is written once per segment (see segment-log.ts),
 * so a segment written before a field was added to FlowRecord still rehydrates by name after an
 * upgrade: unknown names are skipped, new fields keep their defaults.
 */
import { FlowRecord } from '../../record/flow-record.js';

/** Property names of a fresh FlowRecord, in declaration order. */
export const RECORD_KEYS: readonly string[] = Object.keys(new FlowRecord());

const DEFAULTS = new FlowRecord() as unknown as Record<string, unknown>;

export function encodeRecords(batch: readonly FlowRecord[], start = 0, end = batch.length): Buffer {
  const keys = RECORD_KEYS;
  const rows: unknown[][] = new Array(end - start);
  for (let i = start; i < end; i++) {
    const r = batch[i] as unknown as Record<string, unknown>;
    const row: unknown[] = new Array(keys.length);
    for (let k = 0; k < keys.length; k++) row[k] = r[keys[k]!];
    rows[i - start] = row;
  }
  // JSON turns NaN (unknown latitude/longitude) into null; decodeRecords turns it back.
  return Buffer.from(JSON.stringify(rows), 'utf8');
}

/** A decoder for rows written with `keys` (a segment's key list). */
export class RecordDecoder {
  /** For each column, the FlowRecord property it fills, or null when this build has no such field. */
  private readonly cols: (string | null)[];
  /** Columns whose default is a number: null there means NaN. */
  private readonly numeric: boolean[];

  constructor(keys: readonly string[]) {
    this.cols = keys.map((k) => (Object.prototype.hasOwnProperty.call(DEFAULTS, k) ? k : null));
    this.numeric = keys.map((k) => typeof DEFAULTS[k] === 'number');
  }

  decode(payload: Buffer, out: FlowRecord[]): void {
    const rows = JSON.parse(payload.toString('utf8')) as unknown[][];
    const cols = this.cols;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const r = new FlowRecord() as unknown as Record<string, unknown>;
      for (let k = 0; k < cols.length; k++) {
        const name = cols[k];
        if (name === null || name === undefined) continue;
        const v = row[k];
        if (v === null && this.numeric[k]) r[name] = NaN;
        else if (v !== undefined) r[name] = v;
      }
      out.push(r as unknown as FlowRecord);
    }
  }
}

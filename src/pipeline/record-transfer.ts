/**
 * Moves batches of FlowRecords between threads. Structured-cloning class instances loses the class
 * and costs more than packing: numeric properties go into one transferable Float64Array, string
 * properties into one string array, `extra` as JSON. The property lists come from a fresh
 * FlowRecord, so a field added to the record travels without touching this file.
 */
import { FlowRecord } from '../record/flow-record.js';

const proto = new FlowRecord() as unknown as Record<string, unknown>;
const NUM_KEYS = Object.keys(proto).filter((k) => typeof proto[k] === 'number');
const STR_KEYS = Object.keys(proto).filter((k) => typeof proto[k] === 'string');
const NN = NUM_KEYS.length;
const NS = STR_KEYS.length;

export interface PackedRecords {
  count: number;
  nums: Float64Array;
  strs: string[];
  /** JSON of `extra` per record, or null. */
  extras: (string | null)[];
}

export function packRecords(batch: readonly FlowRecord[]): PackedRecords {
  const nums = new Float64Array(batch.length * NN);
  const strs = new Array<string>(batch.length * NS);
  const extras = new Array<string | null>(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i] as unknown as Record<string, number & string>;
    for (let k = 0; k < NN; k++) nums[i * NN + k] = r[NUM_KEYS[k]!]!;
    for (let k = 0; k < NS; k++) strs[i * NS + k] = r[STR_KEYS[k]!]!;
    extras[i] = batch[i]!.extra === null ? null : JSON.stringify(batch[i]!.extra);
  }
  return { count: batch.length, nums, strs, extras };
}

export function unpackRecords(p: PackedRecords): FlowRecord[] {
  const out = new Array<FlowRecord>(p.count);
  for (let i = 0; i < p.count; i++) {
    const r = new FlowRecord();
    const o = r as unknown as Record<string, number | string>;
    for (let k = 0; k < NN; k++) o[NUM_KEYS[k]!] = p.nums[i * NN + k]!;
    for (let k = 0; k < NS; k++) o[STR_KEYS[k]!] = p.strs[i * NS + k]!;
    const e = p.extras[i];
    if (e !== null && e !== undefined) r.extra = JSON.parse(e) as FlowRecord['extra'];
    out[i] = r;
  }
  return out;
}

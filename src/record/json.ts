/** Records as JSON text, CODEX or ECS names (see fields.ts). */
import type { FlowRecord } from './flow-record.js';
import { toDocument, type ViewOptions } from './fields.js';

export function toJson(r: FlowRecord, view: ViewOptions, pretty = false): string {
  return JSON.stringify(toDocument(r, view), null, pretty ? 2 : undefined);
}

/** A batch as NDJSON (one record per line, each line ending in \n). */
export function toNdjson(batch: readonly FlowRecord[], view: ViewOptions): string {
  let s = '';
  for (let i = 0; i < batch.length; i++) s += JSON.stringify(toDocument(batch[i]!, view)) + '\n';
  return s;
}

/**
 * The bulk API body and response (Elasticsearch and OpenSearch share the format): NDJSON of an
 * action line `{"index":{"_index":...}}` and a document line per record, each ending in "\n", split
 * into bodies of at most EF_OUTPUT_<NAME>_BATCH_MAX_BYTES; and the per-item outcome of a response,
 * in the order the items were sent.
 */
import type { FlowRecord } from '../../record/flow-record.js';

/** One record's two bulk lines. */
export interface BulkItem {
  index: number;
  text: string;
  bytes: number;
}

/** Consecutive items whose text fits one request body. */
export function splitBodies(items: readonly BulkItem[], maxBytes: number): BulkItem[][] {
  const out: BulkItem[][] = [];
  let cur: BulkItem[] = [];
  let size = 0;
  for (const it of items) {
    // An item larger than the limit on its own still goes, alone: the cluster decides.
    if (cur.length > 0 && size + it.bytes > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(it);
    size += it.bytes;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The bytes of a request body of these items. */
export function bodyBytes(items: readonly BulkItem[]): number {
  let n = 0;
  for (const it of items) n += it.bytes;
  return n;
}

export function bodyText(items: readonly BulkItem[]): string {
  let s = '';
  for (const it of items) s += it.text;
  return s;
}

export interface BulkResponseBody {
  errors?: boolean;
  items?: Record<string, { status?: number; error?: { type?: string; reason?: string } | string }>[];
}

export type ItemOutcome = 'ok' | 'retry' | 'reject';

export interface ItemResult {
  outcome: ItemOutcome;
  status: number;
  reason: string;
}

/**
 * Statuses of an item that say nothing against the document: the cluster is busy (429) or failing
 * (5xx), or its set-up refuses the write for now: 401/403 (a role without the privilege, an index
 * made read-only when a disk passed its flood stage: cluster_block_exception), 404 (no such index
 * where automatic creation is off), 408. Sending the same document later may succeed, so it is kept.
 */
function retriable(status: number): boolean {
  return status === 0 || status === 401 || status === 403 || status === 404 || status === 408 || status === 429 || status >= 500;
}

/**
 * A 400 that is the cluster's set-up, not the document: an index the write would create goes past
 * `cluster.max_shards_per_node` (Elasticsearch: validation_exception, OpenSearch:
 * illegal_argument_exception, both "this action would add [N] shards, but this cluster currently has
 * [M]/[M] maximum ... shards open"). A new hourly or daily index meets it at a period's turn, and
 * every record of the period would be dropped; kept instead, as for 403, until shards are freed.
 * (OpenSearch 2.9 could print the maximum negative, its per-node limit times the nodes overflowing.)
 */
const SHARD_LIMIT = /would add \[\d+\] (total )?shards, but this cluster currently has \[-?\d+\]\/\[-?\d+\] maximum/;

/**
 * Per item: 2xx ok; the statuses above (and the shard limit's 400) retried; any other (mapping and parse errors, 400) rejected,
 * since sending the same document again would fail the same way.
 */
export function itemResults(body: BulkResponseBody, expected: number): ItemResult[] {
  const items = body.items;
  if (!Array.isArray(items) || items.length !== expected) {
    throw new Error(`bulk response has ${Array.isArray(items) ? items.length : 'no'} items for ${expected} sent`);
  }
  const out: ItemResult[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const op = items[i]!;
    const k = Object.keys(op)[0];
    const r = k === undefined ? undefined : op[k];
    const status = typeof r?.status === 'number' ? r.status : 0;
    const err = r?.error;
    const reason = err === undefined ? '' : typeof err === 'string' ? err : `${err.type ?? 'error'}: ${err.reason ?? ''}`;
    if (status >= 200 && status < 300) out[i] = { outcome: 'ok', status, reason };
    else if (retriable(status) || (status === 400 && SHARD_LIMIT.test(reason))) out[i] = { outcome: 'retry', status, reason };
    else out[i] = { outcome: 'reject', status, reason };
  }
  return out;
}

/** The records of the given item indexes, in order. */
export function recordsOf(batch: readonly FlowRecord[], idx: readonly number[]): FlowRecord[] {
  const sorted = [...idx].sort((a, b) => a - b);
  return sorted.map((i) => batch[i]!);
}

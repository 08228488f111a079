/**
 * The one query module over the flow store, used by the HTTP API and the web UI. `FlowQuery` is
 * the typed interface; DuckDB (embedded default, below) and ClickHouse (clickhouse-query.ts) both
 * implement it with the same SQL from sql.ts, so answers agree across stores.
 *
 * Every value from a caller travels as a bound parameter (DuckDB prepared parameters; for
 * ClickHouse, typed literals escaped by the client, see clickhouse-query.ts). IPs and CIDRs are
 * validated and normalised before they reach SQL; invalid input throws QueryInputError.
 *
 * Times are epoch milliseconds; ranges are half-open [from, to). Field names in answers are the
 * public CODEX names of src/record/fields.ts.
 */
import { BIGINT, DOUBLE, VARCHAR, type DuckDBConnection, type DuckDBDataChunk, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { Output } from '../pipeline/types.js';
import { toDocument, type TimestampSource } from '../record/fields.js';
import { protoName } from '../record/names.js';
import { flowColumns, rowToRecord, textOf, type Column } from './columns.js';
import { Rollups } from './rollup.js';
import { StoreUnavailableError } from './ip-filter.js';
import { COUNTER_SAMPLES_MAX, counterRates, sampleOf, type InterfaceCounters } from './interface-counters.js';
import { DUCKDB_DIALECT, buildQuery, checkInt, isNumericTopField, type BuiltQuery } from './sql.js';
import { QueryAbandonedError, QueryBusyError, QueryGate } from './query-gate.js';
import { queryScope } from './query-scope.js';

export type Metric = 'bytes' | 'packets' | 'flows';

/** Dimensions top-N can group by, named by their CODEX field. */
export const TOP_FIELDS = [
  'flow.src.ip.addr', 'flow.dst.ip.addr',
  'flow.client.ip.addr', 'flow.server.ip.addr',
  'flow.src.l4.port.id', 'flow.dst.l4.port.id', 'flow.server.l4.port.id',
  'l4.proto.id',
  'flow.src.as.asn', 'flow.dst.as.asn',
  'flow.src.geo.country.name', 'flow.dst.geo.country.name',
  'sec.threat.name', 'flow.src.sec.threat.name', 'flow.dst.sec.threat.name',
  'sec.threat.feed.name',
  'flow.export.ip.addr',
  'flow.src.ip.subnet.name', 'flow.dst.ip.subnet.name',
  'flow.src.ip.subnet.tags', 'flow.dst.ip.subnet.tags',
] as const;
export type TopField = (typeof TOP_FIELDS)[number];

export interface TimeRange {
  /** Inclusive, epoch ms. */
  from: number;
  /** Exclusive, epoch ms. */
  to: number;
}

/** Conditions ANDed together; each absent one matches everything. */
export interface FlowFilter {
  /** An address or CIDR (IPv4 or IPv6) matching either end. */
  ip?: string;
  srcIp?: string;
  dstIp?: string;
  /** A port on either end. */
  port?: number;
  srcPort?: number;
  dstPort?: number;
  /** IANA protocol number. */
  proto?: number;
  /** Exporter address (exact). */
  exporter?: string;
  /** An exporter interface (ifIndex) on either side, input or output; with `exporter`, that exporter's. */
  ifIndex?: number;
  /** Only flows with a threat-listed end. */
  threat?: boolean;
  /** A network's name from the address metadata file (exact) on either end. */
  net?: string;
  /** A tag of a network from the address metadata file (exact, one of its tags) on either end. */
  tag?: string;
}

export interface TopNQuery extends TimeRange {
  field: TopField;
  metric: Metric;
  /** Rows wanted, 1..1000 (default 10). */
  limit?: number;
  filter?: FlowFilter;
}

export interface TopNRow {
  key: string | number;
  /** Human name where one exists (protocol keyword, AS organisation). */
  label?: string;
  bytes: number;
  packets: number;
  flows: number;
}

export interface SeriesQuery extends TimeRange {
  /** Bucket width in ms; (to - from) / stepMs must not exceed 10,000 buckets. */
  stepMs: number;
  filter?: FlowFilter;
}

export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  ts: number;
  bytes: number;
  packets: number;
  flows: number;
}

export interface SearchQuery extends TimeRange {
  filter?: FlowFilter;
  /** 1..1000 (default 100). */
  limit?: number;
  /** Rows skipped, newest first (default 0). */
  offset?: number;
}

export interface SearchResult {
  /** Rows matching, ignoring limit and offset. */
  total: number;
  /** Records as CODEX documents (the same shape the NDJSON outputs write), newest first. */
  rows: Record<string, unknown>[];
}

export interface ThreatQuery extends TimeRange {
  limit?: number;
}

/** A server of ours (not listed; private, or locality unknown) reached by a listed client. */
export interface AtRiskServer {
  ip: string;
  flows: number;
  bytes: number;
  packets: number;
  /** Distinct listed clients that reached it. */
  clients: number;
  threatNames: string[];
  /** Its network's name from the address metadata file ('' when none; the greatest, should flows disagree). */
  network: string;
}

/** A listed client, with how much it talked and to how many servers. */
export interface HighRiskClient {
  ip: string;
  flows: number;
  bytes: number;
  packets: number;
  servers: number;
  threatNames: string[];
  /** As AtRiskServer's (a listed address is seldom in a network of the file). */
  network: string;
}

export interface ExporterSummary {
  exporter: string;
  flows: number;
  bytes: number;
  packets: number;
  firstSeen: number;
  lastSeen: number;
  exportType: string;
  exportVersion: number;
}

/** One interface of one exporter (its ifIndex): what flows came in and went out through it. */
export interface InterfaceSummary {
  exporter: string;
  ifIndex: number;
  /** Its name (options data, or the user's interface file), the newest one its flows in range carry; '' unknown. */
  name: string;
  inBytes: number;
  inPackets: number;
  inFlows: number;
  outBytes: number;
  outPackets: number;
  outFlows: number;
}

export interface InterfaceQuery extends TimeRange {
  filter?: FlowFilter;
  /** At most this many, busiest (bytes in and out) first; default 50. */
  limit?: number;
}

export interface ConversationQuery extends TimeRange {
  filter?: FlowFilter;
  /** Ordered by this, largest first (default bytes). */
  metric?: Metric;
  /** 1..1000 (default 10). */
  limit?: number;
}

/**
 * A client talking to a server on one port and protocol (client and server from the flow's
 * orientation; unknown orientation counts the source as the client), summed over its flows.
 */
export interface Conversation {
  client: string;
  server: string;
  /** The server's port. */
  port: number;
  proto: number;
  bytes: number;
  packets: number;
  flows: number;
}

export interface FlowQuery {
  /** Which store answers: 'duckdb' or 'clickhouse'. */
  readonly store: string;
  topN(q: TopNQuery): Promise<TopNRow[]>;
  series(q: SeriesQuery): Promise<SeriesPoint[]>;
  search(q: SearchQuery): Promise<SearchResult>;
  /** Flows matching, as `search`'s total, without reading any of them. */
  count(q: TimeRange & { filter?: FlowFilter }): Promise<number>;
  /**
   * The rows `search` would give for `q` with `limit` up to EXPORT_ROWS_MAX and no offset, from one
   * query: one consistent view of the store, however long the reading takes (paging by offset
   * repeated and skipped rows as flows kept arriving). `each` gets them in pieces, newest first,
   * and returns false to stop early.
   */
  exportSearch(q: SearchQuery, each: (docs: Record<string, unknown>[]) => Promise<boolean>): Promise<void>;
  /** Flows touching a listed address: search restricted to threat-listed ends. */
  threatFlows(q: SearchQuery): Promise<SearchResult>;
  atRiskServers(q: ThreatQuery): Promise<AtRiskServer[]>;
  highRiskClients(q: ThreatQuery): Promise<HighRiskClient[]>;
  /** How many at-risk servers and high-risk clients there are (the lists above stop at their limit). */
  threatEndCounts(q: TimeRange): Promise<{ atRiskServers: number; highRiskClients: number }>;
  exporters(q: TimeRange): Promise<ExporterSummary[]>;
  /** The time of the oldest flow in the range, or null when it holds none. */
  oldest(q: TimeRange): Promise<number | null>;
  /** Traffic per exporter interface, input and output (ifIndex 0: the exporter did not say). */
  interfaces(q: InterfaceQuery): Promise<InterfaceSummary[]>;
  /** The busiest conversations (client, server, server port, protocol). */
  conversations(q: ConversationQuery): Promise<Conversation[]>;
  /** One exporter interface's own counters (sFlow counter samples) as rates: interface-counters.ts. */
  interfaceCounters(q: InterfaceCountersQuery): Promise<InterfaceCounters>;
  /** Why the store is not fit to answer though a query may succeed (a damaged file), or null. */
  problem?(): string | null;
}

/** What a store learns from its queries' failures (DuckDbStore.noteError) and what it concluded. */
export interface StoreHealth {
  readonly damage: string | null;
  noteError(err: unknown): void;
}

export interface InterfaceCountersQuery extends TimeRange {
  exporter: string;
  ifIndex: number;
}

/** Bad caller input (a malformed CIDR, a reversed range, a silly step): the API answers 400. */
export { QueryInputError, StoreUnavailableError } from './ip-filter.js';

/** An output that can answer queries over what it stored. */
export interface QueryableOutput extends Output {
  flowQuery(): FlowQuery | null;
}

/** The query module for the first store among the outputs (DuckDB before ClickHouse), or null. */
export function flowQueryFrom(outputs: readonly Output[]): FlowQuery | null {
  let best: FlowQuery | null = null;
  for (const o of outputs) {
    const f = (o as Partial<QueryableOutput>).flowQuery?.() ?? null;
    if (f !== null && (best === null || f.store === 'duckdb')) best = f;
  }
  return best;
}

// ---- shared row shaping ----------------------------------------------------------------------

export const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v !== '' ? Number(v) : 0);

export function splitNames(v: unknown): string[] {
  if (typeof v !== 'string' || v === '') return [];
  const out = new Set<string>();
  for (const p of v.split(',')) if (p !== '') out.add(p);
  return [...out].sort();
}

/**
 * Rows an export hands over at a time (exportSearch). Each becomes a document and a line of text
 * in one turn of the event loop, 60-100 us a row here: 128 keep a turn near 10 ms.
 */
export const EXPORT_PIECE_ROWS = 128;

/** A search window holds this many times the rows its page needs, were rows spread evenly over the range. */
const WINDOW_ROWS = 4;

/** Runs built queries on some store; the shaping of answers is shared by every store. */
export abstract class SqlFlowQuery implements FlowQuery {
  abstract readonly store: string;
  protected readonly cols: Column[];

  /**
   * @param namesInline Interface names within the traffic query (an aggregate over the rows that carry
   *   one) rather than from a query of their own, which scans `rest` again. Over a day of 1M flows
   *   (bench:queries) ClickHouse took 177-211 ms inline against 205-250 in two more queries, DuckDB
   *   160-190 inline (its aggregate FILTER is slow) against 68-79.
   */
  constructor(protected readonly tsSource: TimestampSource, protected readonly build: (kind: Parameters<typeof buildQuery>[1], q: unknown) => BuiltQuery, private readonly namesInline = false) {
    this.cols = flowColumns(tsSource);
  }

  protected abstract rows(q: BuiltQuery): Promise<Record<string, unknown>[]>;
  /** Runs one query and hands its rows over in pieces as they come; `each` returns false to stop. */
  protected abstract stream(q: BuiltQuery, each: (rows: Record<string, unknown>[]) => Promise<boolean>): Promise<void>;

  /** The SQL for a top-N (a store may answer from summaries). */
  protected topNQuery(q: TopNQuery): BuiltQuery {
    return this.build('topN', q);
  }

  /** The SQL for a series (a store may answer from summaries). */
  protected seriesQuery(q: SeriesQuery): BuiltQuery {
    return this.build('series', q);
  }

  async topN(q: TopNQuery): Promise<TopNRow[]> {
    const rows = await this.rows(this.topNQuery(q));
    return rows.map((r) => {
      const row: TopNRow = { key: isNumericTopField(q.field) ? num(r.k) : String(r.k), bytes: num(r.b), packets: num(r.p), flows: num(r.f) };
      if (q.field === 'l4.proto.id') row.label = protoName(Number(row.key));
      else if (typeof r.label === 'string' && r.label !== '') row.label = r.label;
      return row;
    });
  }

  async series(q: SeriesQuery): Promise<SeriesPoint[]> {
    const rows = await this.rows(this.seriesQuery(q));
    const byTs = new Map<number, Record<string, unknown>>();
    for (const r of rows) byTs.set(num(r.t), r);
    // Every bucket is present (zeros where no flow), so charts need no gap logic.
    const out: SeriesPoint[] = [];
    const first = Math.floor(q.from / q.stepMs) * q.stepMs;
    for (let t = first; t < q.to; t += q.stepMs) {
      const r = byTs.get(t);
      out.push({ ts: t, bytes: r ? num(r.b) : 0, packets: r ? num(r.p) : 0, flows: r ? num(r.f) : 0 });
    }
    return out;
  }

  async count(q: TimeRange & { filter?: FlowFilter }): Promise<number> {
    return num((await this.rows(this.build('count', q)))[0]?.n);
  }

  /**
   * The count first, then the page. Pages are newest first, so when the newest part of the range
   * holds every row up to the page's end, only that part is read: a window sized from the count
   * (four times the rows needed, were they spread evenly), wider ones when it turns out short, and
   * the whole range last. The newest 50 of a day of 3M flows took 765 ms on ClickHouse 18.16 reading the
   * day, 32 ms reading its last minute.
   */
  async search(q: SearchQuery): Promise<SearchResult> {
    const page = this.build('search', q);
    const total = await this.count(q);
    const offset = q.offset ?? 0;
    const need = Math.min(total, offset + (q.limit ?? 100));
    if (need <= offset) return { total, rows: [] };
    // Windows eight times wider each time the last came up short: rows bunched away from the range's
    // end cost at most about 1.6 times the reading of the whole range alone (the widest window is
    // under half of it), and the count.
    for (let span = Math.ceil(((q.to - q.from) * need * WINDOW_ROWS) / total); span <= (q.to - q.from) / 2; span *= 8) {
      const near = await this.rows(this.build('search', { ...q, from: q.to - span }));
      // A full page from the window: it holds every row up to the page's end, all newer than those outside it.
      if (near.length === need - offset) return { total, rows: near.map((row) => this.doc(row)) };
    }
    return { total, rows: (await this.rows(page)).map((row) => this.doc(row)) };
  }

  exportSearch(q: SearchQuery, each: (docs: Record<string, unknown>[]) => Promise<boolean>): Promise<void> {
    return this.stream(this.build('export', { ...q, offset: 0 }), async (rows) => {
      // Made into documents a piece at a time, `each` giving the event loop back between pieces:
      // a DuckDB chunk's 2,048 at once held it for 100-450 ms, and the decoding waits on it.
      for (let i = 0; i < rows.length; i += EXPORT_PIECE_ROWS) {
        if (!(await each(rows.slice(i, i + EXPORT_PIECE_ROWS).map((row) => this.doc(row))))) return false;
      }
      return true;
    });
  }

  private doc(row: Record<string, unknown>): Record<string, unknown> {
    const doc = toDocument(rowToRecord(this.cols, row), { ecs: false, timestampSource: this.tsSource });
    doc['@timestamp'] = num(row.ts);
    return doc;
  }

  threatFlows(q: SearchQuery): Promise<SearchResult> {
    return this.search({ ...q, filter: { ...q.filter, threat: true } });
  }

  async atRiskServers(q: ThreatQuery): Promise<AtRiskServer[]> {
    const rows = await this.rows(this.build('atRiskServers', q));
    return rows.map((r) => ({ ip: String(r.k), flows: num(r.f), bytes: num(r.b), packets: num(r.p), clients: num(r.peers), threatNames: splitNames(r.names), network: textOf(r.net) }));
  }

  async highRiskClients(q: ThreatQuery): Promise<HighRiskClient[]> {
    const rows = await this.rows(this.build('highRiskClients', q));
    return rows.map((r) => ({ ip: String(r.k), flows: num(r.f), bytes: num(r.b), packets: num(r.p), servers: num(r.peers), threatNames: splitNames(r.names), network: textOf(r.net) }));
  }

  async threatEndCounts(q: TimeRange): Promise<{ atRiskServers: number; highRiskClients: number }> {
    const rows = await this.rows(this.build('threatEndCounts', q));
    return { atRiskServers: num(rows[0]?.servers), highRiskClients: num(rows[0]?.clients) };
  }

  async interfaceCounters(q: InterfaceCountersQuery): Promise<InterfaceCounters> {
    const rows = await this.rows(this.build('interfaceCounters', { ...q, limit: COUNTER_SAMPLES_MAX + 1 }));
    const truncated = rows.length > COUNTER_SAMPLES_MAX;
    const samples = rows.slice(0, COUNTER_SAMPLES_MAX).map((r) => sampleOf(num(r.ts), textOf(r.rest)));
    return counterRates(samples, truncated, q.ifIndex);
  }

  async oldest(q: TimeRange): Promise<number | null> {
    const rows = await this.rows(this.build('oldest', q));
    // An empty range gives NULL in DuckDB and the type's zero in ClickHouse 18.16; the range starts above 0.
    const t = num(rows[0]?.first);
    return t >= q.from && t > 0 ? t : null;
  }

  async conversations(q: ConversationQuery): Promise<Conversation[]> {
    const rows = await this.rows(this.build('conversations', q));
    return rows.map((r) => ({ client: textOf(r.c), server: textOf(r.s), port: num(r.sp), proto: num(r.pr), bytes: num(r.b), packets: num(r.p), flows: num(r.f) }));
  }

  async interfaces(q: InterfaceQuery): Promise<InterfaceSummary[]> {
    const limit = checkInt('limit', q.limit ?? 50, 1, 10_000);
    // Two groupings (by input, by output interface) joined here: an exporter has tens to thousands
    // of interfaces, and one query would need a UNION whose column types ClickHouse 18.16 matches strictly.
    const sides = ['in', 'out'] as const;
    const names = this.namesInline;
    const [ins, outs, inNames = ins, outNames = outs] = await Promise.all([
      ...sides.map((side) => this.rows(this.build('interfaces', { ...q, side, names }))),
      ...(names ? [] : sides.map((side) => this.rows(this.build('interfaceNames', { ...q, side })))),
    ]);
    const m = new Map<string, InterfaceSummary>();
    const at = (r: Record<string, unknown>): InterfaceSummary => {
      const exporter = String(r.e), ifIndex = num(r.k), key = `${exporter}/${ifIndex}`;
      let x = m.get(key);
      if (x === undefined) m.set(key, (x = { exporter, ifIndex, name: '', inBytes: 0, inPackets: 0, inFlows: 0, outBytes: 0, outPackets: 0, outFlows: 0 }));
      return x;
    };
    for (const r of ins!) Object.assign(at(r), { inBytes: num(r.b), inPackets: num(r.p), inFlows: num(r.f) });
    for (const r of outs!) Object.assign(at(r), { outBytes: num(r.b), outPackets: num(r.p), outFlows: num(r.f) });
    // The input side's name first; the output side's only where the input side had none.
    for (const r of [...inNames!, ...outNames!]) {
      const x = m.get(`${String(r.e)}/${num(r.k)}`);
      if (x !== undefined && x.name === '' && typeof r.n === 'string') x.name = r.n;
    }
    const busy = (x: InterfaceSummary): number => x.inBytes + x.outBytes;
    return [...m.values()]
      .sort((a, b) => busy(b) - busy(a) || (a.exporter < b.exporter ? -1 : a.exporter > b.exporter ? 1 : a.ifIndex - b.ifIndex))
      .slice(0, limit);
  }

  async exporters(q: TimeRange): Promise<ExporterSummary[]> {
    const rows = await this.rows(this.build('exporters', q));
    return rows.map((r) => ({
      exporter: String(r.k), flows: num(r.f), bytes: num(r.b), packets: num(r.p),
      firstSeen: num(r.first), lastSeen: num(r.last), exportType: typeof r.et === 'string' ? r.et : '', exportVersion: num(r.ev),
    }));
  }
}

// ---- DuckDB ----------------------------------------------------------------------------------

export const isEmptyFilter = (f: FlowFilter | undefined): boolean => f === undefined || Object.values(f).every((v) => v === undefined);

/**
 * Parameters with their DuckDB types: whole numbers as BIGINT, text as VARCHAR. Left to the client,
 * a BigInt binds as HUGEINT, and `ts // ?` then divides every row in 128 bits: the overview's series
 * took 0.8-1.1 s over 3M rows against 45-65 ms with BIGINT.
 */
function duckParams(q: BuiltQuery): { values: DuckDBValue[]; types: DuckDBType[] } {
  const values: DuckDBValue[] = [];
  const types: DuckDBType[] = [];
  for (const p of q.params) {
    if (typeof p === 'number' && Number.isSafeInteger(p)) {
      values.push(BigInt(p));
      types.push(BIGINT);
    } else {
      values.push(p);
      types.push(typeof p === 'number' ? DOUBLE : VARCHAR);
    }
  }
  return { values, types };
}

/**
 * A chunk's rows as objects, read a column at a time: the client's getRowObjects reads value by
 * value, 17-69 ms for a chunk of 2,048 flows against 4-5 here, all in one turn of the event loop.
 */
function rowObjects(chunk: DuckDBDataChunk, names: readonly string[]): Record<string, unknown>[] {
  const cols = chunk.getColumns();
  const rows: Record<string, unknown>[] = [];
  for (let r = 0; r < chunk.rowCount; r++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c]!] = cols[c]![r];
    rows.push(row);
  }
  return rows;
}

/**
 * A failed write or checkpoint (disk full) invalidates a DuckDB database until the store reopens it
 * (duckdb.ts): its queries' errors become StoreUnavailableError (the API's 503); others stay as they are.
 */
function unavailable(err: unknown): unknown {
  const msg = (err as Error).message ?? '';
  return /database has been invalidated/i.test(msg) ? new StoreUnavailableError(`the store is being reopened after a failed write: ${msg.split('\n')[0]}`, { cause: err }) : err;
}

/** The query module over the embedded DuckDB store; `conn` is a connection of its own (not the appender's). */
export class DuckDbFlowQuery extends SqlFlowQuery {
  readonly store = 'duckdb';

  /** The API's queries on `conn`, one at a time (query-gate.ts). */
  private readonly gate: QueryGate;

  /**
   * `conn` is the API's queries' own (not the store's maintenance connection, which they would wait
   * behind and hold up); `probeConn` the readiness probe's (queryScope), which waits behind neither.
   * `connect` opens a connection of its own for a stream: a connection runs one statement at a time,
   * and a stream left open on the shared one would end with the next query.
   */
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly table: string,
    tsSource: TimestampSource,
    private readonly rollups: Rollups | null = null,
    private readonly connect?: () => Promise<DuckDBConnection>,
    private readonly health?: StoreHealth,
    private readonly probeConn?: DuckDBConnection,
  ) {
    super(tsSource, (kind, q) => buildQuery(DUCKDB_DIALECT, kind, q, table));
    this.gate = new QueryGate(() => conn.interrupt());
  }

  problem(): string | null {
    const d = this.health?.damage ?? null;
    return d === null ? null : `the store's file is damaged: ${d}`;
  }

  /** Unfiltered top lists over long ranges from the hourly summaries (rollup.ts): the same answer. */
  protected override topNQuery(q: TopNQuery): BuiltQuery {
    const built = super.topNQuery(q);
    const plan = isEmptyFilter(q.filter) ? this.rollups?.plan(q.from, q.to) ?? null : null;
    return (plan !== null ? Rollups.topN(q, Number(built.params[built.params.length - 1]), this.table, plan) : null) ?? built;
  }

  protected override seriesQuery(q: SeriesQuery): BuiltQuery {
    const built = super.seriesQuery(q);
    const plan = isEmptyFilter(q.filter) ? this.rollups?.plan(q.from, q.to) ?? null : null;
    return (plan !== null ? Rollups.series(q, this.table, plan) : null) ?? built;
  }

  protected async rows(q: BuiltQuery): Promise<Record<string, unknown>[]> {
    const p = duckParams(q);
    const scope = queryScope.getStore();
    const read = (c: DuckDBConnection) => c.runAndReadAll(q.sql, p.values, p.types);
    try {
      const reader = scope?.probe === true && this.probeConn !== undefined ? await read(this.probeConn) : await this.gate.run(() => read(this.conn), scope?.signal);
      return reader.getRowObjects() as Record<string, unknown>[];
    } catch (err) {
      if (err instanceof QueryBusyError || err instanceof QueryAbandonedError) throw err;
      this.health?.noteError(err);
      throw unavailable(err);
    }
  }

  /**
   * Not behind the gate: on a connection of its own, so it holds up no other query. The client's
   * going interrupts it as the gate interrupts the others: DuckDB sorts the whole range before the
   * first rows come back, and an export whose client had gone kept its place and a core for that
   * long (25 s over 7.8M flows), since nothing looked at the client until rows arrived.
   */
  protected async stream(q: BuiltQuery, each: (rows: Record<string, unknown>[]) => Promise<boolean>): Promise<void> {
    const signal = queryScope.getStore()?.signal;
    // A function, not the field read twice: it changes across the await below.
    const gone = (): boolean => signal?.aborted === true;
    if (gone()) throw new QueryAbandonedError();
    const conn = this.connect !== undefined ? await this.connect() : this.conn;
    let interrupted = false;
    const stop = (): void => {
      interrupted = true;
      // Only a connection of its own: the shared one may be running another request's query.
      if (conn === this.conn) return;
      try {
        conn.interrupt();
      } catch {
        // Nothing running any more.
      }
    };
    signal?.addEventListener('abort', stop, { once: true });
    try {
      // Gone while the connection was being opened.
      if (gone()) throw new QueryAbandonedError();
      const p = duckParams(q);
      const result = await conn.stream(q.sql, p.values, p.types).catch((err: unknown) => {
        if (interrupted) throw new QueryAbandonedError();
        this.health?.noteError(err);
        throw unavailable(err);
      });
      try {
        const names = result.deduplicatedColumnNames();
        for (let chunk = await result.fetchChunk(); chunk !== null && chunk.rowCount > 0 && !interrupted; chunk = await result.fetchChunk()) {
          if (!(await each(rowObjects(chunk, names)))) break;
        }
      } catch (err) {
        if (interrupted) throw new QueryAbandonedError();
        this.health?.noteError(err);
        throw err;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      if (conn !== this.conn) conn.closeSync();
    }
  }
}

/**
 * The ClickHouse output: creates its table (MergeTree, one partition per day, ordered by time),
 * inserts batches as JSONEachRow over HTTP (@clickhouse/client), and keeps the retention.
 *
 * Compatible with Debian's ClickHouse 18.16 and current releases: the table uses the
 * `ENGINE = MergeTree() PARTITION BY ... ORDER BY ...` form (18.x and later); a table TTL is added
 * only when the server is 19.6 or newer (TTL arrived then), and on every version old days are
 * also removed with `ALTER TABLE ... DROP PARTITION`, which 18.16 understands.
 *
 * Outages: BatchingOutput queues in memory and spills to disk (EF_OUTPUT_CLICKHOUSE_SPILL_MAX_BYTES)
 * while inserts fail, then replays in order. The table is (re)created lazily before a send, so a
 * server that is down at start costs nothing but a retry.
 */
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { log } from '../../log/logger.js';
import type { FlowRecord } from '../../record/flow-record.js';
import type { TimestampSource } from '../../record/fields.js';
import { flowColumns, type ColKind, type Column } from '../../store/columns.js';
import { ClickHouseFlowQuery } from '../../store/clickhouse-query.js';
import type { FlowQuery, QueryableOutput } from '../../store/query.js';
import { BatchingOutput } from '../batching.js';

const CH_TYPE: Record<ColKind, string> = { u8: 'UInt8', u16: 'UInt16', u32: 'UInt32', i16: 'Int16', i64: 'UInt64', f64: 'Float64', str: 'String' };
const DAY_MS = 86_400_000;
const RETENTION_INTERVAL_MS = 60 * 60_000;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ClickHouseOptions {
  url: string;
  username: string;
  password: string;
  database: string;
  table: string;
  retentionDays: number;
  timestampSource: TimestampSource;
  batchMax: number;
  deadlineMs: number;
  queueMax: number;
  spill?: { dir: string; maxBytes: number };
  /** Per-request timeout in ms (default 30 s). */
  requestTimeoutMs?: number;
}

/** "major.minor.patch..." to [major, minor]; unknown parts are 0. */
export function parseVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])];
}

/** Table TTL arrived in ClickHouse 19.6. */
export function supportsTtl(v: string): boolean {
  const [a, b] = parseVersion(v);
  return a > 19 || (a === 19 && b >= 6);
}

/** The CREATE TABLE statement for a server version. */
export function createTableSql(db: string, table: string, cols: readonly Column[], retentionDays: number, version: string): string {
  const defs = cols.map((c) => `${c.name} ${CH_TYPE[c.kind]}`);
  // `day` is computed by the server from ts (epoch ms), so inserts never send it; it partitions
  // the table by UTC day (whatever the server's time zone) and carries the TTL.
  defs.splice(1, 0, "day Date MATERIALIZED toDate(toDateTime(intDiv(ts, 1000), 'UTC'))");
  const ttl = supportsTtl(version) ? ` TTL day + INTERVAL ${Math.trunc(retentionDays)} DAY` : '';
  return `CREATE TABLE IF NOT EXISTS ${db}.${table} (${defs.join(', ')}) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(day) ORDER BY (ts, exporter)${ttl}`;
}

/** One JSONEachRow line per record, by concatenation (this runs per record). */
export function toJsonEachRow(cols: readonly Column[], records: readonly FlowRecord[]): string {
  let out = '';
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let line = '{';
    for (let ci = 0; ci < cols.length; ci++) {
      const c = cols[ci]!;
      const v = c.get(r);
      line += (ci === 0 ? '"' : ',"') + c.name + '":';
      if (c.kind === 'str') line += v === '' ? '""' : JSON.stringify(v);
      else if (c.kind === 'f64') line += Number.isFinite(v as number) ? String(v) : '0';
      else line += String((v as number) > 0 || c.kind === 'i16' ? Math.trunc(v as number) : 0);
    }
    out += line + '}\n';
  }
  return out;
}

export class ClickHouseOutput extends BatchingOutput implements QueryableOutput {
  readonly name = 'clickhouse';
  readonly cols: Column[];
  private readonly client: ClickHouseClient;
  private readonly fq: string;
  private tableReady = false;
  private version = '';
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly query: ClickHouseFlowQuery;

  constructor(private readonly o: ClickHouseOptions) {
    super({ batchMax: o.batchMax, deadlineMs: o.deadlineMs, queueMax: o.queueMax, ...(o.spill ? { spill: o.spill } : {}) });
    if (!IDENT.test(o.database) || !IDENT.test(o.table)) throw new Error('EF_OUTPUT_CLICKHOUSE_DATABASE and _TABLE must be plain identifiers (letters, digits, _)');
    this.cols = flowColumns(o.timestampSource);
    this.fq = `${o.database}.${o.table}`;
    this.client = createClient({
      url: o.url, username: o.username, password: o.password,
      request_timeout: o.requestTimeoutMs ?? 30_000,
      // One connection per request: a stale keep-alive socket across a server restart would fail the first insert.
      keep_alive: { enabled: false },
      // The client would log every failed request to the console; BatchingOutput logs failures at a bounded rate.
      log: { level: ClickHouseLogLevel.OFF },
    });
    this.c.retention_dropped_partitions = 0;
    this.query = new ClickHouseFlowQuery(this.client, this.fq, o.timestampSource);
  }

  override async start(): Promise<void> {
    try {
      await this.ensureTable();
      log.info(`ClickHouse output: ${this.o.url} table ${this.fq} (server ${this.version}${supportsTtl(this.version) ? ', TTL' : ', retention by DROP PARTITION'})`);
    } catch (err) {
      log.warn(`ClickHouse output: server not ready at start (${(err as Error).message}); records are queued and retried`);
    }
    this.retentionTimer = setInterval(() => void this.applyRetention().catch((err: Error) => log.warn(`ClickHouse retention failed: ${err.message}`)), RETENTION_INTERVAL_MS);
    this.retentionTimer.unref?.();
    await super.start();
  }

  private async ensureTable(): Promise<void> {
    if (this.tableReady) return;
    const rs = await this.client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    this.version = String((await rs.json<{ v: string }>())[0]?.v ?? '');
    await this.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.o.database}` });
    await this.client.command({ query: createTableSql(this.o.database, this.o.table, this.cols, this.o.retentionDays, this.version) });
    this.tableReady = true;
  }

  /** Drops day partitions older than the retention (works on 18.16, where TTL does not exist). */
  async applyRetention(now = Date.now()): Promise<number> {
    await this.ensureTable();
    const cutoff = new Date(now - this.o.retentionDays * DAY_MS);
    const cut = cutoff.getUTCFullYear() * 10000 + (cutoff.getUTCMonth() + 1) * 100 + cutoff.getUTCDate();
    const rs = await this.client.query({
      query: `SELECT DISTINCT partition FROM system.parts WHERE database = '${this.o.database}' AND table = '${this.o.table}' AND active`,
      format: 'JSONEachRow',
    });
    let dropped = 0;
    for (const row of await rs.json<{ partition: string }>()) {
      const p = Number(row.partition);
      if (Number.isSafeInteger(p) && p < cut) {
        await this.client.command({ query: `ALTER TABLE ${this.fq} DROP PARTITION ${p}` });
        dropped++;
      }
    }
    this.c.retention_dropped_partitions! += dropped;
    return dropped;
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    await this.ensureTable();
    const body = toJsonEachRow(this.cols, batch);
    const res = await this.client.exec({ query: `INSERT INTO ${this.fq} FORMAT JSONEachRow`, values: Readable.from([body]) });
    // Drain the (empty) response so the socket is released.
    res.stream.resume();
    await new Promise<void>((resolve, reject) => {
      res.stream.on('end', resolve);
      res.stream.on('error', reject);
    });
  }

  flowQuery(): FlowQuery | null {
    return this.query;
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    await this.client.close();
  }
}

/**
 * The ClickHouse output: creates its table (MergeTree, one partition per day, ordered by time),
 * inserts batches in RowBinary over HTTP (@clickhouse/client), and keeps the retention.
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
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { log } from '../../log/logger.js';
import type { FlowRecord } from '../../record/flow-record.js';
import type { TimestampSource } from '../../record/fields.js';
import { clampInt, flowColumns, MAX_I64, type ColKind, type Column } from '../../store/columns.js';
import { ClickHouseFlowQuery } from '../../store/clickhouse-query.js';
import { CLICKHOUSE_DIALECT } from '../../store/sql.js';
import { chSummariesValidFrom, chSummaryNames, chTablesPresent, declareChSummariesUnusable, dropChSummaryViews, ensureChSummaries, resetChSummaries } from '../../store/clickhouse-rollup.js';
import type { FlowQuery, QueryableOutput } from '../../store/query.js';
import { BatchingOutput } from '../batching.js';
import { CLOSE_SEND_MS, START_WAIT_MS } from '../close-deadline.js';
import { within } from '../../within.js';
import { ConfigFileError } from '../../config/file-error.js';
import { SQL_IDENT } from '../../config/validate.js';

const CH_TYPE: Record<ColKind, string> = { u8: 'UInt8', u16: 'UInt16', u32: 'UInt32', i16: 'Int16', i64: 'UInt64', f64: 'Float64', str: 'String', enum: 'String' };
const DAY_MS = 86_400_000;
/**
 * Columns that older versions (before f480417) kept inside the `rest` JSON, with the expression that
 * reads them from there: added to such a table with it as DEFAULT, old rows show their values in
 * searches, filters and exports (ClickHouse computes a DEFAULT for parts written without the column).
 * Later such columns say so themselves (Column.fromRest).
 */
const REST_BEFORE_COLUMN: Record<string, string> = {
  export_ts: "visitParamExtractUInt(rest, 'exportTs')",
  tos: "toUInt8(visitParamExtractUInt(rest, 'tos'))",
  src_mask: "toUInt8(visitParamExtractUInt(rest, 'srcMask'))",
  dst_mask: "toUInt8(visitParamExtractUInt(rest, 'dstMask'))",
  next_hop: "visitParamExtractString(rest, 'nextHop')",
};
const RETENTION_INTERVAL_MS = 60 * 60_000;

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
  /** EF_OUTPUT_CLICKHOUSE_SUMMARIES_ENABLE (default true): the server's hourly summaries (clickhouse-rollup.ts). */
  summaries?: boolean;
  /** EF_OUTPUT_CLICKHOUSE_TLS_*: for https URLs, a CA to trust besides the system's, or no verification at all. */
  tls?: { caCertPath: string; skipVerification: boolean };
  /** Per-request timeout in ms (default 30 s). */
  requestTimeoutMs?: number;
}

/** An existing table whose columns this version cannot write (other types). */
export class TableLayoutError extends ConfigFileError {
  override name = 'TableLayoutError';
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
  // A day's rows go at the end of the retention counted from its last moment (day + 1), not its
  // first: with `day + N` the newest rows of a day went when N-1 days old, a day before
  // applyRetention drops the partition and before the retention the docs promise.
  const ttl = supportsTtl(version) ? ` TTL day + INTERVAL ${Math.trunc(retentionDays) + 1} DAY` : '';
  return `CREATE TABLE IF NOT EXISTS ${db}.${table} (${defs.join(', ')}) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(day) ORDER BY (ts, exporter)${ttl}`;
}

/**
 * A batch in ClickHouse's RowBinary format (every version has it): per row, each column in table
 * order, little-endian integers and strings as a LEB128 length then UTF-8 bytes. Written straight
 * into one Buffer: no per-record strings or objects, which is what made JSON lines the slow part.
 */
export class RowBinaryWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private off = 0;
  /** Integers clamped to their column's range so far (columns.ts, clampInt; DuckDB does the same). */
  clamped = 0;

  constructor(private readonly cols: readonly Column[]) {}

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  encode(records: readonly FlowRecord[]): Buffer {
    this.off = 0;
    const cols = this.cols;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      this.ensure(16 * cols.length);
      for (let ci = 0; ci < cols.length; ci++) {
        const c = cols[ci]!;
        const v = c.get(r);
        const b = this.buf;
        switch (c.kind) {
          case 'u8':
            b[this.off++] = this.int('u8', v as number);
            break;
          case 'u16':
            b.writeUInt16LE(this.int('u16', v as number), this.off);
            this.off += 2;
            break;
          case 'u32':
            b.writeUInt32LE(this.int('u32', v as number), this.off);
            this.off += 4;
            break;
          case 'i16':
            b.writeInt16LE(this.int('i16', v as number), this.off);
            this.off += 2;
            break;
          case 'i64': {
            let x = (v as number) > 0 ? Math.trunc(v as number) : 0;
            if (x > MAX_I64) {
              x = MAX_I64;
              this.clamped++;
            }
            b.writeUInt32LE(x >>> 0, this.off);
            b.writeUInt32LE(Math.floor(x / 4294967296), this.off + 4);
            this.off += 8;
            break;
          }
          case 'f64':
            b.writeDoubleLE(v as number, this.off);
            this.off += 8;
            break;
          case 'str':
          case 'enum':
            this.writeString(v as string);
            break;
        }
      }
    }
    return Buffer.from(this.buf.subarray(0, this.off));
  }

  /** `v` clamped to its column's range (clampInt), counting the values that had to be. */
  private int(kind: 'u8' | 'u16' | 'u32' | 'i16', v: number): number {
    const x = clampInt(kind, v);
    if (x !== v) this.clamped++;
    return x;
  }

  private writeString(s: string): void {
    if (s.length === 0) {
      this.ensure(1);
      this.buf[this.off++] = 0;
      return;
    }
    // Most strings (addresses, names) are short: write after a one-byte length and fix up when longer.
    this.ensure(5 + s.length * 3);
    const n = this.buf.write(s, this.off + 1, 'utf8');
    if (n < 0x80) {
      this.buf[this.off] = n;
      this.off += 1 + n;
      return;
    }
    let lenBytes = 1;
    for (let x = n >>> 7; x > 0; x >>>= 7) lenBytes++;
    this.buf.copyWithin(this.off + lenBytes, this.off + 1, this.off + 1 + n);
    let x = n;
    for (let k = 0; k < lenBytes; k++) {
      this.buf[this.off + k] = (x & 0x7f) | (k < lenBytes - 1 ? 0x80 : 0);
      x >>>= 7;
    }
    this.off += lenBytes + n;
  }
}

/**
 * For an https URL with EF_OUTPUT_CLICKHOUSE_TLS_*: the client's agent, trusting the CA given (added to
 * the system's, as the other outputs do) or no certificate at all. The client's own `tls` option has no
 * way to skip verification; its agent does both, and keeps one connection per request as before.
 */
function httpsAgent(url: string, tls: ClickHouseOptions['tls']): { http_agent?: HttpsAgent } {
  if (tls === undefined || !url.startsWith('https:') || (tls.caCertPath === '' && !tls.skipVerification)) return {};
  let ca: Buffer | undefined;
  if (tls.caCertPath !== '') {
    try {
      ca = readFileSync(tls.caCertPath);
    } catch (err) {
      throw new ConfigFileError(`EF_OUTPUT_CLICKHOUSE_TLS_CA_CERT_FILEPATH: cannot read ${tls.caCertPath}: ${(err as Error).message}`);
    }
  }
  // maxSockets: the client's max_open_connections (10), which it applies only to an agent of its own.
  return { http_agent: new HttpsAgent({ keepAlive: false, maxSockets: 10, rejectUnauthorized: !tls.skipVerification, ...(ca !== undefined ? { ca: [...rootCertificates, ca.toString('latin1')] } : {}) }) };
}

/**
 * Credentials written into the address (`http://user:password@host:8123`) win over the options, as
 * the client would have it, but are handed over as options: the client otherwise warns on the
 * console, past our logger and its level, that the URL overrides them.
 */
export function credentialsOutOfUrl(address: string, username: string, password: string): { url: string; username: string; password: string } {
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    return { url: address, username, password };
  }
  if (u.username === '' && u.password === '') return { url: address, username, password };
  const out = { url: '', username: u.username !== '' ? decodeURIComponent(u.username) : username, password: u.password !== '' ? decodeURIComponent(u.password) : password };
  u.username = '';
  u.password = '';
  out.url = u.toString();
  return out;
}

export class ClickHouseOutput extends BatchingOutput implements QueryableOutput {
  readonly name = 'clickhouse';
  readonly cols: Column[];
  private readonly client: ClickHouseClient;
  private readonly fq: string;
  private tableReady = false;
  /** A summary view failed in the last insert (see send()). */
  private viewFailed = false;
  private version = '';
  private retentionTimer: NodeJS.Timeout | null = null;
  private readonly query: ClickHouseFlowQuery;
  private readonly writer: RowBinaryWriter;
  private readonly colList: string;

  constructor(private readonly o: ClickHouseOptions) {
    super({ batchMax: o.batchMax, deadlineMs: o.deadlineMs, queueMax: o.queueMax, queueMaxWithoutSpill: 20 * o.batchMax, ...(o.spill ? { spill: o.spill } : {}) });
    if (!SQL_IDENT.test(o.database) || !SQL_IDENT.test(o.table)) throw new Error('EF_OUTPUT_CLICKHOUSE_DATABASE and _TABLE must be plain identifiers (letters, digits, _)');
    this.cols = flowColumns(o.timestampSource);
    this.fq = `${o.database}.${o.table}`;
    this.writer = new RowBinaryWriter(this.cols);
    this.colList = this.cols.map((c) => c.name).join(', ');
    const { url, username, password } = credentialsOutOfUrl(o.url, o.username, o.password);
    this.client = createClient({
      url, username, password,
      ...httpsAgent(url, o.tls),
      request_timeout: o.requestTimeoutMs ?? 30_000,
      // One connection per request: a stale keep-alive socket across a server restart would fail the first insert.
      keep_alive: { enabled: false },
      // The client would log every failed request to the console; BatchingOutput logs failures at a bounded rate.
      log: { level: ClickHouseLogLevel.OFF },
    });
    this.c.retention_dropped_partitions = 0;
    this.c.summary_view_failures = 0;
    this.c.values_clamped = 0;
    this.query = new ClickHouseFlowQuery(this.client, this.fq, o.timestampSource);
  }

  override async start(): Promise<void> {
    try {
      // A server that accepts and stays silent must not hold up the collector's start (and its
      // sockets) for the 30 s request timeout: past START_WAIT_MS the table is made before the
      // first insert instead, and records queue meanwhile.
      const ready = this.ensureTable();
      if (!(await within(ready, START_WAIT_MS))) throw new Error(`no answer within ${START_WAIT_MS / 1000} s`);
      await ready;
      log.info(`ClickHouse output: ${this.o.url} table ${this.fq} (server ${this.version}${supportsTtl(this.version) ? ', TTL' : ', retention by DROP PARTITION'})`);
    } catch (err) {
      // A table this version cannot write to is a start-up error; a server not up yet is not.
      if (err instanceof TableLayoutError) throw err;
      log.warn(`ClickHouse output: server not ready at start (${(err as Error).message}); records are queued and retried`);
    }
    const retain = (): void => void this.applyRetention().catch((err: Error) => log.warn(`ClickHouse retention failed: ${err.message}`));
    // At start too (in the background): a collector started after a long stop kept days past the
    // retention for its first hour.
    if (this.tableReady) retain();
    this.retentionTimer = setInterval(retain, RETENTION_INTERVAL_MS);
    this.retentionTimer.unref?.();
    await super.start();
  }

  private async ensureTable(): Promise<void> {
    if (this.tableReady) return;
    const rs = await this.client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
    this.version = String((await rs.json<{ v: string }>())[0]?.v ?? '');
    await this.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.o.database}` });
    // No table under this name: summaries found under it were another table's (clickhouse-rollup.ts).
    if (!(await chTablesPresent(this.client, this.o.database, [this.fq]))) await resetChSummaries(this.client, this.o.database, this.o.table);
    await this.client.command({ query: createTableSql(this.o.database, this.o.table, this.cols, this.o.retentionDays, this.version) });
    // Inserts name their columns, so a table from an older layout only needs the missing ones added.
    // A column of another type cannot be fixed here: RowBinary would fail every insert, or (same
    // width, other meaning: Int64 for UInt64) store other values without a word. It stops the output.
    const rs2 = await this.client.query({ query: `SELECT name, type FROM system.columns WHERE database = '${this.o.database}' AND table = '${this.o.table}'`, format: 'JSONEachRow' });
    const have = new Map((await rs2.json<{ name: string; type: string }>()).map((r) => [r.name, r.type]));
    const wrong = this.cols.filter((c) => have.has(c.name) && have.get(c.name) !== CH_TYPE[c.kind]);
    if (wrong.length > 0) {
      throw new TableLayoutError(`ClickHouse table ${this.fq} has columns of other types than this version writes: ${wrong.map((c) => `${c.name} is ${have.get(c.name)}, expected ${CH_TYPE[c.kind]}`).join('; ')}. Rename the table (or set EF_OUTPUT_CLICKHOUSE_TABLE to a new one) and start again`);
    }
    for (const c of this.cols) {
      if (have.has(c.name)) continue;
      // Rows written before a value got its own column keep it in `rest`: read from there for them.
      const legacy = REST_BEFORE_COLUMN[c.name] ?? (c.fromRest !== undefined ? CLICKHOUSE_DIALECT.restText(c.fromRest) : undefined);
      const def = legacy === undefined ? '' : ` DEFAULT ${legacy}`;
      await this.client.command({ query: `ALTER TABLE ${this.fq} ADD COLUMN ${c.name} ${CH_TYPE[c.kind]}${def}` });
    }
    try {
      const { database: db, table } = this.o;
      if (this.o.summaries === false) await dropChSummaryViews(this.client, db, table);
      else this.query.useSummaries(await ensureChSummaries(this.client, db, table, supportsTtl(this.version) ? this.o.retentionDays : null), () => chSummariesValidFrom(this.client, db, table));
    } catch (err) {
      // Without them (a user without the right to create views, say) queries read the flows.
      log.warn(`ClickHouse output: no hourly summaries (${(err as Error).message}); the overview reads every flow in its range`);
    }
    this.tableReady = true;
  }

  /** Drops day partitions older than the retention (works on 18.16, where TTL does not exist). */
  async applyRetention(now = Date.now()): Promise<number> {
    await this.ensureTable();
    const cutoff = new Date(now - this.o.retentionDays * DAY_MS);
    const cut = cutoff.getUTCFullYear() * 10000 + (cutoff.getUTCMonth() + 1) * 100 + cutoff.getUTCDate();
    // The summaries' days first (clickhouse-rollup.ts), so that none outlives its flows.
    const n = chSummaryNames(this.o.database, this.o.table);
    const tables = [n.top, n.minutes].map((t) => t.slice(this.o.database.length + 1)).concat(this.o.table);
    const rs = await this.client.query({
      query: `SELECT DISTINCT table, partition FROM system.parts WHERE database = '${this.o.database}' AND table IN (${tables.map((t) => `'${t}'`).join(', ')}) AND active`,
      format: 'JSONEachRow',
    });
    const rows = (await rs.json<{ table: string; partition: string }>()).sort((a, b) => (a.table === this.o.table ? 1 : 0) - (b.table === this.o.table ? 1 : 0));
    let dropped = 0;
    for (const row of rows) {
      const p = Number(row.partition);
      if (Number.isSafeInteger(p) && p < cut) {
        await this.client.command({ query: `ALTER TABLE ${this.o.database}.${row.table} DROP PARTITION ${p}` });
        if (row.table === this.o.table) dropped++;
      }
    }
    this.c.retention_dropped_partitions! += dropped;
    return dropped;
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    await this.ensureTable();
    const clampedBefore = this.writer.clamped;
    const body = this.writer.encode(batch);
    // Counted once the insert is done: a retried batch is encoded (and clamped) again.
    const clamped = this.writer.clamped - clampedBefore;
    try {
      const res = await this.client.exec({ query: `INSERT INTO ${this.fq} (${this.colList}) FORMAT RowBinary`, values: Readable.from([body]) });
      // Drain the (empty) response so the socket is released.
      res.stream.resume();
      await new Promise<void>((resolve, reject) => {
        res.stream.on('end', resolve);
        res.stream.on('error', reject);
      });
    } catch (err) {
      if (!/while pushing to view/i.test((err as Error).message)) {
        // The table or a summary table may be gone (dropped by hand): the next try makes them again.
        this.tableReady = false;
        throw err;
      }
      // A summary view that fails does so after the flows are written (18.16): sending the batch
      // again would store it twice. It is stored; the summaries are short of it, so they are
      // declared unusable (for every collector on the table) until an insert goes through again.
      this.c.summary_view_failures! += 1;
      if (!this.viewFailed) log.warn(`ClickHouse output: a summary view failed after the flows were stored (${(err as Error).message.split('\n')[0]}); the overview reads the flows until inserts go through again`);
      this.viewFailed = true;
      this.query.summariesUnusable();
      await declareChSummariesUnusable(this.client, this.o.database, this.o.table).catch(() => {});
      this.c.values_clamped! += clamped;
      return;
    }
    this.c.values_clamped! += clamped;
    if (this.viewFailed) {
      // Inserts go through again: summaries from the next hour on (the state is 0, so it is worked out anew).
      this.viewFailed = false;
      this.tableReady = false;
      await this.ensureTable().catch(() => {});
    }
  }

  flowQuery(): FlowQuery | null {
    return this.query;
  }

  override async close(flushMs?: number): Promise<void> {
    await super.close(flushMs);
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    // Bounded: closing waits for requests still under way to a silent server.
    await within(this.client.close(), CLOSE_SEND_MS);
  }
}

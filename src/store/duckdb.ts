/**
 * The embedded default store: flows in a DuckDB file in the data directory (created on first
 * start), typed columns for every record field and a JSON column for the rest (columns.ts),
 * appended in batches through DuckDB data chunks (column vectors written in JS, handed to the
 * appender in one native call per 2,048 rows). Time-based retention and a disk-size guard run
 * periodically on a second connection, which also answers queries (query.ts).
 */
import { mkdirSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import {
  BIGINT, DOUBLE, DuckDBDataChunk, ENUM8, DuckDBInstance, SMALLINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR,
  type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBVector,
} from '@duckdb/node-api';
import { log } from '../log/logger.js';
import { BatchingOutput } from '../output/batching.js';
import type { FlowRecord } from '../record/flow-record.js';
import type { TimestampSource } from '../record/fields.js';
import { flowColumns, type ColKind, type Column } from './columns.js';
import { DuckDbFlowQuery, type FlowQuery, type QueryableOutput } from './query.js';
import { DUCKDB_MACROS } from './sql.js';

export const DUCKDB_TABLE = 'flows';
const DAY_MS = 86_400_000;
/** DuckDB's vector size (STANDARD_VECTOR_SIZE): the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;
/** How often retention and the size guard run. */
const MAINTENANCE_INTERVAL_MS = 10 * 60_000;

const LITTLE_ENDIAN = endianness() === 'LE';
const SQL_TYPE: Record<Exclude<ColKind, 'enum'>, string> = { u8: 'UTINYINT', u16: 'USMALLINT', u32: 'UINTEGER', i16: 'SMALLINT', i64: 'BIGINT', f64: 'DOUBLE', str: 'VARCHAR' };
const CHUNK_TYPE: Record<Exclude<ColKind, 'enum'>, DuckDBType> = { u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, i16: SMALLINT, i64: BIGINT, f64: DOUBLE, str: VARCHAR };

function sqlType(c: Column): string {
  if (c.name === 'rest') return 'JSON';
  if (c.kind === 'enum') return `ENUM(${c.values!.map((v) => `'${v}'`).join(', ')})`;
  return SQL_TYPE[c.kind];
}

function chunkType(c: Column): DuckDBType {
  return c.kind === 'enum' ? ENUM8(c.values!) : CHUNK_TYPE[c.kind];
}

export interface DuckDbOptions {
  path: string;
  retentionDays: number;
  maxBytes: number;
  timestampSource: TimestampSource;
}

/** The database file, its table, and the two connections (appender, queries and maintenance). */
export class DuckDbStore {
  readonly cols: Column[];
  private instance: DuckDBInstance | null = null;
  private writer: DuckDBConnection | null = null;
  private reader: DuckDBConnection | null = null;
  private appender: DuckDBAppender | null = null;
  private query: DuckDbFlowQuery | null = null;

  constructor(readonly opts: DuckDbOptions) {
    this.cols = flowColumns(opts.timestampSource);
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.opts.path), { recursive: true });
    this.instance = await DuckDBInstance.create(this.opts.path);
    this.writer = await this.instance.connect();
    this.reader = await this.instance.connect();
    const defs = this.cols.map((c) => `${c.name} ${sqlType(c)}`).join(', ');
    // The appender writes columns by position, so a table from an older layout (columns added,
    // moved or retyped since) is set aside under another name rather than appended to.
    const have = await this.layout(DUCKDB_TABLE);
    if (have !== '' && have !== (await this.expectedLayout(defs))) {
      const aside = `${DUCKDB_TABLE}_old_${Date.now()}`;
      log.warn(`DuckDB table ${DUCKDB_TABLE} has an older layout; renamed to ${aside} and starting a new one`);
      await this.writer.run(`ALTER TABLE ${DUCKDB_TABLE} RENAME TO ${aside}`);
    }
    await this.writer.run(`CREATE TABLE IF NOT EXISTS ${DUCKDB_TABLE} (${defs})`);
    for (const m of DUCKDB_MACROS) await this.reader.run(m);
    this.appender = await this.writer.createAppender(DUCKDB_TABLE);
    this.query = new DuckDbFlowQuery(this.reader, DUCKDB_TABLE, this.opts.timestampSource);
  }

  flowQuery(): FlowQuery | null {
    return this.query;
  }

  /** "name type, ..." of a table in column order ('' when it does not exist). */
  private async layout(table: string): Promise<string> {
    const rows = await (await this.writer!.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`)).getRowObjects();
    return rows.map((r) => `${String(r.column_name)} ${String(r.data_type)}`).join(', ');
  }

  /** The layout our definitions give, as DuckDB reports it (from a throw-away temp table). */
  private async expectedLayout(defs: string): Promise<string> {
    await this.writer!.run(`CREATE OR REPLACE TEMP TABLE ufc_layout (${defs})`);
    const l = await this.layout('ufc_layout');
    await this.writer!.run('DROP TABLE ufc_layout');
    return l;
  }

  /** Appends records in chunks of 2,048 rows and makes them visible to queries. */
  append(records: readonly FlowRecord[]): void {
    const app = this.appender;
    if (app === null) throw new Error('DuckDB store is not open');
    const types = this.cols.map(chunkType);
    for (let off = 0; off < records.length; off += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, records.length - off);
      const chunk = DuckDBDataChunk.create(types, n);
      for (let ci = 0; ci < this.cols.length; ci++) {
        const col = this.cols[ci]!;
        const vec = chunk.getColumnVector(ci) as DuckDBVector & { setItem(i: number, v: unknown): void; flush(): void };
        fillVector(vec, col, records, off, n);
        vec.flush();
      }
      app.appendDataChunk(chunk);
    }
    app.flushSync();
  }

  /** Deletes rows older than the retention; returns rows deleted. */
  async applyRetention(now = Date.now()): Promise<number> {
    const cutoff = now - this.opts.retentionDays * DAY_MS;
    return this.deleteBefore(cutoff);
  }

  private async deleteBefore(cutoff: number): Promise<number> {
    const r = this.reader!;
    const res = await r.run(`DELETE FROM ${DUCKDB_TABLE} WHERE ts < $1`, [BigInt(Math.floor(cutoff))]);
    const n = Number(res.rowsChanged);
    if (n > 0) {
      // Frees the deleted rows' blocks now; if a concurrent transaction blocks it, DuckDB's own
      // automatic checkpoint does it later.
      await r.run('CHECKPOINT').catch(() => {});
    }
    return n;
  }

  /** Bytes the data takes: DuckDB's used blocks (deleted rows free blocks; the file itself does not shrink) plus the WAL. */
  async usedBytes(): Promise<number> {
    const rows = (await (await this.reader!.runAndReadAll('PRAGMA database_size')).getRowObjects()) as Record<string, unknown>[];
    const row = rows[0] ?? {};
    const used = Number(row.used_blocks ?? 0) * Number(row.block_size ?? 0);
    let wal = 0;
    try {
      wal = statSync(this.opts.path + '.wal').size;
    } catch {
      // no WAL right now
    }
    return used + wal;
  }

  /**
   * Deletes whole oldest days while the store is over its size cap; stops at the newest day
   * (which is being written). Returns rows deleted.
   */
  async applySizeGuard(): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < 400 && (await this.usedBytes()) > this.opts.maxBytes; i++) {
      const rows = (await (await this.reader!.runAndReadAll(`SELECT min(ts) AS lo, max(ts) AS hi FROM ${DUCKDB_TABLE}`)).getRowObjects()) as Record<string, unknown>[];
      const lo = rows[0]?.lo;
      const hi = rows[0]?.hi;
      if (lo === null || lo === undefined || hi === null || hi === undefined) break;
      const nextDay = (Math.floor(Number(lo) / DAY_MS) + 1) * DAY_MS;
      if (nextDay > Number(hi)) {
        log.warn(`DuckDB store is over EF_OUTPUT_DUCKDB_MAX_SIZE with only the newest day left; raise the limit or lower the retention`);
        break;
      }
      deleted += await this.deleteBefore(nextDay);
    }
    return deleted;
  }

  close(): void {
    this.appender?.closeSync();
    this.appender = null;
    this.query = null;
    this.writer?.closeSync();
    this.reader?.closeSync();
    this.writer = this.reader = null;
    this.instance?.closeSync();
    this.instance = null;
  }
}

/** Writes one column of `n` records into a chunk vector. Absent strings and NaN doubles become NULL. */
function fillVector(vec: { setItem(i: number, v: unknown): void }, col: Column, records: readonly FlowRecord[], off: number, n: number): void {
  const get = col.get;
  switch (col.kind) {
    case 'i64': {
      if (!LITTLE_ENDIAN) {
        for (let i = 0; i < n; i++) vec.setItem(i, BigInt(Math.max(0, Math.trunc(get(records[off + i]!) as number))));
        break;
      }
      // Written as two 32-bit halves straight into the vector's little-endian int64 buffer: a BigInt
      // per value would allocate on every row. Record times and counters are never negative.
      const items = (vec as unknown as { items: BigInt64Array }).items;
      const halves = new Uint32Array(items.buffer, items.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as number;
        const x = v > 0 ? Math.trunc(v) : 0;
        halves[2 * i] = x >>> 0;
        halves[2 * i + 1] = Math.floor(x / 4294967296);
      }
      break;
    }
    case 'str':
    case 'enum':
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as string;
        vec.setItem(i, v === '' ? null : v);
      }
      break;
    case 'f64':
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as number;
        vec.setItem(i, Number.isNaN(v) ? null : v);
      }
      break;
    default:
      for (let i = 0; i < n; i++) vec.setItem(i, get(records[off + i]!));
  }
}

export interface DuckDbOutputOptions extends DuckDbOptions {
  batchMax: number;
  deadlineMs: number;
  queueMax: number;
}

/** The DuckDB output: BatchingOutput's queue and deadline in front of the store. */
export class DuckDbOutput extends BatchingOutput implements QueryableOutput {
  readonly name = 'duckdb';
  readonly store: DuckDbStore;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private maintaining: Promise<void> | null = null;

  constructor(opts: DuckDbOutputOptions) {
    super({ batchMax: opts.batchMax, deadlineMs: opts.deadlineMs, queueMax: opts.queueMax });
    this.store = new DuckDbStore(opts);
    this.c.retention_deleted = 0;
    this.c.size_guard_deleted = 0;
  }

  override async start(): Promise<void> {
    await this.store.open();
    log.info(`DuckDB store at ${this.store.opts.path} (retention ${this.store.opts.retentionDays} days)`);
    await this.maintain();
    this.maintenanceTimer = setInterval(() => void this.maintain(), MAINTENANCE_INTERVAL_MS);
    this.maintenanceTimer.unref?.();
    await super.start();
  }

  /** Retention, then the size guard; never overlapping itself. */
  maintain(now = Date.now()): Promise<void> {
    if (this.maintaining !== null) return this.maintaining;
    this.maintaining = (async () => {
      try {
        this.c.retention_deleted! += await this.store.applyRetention(now);
        this.c.size_guard_deleted! += await this.store.applySizeGuard();
      } catch (err) {
        log.warn(`DuckDB maintenance failed: ${(err as Error).message}`);
      } finally {
        this.maintaining = null;
      }
    })();
    return this.maintaining;
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    this.store.append(batch);
  }

  flowQuery(): FlowQuery | null {
    return this.store.flowQuery();
  }

  override async close(): Promise<void> {
    await super.close();
    if (this.maintenanceTimer !== null) clearInterval(this.maintenanceTimer);
    this.maintenanceTimer = null;
    await this.maintaining;
    this.store.close();
  }
}

/**
 * The embedded default store: flows in a DuckDB file in the data directory (created on first
 * start), typed columns for every record field and a JSON column for the rest (columns.ts),
 * appended in batches through DuckDB data chunks (column vectors written in JS, handed to the
 * appender in one native call per 2,048 rows). Time-based retention and a disk-size guard run
 * periodically on a second connection, which also answers queries (query.ts).
 */
import { statSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname } from 'node:path';
import {
  BIGINT, DOUBLE, DuckDBDataChunk, ENUM8, DuckDBInstance, SMALLINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR,
  type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBVector,
} from '@duckdb/node-api';
import { log } from '../log/logger.js';
import { BatchingOutput } from '../output/batching.js';
import { CLOSE_SEND_MS } from '../output/close-deadline.js';
import { within } from '../within.js';
import type { FlowRecord } from '../record/flow-record.js';
import type { TimestampSource } from '../record/fields.js';
import { clampInt, flowColumns, MAX_I64, type ColKind, type Column } from './columns.js';
import { DuckDbFlowQuery, type FlowQuery, type QueryableOutput } from './query.js';
import { DUCKDB_DIALECT, DUCKDB_MACROS } from './sql.js';
import { ROLLUP_TABLES_SQL, Rollups } from './rollup.js';
import { makeDir } from '../make-dir.js';
import { ConfigFileError } from '../config/file-error.js';

export const DUCKDB_TABLE = 'flows';
const DAY_MS = 86_400_000;
/** DuckDB's vector size (STANDARD_VECTOR_SIZE): the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;
/** How often retention and the size guard run. */
const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
/** How often hours past their settling time are summarised (rollup.ts), and how many at most each time. */
const ROLLUP_INTERVAL_MS = 60_000;
const ROLLUP_HOURS_PER_ROUND = 24;
/** WAL size past which the output checkpoints (DuckDB's own default threshold). */
const CHECKPOINT_WAL_BYTES = 16 << 20;
/** DuckDB's own threshold, raised: it checkpoints by itself only if ours keep failing. */
const AUTO_CHECKPOINT_BACKSTOP = '1GB';

const LITTLE_ENDIAN = endianness() === 'LE';
/** Columns added to an older table and still to be filled from `rest` (DuckDbStore.fillColumns). */
const FILLS_TABLE = 'ufc_column_fills';
/** Rows an UPDATE of fillColumns covers (by rowid): bounded memory whatever the table's size. */
const FILL_ROWS = 200_000;
/** Passes of fillColumns over the table at most (the second normally fills nothing and ends it). */
const FILL_PASSES_MAX = 4;
/** DuckDB's words for a database file whose blocks cannot be read back: cut short, or changed on disk. */
const DAMAGED = /Could not read enough bytes from file|Corrupt database file|checksum .*does not match/i;
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
  /** EF_OUTPUT_DUCKDB_MEMORY_LIMIT in MB; 0 or absent: DuckDB's default (80% of the machine's memory). */
  memoryLimitMb?: number;
}

/** The database file, its table, and the two connections (appender, queries and maintenance). */
export class DuckDbStore {
  readonly cols: Column[];
  private instance: DuckDBInstance | null = null;
  private writer: DuckDBConnection | null = null;
  private reader: DuckDBConnection | null = null;
  /** The API's queries (query.ts), and the readiness probe's: apart from the maintenance on `reader`. */
  private apiReader: DuckDBConnection | null = null;
  private probeReader: DuckDBConnection | null = null;
  private appender: DuckDBAppender | null = null;
  private query: DuckDbFlowQuery | null = null;
  /** Builds hourly summaries (rollup.ts) in transactions of its own. */
  private builder: DuckDBConnection | null = null;
  private building: Promise<boolean> | null = null;
  readonly rollups: Rollups;
  /** DuckDB's error when reading the file showed it damaged (DAMAGED); null while none has. */
  damage: string | null = null;

  constructor(readonly opts: DuckDbOptions) {
    this.cols = flowColumns(opts.timestampSource);
    this.rollups = new Rollups(DUCKDB_TABLE, this.cols.find((c) => c.name === 'ts')!);
  }

  async open(): Promise<void> {
    try {
      await this.openParts();
    } catch (err) {
      // Half open is closed: the next open (or recover) starts from nothing.
      this.close();
      // A block the opening reads (the table's description) changed on disk or cut off: as a file
      // that is no database, the operator decides what to keep. (The file's length says nothing by
      // itself: after a crash, DuckDB's header may count free blocks past the file's end.)
      const msg = (err as Error).message;
      if (DAMAGED.test(msg)) throw new ConfigFileError(`the store ${this.opts.path} is damaged: ${msg.split('\n')[0]}. Restore it from a backup, or move it aside (with its .wal) to start a new one (EF_OUTPUT_DUCKDB_PATH, else flows.duckdb in EF_DATA_DIR)`, { cause: err });
      throw err;
    }
  }

  private async openParts(): Promise<void> {
    makeDir(dirname(this.opts.path));
    try {
      this.instance = await DuckDBInstance.create(this.opts.path);
    } catch (err) {
      // DuckDB's own words name the lock but not what to do: another collector (or a replay) has this store.
      const msg = (err as Error).message;
      // A file that is no DuckDB database, or a damaged write-ahead log: a restart cannot mend it
      // (exit 2, which the shipped unit does not restart), the operator can.
      if (/not a valid DuckDB database file/i.test(msg)) {
        throw new ConfigFileError(`the store ${this.opts.path} is not a DuckDB database (or its header is damaged): restore it from a backup, or move it aside to start a new one (EF_OUTPUT_DUCKDB_PATH, else flows.duckdb in EF_DATA_DIR): ${msg.split('\n')[0]}`, { cause: err });
      }
      if (/Corrupt WAL file|WAL.*checksum/i.test(msg)) {
        throw new ConfigFileError(`the store's write-ahead log ${this.opts.path}.wal is damaged: move it aside to open the store without the writes it held since the last checkpoint, or restore a backup: ${msg.split('\n')[0]}`, { cause: err });
      }
      const held = /Could not set lock on file .*Conflicting lock is held in (.*) \(PID (\d+)\)/s.exec(msg);
      if (held === null) throw err;
      throw new Error(`the store ${this.opts.path} is in use by process ${held[2]} (${held[1]}), a running collector or replay: stop it, or give this one its own EF_DATA_DIR (a replay may also run with EF_OUTPUT_DUCKDB_ENABLE=false and another output)`, { cause: err });
    }
    this.writer = await this.instance.connect();
    // A global setting: buffers, appends and every query's connection together.
    if ((this.opts.memoryLimitMb ?? 0) > 0) await this.writer.run(`SET memory_limit = '${Math.floor(this.opts.memoryLimitMb!)}MB'`);
    this.reader = await this.instance.connect();
    const defs = this.cols.map((c) => `${c.name} ${sqlType(c)}`).join(', ');
    // The appender writes columns by position, so a table from an older layout (columns moved,
    // retyped or removed since) is set aside under another name rather than appended to.
    const have = await this.layout(DUCKDB_TABLE);
    const expected = have === '' ? '' : await this.expectedLayout(defs);
    let older = have !== '' && have !== expected;
    // Only columns added at the end since (the subnet names): added to the table, whose rows stay.
    if (older && expected.startsWith(`${have}, `)) {
      await this.addColumns();
      older = false;
    }
    // A note of columns to fill is about the table it was made for: one set aside below takes it along.
    if (older) await this.writer.run(`DROP TABLE IF EXISTS ${FILLS_TABLE}`);
    else await this.fillColumns();
    for (const t of ROLLUP_TABLES_SQL) await this.writer.run(t);
    // A new flows table: summaries of the old one's hours would be counted on top of nothing.
    // Cleared first, so that no stop between leaves them beside the new table.
    if (have === '' || older) await Rollups.clear(this.writer);
    if (older) {
      const aside = `${DUCKDB_TABLE}_old_${Date.now()}`;
      log.warn(`DuckDB table ${DUCKDB_TABLE} has an older layout; renamed to ${aside} and starting a new one`);
      await this.writer.run(`ALTER TABLE ${DUCKDB_TABLE} RENAME TO ${aside}`);
    }
    await this.writer.run(`CREATE TABLE IF NOT EXISTS ${DUCKDB_TABLE} (${defs})`);
    await this.rollups.loadBuilt(this.writer);
    this.builder = await this.instance.connect();
    // DuckDB checkpoints by itself inside the commit that takes the WAL past 16 MB: in the appender's
    // flushSync, on the main thread, for a second or two on a busy store. The output checkpoints on a
    // DuckDB thread instead (checkpoint(), between appends); this is only the backstop.
    await this.writer.run(`SET checkpoint_threshold = '${AUTO_CHECKPOINT_BACKSTOP}'`);
    this.apiReader = await this.instance.connect();
    this.probeReader = await this.instance.connect();
    for (const c of [this.reader, this.apiReader, this.probeReader]) for (const m of DUCKDB_MACROS) await c.run(m);
    this.appender = await this.writer.createAppender(DUCKDB_TABLE);
    const instance = this.instance;
    this.query = new DuckDbFlowQuery(this.apiReader, DUCKDB_TABLE, this.opts.timestampSource, this.rollups, async () => {
      const c = await instance.connect();
      try {
        for (const m of DUCKDB_MACROS) await c.run(m);
      } catch (err) {
        c.closeSync();
        throw err;
      }
      return c;
    }, this, this.probeReader);
  }

  flowQuery(): FlowQuery | null {
    return this.query;
  }

  /** "name type, ..." of a table in column order ('' when it does not exist). */
  private async layout(table: string): Promise<string> {
    const rows = await (await this.writer!.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${table}' ORDER BY ordinal_position`)).getRowObjects();
    return rows.map((r) => `${String(r.column_name)} ${String(r.data_type)}`).join(', ');
  }

  /**
   * Adds the columns an older `flows` table lacks (all at its end: checked by the caller), and notes
   * in the same transaction those to fill from where versions before kept their value
   * (Column.fromRest): fillColumns() does that, and a stop before it is done leaves the note.
   */
  private async addColumns(): Promise<void> {
    const w = this.writer!;
    const rows = await (await w.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = '${DUCKDB_TABLE}'`)).getRows();
    const have = new Set(rows.map((r) => String(r[0])));
    const added = this.cols.filter((c) => !have.has(c.name));
    await w.run('BEGIN TRANSACTION');
    try {
      for (const c of added) await w.run(`ALTER TABLE ${DUCKDB_TABLE} ADD COLUMN ${c.name} ${sqlType(c)}`);
      await w.run(`CREATE TABLE IF NOT EXISTS ${FILLS_TABLE} (col VARCHAR, rest_key VARCHAR)`);
      for (const c of added) if (c.fromRest !== undefined) await w.run(`INSERT INTO ${FILLS_TABLE} VALUES ('${c.name}', '${c.fromRest}')`);
      await w.run('COMMIT');
    } catch (err) {
      await w.run('ROLLBACK').catch(() => {});
      throw err;
    }
    log.info(`DuckDB table ${DUCKDB_TABLE}: added column(s) ${added.map((c) => c.name).join(', ')} of this version`);
  }

  /**
   * Fills the columns addColumns() noted from the older rows' `rest`, FILL_ROWS rows (by rowid) an
   * UPDATE, each committed: an UPDATE holds its changes in memory until it commits (one in the
   * ALTER's transaction took about 870 MB for 6.1M rows in a review, and ran out of memory under a
   * limit of 400 MB). Each batch only sets rows still NULL, so a start cut short goes on where it stopped;
   * a value that does not parse (a lone surrogate in the JSON) stays NULL. A checkpoint renumbers
   * rowids when it drops deleted rows (a retention delete a killed process left in the WAL), so one
   * is made first, and passes repeat until one fills nothing.
   */
  private async fillColumns(): Promise<void> {
    const w = this.writer!;
    const exists = await (await w.runAndReadAll(`SELECT count(*) FROM information_schema.tables WHERE table_name = '${FILLS_TABLE}'`)).getRows();
    if (Number(exists[0]?.[0] ?? 0) === 0) return;
    const todo = (await (await w.runAndReadAll(`SELECT col, rest_key FROM ${FILLS_TABLE}`)).getRows()).map((r) => ({ col: String(r[0]), key: String(r[1]) }));
    await w.run('CHECKPOINT');
    for (const { col, key } of todo) {
      if (!this.cols.some((c) => c.name === col && c.fromRest === key)) {
        // Noted by another version (a newer one, cut short, then this one started): not this one's to fill.
        log.warn(`DuckDB table ${DUCKDB_TABLE}: ${col} was to be filled from rest by another version of ufc; this one leaves it as it is`);
        await w.run(`DELETE FROM ${FILLS_TABLE} WHERE col = '${col.replace(/'/g, "''")}'`);
        continue;
      }
      const started = Date.now();
      let filled = 0;
      const value = DUCKDB_DIALECT.restText(key);
      for (let pass = 0; pass < FILL_PASSES_MAX; pass++) {
        const last = Number((await (await w.runAndReadAll(`SELECT coalesce(max(rowid), -1) FROM ${DUCKDB_TABLE}`)).getRows())[0]?.[0] ?? -1);
        let got = 0;
        for (let lo = 0; lo <= last; lo += FILL_ROWS) {
          const r = await w.runAndReadAll(`UPDATE ${DUCKDB_TABLE} SET ${col} = ${value}
            WHERE rowid >= ${lo} AND rowid < ${lo + FILL_ROWS} AND ${col} IS NULL AND ${DUCKDB_DIALECT.hasRest(key)} AND ${value} IS NOT NULL`);
          got += Number(r.getRows()[0]?.[0] ?? 0);
        }
        filled += got;
        if (got === 0) break;
      }
      await w.run(`DELETE FROM ${FILLS_TABLE} WHERE col = '${col}'`);
      log.info(`DuckDB table ${DUCKDB_TABLE}: ${col} filled from the older rows' rest: ${filled} value(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    await w.run(`DROP TABLE ${FILLS_TABLE}`);
  }

  /** The layout our definitions give, as DuckDB reports it (from a throw-away temp table). */
  private async expectedLayout(defs: string): Promise<string> {
    await this.writer!.run(`CREATE OR REPLACE TEMP TABLE ufc_layout (${defs})`);
    const l = await this.layout('ufc_layout');
    await this.writer!.run('DROP TABLE ufc_layout');
    return l;
  }

  /** Takes a summarised hour off the list in the database (rollup.ts: flows of it are about to be written). */
  async unbuild(hour: number): Promise<void> {
    try {
      await this.reader!.run(Rollups.unbuildSql(hour));
    } catch (err) {
      log.warn(`DuckDB summaries: could not mark the hour from ${new Date(hour).toISOString()} for summarising again: ${(err as Error).message}`);
    }
  }

  /**
   * Appends records in chunks of 2,048 rows and makes them visible to queries. Returns how many
   * integer values were clamped to their column's range.
   */
  append(records: readonly FlowRecord[]): number {
    const app = this.appender;
    if (app === null) throw new Error('DuckDB store is not open');
    const types = this.cols.map(chunkType);
    let clamped = 0;
    for (let off = 0; off < records.length; off += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, records.length - off);
      const chunk = DuckDBDataChunk.create(types, n);
      for (let ci = 0; ci < this.cols.length; ci++) {
        const col = this.cols[ci]!;
        const vec = chunk.getColumnVector(ci) as DuckDBVector & { setItem(i: number, v: unknown): void; flush(): void };
        clamped += fillVector(vec, col, records, off, n);
        vec.flush();
      }
      app.appendDataChunk(chunk);
    }
    app.flushSync();
    // The output takes the hours off before (DuckDbOutput.send); this marks one being summarised right now.
    for (const hour of this.rollups.noteAppended(records)) void this.unbuild(hour);
    return clamped;
  }

  /**
   * After a failed append: the appender's rows are discarded (a retry on the same appender would
   * commit the chunks it already held a second time) and a new appender is made. A database that
   * DuckDB has invalidated (a failed checkpoint or write: disk full) only works again once opened
   * anew, so it is closed and reopened; while that fails, each retry tries again.
   */
  async recover(cause: string): Promise<void> {
    const app = this.appender;
    this.appender = null;
    try {
      app?.clear();
      app?.closeSync();
    } catch {
      // A broken appender is dropped either way.
    }
    if (this.instance === null || /invalidated/i.test(cause)) {
      if (this.instance !== null) log.warn(`DuckDB store: the database must be reopened (${cause}); reopening ${this.opts.path}`);
      // Queries and maintenance running on the readers are interrupted (they fail, and are answered
      // or retried as failures), so none is left waiting on a connection that is about to go.
      for (const c of [this.reader, this.apiReader, this.probeReader]) {
        try {
          c?.interrupt();
        } catch {
          // nothing running
        }
      }
      await this.stopBuild();
      await new Promise((r) => setTimeout(r, 50));
      this.close();
      await this.open();
      log.info(`DuckDB store reopened at ${this.opts.path}`);
      return;
    }
    this.appender = await this.writer!.createAppender(DUCKDB_TABLE);
  }

  /**
   * Deletes rows older than the retention; returns rows deleted. A table set aside by open() (an
   * older layout) is kept as it was for the retention period after it was set aside, then dropped.
   */
  async applyRetention(now = Date.now()): Promise<number> {
    const cutoff = now - this.opts.retentionDays * DAY_MS;
    for (const t of await this.asideTables()) {
      if (t.at < cutoff) await this.dropAside(t.name, 'its retention has passed');
    }
    return this.deleteBefore(cutoff);
  }

  /** Tables of older layouts (`flows_old_<ms>`), oldest first. */
  private async asideTables(): Promise<{ name: string; at: number }[]> {
    const prefix = `${DUCKDB_TABLE}_old_`;
    const rows = await (await this.reader!.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE starts_with(table_name, '${prefix}')`)).getRowObjects();
    return rows
      .map((r) => String(r.table_name))
      .filter((name) => /^\d+$/.test(name.slice(prefix.length)))
      .map((name) => ({ name, at: Number(name.slice(prefix.length)) }))
      .sort((a, b) => a.at - b.at);
  }

  private async dropAside(name: string, why: string): Promise<void> {
    log.info(`DuckDB table ${name} (an older layout) dropped: ${why}`);
    await this.reader!.run(`DROP TABLE ${name}`);
    await this.reader!.run('CHECKPOINT').catch(() => {});
  }

  private async deleteBefore(cutoff: number): Promise<number> {
    const r = this.reader!;
    await this.rollups.deletedBefore(r, cutoff);
    const res = await r.run(`DELETE FROM ${DUCKDB_TABLE} WHERE ts < $1`, [BigInt(Math.floor(cutoff))]);
    const n = Number(res.rowsChanged);
    if (n > 0) {
      // Frees the deleted rows' blocks now; if a concurrent transaction blocks it, DuckDB's own
      // automatic checkpoint does it later.
      await r.run('CHECKPOINT').catch(() => {});
    }
    return n;
  }

  /** Finds hours with flows and no summary (after open; one pass over `ts`). */
  findPendingRollups(): Promise<void> {
    return this.rollups.findPending(this.reader!);
  }

  /** Summarises one hour of flows while appends go on; false when flows of it came meanwhile (rollup.ts). */
  buildRollup(hour: number): Promise<boolean> {
    const run = this.rollups.build(this.builder!, hour);
    this.building = run;
    const clear = (): void => {
      if (this.building === run) this.building = null;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * Ends a summary being built (it fails and is tried again later) and waits for it, bounded: a
   * connection closed under a running statement leaves that statement's promise unsettled for good.
   */
  async stopBuild(): Promise<void> {
    const run = this.building;
    if (run === null) return;
    try {
      this.builder?.interrupt();
    } catch {
      // nothing running
    }
    await within(run.catch(() => false), 2000);
  }

  /** The WAL's size now (0 when there is none). */
  walBytes(): number {
    try {
      return statSync(this.opts.path + '.wal').size;
    } catch {
      return 0;
    }
  }

  /** Writes the WAL into the database file, on a DuckDB thread (the caller keeps appends away meanwhile). */
  async checkpoint(): Promise<void> {
    await this.reader!.run('CHECKPOINT');
  }

  /** Bytes the data takes: DuckDB's used blocks (deleted rows free blocks; the file itself does not shrink) plus the WAL. */
  async usedBytes(): Promise<number> {
    const rows = (await (await this.reader!.runAndReadAll('PRAGMA database_size')).getRowObjects()) as Record<string, unknown>[];
    const row = rows[0] ?? {};
    return Number(row.used_blocks ?? 0) * Number(row.block_size ?? 0) + this.walBytes();
  }

  /**
   * While the store is over its size cap: drops tables of older layouts first (oldest first), then
   * deletes whole oldest days; stops at the newest day (which is being written), and never deletes
   * today's rows: a row dated in the future (an exporter's clock, with _TIMESTAMP_SOURCE start,
   * end or export) does not make today an old day. Returns rows deleted.
   */
  async applySizeGuard(now = Date.now()): Promise<number> {
    for (const t of await this.asideTables()) {
      if ((await this.usedBytes()) <= this.opts.maxBytes) break;
      await this.dropAside(t.name, 'the store is over EF_OUTPUT_DUCKDB_MAX_SIZE');
    }
    let deleted = 0;
    for (let i = 0; i < 400 && (await this.usedBytes()) > this.opts.maxBytes; i++) {
      const rows = (await (await this.reader!.runAndReadAll(`SELECT min(ts) AS lo, max(ts) AS hi FROM ${DUCKDB_TABLE}`)).getRowObjects()) as Record<string, unknown>[];
      const lo = rows[0]?.lo;
      const hi = rows[0]?.hi;
      if (lo === null || lo === undefined || hi === null || hi === undefined) break;
      const nextDay = (Math.floor(Number(lo) / DAY_MS) + 1) * DAY_MS;
      if (nextDay > Math.min(Number(hi), now)) {
        log.warn(`DuckDB store is over EF_OUTPUT_DUCKDB_MAX_SIZE with only the newest day left; raise the limit or lower the retention`);
        break;
      }
      deleted += await this.deleteBefore(nextDay);
    }
    return deleted;
  }

  /**
   * Takes note of an error of a read, summary, maintenance or checkpoint: one of DuckDB's words for a
   * damaged file (DAMAGED: a block changed on disk, or missing) makes the store not ready (/readyz) and is logged
   * once as an error saying what to do. Appends go on meanwhile.
   */
  noteError(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err);
    if (this.damage !== null || !DAMAGED.test(msg)) return;
    this.damage = msg.split('\n')[0]!;
    log.error(`DuckDB store ${this.opts.path} is damaged: older flows cannot be read, summarised or deleted (new ones are still stored); stop ufc and restore the file from a backup, or move it aside (with its .wal) to start a new one: ${this.damage}`);
  }

  close(): void {
    try {
      this.appender?.closeSync();
    } catch (err) {
      log.warn(`DuckDB store: rows still held by the appender could not be written at close: ${(err as Error).message}`);
    }
    this.appender = null;
    this.query = null;
    for (const c of [this.writer, this.reader, this.apiReader, this.probeReader, this.builder]) {
      try {
        c?.closeSync();
      } catch {
        // Closing what an invalidated database left behind may fail; it is let go either way.
      }
    }
    this.writer = this.reader = this.apiReader = this.probeReader = this.builder = null;
    try {
      this.instance?.closeSync();
    } catch {
      // As above.
    }
    this.instance = null;
  }
}

/**
 * Writes one column of `n` records into a chunk vector. Absent strings and NaN doubles become NULL;
 * integers are clamped to the column's range (columns.ts, clampInt). Returns how many were clamped.
 */
function fillVector(vec: { setItem(i: number, v: unknown): void }, col: Column, records: readonly FlowRecord[], off: number, n: number): number {
  const get = col.get;
  let clamped = 0;
  switch (col.kind) {
    case 'i64': {
      if (!LITTLE_ENDIAN) {
        for (let i = 0; i < n; i++) {
          const v = get(records[off + i]!) as number;
          const x = clampInt('i64', v);
          if (x !== Math.trunc(v) && v > 0) clamped++;
          vec.setItem(i, BigInt(x));
        }
        break;
      }
      // Written as two 32-bit halves straight into the vector's little-endian int64 buffer: a BigInt
      // per value would allocate on every row. Record times and counters are never negative.
      const items = (vec as unknown as { items: BigInt64Array }).items;
      const halves = new Uint32Array(items.buffer, items.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as number;
        let x = v > 0 ? Math.trunc(v) : 0;
        if (x > MAX_I64) {
          x = clampInt('i64', x);
          clamped++;
        }
        halves[2 * i] = x >>> 0;
        halves[2 * i + 1] = Math.floor(x / 4294967296);
      }
      break;
    }
    case 'str':
    case 'enum': {
      if (!LITTLE_ENDIAN) {
        for (let i = 0; i < n; i++) {
          const v = get(records[off + i]!) as string;
          vec.setItem(i, v === '' ? null : v);
        }
        break;
      }
      // Absent values are cleared in a validity mask of our own: the vector's setItem(i, null)
      // makes two BigInts per call, and most string cells are absent (two all-absent columns cost
      // about 1 µs a record in bench:store).
      let valid: Uint32Array | null = null;
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as string;
        if (v !== '') vec.setItem(i, v);
        else {
          valid ??= new Uint32Array(Math.ceil(n / 64) * 2).fill(0xffffffff);
          valid[i >>> 5]! &= ~(1 << (i & 31));
        }
      }
      if (valid !== null) setInvalid(vec, valid, n);
      break;
    }
    case 'f64':
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as number;
        vec.setItem(i, Number.isNaN(v) ? null : v);
      }
      break;
    default: {
      const kind = col.kind;
      for (let i = 0; i < n; i++) {
        const v = get(records[off + i]!) as number;
        const x = clampInt(kind, v);
        if (x !== v && !Number.isNaN(v)) clamped++;
        vec.setItem(i, x);
      }
    }
  }
  return clamped;
}

/**
 * Applies a little-endian validity mask (bit i clear: row i is NULL) to a fresh vector of a new
 * chunk, through the node API's own validity object, which its flush() copies into DuckDB. The
 * object is not part of the API's types: when it is not there as expected, the rows are set
 * through setItem(i, null) instead.
 */
function setInvalid(vec: { setItem(i: number, v: unknown): void }, valid: Uint32Array, n: number): void {
  const validity = (vec as unknown as { validity?: { data: BigUint64Array | null; offset: number } }).validity;
  if (validity === undefined || !('data' in validity) || validity.offset !== 0) {
    for (let i = 0; i < n; i++) if ((valid[i >>> 5]! & (1 << (i & 31))) === 0) vec.setItem(i, null);
    return;
  }
  if (validity.data === null) {
    validity.data = new BigUint64Array(valid.buffer, valid.byteOffset, valid.length / 2);
    return;
  }
  const words = new Uint32Array(validity.data.buffer, validity.data.byteOffset, validity.data.length * 2);
  for (let w = 0; w < words.length && w < valid.length; w++) words[w]! &= valid[w]!;
}

export interface DuckDbOutputOptions extends DuckDbOptions {
  batchMax: number;
  deadlineMs: number;
  queueMax: number;
  /** How often hours are summarised (default a minute); 0: only when summarise() is called (benchmarks). */
  summariseEveryMs?: number;
}

/** The DuckDB output: BatchingOutput's queue and deadline in front of the store. */
export class DuckDbOutput extends BatchingOutput implements QueryableOutput {
  readonly name = 'duckdb';
  readonly store: DuckDbStore;
  private maintenanceTimer: NodeJS.Timeout | null = null;
  private maintaining: Promise<void> | null = null;
  private rollupTimer: NodeJS.Timeout | null = null;
  /** The hour being summarised; checkpoints and retention wait for it (a checkpoint would fail beside its transaction). */
  private building: Promise<boolean> | null = null;
  private readonly summariseEveryMs: number;
  private summarising: Promise<number> | null = null;
  /** Exclusive work waiting for a summary to end: no new summary starts meanwhile. */
  private waiting = 0;
  /**
   * Work on a DuckDB thread that appends must wait for (a checkpoint, retention's delete): an
   * append's commit would otherwise wait for it inside flushSync, holding the main thread. A summary
   * being built is waited for first, and the next one waits for this.
   */
  private exclusive: Promise<void> | null = null;

  constructor(opts: DuckDbOutputOptions) {
    super({ batchMax: opts.batchMax, deadlineMs: opts.deadlineMs, queueMax: opts.queueMax });
    this.store = new DuckDbStore(opts);
    this.summariseEveryMs = opts.summariseEveryMs ?? ROLLUP_INTERVAL_MS;
    this.c.retention_deleted = 0;
    this.c.size_guard_deleted = 0;
    this.c.values_clamped = 0;
    this.c.rollup_hours_built = 0;
  }

  override async start(): Promise<void> {
    await this.store.open();
    log.info(`DuckDB store at ${this.store.opts.path} (retention ${this.store.opts.retentionDays} days)`);
    // In the background: a start after a long stop may have millions of rows to delete, and the
    // sockets open only once the outputs have started.
    void this.maintain();
    this.maintenanceTimer = setInterval(() => void this.maintain(), MAINTENANCE_INTERVAL_MS);
    this.maintenanceTimer.unref?.();
    const every = this.summariseEveryMs;
    if (every > 0) {
      void this.summarise();
      this.rollupTimer = setInterval(() => void this.summarise(), every);
      this.rollupTimer.unref?.();
    }
    await super.start();
  }

  /**
   * Summarises hours past their settling time (rollup.ts), oldest first, at most `max` of them, one
   * at a time beside the appends (an hour of a busy store takes seconds), never beside a checkpoint
   * or retention; never overlapping itself. Returns how many were built.
   */
  summarise(now = Date.now(), max = ROLLUP_HOURS_PER_ROUND): Promise<number> {
    if (this.summarising !== null) return this.summarising;
    this.summarising = (async () => {
      let built = 0;
      try {
        await this.store.findPendingRollups();
        for (const hour of this.store.rollups.due(now).slice(0, max)) {
          while (this.exclusive !== null || this.waiting > 0) await (this.exclusive?.catch(() => {}) ?? new Promise((r) => setImmediate(r)));
          // The maintenance just waited for may have deleted the hour's flows and its pending mark:
          // built now, it would be an empty summary counted as built.
          if (!this.store.rollups.isPending(hour)) continue;
          this.building = this.store.buildRollup(hour);
          try {
            if (await this.building) built++;
          } finally {
            this.building = null;
          }
        }
      } catch (err) {
        log.warn(`DuckDB summaries for long ranges could not be built (tried again in a minute; queries read the flows meanwhile): ${(err as Error).message}`);
        this.store.noteError(err);
      } finally {
        this.summarising = null;
      }
      this.c.rollup_hours_built! += built;
      return built;
    })();
    return this.summarising;
  }

  /** Retention, then the size guard; never overlapping itself. */
  maintain(now = Date.now()): Promise<void> {
    if (this.maintaining !== null) return this.maintaining;
    this.maintaining = this.alone(async () => {
      try {
        const old = await this.store.applyRetention(now);
        this.c.retention_deleted! += old;
        if (old > 0) log.info(`DuckDB retention: deleted ${old} rows older than ${this.store.opts.retentionDays} days (EF_OUTPUT_DUCKDB_RETENTION)`);
        const over = await this.store.applySizeGuard(now);
        this.c.size_guard_deleted! += over;
        if (over > 0) log.info(`DuckDB size guard: deleted ${over} rows of the oldest days (EF_OUTPUT_DUCKDB_MAX_SIZE)`);
      } catch (err) {
        log.warn(`DuckDB maintenance failed: ${(err as Error).message}`);
        this.store.noteError(err);
      } finally {
        this.maintaining = null;
      }
    });
    return this.maintaining;
  }

  /**
   * Runs `work` with appends held back (they wait in send()); one at a time. A summary being built
   * is waited for first, with appends going on meanwhile; no new one starts while work waits.
   */
  private alone(work: () => Promise<void>): Promise<void> {
    this.waiting++;
    let counted = true;
    const started = (): void => {
      if (counted) this.waiting--;
      counted = false;
    };
    return (async () => {
      try {
        while (this.building !== null) await this.building.catch(() => false);
        while (this.exclusive !== null) await this.exclusive.catch(() => {});
        // Taken with no wait since the checks above.
        const mine: Promise<void> = work().finally(() => {
          if (this.exclusive === mine) this.exclusive = null;
        });
        this.exclusive = mine;
        started();
        await mine;
      } finally {
        started();
      }
    })();
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    // One append per event-loop turn: batches queued behind a checkpoint would otherwise be
    // appended back to back (each takes tens of milliseconds) while nothing else runs.
    await new Promise((r) => setImmediate(r));
    try {
      // Summarised hours the batch falls in are taken off the list in the database before it is
      // written, so that no stop in between leaves a summary short of its flows. The last check
      // finds nothing to take off and is followed by the append with no wait between: an hour
      // summarised during a wait is found by the next check.
      for (;;) {
        while (this.exclusive !== null) await this.exclusive.catch(() => {});
        // A summary being made of an hour the batch falls in is let finish first: flows written
        // during its commit would be missing from it until the separate statement that undoes it.
        if (this.building !== null && this.store.rollups.buildingIn(batch)) {
          await this.building.catch(() => false);
          continue;
        }
        const unbuilt = this.store.rollups.noteAppended(batch);
        if (unbuilt.length === 0) break;
        for (const hour of unbuilt) await this.store.unbuild(hour);
      }
      const clamped = this.store.append(batch);
      if (clamped > 0) this.c.values_clamped! += clamped;
      if (this.store.walBytes() > CHECKPOINT_WAL_BYTES) {
        void this.alone(() => this.store.checkpoint().catch((err: Error) => {
          log.warn(`DuckDB checkpoint failed (DuckDB does it itself past ${AUTO_CHECKPOINT_BACKSTOP} of WAL): ${err.message}`);
          this.store.noteError(err);
        }));
      }
    } catch (err) {
      // The batch is retried whole (BatchingOutput) on a clean appender, so it is stored once.
      await this.store.recover((err as Error).message).catch((e: Error) => log.warn(`DuckDB store: could not recover yet: ${e.message}`));
      throw err;
    }
  }

  flowQuery(): FlowQuery | null {
    return this.store.flowQuery();
  }

  override async close(flushMs?: number): Promise<void> {
    await super.close(flushMs);
    if (this.maintenanceTimer !== null) clearInterval(this.maintenanceTimer);
    if (this.rollupTimer !== null) clearInterval(this.rollupTimer);
    this.maintenanceTimer = this.rollupTimer = null;
    await this.store.stopBuild();
    if (this.summarising !== null) await within(this.summarising, CLOSE_SEND_MS);
    // Bounded: maintenance on a database being reopened may not settle.
    if (this.maintaining !== null) await within(this.maintaining, CLOSE_SEND_MS);
    if (this.exclusive !== null) await within(this.exclusive, CLOSE_SEND_MS);
    this.store.close();
  }
}

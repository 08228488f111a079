/**
 * Hourly summaries of the DuckDB store, so that the overview over days does not read every flow.
 * Every query reads the range it is asked about, and a week of a busy network is hundreds of
 * millions of rows (about a minute to read here, estimated from 3M rows in 0.34 s). For each whole
 * hour of stored flows the store keeps (built on a DuckDB thread once the hour is past and its flows
 * have stopped coming, src/store/duckdb.ts):
 *
 * - per field of the overview's top lists (ROLLUP_FIELDS), each value's bytes, packets and flows;
 * - per minute, the bytes, packets and flows (the series, whose steps from a minute up are whole
 *   minutes).
 *
 * A query without filters (the overview's) over a range holding at least two such hours reads the
 * summaries for those hours and the flows themselves for the rest of the range (its ragged ends,
 * and hours not summarised yet): the same answer as from the flows alone. Flows stored later for a
 * summarised hour (a late exporter, a flow's start as its time) take the hour off the summarised
 * list until it is built again, so answers stay exact; retention takes summaries away with their
 * hours. Filtered queries read the flows, as before.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Column } from './columns.js';
import type { SeriesQuery, TopField, TopNQuery } from './query.js';
import { DUCKDB_DIALECT, topKey, topNOver, type BuiltQuery, type Dialect, type Param } from './sql.js';

export const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** An hour is summarised this long after it ends (outputs batch for a second or so; exporters lag). */
export const ROLLUP_SETTLE_MS = 5 * MINUTE_MS;
/**
 * Hours starting more than this after now are not tracked as pending: they are not due before they
 * come, so an exporter whose broken clock stamps flows in many hours to come would otherwise add an
 * entry for each, for good. Their flows are read as flows (a reopen finds them, once they are past).
 * Only flows stamped with an exporter's clock (a start or end time as `ts`) get there.
 */
export const PENDING_AHEAD_MS = 24 * HOUR_MS;
/** Fewer whole summarised hours than this in a range: reading the flows is as quick. */
const MIN_HOURS = 2;

/** The overview's top lists; their position is the `dim` stored. */
export const ROLLUP_FIELDS: readonly TopField[] = [
  'flow.src.ip.addr', 'flow.dst.ip.addr', 'flow.server.l4.port.id', 'l4.proto.id',
  'flow.src.geo.country.name', 'flow.dst.geo.country.name', 'flow.src.as.asn', 'flow.dst.as.asn',
  'flow.src.ip.subnet.name', 'flow.dst.ip.subnet.name',
];

/** `_v2`: the networks' dims were added; the v1 tables had the fields before them. */
const TOP = 'flows_top_hour_v2';
/** The minutes did not change: an hour's build replaces its minutes. */
const MINUTES = 'flows_minute_v1';
/** The hours whose summaries are complete (`_v2`: with every field of ROLLUP_FIELDS). */
export const HOURS = 'flows_rollup_hours_v2';

export const ROLLUP_TABLES_SQL = [
  // Summaries of an older layout: their hours are summarised again, from the flows.
  'DROP TABLE IF EXISTS flows_top_hour_v1',
  'DROP TABLE IF EXISTS flows_rollup_hours_v1',
  `CREATE TABLE IF NOT EXISTS ${TOP} (hour BIGINT, dim UTINYINT, kn BIGINT, kt VARCHAR, label VARCHAR, b HUGEINT, p HUGEINT, f BIGINT)`,
  `CREATE TABLE IF NOT EXISTS ${MINUTES} (minute BIGINT, b HUGEINT, p HUGEINT, f BIGINT)`,
  `CREATE TABLE IF NOT EXISTS ${HOURS} (hour BIGINT)`,
];

/** Half-open [lo, hi) spans, in order, not touching. */
type Span = [number, number];

/** Which parts of a range come from summaries (whole hours) and which from the flows. */
export interface RollupPlan {
  hours: Span[];
  flows: Span[];
}

const spansSql = (col: string, spans: Span[], params: Param[]): string => {
  for (const [lo, hi] of spans) params.push(lo, hi);
  return `(${spans.map(() => `(${col} >= ? AND ${col} < ?)`).join(' OR ')})`;
};

/**
 * What the store knows of its summaries: the hours built (usable), and the hours with flows not
 * summarised yet (pending). Both live in memory; the built list is also in the database.
 */
export class Rollups {
  private readonly built = new Set<number>();
  /** Hours with flows not summarised, each with when flows of it last came (epoch ms; 0: before this start). */
  private readonly pending = new Map<number, number>();
  /** Built hours in order, for planning (rebuilt when the set changes). */
  private sorted: number[] | null = null;
  /** Whether the flows were looked over for hours without summaries since the store opened. */
  private scanned = false;
  /** The hour being summarised, and whether flows of it were appended meanwhile. */
  private building: number | null = null;
  private touched = false;

  constructor(private readonly table: string, private readonly tsCol: Column) {}

  /** Loads the list of built hours (at open, before any append). */
  async loadBuilt(conn: DuckDBConnection): Promise<void> {
    this.built.clear();
    this.pending.clear();
    this.sorted = null;
    this.scanned = false;
    for (const r of (await conn.runAndReadAll(`SELECT DISTINCT hour FROM ${HOURS}`)).getRows()) this.built.add(Number(r[0]));
  }

  /** Finds the hours with flows and no summary, once after open: one pass over the `ts` column. */
  async findPending(conn: DuckDBConnection): Promise<void> {
    if (this.scanned) return;
    const have = (await conn.runAndReadAll(`SELECT DISTINCT (ts // ${HOUR_MS}) * ${HOUR_MS} FROM ${this.table} WHERE kind = 'flow'`)).getRows();
    this.scanned = true;
    const ahead = Date.now() + PENDING_AHEAD_MS;
    for (const r of have) {
      const h = Number(r[0]);
      if (h <= ahead && !this.built.has(h) && !this.pending.has(h)) this.pending.set(h, 0);
    }
  }

  /** Empties the summaries (the flows table is new: its rows are gone). */
  static async clear(conn: DuckDBConnection): Promise<void> {
    for (const t of [HOURS, TOP, MINUTES]) await conn.run(`DELETE FROM ${t}`);
  }

  /**
   * For rows about to be appended (and again once they are): the hours they fall in are pending,
   * and a built one among them is taken off the built list. Returns the hours taken off, which the
   * caller takes off the list in the database too (`unbuildSql`).
   */
  noteAppended(records: readonly unknown[], now = Date.now()): number[] {
    const get = this.tsCol.get as (r: unknown) => number;
    const unbuilt: number[] = [];
    let last = NaN;
    for (const r of records) {
      const h = Math.floor(get(r) / HOUR_MS) * HOUR_MS;
      if (h === last) continue;
      last = h;
      if (h === this.building) this.touched = true;
      const was = this.pending.get(h);
      if (was !== undefined || h <= now + PENDING_AHEAD_MS) this.pending.set(h, now);
      if (was !== undefined) continue;
      if (this.built.delete(h)) {
        this.sorted = null;
        unbuilt.push(h);
      }
    }
    return unbuilt;
  }

  /** Whether `hour` still waits to be summarised (retention or the size guard may have taken it meanwhile). */
  isPending(hour: number): boolean {
    return this.pending.has(hour);
  }

  /** How many hours are waiting to be summarised. */
  get pendingHours(): number {
    return this.pending.size;
  }

  /** Whether any of `records` falls in the hour being summarised. */
  buildingIn(records: readonly unknown[]): boolean {
    if (this.building === null) return false;
    const get = this.tsCol.get as (r: unknown) => number;
    for (const r of records) if (Math.floor(get(r) / HOUR_MS) * HOUR_MS === this.building) return true;
    return false;
  }

  /**
   * Pending hours past their settling time, oldest first: ended that long ago, and no flows of them
   * come that long (with flows' start times as `ts`, long flows keep reaching back into past hours;
   * each would otherwise be summarised again every round).
   */
  due(now: number): number[] {
    return [...this.pending]
      .filter(([h, came]) => h + HOUR_MS + ROLLUP_SETTLE_MS <= now && came + ROLLUP_SETTLE_MS <= now)
      .map(([h]) => h)
      .sort((a, b) => a - b);
  }

  /**
   * Summarises one hour, replacing what was there, in one transaction on `conn` (a connection of its
   * own), while appends go on. Flows of the hour appended meanwhile may be missing from what the
   * transaction read, so then nothing is kept: the hour stays pending, for the next round. Returns
   * whether the hour is summarised.
   */
  async build(conn: DuckDBConnection, hour: number): Promise<boolean> {
    const end = hour + HOUR_MS;
    const inHour = `ts >= ${hour} AND ts < ${end} AND kind = 'flow'`;
    const parts = ROLLUP_FIELDS.map((f, dim) => {
      const key = topKey(DUCKDB_DIALECT, f);
      const label = key.label !== undefined ? `max(${key.label})` : 'NULL';
      return `SELECT ${dim} AS dim, ${key.numeric ? 'k' : 'NULL'} AS kn, ${key.numeric ? 'NULL' : 'k'} AS kt, ${label} AS label, sum(bytes) AS b, sum(packets) AS p, count(*) AS f
        FROM (SELECT ${key.expr} AS k, bytes, packets${key.label !== undefined ? `, ${key.label}` : ''} FROM ${this.table} WHERE ${inHour}) AS t GROUP BY k`;
    });
    this.building = hour;
    this.touched = false;
    try {
      await conn.run('BEGIN TRANSACTION');
      try {
        await conn.run(`DELETE FROM ${TOP} WHERE hour = ${hour}`);
        await conn.run(`DELETE FROM ${MINUTES} WHERE minute >= ${hour} AND minute < ${end}`);
        await conn.run(`DELETE FROM ${HOURS} WHERE hour = ${hour}`);
        await conn.run(`INSERT INTO ${TOP} SELECT ${hour}, dim, kn, kt, label, b, p, f FROM (${parts.join(' UNION ALL ')})`);
        await conn.run(`INSERT INTO ${MINUTES} SELECT (ts // ${MINUTE_MS}) * ${MINUTE_MS}, sum(bytes), sum(packets), count(*) FROM ${this.table} WHERE ${inHour} GROUP BY 1`);
        await conn.run(`INSERT INTO ${HOURS} VALUES (${hour})`);
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => {});
        throw err;
      }
      if (this.touched) {
        await conn.run('ROLLBACK');
        return false;
      }
      await conn.run('COMMIT');
      if (this.touched) {
        // Flows came during the commit: the hour is not summarised after all.
        await conn.run(Rollups.unbuildSql(hour));
        return false;
      }
    } finally {
      this.building = null;
    }
    this.pending.delete(hour);
    this.built.add(hour);
    this.sorted = null;
    return true;
  }

  /**
   * Before flows before `cutoff` are deleted: their hours' summaries go (first, so that no stop in
   * between leaves summaries of deleted flows); the hour the cutoff falls inside keeps flows and is
   * summarised again. The hours leave the list in memory before their rows leave the tables: an API
   * query (on a connection of its own) planned between the two would take an hour for summarised,
   * find none of its rows and read none of its flows, kept ones included.
   */
  async deletedBefore(conn: DuckDBConnection, cutoff: number): Promise<void> {
    const partial = Math.floor(cutoff / HOUR_MS) * HOUR_MS;
    const hadPartial = partial < cutoff && (this.built.has(partial) || this.pending.has(partial));
    for (const h of [...this.built, ...this.pending.keys()]) {
      if (h >= cutoff) continue;
      this.built.delete(h);
      this.pending.delete(h);
    }
    if (hadPartial) this.pending.set(partial, 0);
    this.sorted = null;
    await conn.run(`DELETE FROM ${HOURS} WHERE hour < ${cutoff}`);
    await conn.run(`DELETE FROM ${TOP} WHERE hour < ${cutoff}`);
    // Through the end of the hour the cutoff falls inside (summarised again), none of the hour it starts.
    await conn.run(`DELETE FROM ${MINUTES} WHERE minute < ${Math.ceil(cutoff / HOUR_MS) * HOUR_MS}`);
  }

  /** Takes an hour off the built list in the database (after `noteAppended` took it off in memory). */
  static unbuildSql(hour: number): string {
    return `DELETE FROM ${HOURS} WHERE hour = ${hour}`;
  }

  /** How [from, to) splits into summarised hours and flows; null when summaries would not help. */
  plan(from: number, to: number): RollupPlan | null {
    if (this.sorted === null) this.sorted = [...this.built].sort((a, b) => a - b);
    return planOver(this.sorted, from, to);
  }

  /** `topN` (no filter) over a plan: the summaries' rows and the flows' rows, summed per key. */
  static topN(q: TopNQuery, limit: number, table: string, plan: RollupPlan, at: SummaryTables = DUCKDB_SUMMARIES): BuiltQuery | null {
    const dim = ROLLUP_FIELDS.indexOf(q.field);
    if (dim < 0) return null;
    const d = at.dialect;
    const ch = d.name === 'clickhouse';
    const key = topKey(d, q.field);
    const params: Param[] = [dim];
    const lb = key.label !== undefined ? ', label AS lb' : '';
    let from = `SELECT ${key.numeric ? 'kn' : 'kt'} AS k, b, p, f${lb} FROM ${at.top} WHERE dim = ? AND ${spansSql('hour', plan.hours, params)}`;
    if (plan.flows.length > 0) {
      const rawLb = key.label !== undefined ? `, ${key.label} AS lb` : '';
      // ClickHouse 18.16 wants the same types on both sides of a UNION ALL.
      const k = ch && key.numeric ? `toInt64(${key.expr})` : key.expr;
      from += ` UNION ALL SELECT ${k} AS k, bytes AS b, packets AS p, ${ch ? 'toUInt64(1)' : '1'} AS f${rawLb} FROM ${table} WHERE kind = 'flow' AND ${spansSql('ts', plan.flows, params)}`;
    }
    return { sql: topNOver(d, q.field, q.metric, from, { b: d.sum('b'), p: d.sum('p'), f: 'sum(f)' }), params: [...params, limit] };
  }

  /** `series` (no filter, a step of whole minutes) over a plan. */
  static series(q: SeriesQuery, table: string, plan: RollupPlan, at: SummaryTables = DUCKDB_SUMMARIES): BuiltQuery | null {
    if (q.stepMs % MINUTE_MS !== 0) return null;
    const d = at.dialect;
    const params: Param[] = [q.stepMs, q.stepMs];
    let from = `SELECT minute AS tt, b, p, f FROM ${at.minutes} WHERE ${spansSql('minute', plan.hours, params)}`;
    if (plan.flows.length > 0) from += ` UNION ALL SELECT ts AS tt, bytes AS b, packets AS p, ${d.name === 'clickhouse' ? 'toUInt64(1)' : '1'} AS f FROM ${table} WHERE kind = 'flow' AND ${spansSql('ts', plan.flows, params)}`;
    return { sql: `SELECT ${d.idiv('tt', '?')} * ? AS t, ${d.sum('b')} AS b, ${d.sum('p')} AS p, sum(f) AS f FROM (${from}) AS r GROUP BY t ORDER BY t`, params };
  }
}

/** Where a store keeps its summaries, and its SQL dialect. */
export interface SummaryTables {
  dialect: Dialect;
  top: string;
  minutes: string;
}

const DUCKDB_SUMMARIES: SummaryTables = { dialect: DUCKDB_DIALECT, top: TOP, minutes: MINUTES };

/**
 * How [from, to) splits into the summarised hours in `sorted` (hour starts, ascending) that lie
 * wholly inside it, and the flows of the rest; null when fewer than MIN_HOURS would be summaries.
 */
export function planOver(sorted: Iterable<number>, from: number, to: number): RollupPlan | null {
  const hours: Span[] = [];
  let count = 0;
  for (const h of sorted) {
    if (h < from || h + HOUR_MS > to) continue;
    count++;
    const last = hours[hours.length - 1];
    if (last !== undefined && last[1] === h) last[1] = h + HOUR_MS;
    else hours.push([h, h + HOUR_MS]);
  }
  if (count < MIN_HOURS) return null;
  const flows: Span[] = [];
  let at = from;
  for (const [lo, hi] of hours) {
    if (lo > at) flows.push([at, lo]);
    at = hi;
  }
  if (at < to) flows.push([at, to]);
  return { hours, flows };
}

/** Every whole hour from `validFrom` on is summarised (ClickHouse: a materialized view fills them as flows are inserted). */
export function planFrom(validFrom: number, from: number, to: number): RollupPlan | null {
  // Both on the hour: `validFrom` may be 1 (every hour), and an hour is whole only from its start.
  const first = Math.ceil(Math.max(validFrom, from) / HOUR_MS) * HOUR_MS;
  const hours = function* (): Generator<number> {
    for (let h = first; h + HOUR_MS <= to; h += HOUR_MS) yield h;
  };
  return planOver(hours(), from, to);
}

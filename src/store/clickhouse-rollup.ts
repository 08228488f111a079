/**
 * Hourly summaries in ClickHouse, the same two as the DuckDB store keeps (rollup.ts): per hour and
 * per value of each overview top-list field, bytes, packets and flows; per minute, the same totals.
 *
 * Here the server keeps them itself: two materialized views turn every block inserted into the
 * flows table into summary rows, in SummingMergeTree tables that add rows of the same key together
 * as they merge (queries still sum, since merging is eventual). So every insert is summarised as it
 * lands, whoever makes it, late flows included, and nothing needs building or tracking. Flows stored
 * before the views existed are not in them: the summaries are read for whole hours from
 * `valid_from` on, the first whole hour after both the views' creation and the newest flow then
 * stored, or every hour when the table was empty. The state table holds that hour, or 0 ("not to be
 * read") while views are being made or after they were dropped; the latest statement wins, and
 * queries read it again every little while, so collectors sharing a table follow each other. (An
 * insert under way while the views are made may miss them: a race only a start beside another
 * writer of the same table can lose.) Day partitions as in the flows table, so retention drops a day
 * from all of them.
 *
 * The views run inside each insert. On 18.16 a view that fails does so after the flows are written:
 * the output then takes the batch as stored (a retry would store it twice), declares the summaries
 * unusable, and once an insert goes through again declares them usable from the next hour on
 * (clickhouse.ts). A collector may go on reading what another one declared unusable (or a new
 * table's summaries being emptied) until its next look at the state, 30 s at most; its overview can
 * miss flows meanwhile.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { HOUR_MS, ROLLUP_FIELDS, type SummaryTables } from './rollup.js';
import { CLICKHOUSE_DIALECT, topKey } from './sql.js';

/**
 * The summaries' objects beside `db.table`; `_vN` names a layout, so a new one can live beside it.
 * The top lists are `_v2` since the networks' fields joined ROLLUP_FIELDS: a start that makes the
 * v2 table finds it new, so the summaries start anew from the next hour (ensureChSummaries).
 */
export function chSummaryNames(db: string, table: string): { top: string; minutes: string; state: string; topView: string; minuteView: string } {
  return {
    top: `${db}.${table}_top_hour_v2`,
    minutes: `${db}.${table}_minute_v1`,
    state: `${db}.${table}_rollup_state_v1`,
    topView: `${db}.${table}_top_hour_mv_v2`,
    minuteView: `${db}.${table}_minute_mv_v1`,
  };
}

/** Objects of older layouts: dropped when the summaries are made or turned off (the view first: it feeds the table). */
function retiredNames(db: string, table: string): string[] {
  return [`${db}.${table}_top_hour_mv_v1`, `${db}.${table}_top_hour_v1`];
}

async function dropRetired(client: ClickHouseClient, db: string, table: string): Promise<void> {
  for (const t of retiredNames(db, table)) await client.command({ query: `DROP TABLE IF EXISTS ${t}` });
}

/**
 * The summary tables. Sums are Decimal128 as the flows queries' are (a UInt64 sum of 64-bit counters
 * wraps); the AS label is part of the key, so merging never picks one label over another (queries
 * take the largest, as from the flows). The state table is a MergeTree: a Log table cannot be read
 * in the statement that appends to it, and a TinyLog one broke under starts at the same moment.
 */
export function chSummaryTablesSql(db: string, table: string, ttlDays: number | null): string[] {
  const n = chSummaryNames(db, table);
  // From the day's end, as the flows table's TTL (createTableSql): kept as long as the flows they sum.
  const ttl = ttlDays === null ? '' : ` TTL day + INTERVAL ${Math.trunc(ttlDays) + 1} DAY`;
  return [
    `CREATE TABLE IF NOT EXISTS ${n.top} (day Date, hour UInt64, dim UInt8, kn Int64, kt String, label String, b Decimal128(0), p Decimal128(0), f UInt64)
      ENGINE = SummingMergeTree((b, p, f)) PARTITION BY toYYYYMMDD(day) ORDER BY (hour, dim, kn, kt, label)${ttl}`,
    `CREATE TABLE IF NOT EXISTS ${n.minutes} (day Date, minute UInt64, b Decimal128(0), p Decimal128(0), f UInt64)
      ENGINE = SummingMergeTree((b, p, f)) PARTITION BY toYYYYMMDD(day) ORDER BY minute${ttl}`,
    `CREATE TABLE IF NOT EXISTS ${n.state} (at UInt64, rnd UInt64, valid_from UInt64) ENGINE = MergeTree() ORDER BY at`,
  ];
}

/** The two views: each flow row becomes one summary row per field (ARRAY JOIN), and one per minute, summed per insert. */
export function chSummaryViewsSql(db: string, table: string): string[] {
  const n = chSummaryNames(db, table);
  const d = CLICKHOUSE_DIALECT;
  const keys = ROLLUP_FIELDS.map((f, dim) => {
    const k = topKey(d, f);
    const label = k.label !== undefined ? `toString(${k.label})` : "''";
    return k.numeric ? `(toUInt8(${dim}), toInt64(${k.expr}), '', ${label})` : `(toUInt8(${dim}), toInt64(0), toString(${k.expr}), ${label})`;
  });
  const sums = 'sum(toDecimal128(bytes, 0)) AS b, sum(toDecimal128(packets, 0)) AS p, count() AS f';
  return [
    // Summed per insert block already: a block of 10,000 flows holds far fewer distinct keys than
    // its 80,000 key rows, and writing those was most of what the views cost the server.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.topView} TO ${n.top} AS
      SELECT day, intDiv(ts, ${HOUR_MS}) * ${HOUR_MS} AS hour, t.1 AS dim, t.2 AS kn, t.3 AS kt, t.4 AS label, ${sums}
      FROM ${db}.${table} ARRAY JOIN [${keys.join(', ')}] AS t WHERE kind = 'flow' GROUP BY day, hour, dim, kn, kt, label`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.minuteView} TO ${n.minutes} AS
      SELECT day, intDiv(ts, 60000) * 60000 AS minute, ${sums}
      FROM ${db}.${table} WHERE kind = 'flow' GROUP BY day, minute`,
  ];
}

async function one(client: ClickHouseClient, query: string): Promise<Record<string, unknown> | undefined> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return (await rs.json<Record<string, unknown>>())[0];
}

/**
 * Says from which hour the summaries hold every flow; 0: they are not to be used (turned off, or a
 * start that made the views did not get to say from when). The latest statement wins: each is
 * appended with an `at` one past the largest so far.
 */
async function declare(client: ClickHouseClient, n: ReturnType<typeof chSummaryNames>, validFrom: number): Promise<void> {
  // Two statements at once may get the same `at`; `rnd` then picks one, the same for every reader.
  await client.command({ query: `INSERT INTO ${n.state} (valid_from, at, rnd) SELECT ${validFrom}, (SELECT max(at) FROM ${n.state}) + 1, rand64()` });
}

/** Whether every one of `names` ("db.name", db checked identifiers) exists in `db`. */
export async function chTablesPresent(client: ClickHouseClient, db: string, names: readonly string[]): Promise<boolean> {
  const local = names.map((t) => `'${t.slice(db.length + 1)}'`);
  return Number((await one(client, `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name IN (${local.join(', ')})`))?.n ?? 0) === local.length;
}

const viewsPresent = (client: ClickHouseClient, db: string, n: ReturnType<typeof chSummaryNames>): Promise<boolean> => chTablesPresent(client, db, [n.topView, n.minuteView]);

async function dropViews(client: ClickHouseClient, n: ReturnType<typeof chSummaryNames>): Promise<void> {
  for (const v of [n.topView, n.minuteView]) await client.command({ query: `DROP TABLE IF EXISTS ${v}` });
}

/**
 * From which hour the summaries may be read now, or 0 when not at all: both views must be there
 * and the latest statement a valid hour. Queries ask again every little while, so a collector
 * notices another one (on the same table) turning the summaries off or starting them anew.
 */
export async function chSummariesValidFrom(client: ClickHouseClient, db: string, table: string): Promise<number> {
  const n = chSummaryNames(db, table);
  if (!(await viewsPresent(client, db, n))) return 0;
  return Number((await one(client, `SELECT argMax(valid_from, (at, rnd)) AS v FROM ${n.state}`))?.v ?? 0);
}

/**
 * Before a flows table is made under a name that has none: summaries already there were another
 * table's under the same name (one renamed or dropped, as a layout error advises), so they are
 * declared unusable, their views dropped and their tables emptied. Done before the table is made,
 * so that a start cut short in between does it again.
 */
export async function resetChSummaries(client: ClickHouseClient, db: string, table: string): Promise<void> {
  const n = chSummaryNames(db, table);
  for (const query of chSummaryTablesSql(db, table, null)) await client.command({ query });
  await declare(client, n, 0);
  await dropViews(client, n);
  for (const t of [n.top, n.minutes]) await client.command({ query: `TRUNCATE TABLE ${t}` });
}

/**
 * Makes the summary tables and views (once the flows table exists) and returns where queries find
 * them, with the first hour they hold in full (0: none yet).
 */
export async function ensureChSummaries(client: ClickHouseClient, db: string, table: string, ttlDays: number | null, now = Date.now()): Promise<SummaryTables & { validFrom: number }> {
  const n = chSummaryNames(db, table);
  await dropRetired(client, db, table);
  const tablesWere = await chTablesPresent(client, db, [n.top, n.minutes]);
  for (const query of chSummaryTablesSql(db, table, ttlDays)) await client.command({ query });
  if (!tablesWere) {
    // A summary table made now (dropped by hand, say) lacks what was inserted: made anew below.
    await declare(client, n, 0);
    await dropViews(client, n);
  }
  if (!(await viewsPresent(client, db, n))) {
    // Not to be read until the views exist and the flows before them are known (a stop in between
    // leaves it so, and the next start finishes).
    await declare(client, n, 0);
    for (const query of chSummaryViewsSql(db, table)) await client.command({ query });
  }
  let validFrom = await chSummariesValidFrom(client, db, table);
  if (validFrom === 0) {
    // Read after the views exist: rows inserted before them have times up to this newest one. An
    // empty table has none, so every hour is summarised (1: from the first; 0 means "not").
    const rows = Number((await one(client, `SELECT count() AS n FROM ${db}.${table}`))?.n ?? 0);
    const newest = Number((await one(client, `SELECT max(ts) AS t FROM ${db}.${table}`))?.t ?? 0);
    await declare(client, n, rows === 0 ? 1 : Math.floor(Math.max(now, newest) / HOUR_MS) * HOUR_MS + HOUR_MS);
    validFrom = await chSummariesValidFrom(client, db, table);
  }
  return { dialect: CLICKHOUSE_DIALECT, top: n.top, minutes: n.minutes, validFrom };
}

/** Declares the summaries not to be read (a view failed during an insert: they are short of it). */
export async function declareChSummariesUnusable(client: ClickHouseClient, db: string, table: string): Promise<void> {
  await declare(client, chSummaryNames(db, table), 0);
}

/**
 * Summaries turned off: declared unusable (for every collector on the table), then the views go,
 * so inserts no longer pay for them. Their tables stay for retention to empty; turned on again, the
 * views are made anew and `valid_from` moves past the flows stored meanwhile.
 */
export async function dropChSummaryViews(client: ClickHouseClient, db: string, table: string): Promise<void> {
  const n = chSummaryNames(db, table);
  for (const query of chSummaryTablesSql(db, table, null)) await client.command({ query });
  await declare(client, n, 0);
  await dropViews(client, n);
  await dropRetired(client, db, table);
}

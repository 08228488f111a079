/**
 * Hourly summaries in ClickHouse, the same two as the DuckDB store keeps (rollup.ts): per hour and
 * per value of each overview top-list field, bytes, packets and flows; per minute, the same totals.
 *
 * Here the server keeps them itself: two materialized views turn every block inserted into the
 * flows table into summary rows, in SummingMergeTree tables that add rows of the same key together
 * as they merge (queries still sum, since merging is eventual). So every insert is summarised as it
 * lands, late flows included, and nothing needs building or tracking. Flows stored before the views
 * existed are not in them: the hours summarised are those from `valid_from` on, the first whole hour
 * after both the views' creation and the newest flow then stored, or all of them when the table was
 * empty (kept in a small table; the largest value wins when several collectors made the views at
 * once). Views see every insert into the table, whoever makes it (an older collector too); only
 * rows inserted before they existed are missing (or an insert under way as they were made, a race
 * only a start beside another writer of the same table can lose). Day partitions as in the flows
 * table, so retention drops a day from all three tables.
 *
 * The views run inside each insert: a failing view fails the insert, which the output retries.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { HOUR_MS, ROLLUP_FIELDS, type SummaryTables } from './rollup.js';
import { CLICKHOUSE_DIALECT, topKey } from './sql.js';

/** The summaries' objects beside `db.table`; `_v1` names a layout, so a new one can live beside it. */
export function chSummaryNames(db: string, table: string): { top: string; minutes: string; validFrom: string; topView: string; minuteView: string } {
  return {
    top: `${db}.${table}_top_hour_v1`,
    minutes: `${db}.${table}_minute_v1`,
    validFrom: `${db}.${table}_rollup_from_v1`,
    topView: `${db}.${table}_top_hour_mv_v1`,
    minuteView: `${db}.${table}_minute_mv_v1`,
  };
}

/** The summary tables (types as the flows table's: ts, bytes and packets are UInt64). */
export function chSummaryTablesSql(db: string, table: string, ttlDays: number | null): string[] {
  const n = chSummaryNames(db, table);
  const ttl = ttlDays === null ? '' : ` TTL day + INTERVAL ${Math.trunc(ttlDays)} DAY`;
  return [
    `CREATE TABLE IF NOT EXISTS ${n.top} (day Date, hour UInt64, dim UInt8, kn Int64, kt String, label String, b UInt64, p UInt64, f UInt64)
      ENGINE = SummingMergeTree((b, p, f)) PARTITION BY toYYYYMMDD(day) ORDER BY (hour, dim, kn, kt)${ttl}`,
    `CREATE TABLE IF NOT EXISTS ${n.minutes} (day Date, minute UInt64, b UInt64, p UInt64, f UInt64)
      ENGINE = SummingMergeTree((b, p, f)) PARTITION BY toYYYYMMDD(day) ORDER BY minute${ttl}`,
    `CREATE TABLE IF NOT EXISTS ${n.validFrom} (valid_from UInt64) ENGINE = TinyLog`,
  ];
}

/** The two views: each flow row becomes one summary row per field (ARRAY JOIN), and one per minute. */
export function chSummaryViewsSql(db: string, table: string): string[] {
  const n = chSummaryNames(db, table);
  const d = CLICKHOUSE_DIALECT;
  const keys = ROLLUP_FIELDS.map((f, dim) => {
    const k = topKey(d, f);
    const label = k.label !== undefined ? `toString(${k.label})` : "''";
    return k.numeric ? `(toUInt8(${dim}), toInt64(${k.expr}), '', ${label})` : `(toUInt8(${dim}), toInt64(0), toString(${k.expr}), ${label})`;
  });
  return [
    // Summed per insert block already: a block of 10,000 flows holds far fewer distinct keys than
    // its 80,000 key rows, and writing those was most of what the views cost the server.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.topView} TO ${n.top} AS
      SELECT day, intDiv(ts, ${HOUR_MS}) * ${HOUR_MS} AS hour, t.1 AS dim, t.2 AS kn, t.3 AS kt, any(t.4) AS label, sum(bytes) AS b, sum(packets) AS p, count() AS f
      FROM ${db}.${table} ARRAY JOIN [${keys.join(', ')}] AS t WHERE kind = 'flow' GROUP BY day, hour, dim, kn, kt`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${n.minuteView} TO ${n.minutes} AS
      SELECT day, intDiv(ts, 60000) * 60000 AS minute, sum(bytes) AS b, sum(packets) AS p, count() AS f
      FROM ${db}.${table} WHERE kind = 'flow' GROUP BY day, minute`,
  ];
}

async function one(client: ClickHouseClient, query: string): Promise<Record<string, unknown> | undefined> {
  const rs = await client.query({ query, format: 'JSONEachRow' });
  return (await rs.json<Record<string, unknown>>())[0];
}

/**
 * Makes the summary tables and views (once the flows table exists) and returns where queries find
 * them, with the first hour they hold in full.
 */
export async function ensureChSummaries(client: ClickHouseClient, db: string, table: string, ttlDays: number | null, now = Date.now()): Promise<SummaryTables & { validFrom: number }> {
  const n = chSummaryNames(db, table);
  for (const query of chSummaryTablesSql(db, table, ttlDays)) await client.command({ query });
  const views = [n.topView, n.minuteView].map((v) => v.slice(db.length + 1));
  const have = await one(client, `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name IN (${views.map((v) => `'${v}'`).join(', ')})`);
  const made = Number(have?.n ?? 0) < views.length;
  if (made) for (const query of chSummaryViewsSql(db, table)) await client.command({ query });
  let validFrom = Number((await one(client, `SELECT max(valid_from) AS v FROM ${n.validFrom}`))?.v ?? 0);
  if (made || validFrom === 0) {
    // Read after the views exist: rows inserted before them have times up to this newest one. An
    // empty table has none, so every hour is summarised (1: from the first; 0 reads as unset).
    // Collectors insert only once their own start found the views, so none of theirs can be missed.
    const rows = Number((await one(client, `SELECT count() AS n FROM ${db}.${table}`))?.n ?? 0);
    const newest = Number((await one(client, `SELECT max(ts) AS t FROM ${db}.${table}`))?.t ?? 0);
    validFrom = rows === 0 ? 1 : Math.floor(Math.max(now, newest) / HOUR_MS) * HOUR_MS + HOUR_MS;
    await client.command({ query: `INSERT INTO ${n.validFrom} VALUES (${validFrom})` });
    validFrom = Number((await one(client, `SELECT max(valid_from) AS v FROM ${n.validFrom}`))?.v ?? validFrom);
  }
  return { dialect: CLICKHOUSE_DIALECT, top: n.top, minutes: n.minutes, validFrom };
}

/**
 * Summaries turned off: the views go, so inserts no longer pay for them. Their tables stay for
 * retention to empty; turned on again, the views are made anew and `valid_from` moves past the
 * flows stored meanwhile.
 */
export async function dropChSummaryViews(client: ClickHouseClient, db: string, table: string): Promise<void> {
  const n = chSummaryNames(db, table);
  for (const v of [n.topView, n.minuteView]) await client.command({ query: `DROP TABLE IF EXISTS ${v}` });
}

/**
 * The query module over ClickHouse: the same SQL as DuckDB (sql.ts, ClickHouse dialect).
 *
 * Parameters: server-side query parameters ({name:Type}) arrived in ClickHouse 19.11, after
 * Debian's 18.16, so values are bound here as typed literals instead: a number only when it is a
 * safe integer (checked), a string always quoted with ClickHouse's escapes for backslash and
 * quote. No caller text reaches SQL any other way.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { TimestampSource } from '../record/fields.js';
import { isEmptyFilter, SqlFlowQuery, type SeriesQuery, type TopNQuery } from './query.js';
import { planFrom, Rollups, type SummaryTables } from './rollup.js';
import { CLICKHOUSE_DIALECT, buildQuery, type BuiltQuery, type Param } from './sql.js';

/** A ClickHouse string literal (single quotes; backslash escapes per the SQL syntax reference). */
export function chString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

function literal(p: Param): string {
  if (typeof p === 'number') {
    if (!Number.isSafeInteger(p)) throw new Error(`refusing to bind a non-integer number: ${p}`);
    return String(p);
  }
  return chString(p);
}

/** Replaces each `?` with its escaped literal. The SQL from sql.ts has no `?` inside literals. */
export function bindClickHouse(q: BuiltQuery): string {
  const parts = q.sql.split('?');
  if (parts.length - 1 !== q.params.length) throw new Error(`query has ${parts.length - 1} placeholders but ${q.params.length} values`);
  let out = parts[0]!;
  for (let i = 0; i < q.params.length; i++) out += literal(q.params[i]!) + parts[i + 1]!;
  return out;
}

export class ClickHouseFlowQuery extends SqlFlowQuery {
  readonly store = 'clickhouse';

  /**
   * The server's hourly summaries (clickhouse-rollup.ts), once the output has made them: unfiltered
   * top lists and series over ranges holding whole hours from `validFrom` on read them.
   */
  summaries: (SummaryTables & { validFrom: number }) | null = null;

  /** `table` is "database.table", both checked identifiers. */
  constructor(private readonly client: ClickHouseClient, private readonly table: string, tsSource: TimestampSource) {
    super(tsSource, (kind, q) => buildQuery(CLICKHOUSE_DIALECT, kind, q, table));
  }

  protected override topNQuery(q: TopNQuery): BuiltQuery {
    const built = super.topNQuery(q);
    const s = this.summaries;
    const plan = s !== null && isEmptyFilter(q.filter) ? planFrom(s.validFrom, q.from, q.to) : null;
    return (plan !== null ? Rollups.topN(q, Number(built.params[built.params.length - 1]), this.table, plan, s!) : null) ?? built;
  }

  protected override seriesQuery(q: SeriesQuery): BuiltQuery {
    const built = super.seriesQuery(q);
    const s = this.summaries;
    const plan = s !== null && isEmptyFilter(q.filter) ? planFrom(s.validFrom, q.from, q.to) : null;
    return (plan !== null ? Rollups.series(q, this.table, plan, s!) : null) ?? built;
  }

  protected async rows(q: BuiltQuery): Promise<Record<string, unknown>[]> {
    const rs = await this.client.query({ query: bindClickHouse(q), format: 'JSONEachRow' });
    return rs.json<Record<string, unknown>>();
  }

  protected async stream(q: BuiltQuery, each: (rows: Record<string, unknown>[]) => Promise<boolean>): Promise<void> {
    const rs = await this.client.query({ query: bindClickHouse(q), format: 'JSONEachRow' });
    const source = rs.stream<Record<string, unknown>>();
    try {
      for await (const rows of source) if (!(await each(rows.map((r) => r.json<Record<string, unknown>>())))) break;
    } finally {
      source.destroy();
    }
  }
}

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
import { isEmptyFilter, SqlFlowQuery, type FlowFilter, type SeriesPoint, type SeriesQuery, type TopNQuery, type TopNRow } from './query.js';
import { planFrom, Rollups, type RollupPlan, type SummaryTables } from './rollup.js';
import { CLICKHOUSE_DIALECT, buildQuery, type BuiltQuery, type Param } from './sql.js';
import { QueryAbandonedError } from './query-gate.js';
import { queryScope } from './query-scope.js';

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
   * top lists and series over ranges holding whole hours from `validFrom` on read them (none while
   * it is 0). `validFrom` is asked again every `recheckMs` by the next such query, so this collector
   * follows another one on the same table turning them off or making them anew.
   */
  private summaries: (SummaryTables & { validFrom: number }) | null = null;
  /** False: the flows alone answer (bench:queries compares the two). */
  readSummaries = true;
  /** How often a query asks again from when the summaries may be read. */
  recheckMs = 30_000;
  private recheck: (() => Promise<number>) | null = null;
  private checkedAt = 0;
  private checking: Promise<void> | null = null;

  /** `table` is "database.table", both checked identifiers. */
  constructor(private readonly client: ClickHouseClient, private readonly table: string, tsSource: TimestampSource) {
    super(tsSource, (kind, q) => buildQuery(CLICKHOUSE_DIALECT, kind, q, table), true);
  }

  /** The summaries to read (null: none), and how to ask from when they may be read. */
  useSummaries(s: (SummaryTables & { validFrom: number }) | null, recheck: (() => Promise<number>) | null = null, now = Date.now()): void {
    this.summaries = s;
    this.recheck = recheck;
    this.checkedAt = now;
  }

  /** Not to be read until the state says otherwise (a view failed: they are short of a batch). */
  summariesUnusable(): void {
    if (this.summaries !== null) this.summaries.validFrom = 0;
  }

  /** From when the summaries are read now; null without summaries. */
  get summariesFrom(): number | null {
    return this.summaries?.validFrom ?? null;
  }

  private async fresh(): Promise<void> {
    if (this.summaries === null || this.recheck === null || Date.now() - this.checkedAt < this.recheckMs) return;
    // One question for the overview's ten queries at once. A failed one keeps the last answer.
    this.checking ??= this.recheck()
      .then((v) => {
        if (this.summaries !== null) this.summaries.validFrom = v;
        this.checkedAt = Date.now();
      }, () => {})
      .finally(() => {
        this.checking = null;
      });
    await this.checking;
  }

  override async topN(q: TopNQuery): Promise<TopNRow[]> {
    await this.fresh();
    return super.topN(q);
  }

  override async series(q: SeriesQuery): Promise<SeriesPoint[]> {
    await this.fresh();
    return super.series(q);
  }

  private plan(q: { from: number; to: number; filter?: FlowFilter }): RollupPlan | null {
    const s = this.summaries;
    return s !== null && this.readSummaries && s.validFrom > 0 && isEmptyFilter(q.filter) ? planFrom(s.validFrom, q.from, q.to) : null;
  }

  protected override topNQuery(q: TopNQuery): BuiltQuery {
    const built = super.topNQuery(q);
    const plan = this.plan(q);
    return (plan !== null ? Rollups.topN(q, Number(built.params[built.params.length - 1]), this.table, plan, this.summaries!) : null) ?? built;
  }

  protected override seriesQuery(q: SeriesQuery): BuiltQuery {
    const built = super.seriesQuery(q);
    const plan = this.plan(q);
    return (plan !== null ? Rollups.series(q, this.table, plan, this.summaries!) : null) ?? built;
  }

  protected async rows(q: BuiltQuery): Promise<Record<string, unknown>[]> {
    // A query whose client has gone is given up here (the request cut; the server runs it to its end
    // unless its cancel_http_readonly_queries_on_client_close is set, which a read-only user could not send).
    const signal = queryScope.getStore()?.signal;
    try {
      const rs = await this.client.query({ query: bindClickHouse(q), format: 'JSONEachRow', abort_signal: signal });
      return await rs.json<Record<string, unknown>>();
    } catch (err) {
      throw signal?.aborted === true ? new QueryAbandonedError() : err;
    }
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

/**
 * The DuckDB export picks its rows by the order's small columns first and reads whole rows only for
 * those (as the JSON page does): sorting whole rows, `rest` and the names with them, over the range
 * took DuckDB 1.7 GB for one export of 100,000 of 3M flows. The rows and their order stay those of
 * the whole-row sort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CLICKHOUSE_DIALECT, DUCKDB_DIALECT, buildQuery, type BuiltQuery } from '../src/store/sql.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { testConfig } from './helpers/collect.js';

test('the DuckDB export sorts the range by the key columns alone, then reads whole rows only for those it gives', () => {
  const q = { from: 1, to: 2, filter: { port: 443 }, limit: 100_000, offset: 0 };
  const { sql } = buildQuery(DUCKDB_DIALECT, 'export', q, 'flows');
  const inner = /WHERE rowid IN \((SELECT rowid FROM flows .* ORDER BY ts DESC, .* LIMIT \? OFFSET \?)\) ORDER BY ts DESC/s.exec(sql);
  assert.ok(inner !== null, `rows picked by rowid from a sort of the key columns: ${sql}`);
  assert.ok(!/\brest\b|SELECT \*/.test(inner[1]!), `the sort over the range reads no whole row: ${inner[1]}`);
  // ClickHouse reads the other columns for the rows that pass by itself: its export is as it was.
  const ch = buildQuery(CLICKHOUSE_DIALECT, 'export', q, 'flows').sql;
  assert.match(ch, /^SELECT \* FROM flows WHERE .* ORDER BY ts DESC, .* LIMIT \?, \?$/s, `ClickHouse's export: ${ch}`);
});

test('the DuckDB export gives the rows, in the order, of the whole-row sort, ties on the time included', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'x.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    const now = Date.now();
    // 50 flows a millisecond, differing in later columns of the order and in `rest` (inIfName).
    out.write(Array.from({ length: 4000 }, (_, i) => Object.assign(new FlowRecord(), {
      collectTs: now - Math.floor(i / 50), exporterIp: `192.0.2.${i % 3}`, srcIp: `10.0.${i % 7}.${i % 11}`, dstIp: '198.51.100.7', ipVersion: 4,
      proto: 6, srcPort: 40000 + (i % 13), dstPort: 443, bytes: 1000 + (i % 17), packets: 1 + (i % 5), inIfName: `if${i}`,
    })));
    await out.flush();
    const fq = out.flowQuery()!;
    const q = { from: now - 3_600_000, to: now + 1, limit: 1234 };
    const got: Record<string, unknown>[] = [];
    await fq.exportSearch(q, async (docs) => {
      got.push(...docs);
      return true;
    });
    // The export's query as it was: whole rows sorted over the range.
    const built = buildQuery(DUCKDB_DIALECT, 'export', { ...q, offset: 0 }, 'flows');
    const order = /ORDER BY (ts DESC, [^)]*?) LIMIT/.exec(built.sql)![1]!;
    const where = /SELECT rowid FROM flows (WHERE .*?) ORDER BY/s.exec(built.sql)![1]!;
    const before: BuiltQuery = { sql: `SELECT * FROM flows ${where} ORDER BY ${order} LIMIT ? OFFSET ?`, params: built.params };
    const want: Record<string, unknown>[] = [];
    await (fq as unknown as { stream: (b: BuiltQuery, each: (rows: Record<string, unknown>[]) => Promise<boolean>) => Promise<void> }).stream(before, async (rows) => {
      want.push(...rows.map((row) => (fq as unknown as { doc: (r: Record<string, unknown>) => Record<string, unknown> }).doc(row)));
      return true;
    });
    assert.equal(want.length, 1234, 'the whole-row sort gives the limit');
    assert.deepEqual(got, want, 'the same rows in the same order');
  } finally {
    await out.close();
  }
});

/**
 * Nothing lost in an outage (issue 7, item 6): 200,000 records replayed through the collector into
 * the real clickhouse-server, which is stopped for 30 s in the middle and started again; every
 * record must arrive exactly once. The full 1,000,000-record drill is the opt-in
 * `node --import tsx scripts/outage-clickhouse.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runClickHouseOutage } from '../scripts/outage-clickhouse.js';
import { needClickHouse } from './clickhouse-helpers.js';

test('ClickHouse stopped for 30 s during a 200,000-record replay: every record arrives exactly once', { timeout: 600_000 }, async (t) => {
  if (!(await needClickHouse(t))) return;
  const n = 200_000;
  const r = await runClickHouseOutage(n, 30_000, (s) => t.diagnostic(s));
  t.diagnostic(JSON.stringify(r.counters));
  assert.ok((r.counters.failures ?? 0) > 0, 'inserts failed while the server was down (the outage happened)');
  assert.ok((r.counters.spilled ?? 0) > 0, 'records were spilled to disk during the outage');
  assert.equal(r.counters.spill_dropped ?? 0, 0);
  assert.equal(r.counters.dropped_queue_full ?? 0, 0);
  assert.equal(r.count, n, 'no record lost or duplicated');
  assert.equal(r.distinct, n, 'each serial once');
  assert.equal(r.min, 1);
  assert.equal(r.max, n);
});

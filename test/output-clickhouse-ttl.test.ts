/**
 * ClickHouse retention keeps a day's flows at least EF_OUTPUT_CLICKHOUSE_RETENTION days, and at most
 * a day more (docs/stores.md), by either of its two paths: the table TTL on 19.6 and newer, and the
 * hourly DROP PARTITION that every version runs. Both go by the UTC day of `ts` (the `day` column);
 * a TTL of `day + N` deleted a day's newest rows when N-1 days old, a day before the partition drop.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@clickhouse/client';
import { ClickHouseOutput, createTableSql } from '../src/output/clickhouse/clickhouse.js';
import { chSummaryTablesSql } from '../src/store/clickhouse-rollup.js';
import { flowColumns } from '../src/store/columns.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { CH_URL, lockClickHouse, needClickHouse } from './clickhouse-helpers.js';

const DAY = 86_400_000;

/** The days a TTL clause adds to `day`; every TTL the output writes is of that form. */
function ttlDays(sql: string): number {
  const m = /TTL day \+ INTERVAL (\d+) DAY/.exec(sql);
  assert.ok(m !== null, `a TTL of the form day + INTERVAL n DAY in ${sql}`);
  return Number(m[1]);
}

/** When a TTL deletes the rows of the UTC day starting at `dayStart`: `day` plus its days, at 00:00 UTC. */
const expiry = (sql: string, dayStart: number): number => dayStart + ttlDays(sql) * DAY;

let unlock: (() => void) | null = null;
before(async () => {
  unlock = await lockClickHouse();
});
after(() => unlock?.());

test('ClickHouse TTL (19.6 and newer): a day\'s newest flow is kept at least the retention, its oldest at most a day more; the summaries the same', () => {
  const dayStart = Date.UTC(2025, 2, 10);
  const newest = dayStart + DAY - 1;
  for (const version of ['19.6.2.11', '24.8.4.13']) {
    for (const days of [1, 7, 30]) {
      const tables = [createTableSql('db', 'flows', flowColumns('collect'), days, version), ...chSummaryTablesSql('db', 'flows', days).slice(0, 2)];
      for (const sql of tables) {
        const at = expiry(sql, dayStart);
        assert.ok(at - newest >= days * DAY, `${version}, ${days} days: the newest row of a day kept ${(at - newest) / DAY} days (${sql.slice(0, 60)})`);
        assert.ok(at - dayStart <= (days + 1) * DAY, `${version}, ${days} days: the oldest row of a day kept ${(at - dayStart) / DAY} days (${sql.slice(0, 60)})`);
      }
    }
  }
});

test('ClickHouse retention by DROP PARTITION drops a day at the moment the TTL would delete it, not before (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = `ufc_ttl_test_${process.pid}_${Date.now() % 1e8}`;
  const retentionDays = 30;
  const out = new ClickHouseOutput({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays, timestampSource: 'collect', batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });
  try {
    await out.start();
    // A UTC day a few days back, within the retention now: its first and last millisecond.
    const dayStart = Math.floor(Date.now() / DAY) * DAY - 5 * DAY;
    out.write([dayStart, dayStart + DAY - 1].map((ts) => Object.assign(new FlowRecord(), { collectTs: ts, exporterIp: '192.0.2.79', srcIp: '10.0.0.1', dstIp: '10.0.0.2', ipVersion: 4, proto: 17, bytes: 5, packets: 1 })));
    await out.flush();
    const at = expiry(createTableSql(db, 'flows', flowColumns('collect'), retentionDays, '24.8.4.13'), dayStart);
    assert.equal(await out.applyRetention(at - 1), 0, 'the day is kept until the TTL moment');
    assert.equal(await out.applyRetention(at), 1, 'the day is dropped at the TTL moment');
  } finally {
    await out.close();
    const c = createClient({ url: CH_URL });
    try {
      await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    } finally {
      await c.close();
    }
  }
});

/**
 * The ClickHouse output and query module against a real clickhouse-server (Debian's 18.16 here;
 * scripts/start-test-servers.sh starts it on 127.0.0.1:8123). Captures replayed through the
 * collector with EF_OUTPUT_CLICKHOUSE_ENABLE=true land in a fresh database, and every query answers
 * what the independent reference says, exactly as for DuckDB. Then the outage drill (issue 7 item
 * 6): 200,000 records replayed while the server is stopped for 30 s; every record exactly once.
 * Skipped when the server is not installed or not listening, except under UFC_REQUIRE_TOOLS=1,
 * where that is a failure.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Collector } from '../src/collector.js';
import { ClickHouseOutput, createTableSql, supportsTtl } from '../src/output/clickhouse/clickhouse.js';
import { createOutputs } from '../src/output/registry.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { toDocument } from '../src/record/fields.js';
import { bindClickHouse } from '../src/store/clickhouse-query.js';
import { flowColumns, MAX_I64 } from '../src/store/columns.js';
import { flowQueryFrom } from '../src/store/query.js';
import type { ClickHouseFlowQuery } from '../src/store/clickhouse-query.js';
import { planFrom } from '../src/store/rollup.js';
import { CaptureOutput, tempDir, testConfig } from './helpers/collect.js';
import { needTool, TESTDATA } from './helpers/tools.js';
import { CH_URL, lockClickHouse, needClickHouse } from './clickhouse-helpers.js';
import * as ref from './store-reference.js';
import { checkAllQueries, checkExportSnapshot, checkInterfaceNames, checkIpSearch, checkSearchPages, checkThreatViews, checkWideValues, threatMix } from './store-reference.js';
import { runClickHouseOutage } from '../scripts/outage-clickhouse.js';

// One file at a time on the shared server: the outage drill below stops it (see clickhouse-helpers.ts).
let unlock: (() => void) | null = null;
before(async () => {
  unlock = await lockClickHouse();
});
after(() => unlock?.());

const uniqueDb = (): string => `ufc_test_${process.pid}_${Date.now() % 1e8}`;

async function dropDb(db: string): Promise<void> {
  const c = createClient({ url: CH_URL });
  try {
    await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  } finally {
    await c.close();
  }
}

/** The output's options for a test database of the local server. */
const outputOptions = (db: string) => ({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays: 30, timestampSource: 'collect' as const, batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });

/** A ClickHouse output on a fresh database of the local server, given to `check`, then closed and dropped. */
async function withOutput(t: TestContext, check: (out: ClickHouseOutput) => Promise<void>, timestampSource: 'collect' | 'start' = 'collect'): Promise<void> {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const out = new ClickHouseOutput({ ...outputOptions(db), timestampSource });
  try {
    await out.start();
    await check(out);
  } finally {
    await out.close();
    await dropDb(db);
  }
}

test('table DDL: MergeTree partitioned by day and ordered by time; TTL only from 19.6', () => {
  const cols = flowColumns('collect');
  const old = createTableSql('db', 'flows', cols, 30, '18.16.1');
  assert.match(old, /ENGINE = MergeTree\(\) PARTITION BY toYYYYMMDD\(day\) ORDER BY \(ts, exporter\)$/);
  assert.doesNotMatch(old, /TTL/);
  // From the day's end: a day's newest rows are kept the whole retention (output-clickhouse-ttl.test.ts).
  assert.match(createTableSql('db', 'flows', cols, 30, '19.6.2.11'), /TTL day \+ INTERVAL 31 DAY$/);
  assert.match(createTableSql('db', 'flows', cols, 7, '24.8.4.13'), /TTL day \+ INTERVAL 8 DAY$/);
  assert.equal(supportsTtl('19.5.4'), false);
  assert.equal(supportsTtl('20.3.1'), true);
});

test('ClickHouse summary plans: whole hours from valid_from on, always on the hour; the rest from the flows', () => {
  const H = 3_600_000;
  // valid_from 1 (a table the views saw from empty): every whole hour.
  assert.deepEqual(planFrom(1, 0, 5 * H + 7), { hours: [[H, 5 * H]], flows: [[0, H], [5 * H, 5 * H + 7]] });
  assert.deepEqual(planFrom(1, 1, 3 * H), { hours: [[H, 3 * H]], flows: [[1, H]] });
  // Hours before valid_from come from the flows.
  assert.deepEqual(planFrom(4 * H, H + 5, 9 * H), { hours: [[4 * H, 9 * H]], flows: [[H + 5, 4 * H]] });
  // Fewer than two whole hours: the flows alone.
  assert.equal(planFrom(1, H + 1, 3 * H), null);
  assert.equal(planFrom(8 * H, 0, 9 * H), null);
});

test('values are bound as escaped literals (18.16 has no server-side parameters)', () => {
  assert.equal(bindClickHouse({ sql: 'SELECT ? AS a, ? AS b', params: ["x' OR '1'='1", 7] }), "SELECT 'x\\' OR \\'1\\'=\\'1' AS a, 7 AS b");
  assert.equal(bindClickHouse({ sql: 'SELECT ?', params: ['a\\\'b'] }), "SELECT 'a\\\\\\'b'");
  assert.throws(() => bindClickHouse({ sql: 'SELECT ?', params: [1.5] }));
  assert.throws(() => bindClickHouse({ sql: 'SELECT ?, ?', params: [1] }));
});

test('ClickHouse store answers every query as the captured records say (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const config = testConfig({ EF_OUTPUT_CLICKHOUSE_ENABLE: 'true', EF_OUTPUT_CLICKHOUSE_DATABASE: db, EF_OUTPUT_CLICKHOUSE_BATCH_DEADLINE: '50', ...ref.netMetadataEnv() });
  const capture = new CaptureOutput();
  const outputs = [...createOutputs({ config, dataDir: config.EF_DATA_DIR }), capture];
  const ch = outputs.find((o) => o instanceof ClickHouseOutput) as ClickHouseOutput | undefined;
  assert.ok(ch, 'EF_OUTPUT_CLICKHOUSE_ENABLE=true builds the ClickHouse output');
  const collector = new Collector(config, { outputs });
  try {
    await collector.start();
    for (const c of ['akvorado/netflow/nfv5.pcap', 'flowbeat/pcap/ipt_netflow_v5.pcap', 'flowbeat/pcap/ipt_netflow_v9.pcap', 'flowbeat/pcap/ipfix_cisco.pcap',
      'pmacct-test-automation/100-IPFIXv10-CISCO/traffic-00.pcap', 'akvorado/sflow/data-1140.pcap', 'akvorado/sflow/data-icmpv6.pcap', 'ndpi/pcap/sflow.pcap']) {
      collector.replay(readFileSync(join(TESTDATA, c)));
    }
    await collector.flush();
    assert.equal(ch.counters().sent, capture.records.length);
    const q = flowQueryFrom(collector.outputs);
    assert.equal(q?.store, 'clickhouse');
    await checkAllQueries(q!, capture.records);

    // The table as the server holds it: one partition per day of data.
    const c = createClient({ url: CH_URL });
    try {
      const ddl = await (await c.query({ query: `SHOW CREATE TABLE ${db}.flows`, format: 'TabSeparatedRaw' })).text();
      assert.match(ddl, /MergeTree/);
      assert.match(ddl, /toYYYYMMDD\(day\)/);
      const parts = await (await c.query({ query: `SELECT count(DISTINCT partition) AS n FROM system.parts WHERE database = '${db}' AND table = 'flows' AND active`, format: 'JSONEachRow' })).json<{ n: string }>();
      const days = new Set(capture.records.map((r) => new Date(r.collectTs).toISOString().slice(0, 10)));
      assert.equal(Number(parts[0]!.n), days.size);
    } finally {
      await c.close();
    }
  } finally {
    await collector.stop();
    await dropDb(db);
  }
});

test('ClickHouse threat views and retention by DROP PARTITION (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const out = new ClickHouseOutput({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays: 30, timestampSource: 'collect', batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });
  try {
    await out.start();
    const now = Date.now();
    const recs = threatMix(now);
    out.write(recs);
    await out.flush();
    await checkThreatViews(out.flowQuery()!, recs, now);

    // Long and non-ASCII strings survive RowBinary (multi-byte LEB128 lengths, UTF-8).
    const odd = new FlowRecord();
    odd.collectTs = now - 5; odd.exporterIp = '192.0.2.88'; odd.srcIp = '2001:db8::77'; odd.dstIp = '2001:db8::78'; odd.ipVersion = 6; odd.proto = 58;
    odd.bytes = 2 ** 40 + 3; odd.packets = 9; odd.srcCity = 'Zürich-'.repeat(40); odd.dstAsOrg = '東京 "quoted" \\ back'; odd.dstLat = 35.68; odd.dstLon = 139.76;
    odd.setExtra('vendor.note', 'x'.repeat(20_000));
    out.write([odd]);
    await out.flush();
    const found = await out.flowQuery()!.search({ from: now - 10, to: now, filter: { exporter: '192.0.2.88' } });
    assert.equal(found.total, 1);
    assert.deepEqual(found.rows[0], toDocument(odd, { ecs: false, timestampSource: 'collect' }));

    const day = 86_400_000;
    // Each group within one UTC day (a partition) whatever the time now: from noon of today.
    const noon = Math.floor(now / day) * day + day / 2;
    const old: FlowRecord[] = [];
    for (const age of [45, 31, 29]) {
      for (let i = 0; i < 100; i++) {
        const r = new FlowRecord();
        r.collectTs = noon - age * day + i; r.exporterIp = '192.0.2.77'; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 17; r.bytes = 5; r.packets = 1;
        old.push(r);
      }
    }
    out.write(old);
    await out.flush();
    const q = out.flowQuery()!;
    const count = async (): Promise<number> => (await q.search({ from: 0, to: now + day, filter: { exporter: '192.0.2.77' } })).total;
    assert.equal(await count(), 300);
    const dropped = await out.applyRetention(now);
    assert.equal(dropped, 2, 'the 45- and 31-day-old partitions');
    assert.equal(await count(), 100);
    assert.equal((await q.search({ from: 0, to: now + day })).total, 100 + recs.length + 1, "today's data is untouched");
  } finally {
    await out.close();
    await dropDb(db);
  }
});

test('ClickHouse retention runs at start too: a collector started after a long stop drops the days past it then, not an hour later (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const day = 86_400_000;
  const noon = Math.floor(Date.now() / day) * day + day / 2;
  const first = new ClickHouseOutput(outputOptions(db));
  let second: ClickHouseOutput | null = null;
  try {
    await first.start();
    const recs = [45, 1].map((age) => Object.assign(new FlowRecord(), { collectTs: noon - age * day, exporterIp: '192.0.2.78', srcIp: '10.0.0.1', dstIp: '10.0.0.2', ipVersion: 4, proto: 17, bytes: 5, packets: 1 }));
    first.write(recs);
    await first.flush();
    await first.close();
    second = new ClickHouseOutput(outputOptions(db));
    await second.start();
    const q = second.flowQuery()!;
    const count = async (): Promise<number> => (await q.search({ from: 0, to: noon + day, filter: { exporter: '192.0.2.78' } })).total;
    let n = await count();
    for (const end = Date.now() + 10_000; n !== 1 && Date.now() < end; n = await count()) await new Promise((r) => setTimeout(r, 100));
    assert.equal(n, 1, 'the 45-day-old flow dropped at start (retention 30 days), the 1-day-old kept');
    assert.equal(second.counters().retention_dropped_partitions, 1);
  } finally {
    await second?.close();
    await dropDb(db);
  }
});

test('ClickHouse hourly summaries: kept by the server as flows are inserted, read for whole hours by unfiltered top lists and series with the same answers; a table from before them; retention drops their days (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const H = 3_600_000;
  const opts = outputOptions(db);
  const make = ref.rollupMaker(11);
  const next = Math.floor(Date.now() / H) * H + H;
  // Hours both side of the start's: flows stamped ahead too, as an exporter's clock may stamp them.
  const c = createClient({ url: CH_URL });
  const outs: ClickHouseOutput[] = [];
  const started = async (): Promise<ClickHouseFlowQuery> => {
    const o = new ClickHouseOutput(opts);
    outs.push(o);
    await o.start();
    return o.flowQuery() as ClickHouseFlowQuery;
  };
  const store = async (recs: FlowRecord[]): Promise<void> => {
    const o = outs[outs.length - 1]!;
    o.write(recs);
    await o.flush();
  };
  const forgetSummaries = async (): Promise<void> => {
    for (const x of ['flows_top_hour_mv_v2', 'flows_minute_mv_v1', 'flows_rollup_state_v1']) await c.command({ query: `DROP TABLE ${db}.${x}` });
  };
  try {
    // A new table: the views come with it, so they hold every hour.
    const q1 = await started();
    assert.equal(q1.summariesFrom, 1);
    // Thirty hours of flows, ten before the next hour and twenty after.
    let recs = make(next - 10 * H + 17 * 60_000, next + 20 * H - 5 * 60_000, 6000);
    await store(recs);
    const ranges: [number, number][] = [[next - 10 * H, next + 20 * H], [next - 3 * H + 123_457, next + 15 * H - 77_000], [next + 2 * H, next + 6 * H]];
    for (const [from, to] of ranges) assert.ok(planFrom(1, from, to) !== null, 'each range reads summaries');
    await ref.checkOverviewLists(q1, recs, ranges, 'summaries', next);
    // An AS seen without its organisation name in some flows: the name shown is the one there is.
    const unnamed = make(next + 3 * H + 5, next + 4 * H - 1, 60).map((r) => {
      r.srcAs = 64500;
      r.srcAsOrg = '';
      return r;
    });
    await store(unnamed);
    recs = [...recs, ...unnamed];
    // Flows arriving late for an hour already summarised are added to it.
    const late = make(next + 4 * H + 5, next + 5 * H - 1, 300);
    await store(late);
    recs = [...recs, ...late];
    await ref.checkOverviewLists(q1, recs, ranges, 'late flows', next);
    // The server adds rows of one key together as it merges: the answers stay the same.
    for (const x of ['flows_top_hour_v2', 'flows_minute_v1']) await c.command({ query: `OPTIMIZE TABLE ${db}.${x} FINAL` });
    await ref.checkOverviewLists(q1, recs, ranges, 'after merges', next);

    // A table from before the summaries (an older version wrote it, without the views): its flows
    // are in no summary, so a start holds them only from the hour after its newest flow.
    await started();
    await forgetSummaries();
    const unsummarised = make(next + 20 * H + 60_000, next + 24 * H - 60_000, 800);
    await store(unsummarised);
    recs = [...recs, ...unsummarised];
    const q3 = await started();
    const from3 = next + 24 * H;
    assert.equal(q3.summariesFrom, from3);
    const after = make(from3 + 17 * 60_000, from3 + 5 * H, 1000);
    await store(after);
    recs = [...recs, ...after];
    const ranges3: [number, number][] = [[next - 10 * H, from3 + 6 * H], [next + 18 * H, from3 + 4 * H + 1], [from3, from3 + 5 * H]];
    assert.ok(planFrom(from3, next + 18 * H, from3 + 4 * H + 1) !== null);
    await ref.checkOverviewLists(q3, recs, ranges3, 'a table from before the summaries', next);

    // Retention drops a day from the summaries as from the flows.
    const dayOf = (ms: number): number => Math.floor(ms / 86_400_000);
    const keptFrom = dayOf(next - 10 * H) + 1;
    const dropped = await outs[outs.length - 1]!.applyRetention(keptFrom * 86_400_000 + 30 * 86_400_000 + 1);
    assert.equal(dropped, 1, 'one day of flows');
    const days = await (await c.query({ query: `SELECT table, min(partition) AS p FROM system.parts WHERE database = '${db}' AND active AND table != 'flows_rollup_state_v1' GROUP BY table`, format: 'JSONEachRow' })).json<{ table: string; p: string }>();
    const ymd = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    for (const x of days) assert.ok(x.p >= ymd(keptFrom), `${x.table} keeps no day before ${ymd(keptFrom)}`);
    assert.deepEqual(days.map((x) => x.table).sort(), ['flows', 'flows_minute_v1', 'flows_top_hour_v2']);
    recs = recs.filter((r) => dayOf(r.collectTs) >= keptFrom);
    await ref.checkOverviewLists(q3, recs, ranges3, 'after retention', next);

    // Turned off (EF_OUTPUT_CLICKHOUSE_SUMMARIES_ENABLE=false) the views go and queries read the
    // flows; turned on again, the hours of flows stored meanwhile are not read from the summaries.
    const views = async (): Promise<number> => Number((await (await c.query({ query: `SELECT count() AS n FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView'`, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    const off = new ClickHouseOutput({ ...opts, summaries: false });
    outs.push(off);
    await off.start();
    assert.equal((off.flowQuery() as ClickHouseFlowQuery).summariesFrom, null);
    assert.equal(await views(), 0);
    const whileOff = make(from3 + 6 * H + 60_000, from3 + 8 * H - 60_000, 400);
    await store(whileOff);
    recs = [...recs, ...whileOff];
    const q5 = await started();
    assert.equal(await views(), 2);
    assert.equal(q5.summariesFrom, from3 + 8 * H);
    await ref.checkOverviewLists(q5, recs, [[next, from3 + 10 * H]], 'summaries off, then on again', next);
  } finally {
    for (const o of outs) await o.close();
    await c.close();
    await dropDb(db);
  }
});

test('ClickHouse hourly summaries under several collectors on one table: starts at once, one turning them off, a start cut short, a failing view, a dropped summary table, a renamed table, and sums past 2^64 (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const H = 3_600_000;
  const opts = outputOptions(db);
  const base = Math.floor(Date.now() / H) * H + 2 * H;
  const make = ref.rollupMaker(5);
  const c = createClient({ url: CH_URL });
  const outs: ClickHouseOutput[] = [];
  const start = async (o: Partial<typeof opts & { summaries: boolean }> = {}): Promise<{ out: ClickHouseOutput; q: ClickHouseFlowQuery }> => {
    const out = new ClickHouseOutput({ ...opts, ...o });
    outs.push(out);
    await out.start();
    const q = out.flowQuery() as ClickHouseFlowQuery;
    q.recheckMs = 0;
    return { out, q };
  };
  const store = async (out: ClickHouseOutput, recs: FlowRecord[]): Promise<void> => {
    out.write(recs);
    await out.flush();
  };
  /** Summaries against the flows alone, same store: every overview list and series over [from, to). */
  const same = async (q: ClickHouseFlowQuery, from: number, to: number, what: string): Promise<void> => {
    const ask = async (): Promise<unknown[]> => [
      ...await Promise.all((['flow.src.ip.addr', 'flow.src.as.asn', 'l4.proto.id'] as const).map((field) => q.topN({ from, to, field, metric: 'bytes', limit: 1000 }))),
      await q.series({ from, to, stepMs: 900_000 }),
    ];
    q.readSummaries = false;
    const flows = await ask();
    q.readSummaries = true;
    assert.deepEqual(await ask(), flows, what);
  };
  try {
    // Four collectors starting at once on a new table: each gets the summaries.
    const four = await Promise.all([0, 1, 2, 3].map(() => start()));
    for (const { q } of four) assert.equal(q.summariesFrom, 1);
    const a = four[0]!;
    let recs = make(base + 60_000, base + 6 * H, 2000);
    // Sums past 2^64 (the clamp bound, three times in an hour) are kept whole, as the flows' are.
    const wide = make(base + H + 60_000, base + H + 120_000, 3).map((r) => {
      r.bytes = MAX_I64;
      return r;
    });
    await store(a.out, [...recs, ...wide]);
    recs = [...recs, ...wide];
    assert.ok(planFrom(1, base, base + 6 * H) !== null);
    await same(a.q, base, base + 6 * H, 'four collectors, wide sums');

    // Another collector turns them off: the views go, and the first one notices and reads the flows.
    const off = await start({ summaries: false });
    await store(off.out, make(base + 2 * H + 60_000, base + 3 * H, 200));
    assert.equal((await a.q.topN({ from: base, to: base + 6 * H, field: 'l4.proto.id', metric: 'flows' })).length > 0, true);
    assert.equal(a.q.summariesFrom, 0);
    await same(a.q, base, base + 6 * H, 'after another collector turned them off');
    // Turned on again elsewhere: from the hour after the newest flow on, for the first one too.
    const on = await start();
    const from2 = base + 6 * H;
    assert.equal(on.q.summariesFrom, from2);
    await store(on.out, make(from2 + 60_000, from2 + 3 * H, 300));
    await a.q.series({ from: base, to: from2 + 3 * H, stepMs: H });
    assert.equal(a.q.summariesFrom, from2);
    await same(a.q, base, from2 + 3 * H, 'turned on again');

    // A start cut short after making the views, before saying from when: the next one finishes.
    await c.command({ query: `INSERT INTO ${db}.flows_rollup_state_v1 (valid_from, at, rnd) SELECT 0, (SELECT max(at) FROM ${db}.flows_rollup_state_v1) + 1, 0` });
    const resumed = await start();
    assert.equal(resumed.q.summariesFrom, from2 + 3 * H);

    // A view that fails during an insert (here a stand-in that refuses one value): the flows are
    // written before it fails, so the batch is stored once, not again on every retry, and the
    // summaries are declared unusable for every collector.
    await c.command({ query: `CREATE TABLE ${db}.refuse (x UInt8) ENGINE = Log` });
    await c.command({ query: `CREATE MATERIALIZED VIEW ${db}.refuse_mv TO ${db}.refuse AS SELECT throwIf(bytes = 999) AS x FROM ${db}.flows` });
    const bad = make(from2 + 4 * H, from2 + 4 * H + 1, 1)[0]!;
    bad.bytes = 999; bad.exporterIp = '192.0.2.99';
    await store(resumed.out, [bad]);
    assert.equal((await resumed.q.search({ from: 0, to: 8.64e15, filter: { exporter: '192.0.2.99' } })).total, 1, 'stored once');
    assert.equal(resumed.out.counters().summary_view_failures, 1);
    assert.equal(resumed.q.summariesFrom, 0);
    await a.q.series({ from: base, to: from2 + 3 * H, stepMs: H });
    assert.equal(a.q.summariesFrom, 0, 'the others stop reading them');
    // Once inserts go through again, they are read again from the next hour on.
    await c.command({ query: `DROP TABLE ${db}.refuse_mv` });
    await store(resumed.out, make(from2 + 5 * H, from2 + 5 * H + 1, 1));
    const from3 = from2 + 6 * H;
    assert.equal(resumed.q.summariesFrom, from3);
    await a.q.series({ from: base, to: from2 + 3 * H, stepMs: H });
    assert.equal(a.q.summariesFrom, from3);
    await store(resumed.out, make(from3 + 60_000, from3 + 3 * H, 300));
    await same(a.q, base, from3 + 3 * H, 'after a failing view');

    // A summary table dropped by hand: inserts fail (storing nothing) until the next try makes it
    // again, and the summaries start anew from the hour after the newest flow stored before; the
    // batch retried after that is in them.
    await c.command({ query: `DROP TABLE ${db}.flows_minute_v1` });
    await store(resumed.out, make(from3 + 3 * H + 60_000, from3 + 4 * H, 50));
    const from4 = from3 + 3 * H;
    await a.q.series({ from: base, to: from4, stepMs: H });
    assert.equal(a.q.summariesFrom, from4);
    await store(resumed.out, make(from4 + 60_000, from4 + 3 * H, 300));
    await same(a.q, base, from4 + 3 * H, 'after a summary table was dropped');
    for (const o of outs.splice(0)) await o.close();

    // The table renamed (as a layout error advises) and a new one made under the name: the old
    // table's summaries are not the new one's, also when the first start on it has them off.
    await c.command({ query: `RENAME TABLE ${db}.flows TO ${db}.flows_old` });
    await start({ summaries: false });
    for (const o of outs.splice(0)) await o.close();
    const fresh = await start();
    assert.equal(fresh.q.summariesFrom, 1);
    const newRecs = make(base + 60_000, base + 5 * H, 500);
    await store(fresh.out, newRecs);
    await ref.checkOverviewLists(fresh.q, newRecs, [[base, base + 5 * H]], 'a new table under the old name', base);
  } finally {
    for (const o of outs) await o.close();
    await c.close();
    await dropDb(db);
  }
});

test('ClickHouse: values wider than their column are stored at the bound DuckDB uses, and counted; the records after them arrive (real server)', (t) => withOutput(t, checkWideValues));

test('ClickHouse: IP and CIDR search over IPv4 and IPv6 in every textual form the records carry (real server)', (t) => withOutput(t, checkIpSearch));
test('ClickHouse: interface names from options data: the newest per interface, input side first, and back in search (real server)', (t) => withOutput(t, checkInterfaceNames));

test('ClickHouse: search pages read from the newest part of the range when it holds them, and equal the whole list\'s slices (real server)', (t) => withOutput(t, checkSearchPages));

test('ClickHouse: a @timestamp in 2106 past what its dates hold is clamped, so retention keeps the row (real server)', (t) => withOutput(t, async (out) => {
  const now = Date.now();
  // 2106-02-07 00:00:01 and 06:28:15 UTC: ClickHouse's dates wrap to 1970 from 2106-02-07 00:00.
  const recs = [now - 5000, 4_294_944_001_000, 4_294_967_295_000].map((start, i) => {
    const r = new FlowRecord();
    r.collectTs = now; r.startTs = r.endTs = start; r.exporterIp = '192.0.2.66'; r.srcIp = `10.0.0.${i + 1}`; r.dstIp = '10.0.0.9'; r.ipVersion = 4; r.proto = 17; r.bytes = 5; r.packets = 1;
    return r;
  });
  out.write(recs);
  await out.flush();
  const q = out.flowQuery()!;
  await out.applyRetention(now);
  const found = await q.search({ from: 0, to: 8.64e15, filter: { exporter: '192.0.2.66' } });
  assert.deepEqual(found.rows.map((row) => row['flow.src.ip.addr']).sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
}, 'start'));

test('ClickHouse export: one query, so rows arriving while it is read neither repeat nor push others out (real server)', (t) => withOutput(t, (out) => checkExportSnapshot(out, '192.0.2.78')));

test('ClickHouse over https with a self-signed certificate: refused by default, trusted with EF_OUTPUT_CLICKHOUSE_TLS_CA_CERT_FILEPATH, accepted with _TLS_SKIP_VERIFICATION (real server behind a TLS proxy)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const dir = tempDir();
  const certPath = join(dir, 'ch.crt'), keyPath = join(dir, 'ch.key');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  // TLS in front of the plain server, as a load balancer or ClickHouse's own https_port would be.
  const proxy = createTlsServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (client) => {
    const server = connect(8123, '127.0.0.1');
    client.pipe(server).pipe(client);
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => proxy.close(() => r())));
  const url = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const records = (n: number, tag: number): FlowRecord[] => Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.collectTs = r.startTs = r.endTs = Date.now(); r.exporterIp = '192.0.2.70'; r.srcIp = `10.7.${tag}.${i + 1}`; r.dstIp = '10.7.0.254'; r.ipVersion = 4; r.proto = 6; r.bytes = 100; r.packets = 1;
    return r;
  });
  for (const tls of [{ caCertPath: '', skipVerification: false }, { caCertPath: certPath, skipVerification: false }, { caCertPath: '', skipVerification: true }]) {
    const db = uniqueDb();
    const out = new ClickHouseOutput({ ...outputOptions(db), url, tls, requestTimeoutMs: 5000 });
    try {
      await out.start();
      out.write(records(20, 1));
      const trusted = tls.caCertPath !== '' || tls.skipVerification;
      // A refusal is retried for as long as the output runs: the first failure is the answer.
      const end = Date.now() + 15_000;
      while (out.counters().failures === 0 && out.counters().sent! < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      const c = out.counters();
      assert.equal(c.sent, trusted ? 20 : 0, JSON.stringify(tls));
      if (!trusted) assert.ok(c.failures! > 0, 'the self-signed certificate is refused');
      else {
        const c2 = createClient({ url: CH_URL });
        try {
          const rows = await (await c2.query({ query: `SELECT count() AS n FROM ${db}.flows`, format: 'JSONEachRow' })).json<{ n: string }>();
          assert.equal(Number(rows[0]!.n), 20);
        } finally {
          await c2.close();
        }
      }
    } finally {
      await out.close();
      await dropDb(db);
    }
  }
});

test('ClickHouse: an existing table with a column of another type stops start-up, naming the column (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const c = createClient({ url: CH_URL });
  try {
    await c.command({ query: `CREATE DATABASE ${db}` });
    const cols = flowColumns('collect');
    const ddl = createTableSql(db, 'flows', cols, 30, '18.16.1').replace('sampling_rate UInt32', 'sampling_rate UInt16');
    assert.notEqual(ddl, createTableSql(db, 'flows', cols, 30, '18.16.1'));
    await c.command({ query: ddl });
    const out = new ClickHouseOutput({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays: 30, timestampSource: 'collect', batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });
    await assert.rejects(out.start(), /ClickHouse table \w+\.flows has columns of other types than this version writes: sampling_rate is UInt16, expected UInt32/);
    await out.close();
  } finally {
    await c.close();
    await dropDb(db);
  }
});

test('ClickHouse: a table of the layout before export time, TOS, masks and next hop had columns: old rows show them from `rest` (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const c = createClient({ url: CH_URL });
  try {
    await c.command({ query: `CREATE DATABASE ${db}` });
    const moved = ['export_ts', 'tos', 'src_mask', 'dst_mask', 'next_hop'];
    await c.command({ query: createTableSql(db, 'flows', flowColumns('collect').filter((col) => !moved.includes(col.name)), 30, '18.16.1') });
    // A row as versions before f480417 wrote it: those five values inside the rest JSON.
    const rest = JSON.stringify({ exportTs: 1_700_000_000_000, tos: 184, srcMask: 16, dstMask: 24, nextHop: '192.168.1.1', sequence: 7 });
    await c.command({ query: `INSERT INTO ${db}.flows (ts, src_ip, dst_ip, rest) VALUES (1700000000500, '10.0.0.1', '10.0.0.2', '${rest}')` });
    // Its rows are of 2023: a retention that keeps them (it runs at start).
    const out = new ClickHouseOutput({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays: 36500, timestampSource: 'collect', batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });
    await out.start();
    const r = new FlowRecord();
    r.collectTs = 1_700_000_001_000;
    r.exportTs = 1_700_000_000_900;
    r.srcMask = 8;
    r.nextHop = '192.0.2.254';
    out.write([r]);
    await out.flush();
    await out.close();
    const rs = await c.query({ query: `SELECT export_ts, tos, src_mask, dst_mask, next_hop FROM ${db}.flows ORDER BY ts`, format: 'JSONEachRow' });
    assert.deepEqual(await rs.json(), [
      { export_ts: '1700000000000', tos: 184, src_mask: 16, dst_mask: 24, next_hop: '192.168.1.1' },
      { export_ts: '1700000000900', tos: 0, src_mask: 8, dst_mask: 0, next_hop: '192.0.2.254' },
    ]);
  } finally {
    await c.close();
    await dropDb(db);
  }
});

test('ClickHouse: a table of the layout before the network columns: old rows show their names from `rest`, the filter finds them; the v1 top-list summaries give way to v2 (real server)', async (t) => {
  if (!(await needClickHouse(t))) return;
  const db = uniqueDb();
  const c = createClient({ url: CH_URL });
  const H = 3_600_000;
  try {
    await c.command({ query: `CREATE DATABASE ${db}` });
    await c.command({ query: createTableSql(db, 'flows', flowColumns('collect').filter((col) => col.name !== 'src_net' && col.name !== 'dst_net'), 30, '18.16.1') });
    // What the version before made beside it: the v1 top-list view and table (the view fed on every insert).
    await c.command({ query: `CREATE TABLE ${db}.flows_top_hour_v1 (day Date, hour UInt64, dim UInt8, kn Int64, kt String, label String, b Decimal128(0), p Decimal128(0), f UInt64) ENGINE = SummingMergeTree((b, p, f)) PARTITION BY toYYYYMMDD(day) ORDER BY (hour, dim, kn, kt, label)` });
    await c.command({ query: `CREATE MATERIALIZED VIEW ${db}.flows_top_hour_mv_v1 TO ${db}.flows_top_hour_v1 AS SELECT day, intDiv(ts, ${H}) * ${H} AS hour, toUInt8(0) AS dim, toInt64(0) AS kn, src_ip AS kt, '' AS label, sum(toDecimal128(bytes, 0)) AS b, sum(toDecimal128(packets, 0)) AS p, count() AS f FROM ${db}.flows GROUP BY day, hour, kt` });
    // Rows as the version before wrote them: the names inside the rest JSON (one with escapes).
    const old = [
      { ts: 1_700_000_000_500, src: '10.0.0.1', rest: { srcSubnetName: 'office', dstSubnetName: 'Büro "B"', sequence: 7 } },
      { ts: 1_700_000_000_600, src: '10.0.0.2', rest: { dstSubnetName: 'office' } },
      { ts: 1_700_000_000_700, src: '10.0.0.3', rest: { sequence: 8 } },
      // A key of `extra` named like the record's own: not the row's network.
      { ts: 1_700_000_000_800, src: '10.0.0.5', rest: { sequence: 9, extra: { dstSubnetName: 'in extra' } } },
    ];
    const lit = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    await c.command({ query: `INSERT INTO ${db}.flows (ts, kind, src_ip, bytes, rest) VALUES ${old.map((o) => `(${o.ts}, 'flow', '${o.src}', 100, ${lit(JSON.stringify(o.rest))})`).join(', ')}` });
    // Its rows are of 2023: a retention that keeps them (it runs at start).
    const out = new ClickHouseOutput({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays: 36500, timestampSource: 'collect', batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });
    await out.start();
    try {
      const r = new FlowRecord();
      r.collectTs = 1_700_000_001_000;
      r.srcIp = '10.0.0.4';
      r.bytes = 100;
      r.srcSubnetName = 'lab';
      out.write([r]);
      await out.flush();
      const rs = await c.query({ query: `SELECT src_ip, src_net, dst_net, position(rest, 'SubnetName') > 0 AS in_rest FROM ${db}.flows ORDER BY ts`, format: 'JSONEachRow' });
      assert.deepEqual(await rs.json(), [
        { src_ip: '10.0.0.1', src_net: 'office', dst_net: 'Büro "B"', in_rest: 1 },
        { src_ip: '10.0.0.2', src_net: '', dst_net: 'office', in_rest: 1 },
        { src_ip: '10.0.0.3', src_net: '', dst_net: '', in_rest: 0 },
        { src_ip: '10.0.0.5', src_net: '', dst_net: '', in_rest: 1 },
        { src_ip: '10.0.0.4', src_net: 'lab', dst_net: '', in_rest: 0 },
      ]);
      const q = out.flowQuery()!;
      const range = { from: 1_700_000_000_000, to: 1_700_000_002_000 };
      const found = await q.search({ ...range, filter: { net: 'office' } });
      assert.deepEqual(found.rows.map((d) => d['flow.src.ip.addr']).sort(), ['10.0.0.1', '10.0.0.2']);
      assert.equal(found.rows.find((d) => d['flow.src.ip.addr'] === '10.0.0.1')!['flow.dst.ip.subnet.name'], 'Büro "B"');
      assert.equal(await q.count({ ...range, filter: { net: 'Büro "B"' } }), 1);
      const tables = await (await c.query({ query: `SELECT name FROM system.tables WHERE database = '${db}' AND name LIKE 'flows_top_hour%' ORDER BY name`, format: 'JSONEachRow' })).json<{ name: string }>();
      assert.deepEqual(tables.map((x) => x.name), ['flows_top_hour_mv_v2', 'flows_top_hour_v2'], 'the v1 view and table are gone');
      // The new summaries hold only hours after the start (the flows before are in none of them).
      assert.ok((q as ClickHouseFlowQuery).summariesFrom! > Date.now() - H);
    } finally {
      await out.close();
    }
  } finally {
    await c.close();
    await dropDb(db);
  }
});

// Last in this file (tests in a file run one after another): it stops the server the others use.
// The full 1,000,000-record drill is the opt-in `node --import tsx scripts/outage-clickhouse.ts`.
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

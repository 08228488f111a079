/**
 * The embedded DuckDB store: records replayed from real captures through the whole collector
 * (EF_OUTPUT_DUCKDB_ENABLE=true) land in the store, and every query of the query module answers
 * what an independent JS computation over the same captured records says (test/store-reference.ts).
 * Also: threat views on enriched records, retention, the size guard, input validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import { createOutputs } from '../src/output/registry.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { toDocument } from '../src/record/fields.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { flowQueryFrom, QueryInputError, type FlowQuery } from '../src/store/query.js';
import { CaptureOutput, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { within } from '../src/within.js';
import * as ref from './store-reference.js';
import { checkAllQueries, checkExportSnapshot, checkInterfaceNames, checkIpSearch, checkSearchPages, checkThreatViews, checkWideValues } from './store-reference.js';

const CAPTURES = [
  'akvorado/netflow/nfv5.pcap',
  'flowbeat/pcap/ipt_netflow_v5.pcap',
  'flowbeat/pcap/ipt_netflow_v9.pcap',
  'flowbeat/pcap/ipfix_cisco.pcap',
  'pmacct-test-automation/100-IPFIXv10-CISCO/traffic-00.pcap',
  'akvorado/sflow/data-1140.pcap',
  'akvorado/sflow/data-icmpv6.pcap',
  'ndpi/pcap/sflow.pcap',
];


async function replayIntoDuckDb(): Promise<{ collector: Collector; records: FlowRecord[]; q: FlowQuery; out: DuckDbOutput }> {
  const config = testConfig({ EF_OUTPUT_DUCKDB_ENABLE: 'true', ...ref.netMetadataEnv() });
  const capture = new CaptureOutput();
  const dataDir = config.EF_DATA_DIR;
  const outputs = [...createOutputs({ config, dataDir }), capture];
  const out = outputs.find((o) => o instanceof DuckDbOutput) as DuckDbOutput | undefined;
  assert.ok(out, 'EF_OUTPUT_DUCKDB_ENABLE=true builds the DuckDB output');
  const collector = new Collector(config, { outputs });
  await collector.start();
  assert.ok(existsSync(join(dataDir, 'flows.duckdb')), 'the database file is created in EF_DATA_DIR on first start');
  for (const c of CAPTURES) collector.replay(readFileSync(join(TESTDATA, c)));
  await collector.flush();
  const q = flowQueryFrom(collector.outputs);
  assert.ok(q !== null && q.store === 'duckdb');
  return { collector, records: capture.records, q, out };
}

test('DuckDB store answers every query as the captured records say', async () => {
  const { collector, records, q, out } = await replayIntoDuckDb();
  try {
    assert.equal(out.counters().sent, records.length, 'every record was appended');
    await checkAllQueries(q, records);
  } finally {
    await collector.stop();
  }
});

test('DuckDB threat views: flows touching listed addresses, at-risk servers, high-risk clients', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 't.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 128, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    const now = Date.now();
    const recs = ref.threatMix(now);
    out.write(recs);
    await out.flush();
    await checkThreatViews(out.flowQuery()!, recs, now);

    // Long and non-ASCII strings, a 64-bit counter and a large `extra` round-trip unchanged.
    const odd = new FlowRecord();
    odd.collectTs = now + 5; odd.exporterIp = '192.0.2.88'; odd.srcIp = '2001:db8::77'; odd.dstIp = '2001:db8::78'; odd.ipVersion = 6; odd.proto = 58; odd.icmpType = 128;
    odd.bytes = 2 ** 40 + 3; odd.packets = 9; odd.srcCity = 'Zürich-'.repeat(40); odd.dstAsOrg = '東京 "quoted" \\ back'; odd.dstLat = 35.68; odd.dstLon = 139.76;
    odd.direction = 1; odd.srcMac = '00:11:22:33:44:55'; odd.setExtra('vendor.note', 'x'.repeat(20_000)); odd.setExtra('vendor.flag', true);
    out.write([odd]);
    await out.flush();
    const found = await out.flowQuery()!.search({ from: now, to: now + 10, filter: { exporter: '192.0.2.88' } });
    assert.equal(found.total, 1);
    assert.deepEqual(found.rows[0], toDocument(odd, { ecs: false, timestampSource: 'collect' }));
  } finally {
    await out.close();
  }
});

test('DuckDB export: one consistent view while flows keep arriving', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'e.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    await checkExportSnapshot(out, '192.0.2.77');
  } finally {
    await out.close();
  }
});

test('DuckDB retention deletes rows older than EF_OUTPUT_DUCKDB_RETENTION days; the size guard removes oldest days', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'r.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 1000, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    const day = 86_400_000;
    const now = Date.UTC(2026, 5, 15, 12);
    const ages = [10, 9, 8, 6, 3, 1, 0];
    const recs: FlowRecord[] = [];
    for (const a of ages) {
      for (let i = 0; i < 500; i++) {
        const r = new FlowRecord();
        r.collectTs = now - a * day + i; r.exporterIp = '192.0.2.1'; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 17; r.bytes = 1; r.packets = 1;
        recs.push(r);
      }
    }
    out.write(recs);
    await out.flush();
    const q = out.flowQuery()!;
    const count = async (): Promise<number> => (await q.search({ from: 0, to: now + day })).total;
    assert.equal(await count(), ages.length * 500);
    await out.maintain(now);
    assert.equal(await count(), 4 * 500, 'rows 8, 9 and 10 days old are gone; 6 days and newer kept');
    assert.equal(out.counters().retention_deleted, 3 * 500);
    const left = await q.exporters({ from: 0, to: now + day });
    assert.equal(left[0]!.firstSeen, now - 6 * day);

    // Size guard: with a cap below what is stored, whole oldest days go until only the newest is left.
    (out.store.opts as { maxBytes: number }).maxBytes = 1;
    const deleted = await out.store.applySizeGuard();
    assert.equal(deleted, 3 * 500);
    const after = await q.exporters({ from: 0, to: now + day });
    assert.equal(after[0]!.flows, 500);
    assert.equal(after[0]!.firstSeen, now);
  } finally {
    await out.close();
  }
});

test('query input is validated: bad CIDRs, ports, ranges and fields are refused', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'v.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 10, deadlineMs: 10, queueMax: 100 });
  await out.start();
  try {
    const q = out.flowQuery()!;
    const r = { from: 0, to: 10 };
    for (const ip of ['10.0.0.0/33', '10.0.0.256', "1.2.3.4' OR 1=1 --", '::1/129', '1.2.3.4/', 'a.b.c.d/8', '']) {
      await assert.rejects(q.search({ ...r, filter: { ip } }), QueryInputError, ip);
    }
    await assert.rejects(q.search({ ...r, filter: { exporter: "x'; DROP TABLE flows; --" } }), QueryInputError);
    await assert.rejects(q.search({ ...r, filter: { port: 70000 } }), QueryInputError);
    await assert.rejects(q.search({ from: 10, to: 5 }), QueryInputError);
    await assert.rejects(q.search({ ...r, limit: 0 }), QueryInputError);
    await assert.rejects(q.series({ from: 0, to: 86_400_000, stepMs: 1 }), QueryInputError);
    await assert.rejects(q.topN({ ...r, field: 'src_ip; DROP TABLE flows' as never, metric: 'bytes' }), QueryInputError);
    await assert.rejects(q.topN({ ...r, field: 'flow.src.ip.addr', metric: 'rows' as never }), QueryInputError);
    assert.equal((await q.search({ ...r, filter: { ip: '2001:DB8::1/48' } })).total, 0, 'valid IPv6 CIDR in any case is accepted');
  } finally {
    await out.close();
  }
});

/** A DuckDB output on a fresh file, given to `check`, then closed. */
async function withOutput(name: string, check: (out: DuckDbOutput) => Promise<void>, opts: { batchMax?: number } = {}): Promise<void> {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, `${name}.duckdb`), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 100, deadlineMs: 10, queueMax: 10_000, ...opts });
  await out.start();
  try {
    await check(out);
  } finally {
    await out.close();
  }
}

test('IP and CIDR search over IPv4 and IPv6 in every textual form the records carry', () => withOutput('ip', checkIpSearch));
test('interface names from options data: the newest per interface, input side first, and back in search', () => withOutput('ifnames', checkInterfaceNames));

test('search pages read from the newest part of the range when it holds them, and equal the whole list\'s slices', () => withOutput('pages', checkSearchPages));

test('values wider than their column are stored at its bound and counted; they never block the records after them', () => withOutput('wide', checkWideValues));

test('a failed commit is retried on a clean appender (stored once); an invalidated database is reopened', async () => {
  const config = testConfig();
  const path = join(config.EF_DATA_DIR, 'fail.duckdb');
  const out = new DuckDbOutput({ path, retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  const now = Date.now();
  const batch = (tag: number): FlowRecord[] => Array.from({ length: 3000 }, (_, i) => {
    const r = new FlowRecord();
    r.collectTs = now - i; r.exporterIp = `192.0.2.${tag}`; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 17; r.bytes = i; r.packets = 1;
    return r;
  });
  // The next commit fails once, after the appender took the batch's chunks (as a full disk makes it).
  const failNextFlush = (message: string): void => {
    const app = (out.store as unknown as { appender: { flushSync(): void } }).appender;
    const flush = app.flushSync.bind(app);
    let failed = false;
    app.flushSync = () => {
      if (!failed) {
        failed = true;
        throw new Error(message);
      }
      flush();
    };
  };
  try {
    const q = (): FlowQuery => out.flowQuery()!;
    failNextFlush('IO Error: Could not write file "flows.duckdb.wal": File too large');
    out.write(batch(1));
    await out.flush();
    assert.equal((await q().search({ from: 0, to: now + 1, filter: { exporter: '192.0.2.1' } })).total, 3000, 'stored once, not once per attempt');
    failNextFlush('FATAL Error: Failed: database has been invalidated because of a previous fatal error');
    out.write(batch(2));
    await out.flush();
    assert.equal((await q().search({ from: 0, to: now + 1, filter: { exporter: '192.0.2.2' } })).total, 3000, 'stored after the reopen');
    assert.equal((await q().search({ from: 0, to: now + 1 })).total, 6000);
    assert.equal(out.counters().failures, 2);
  } finally {
    await out.close();
  }
});

test('size guard: a row dated in the future does not make today an old day; tables of older layouts go first', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'guard.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'start', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    const day = 86_400_000;
    const now = Date.UTC(2026, 5, 15, 12);
    const recs: FlowRecord[] = [];
    for (const age of [3, 0]) {
      for (let i = 0; i < 500; i++) {
        const r = new FlowRecord();
        r.collectTs = r.startTs = r.endTs = now - age * day + i; r.exporterIp = '192.0.2.1'; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 17; r.bytes = 1; r.packets = 1;
        recs.push(r);
      }
    }
    const future = new FlowRecord();
    future.collectTs = now; future.startTs = future.endTs = now + 365 * day; future.exporterIp = '192.0.2.1'; future.srcIp = '10.0.0.9'; future.dstIp = '10.0.0.2'; future.ipVersion = 4; future.proto = 17;
    recs.push(future);
    out.write(recs);
    await out.flush();
    // A table of an older layout, set aside 2 days before `now`.
    const aside = `flows_old_${now - 2 * day}`;
    const reader = (out.store as unknown as { reader: { run(sql: string): Promise<unknown> } }).reader;
    await reader.run(`CREATE TABLE ${aside} AS SELECT * FROM range(1000) t(x)`);
    (out.store.opts as { maxBytes: number }).maxBytes = 1;
    const deleted = await out.store.applySizeGuard(now);
    assert.equal(deleted, 500, "only the 3-day-old rows: today's stay although a row is dated a year ahead");
    const q = out.flowQuery()!;
    assert.equal((await q.search({ from: now - 10 * day, to: now + 400 * day })).total, 501);
    const tables = async (): Promise<string[]> => (await (await (out.store as unknown as { reader: { runAndReadAll(sql: string): Promise<{ getRowObjects(): Record<string, unknown>[] }> } }).reader
      .runAndReadAll("SELECT table_name FROM information_schema.tables WHERE starts_with(table_name, 'flows_old_')")).getRowObjects()).map((r) => String(r.table_name));
    assert.deepEqual(await tables(), [], 'the older layout went first');
    // Retention: a set-aside table lives for the retention period after it was set aside.
    (out.store.opts as { maxBytes: number }).maxBytes = 1 << 30;
    await reader.run(`CREATE TABLE flows_old_${now - 2 * day} AS SELECT * FROM range(10) t(x)`);
    await reader.run(`CREATE TABLE flows_old_${now - 8 * day} AS SELECT * FROM range(10) t(x)`);
    await out.store.applyRetention(now);
    assert.deepEqual(await tables(), [`flows_old_${now - 2 * day}`]);
  } finally {
    await out.close();
  }
});

test('reopening an invalidated database interrupts a query still running on it: the query fails instead of hanging', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'race.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 100, deadlineMs: 10, queueMax: 10_000 });
  await out.start();
  try {
    const reader = (out.store as unknown as { reader: { runAndReadAll(sql: string): Promise<unknown> } }).reader;
    // Long enough to still run when the reopen comes (seconds on this machine).
    const slow = reader.runAndReadAll('SELECT count(*) FROM range(4000000000) a WHERE a.range % 7 = 3');
    const settled = slow.then(() => 'finished', () => 'failed');
    await new Promise((r) => setTimeout(r, 200));
    await out.store.recover('FATAL Error: Failed: database has been invalidated because of a previous fatal error');
    const outcome = await Promise.race([settled, new Promise((r) => setTimeout(() => r('hanging'), 20_000))]);
    assert.notEqual(outcome, 'hanging');
    assert.ok(out.flowQuery() !== null, 'queries work again after the reopen');
    assert.equal((await out.flowQuery()!.search({ from: 0, to: Date.now() + 1 })).total, 0);
  } finally {
    await out.close();
  }
});

test('DuckDB IP macros: every IPv6 form gives v6ToHex\'s digits, and an IPv6 filter plans small (each macro names its argument once)', async () => {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { DUCKDB_MACROS, DUCKDB_DIALECT, buildQuery } = await import('../src/store/sql.js');
  const { v6ToHex } = await import('../src/store/ip-filter.js');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    for (const m of DUCKDB_MACROS) await c.run(m);
    for (const a of ['2001:db8::1', '::ffff:10.0.0.1', '::1', '::', 'fe80::a:b', '1:2:3:4:5:6:7:8', '2001:DB8:0:0:1::', '64:ff9b::8.8.8.8', '::10.0.0.1', '1::', '2001:db8:1:2:3:4:1.2.3.4']) {
      const r = await c.runAndReadAll(`SELECT ufc_ip6hex('${a}')`);
      assert.equal(r.getRows()[0]![0], v6ToHex(a), a);
    }
    // The columns the search reads: its filter and its order.
    await c.run('CREATE TABLE flows (ts BIGINT, kind VARCHAR, exporter VARCHAR, src_ip VARCHAR, dst_ip VARCHAR, src_port INTEGER, dst_port INTEGER, bytes BIGINT, packets BIGINT, proto INTEGER, in_if BIGINT, out_if BIGINT, start_ts BIGINT, end_ts BIGINT, export_ts BIGINT, tcp_flags INTEGER, tos INTEGER, sampling_rate BIGINT, src_as BIGINT, dst_as BIGINT, src_mask INTEGER, dst_mask INTEGER)');
    const q = buildQuery(DUCKDB_DIALECT, 'search', { from: 0, to: 1, filter: { ip: '2001:db8::/32' }, limit: 10 }, 'flows');
    let i = 0;
    const sql = q.sql.replace(/\?/g, () => { const p = q.params[i++]!; return typeof p === 'number' ? String(p) : `'${p}'`; });
    await c.run("SET explain_output = 'all'");
    const plan = (await c.runAndReadAll(`EXPLAIN ${sql}`)).getRows().find((r) => r[0] === 'logical_plan');
    // The macros as they were, naming their argument several times, made a plan of ~1 MB for this
    // query (seconds to plan, every time); bound at 50 KB.
    assert.ok(plan !== undefined && String(plan[1]).length < 50_000, `logical plan of ${String(plan?.[1]).length} characters`);
  } finally {
    c.closeSync();
  }
});

test('DuckDB: the WAL is checkpointed on a DuckDB thread with appends held back, never inside an append on the main thread', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'c.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 10_000, deadlineMs: 10, queueMax: 400_000 });
  await out.start();
  try {
    // DuckDB's own checkpoint (inside a commit, so inside flushSync) is only a backstop.
    const setting = await (await (out.store as unknown as { reader: { runAndReadAll(sql: string): Promise<{ getRowObjects(): Record<string, unknown>[] }> } }).reader.runAndReadAll("SELECT current_setting('checkpoint_threshold') AS t")).getRowObjects();
    assert.match(String(setting[0]!.t), /^(1GB|1\.0 ?GiB|953\.[0-9]+ ?MiB)$/i);
    let checkpoints = 0, inCheckpoint = false, appendsDuring = 0;
    const store = out.store;
    const checkpoint = store.checkpoint.bind(store), append = store.append.bind(store);
    store.checkpoint = async () => {
      checkpoints++;
      inCheckpoint = true;
      try {
        await checkpoint();
      } finally {
        inCheckpoint = false;
      }
    };
    store.append = (records) => {
      if (inCheckpoint) appendsDuring++;
      return append(records);
    };
    const now = Date.now();
    for (let b = 0; b < 30; b++) {
      out.write(Array.from({ length: 10_000 }, (_, i) => {
        const r = new FlowRecord();
        r.collectTs = now + b * 10_000 + i; r.exporterIp = '192.0.2.1'; r.srcIp = `10.0.${b}.${i & 255}`; r.dstIp = '198.51.100.7'; r.ipVersion = 4; r.proto = 6; r.srcPort = i; r.bytes = i; r.packets = 1;
        return r;
      }));
      await new Promise((r) => setImmediate(r));
    }
    await out.flush();
    assert.ok(checkpoints >= 1, `the WAL passed 16 MB and was checkpointed (${checkpoints})`);
    assert.equal(appendsDuring, 0, 'no append while a checkpoint ran');
    assert.ok(store.walBytes() <= 16 << 20, `WAL ${store.walBytes()} bytes`);
    assert.equal((await out.flowQuery()!.search({ from: 0, to: now + 1e9 })).total, 300_000);
  } finally {
    await out.close();
  }
});

test('DuckDB: retention at start runs in the background (the collector does not wait for it to listen) and says what it deleted', async () => {
  const config = testConfig();
  const path = join(config.EF_DATA_DIR, 's.duckdb');
  const opts = { path, retentionDays: 1, maxBytes: 1 << 30, timestampSource: 'collect' as const, batchMax: 1000, deadlineMs: 10, queueMax: 100_000 };
  const first = new DuckDbOutput(opts);
  await first.start();
  const old = Date.now() - 3 * 86_400_000;
  first.write(Array.from({ length: 700 }, (_, i) => Object.assign(new FlowRecord(), { collectTs: old + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '10.0.0.2', ipVersion: 4, proto: 17 })));
  await first.flush();
  await first.close();

  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  const again = new DuckDbOutput(opts);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const applyRetention = again.store.applyRetention.bind(again.store);
  again.store.applyRetention = async (now) => {
    await gate;
    return applyRetention(now);
  };
  try {
    assert.ok(await within(again.start(), 5000), 'start() did not wait for the retention');
    assert.equal(again.counters().retention_deleted, 0, 'start() returned with the retention still to run');
    release();
    await again.maintain();
    assert.equal(again.counters().retention_deleted, 700);
    assert.ok(lines.some((l) => l.includes('DuckDB retention: deleted 700 rows older than 1 days')), lines.join('\n'));
  } finally {
    release();
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
    await again.close();
  }
});

test('DuckDB: EF_OUTPUT_DUCKDB_MEMORY_LIMIT caps what DuckDB may use; 0 leaves its own default', async () => {
  const limitOf = async (env: Record<string, string>): Promise<string> => {
    const config = testConfig({ EF_OUTPUT_DUCKDB_ENABLE: 'true', ...env });
    const out = createOutputs({ config, dataDir: config.EF_DATA_DIR }).find((o) => o instanceof DuckDbOutput) as DuckDbOutput;
    await out.start();
    try {
      const reader = (out.store as unknown as { reader: { runAndReadAll(sql: string): Promise<{ getRowObjects(): Record<string, unknown>[] }> } }).reader;
      return String((await (await reader.runAndReadAll("SELECT current_setting('memory_limit') AS m")).getRowObjects())[0]!.m);
    } finally {
      await out.close();
    }
  };
  // 256 MB (DuckDB counts 1000^2) is 244.1 MiB as DuckDB shows it.
  assert.equal(await limitOf({ EF_OUTPUT_DUCKDB_MEMORY_LIMIT: '256' }), '244.1 MiB');
  assert.notEqual(await limitOf({}), '244.1 MiB');
});

test('hourly summaries answer unfiltered top lists and series over long ranges as the flows do; late flows, retention and a reopen keep them exact', async () => {
  const config = testConfig();
  const path = join(config.EF_DATA_DIR, 'rollup.duckdb');
  const opts = { path, retentionDays: 1, maxBytes: 1 << 30, timestampSource: 'collect' as const, batchMax: 500, deadlineMs: 10, queueMax: 100_000 };
  const H = 3_600_000;
  const now = Date.now();
  const top = Math.floor(now / H) * H;
  const make = ref.rollupMaker(7);
  // Twenty hours, starting and ending off the hour.
  let recs = make(top - 20 * H + 17 * 60_000, now, 6000);
  let out = new DuckDbOutput(opts);
  await out.start();
  const check = (what: string, ranges: [number, number][]): Promise<void> => ref.checkOverviewLists(out.flowQuery()!, recs, ranges, what, top);
  const ranges: [number, number][] = [[top - 20 * H, now + 1], [top - 15 * H + 123_457, top - 3 * H - 77_000], [top - 6 * H, top - 2 * H]];
  try {
    out.write(recs);
    await out.flush();
    await check('flows only', ranges);
    // An hour is summarised five minutes after it ends and after its last flow came: ten minutes on.
    const later = now + 10 * 60_000;
    const due = 20 + (later >= top + H + 5 * 60_000 ? 1 : 0);
    assert.equal(await out.summarise(now), 0, 'hours whose flows just came wait');
    const built = await out.summarise(later);
    assert.equal(built, due, 'every whole hour past its settling time is summarised');
    assert.equal(out.counters().rollup_hours_built, due);
    for (const [from, to] of ranges) assert.ok(out.store.rollups.plan(from, to) !== null, 'the ranges are answered from the summaries');
    await check('summaries', ranges);

    // Flows arriving late for a summarised hour: that hour is read from the flows until built again.
    const lateHour = top - 10 * H;
    const late = make(lateHour + 5, lateHour + H - 1, 300);
    recs = [...recs, ...late];
    out.write(late);
    await out.flush();
    assert.ok(!out.store.rollups.plan(top - 20 * H, now)!.hours.some(([lo, hi]) => lo <= lateHour && lateHour < hi), 'the late hour is off the summarised list');
    await check('late flows', ranges);
    assert.equal(await out.summarise(later), 1, 'the late hour is summarised again');
    assert.ok(out.store.rollups.plan(top - 20 * H, now)!.hours.some(([lo, hi]) => lo <= lateHour && lateHour < hi));
    await check('late flows summarised', ranges);

    // A round of summaries while a batch waits to be written (the timer fires during its wait): the
    // batch is written only once none of its hours is on the summarised list, in memory or on disk.
    const store = out.store;
    const raceHour = top - 8 * H;
    const race = make(raceHour + 30, raceHour + H - 30, 60);
    recs = [...recs, ...race];
    const unbuild = store.unbuild.bind(store);
    const append = store.append.bind(store);
    let fired = false;
    const onListAtAppend: number[] = [];
    store.unbuild = async (hour: number): Promise<void> => {
      await unbuild(hour);
      if (!fired) {
        fired = true;
        await out.summarise(later);
      }
    };
    store.append = (records: readonly FlowRecord[]): number => {
      onListAtAppend.push(...(store.rollups.plan(top - 20 * H, now)?.hours ?? []).filter(([lo, hi]) => lo <= raceHour && raceHour < hi).map(([lo]) => lo));
      return append(records);
    };
    try {
      out.write(race);
      await out.flush();
    } finally {
      store.unbuild = unbuild;
      store.append = append;
    }
    assert.ok(fired, 'a round of summaries ran while the batch waited');
    assert.deepEqual(onListAtAppend, [], 'no hour of the batch was on the summarised list when it was written');
    await check('a round of summaries during the wait', ranges);
    assert.equal(await out.summarise(later), 1, 'that hour is summarised again, with the batch');

    // A summary that fails (a write conflict, a full disk) is logged and tried again; appends and retention go on.
    const build = store.buildRollup.bind(store);
    store.buildRollup = (): Promise<boolean> => Promise.reject(new Error('simulated failure'));
    const failing = make(top - 7 * H + 1, top - 6 * H - 1, 30);
    recs = [...recs, ...failing];
    try {
      out.write(failing);
      await out.flush();
      assert.equal(await out.summarise(later), 0);
      const sent = out.counters().sent!;
      await within(out.maintain(now), 10_000);
      const more = make(top - 7 * H + 2, top - 6 * H - 2, 30);
      recs = [...recs, ...more];
      out.write(more);
      await out.flush();
      assert.equal(out.counters().sent, sent + 30);
    } finally {
      store.buildRollup = build;
    }
    assert.equal(await out.summarise(later), 1);
    await check('after a failed summary', ranges);

    // Flows appended while their hour is being summarised: that summary is not kept, and the next round makes it.
    const busyHour = top - 12 * H;
    const first = make(busyHour + 10, busyHour + H - 10, 40);
    const during = make(busyHour + 20, busyHour + H - 20, 40);
    recs = [...recs, ...first, ...during];
    out.write(first);
    await out.flush();
    const building = out.store.buildRollup(busyHour);
    out.store.append(during);
    assert.equal(await building, false, 'a summary that may have missed flows is not kept');
    assert.ok(!out.store.rollups.plan(top - 20 * H, now)!.hours.some(([lo, hi]) => lo <= busyHour && busyHour < hi));
    await check('flows during a summary', ranges);
    assert.equal(await out.summarise(later), 1);
    await check('flows during a summary, summarised', ranges);

    // Retention cutting inside an hour: the hours before it lose their summaries, that hour is read from its flows.
    const cutoff = now + 10 * H - 86_400_000;
    await out.maintain(now + 10 * H);
    recs = recs.filter((r) => r.collectTs >= cutoff);
    assert.ok(out.counters().retention_deleted! > 0);
    await check('after retention', ranges);
    await out.summarise(later);
    await check('after retention, summarised', ranges);
    // A cutoff on the hour (the size guard's is on the day): the hour it starts keeps its summary whole.
    const onTheHour = top - 13 * H;
    await out.maintain(onTheHour + 86_400_000);
    recs = recs.filter((r) => r.collectTs >= onTheHour);
    await check('after retention on the hour', ranges);
  } finally {
    await out.close();
  }
  // A reopened store knows its summaries at once; flows of a summarised hour written after the reopen take it off again.
  out = new DuckDbOutput(opts);
  await out.start();
  try {
    assert.ok(out.store.rollups.plan(top - 20 * H, now) !== null);
    await check('reopened', ranges);
    const again = make(top - 5 * H + 1, top - 4 * H - 1, 100);
    recs = [...recs, ...again];
    out.write(again);
    await out.flush();
    await check('reopened, late flows', ranges);
  } finally {
    await out.close();
  }
  out = new DuckDbOutput(opts);
  await out.start();
  try {
    await check('reopened after late flows', ranges);
  } finally {
    await out.close();
  }
});

test('a summary still being built when the store is reopened (an invalidated database) or closed is ended, and nothing waits on it for good', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'busy.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 100, deadlineMs: 10, queueMax: 10_000, summariseEveryMs: 0 });
  await out.start();
  const now = Date.now();
  const flows = (n: number, at: number): FlowRecord[] => Array.from({ length: n }, (_, i) => Object.assign(new FlowRecord(), { collectTs: at + i, exporterIp: '192.0.2.44', srcIp: '10.0.0.1', dstIp: '10.0.0.2', ipVersion: 4, proto: 17, bytes: 1, packets: 1 }));
  let closed = false;
  try {
    out.write(flows(10, now - 3 * 3_600_000));
    await out.flush();
    // A build that runs for minutes unless interrupted.
    out.store.rollups.build = (conn) => conn.run('SELECT count(*) FROM range(100000000000)').then(() => true);
    const round = out.summarise(now + 10 * 60_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(await within(out.store.recover('database has been invalidated because of a previous fatal error (simulated)'), 10_000), 'the reopen ends');
    assert.equal(await within(round, 10_000), true, 'the round ends (its build failed)');
    out.write(flows(10, now - 1000));
    assert.ok(await within(out.flush(), 10_000), 'appends go on');
    assert.equal(out.counters().sent, 20);
    await within(out.maintain(now), 10_000);
    // And a close during such a build.
    const again = out.summarise(now + 10 * 60_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(await within(out.close(), 10_000), 'the close ends');
    closed = true;
    await within(again, 1000);
  } finally {
    if (!closed) await within(out.close(), 5000);
  }
});

test('hours waiting for summaries are tracked up to a day ahead; a summarised hour is still taken off', async () => {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { Rollups, ROLLUP_TABLES_SQL, HOURS, PENDING_AHEAD_MS, HOUR_MS } = await import('../src/store/rollup.js');
  const conn = await (await DuckDBInstance.create(':memory:')).connect();
  for (const sql of ROLLUP_TABLES_SQL) await conn.run(sql);
  const summarised = 10 * HOUR_MS;
  await conn.run(`INSERT INTO ${HOURS} VALUES (${summarised})`);
  const rollups = new Rollups('flows', { get: (r: { ts: number }) => r.ts } as never);
  await rollups.loadBuilt(conn);
  // A broken clock: flows stamped in each of the next 10,000 hours, this hour's among them.
  const now = Date.now();
  const future = Array.from({ length: 10_000 }, (_, i) => ({ ts: now + i * HOUR_MS }));
  assert.deepEqual(rollups.noteAppended(future, now), []);
  assert.equal(rollups.pendingHours, future.filter((r) => r.ts - (r.ts % HOUR_MS) <= now + PENDING_AHEAD_MS).length);
  assert.ok(rollups.pendingHours >= 24 && rollups.pendingHours <= 26);
  assert.deepEqual(rollups.noteAppended([{ ts: summarised + 5 }], now), [summarised], 'a summarised hour with flows is taken off the list');
  assert.equal(rollups.plan(0, 20 * HOUR_MS), null);
  conn.closeSync();
});

test('hours retention deletes while a round of summaries waits for it are not summarised (no empty summary counted as built)', async () => {
  const config = testConfig();
  const H = 3_600_000;
  const now = Date.now();
  const top = Math.floor(now / H) * H;
  const make = ref.rollupMaker(3);
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'retained.duckdb'), retentionDays: 1, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 500, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    // Two hours three days ago (past the retention) and two hours a few hours ago.
    out.write([...make(top - 72 * H + 60_000, top - 70 * H - 60_000, 200), ...make(top - 5 * H + 60_000, top - 3 * H - 60_000, 200)]);
    await out.flush();
    const before = out.counters().rollup_hours_built!;
    // Retention first (the round of summaries waits for it), as at a start.
    const maintained = out.maintain(now);
    const built = await out.summarise(now + 10 * 60_000);
    await maintained;
    assert.equal(out.counters().retention_deleted, 200);
    assert.equal(built, 2, 'the two recent hours only');
    assert.equal(out.counters().rollup_hours_built! - before, 2);
    const plan = out.store.rollups.plan(top - 80 * H, now);
    assert.ok(plan === null || !plan.hours.some(([lo]) => lo < top - 24 * H), JSON.stringify(plan?.hours));
  } finally {
    await out.close();
  }
});

test('a flows table of the layout before the network columns gains them and keeps its rows, names read from rest; its summaries are made anew', async () => {
  const config = testConfig();
  const path = join(config.EF_DATA_DIR, 'upgrade.duckdb');
  const opts = { path, retentionDays: 30, maxBytes: 1 << 30, timestampSource: 'collect' as const, batchMax: 500, deadlineMs: 10, queueMax: 100_000 };
  const H = 3_600_000;
  const now = Date.now();
  const top = Math.floor(now / H) * H;
  const recs = ref.rollupMaker(11)(top - 6 * H + 1000, now, 3000);
  let out = new DuckDbOutput(opts);
  await out.start();
  out.write(recs);
  await out.flush();
  await out.close();
  // Made into what the version before wrote: no network columns, the names in `rest` (the only
  // keys there for these records), and summaries in the v1 tables.
  await asBeforeNetworkColumns(path, [
    'CREATE TABLE flows_top_hour_v1 (hour BIGINT, dim UTINYINT, kn BIGINT, kt VARCHAR, label VARCHAR, b HUGEINT, p HUGEINT, f BIGINT)',
    `CREATE TABLE flows_rollup_hours_v1 (hour BIGINT); INSERT INTO flows_rollup_hours_v1 VALUES (${top - 3 * H})`,
  ]);
  out = new DuckDbOutput(opts);
  await out.start();
  try {
    const reader = (out.store as unknown as { reader: { runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }> } }).reader;
    const tables = (await reader.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE starts_with(table_name, 'flows') ORDER BY 1")).getRows().map((r) => String(r[0]));
    assert.deepEqual(tables, ['flows', 'flows_minute_v1', 'flows_rollup_hours_v2', 'flows_top_hour_v2'], 'no table set aside; the v1 summaries are gone');
    const q = out.flowQuery()!;
    const from = top - 6 * H;
    assert.equal(await q.count({ from, to: now + 1 }), recs.length, 'every row kept');
    for (const net of ['office', 'lab', 'dmz']) {
      const want = ref.search(recs, from, now + 1, { net });
      assert.ok(want.length > 0);
      assert.equal(await q.count({ from, to: now + 1, filter: { net } }), want.length, `flows of ${net}, filled from rest`);
    }
    const docs = (await q.search({ from, to: now + 1, filter: { net: 'lab' }, limit: 1000 })).rows;
    assert.ok(docs.length > 0 && docs.every((d) => d['flow.src.ip.subnet.name'] === 'lab'), 'documents carry the name');
    // Every hour is summarised again, with the networks: the lists equal the reference.
    await out.summarise(now + 10 * 60_000);
    assert.ok(out.store.rollups.plan(from, now + 1) !== null, 'the hours are summarised again');
    await ref.checkOverviewLists(q, recs, [[from, now + 1]], 'after the upgrade', top);
    // Written by this version: the names are in the columns, not in rest.
    const rest = (await reader.runAndReadAll(`SELECT count(*) FROM flows WHERE contains(rest, 'SubnetName') AND ts <= ${now}`)).getRows();
    assert.ok(Number(rest[0]![0]) > 0, 'the older rows keep their rest');
    out.write(ref.rollupMaker(12)(now + 1, now + 2, 50));
    await out.flush();
    const fresh = (await reader.runAndReadAll(`SELECT count(*), count(src_net), count(*) FILTER (WHERE contains(rest, 'SubnetName')) FROM flows WHERE ts > ${now}`)).getRows()[0]!;
    assert.deepEqual(fresh.map(Number).slice(0, 1), [50]);
    assert.ok(Number(fresh[1]) > 0, 'names in the column');
    assert.equal(Number(fresh[2]), 0, 'and not in rest');
  } finally {
    await out.close();
  }
});

test('DuckDB: absent strings are stored as NULL and present ones as themselves, in chunks of any mix (the appender\'s own validity masks)', () => withOutput('nulls', async (store) => {
  const now = Date.now();
  // 5,000 records: more than two chunks of 2,048 rows; countries on some rows, none on one whole chunk's worth.
  const recs = Array.from({ length: 5000 }, (_, i) => Object.assign(new FlowRecord(), {
    collectTs: now + i, exporterIp: '192.0.2.1', srcIp: `10.0.0.${i % 250}`, dstIp: i % 7 === 0 ? '' : '198.51.100.1', proto: 6,
    srcCountry: i >= 2048 && i < 4096 ? '' : i % 3 === 0 ? `C${i % 5}` : '', dstCountry: i % 64 === 63 ? 'Last' : '', srcLocality: i % 2 === 0 ? 'private' : '',
  }));
  store.write(recs);
  await store.flush();
  const reader = (store.store as unknown as { reader: { runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }> } }).reader;
  const rows = (await reader.runAndReadAll(`SELECT ts, src_country, dst_country, dst_ip, src_locality FROM flows ORDER BY ts`)).getRows();
  assert.equal(rows.length, recs.length);
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i]!;
    const none = (v: string): string | null => (v === '' ? null : v);
    assert.deepEqual(rows[i]!.slice(1), [none(r.srcCountry), none(r.dstCountry), none(r.dstIp), none(r.srcLocality)], `row ${i}`);
  }
}, { batchMax: 10_000 }));

/** Turns the store at `path` (written by this version) into the layout before the network columns: names in `rest`, no columns. */
async function asBeforeNetworkColumns(path: string, extraSql: string[] = []): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  await c.run(`UPDATE flows SET rest = '{' || concat_ws(',', CASE WHEN src_net IS NOT NULL THEN '"srcSubnetName":' || to_json(src_net) END,
    CASE WHEN dst_net IS NOT NULL THEN '"dstSubnetName":' || to_json(dst_net) END) || '}' WHERE src_net IS NOT NULL OR dst_net IS NOT NULL`);
  await c.run('ALTER TABLE flows DROP COLUMN dst_net');
  await c.run('ALTER TABLE flows DROP COLUMN src_net');
  for (const sql of extraSql) await c.run(sql);
  c.closeSync();
  inst.closeSync();
}

test('the network columns are filled in batches of bounded size (1.5M older rows under EF_OUTPUT_DUCKDB_MEMORY_LIMIT=100); a row whose JSON DuckDB refuses, or whose name is only inside extra, stays NULL; a fill cut short goes on at the next start', async () => {
  const config = testConfig();
  const path = join(config.EF_DATA_DIR, 'big.duckdb');
  const opts = { path, retentionDays: 30, maxBytes: 4 * 2 ** 30, timestampSource: 'collect' as const, batchMax: 5000, deadlineMs: 10, queueMax: 100_000, memoryLimitMb: 100 };
  const now = Date.now();
  const recs = ref.rollupMaker(13)(now - 3_600_000, now, 3000);
  let out = new DuckDbOutput(opts);
  await out.start();
  out.write(recs);
  await out.flush();
  await out.close();
  const named = recs.filter((r) => r.srcSubnetName !== '').length;
  // 3,000 rows doubled nine times: 1,536,000, filled under a memory limit of 100 MB.
  // Then a retention delete that a killed process left in the WAL (no checkpoint at its end): the
  // checkpoint that drops those rows renumbers the rowids the fill walks.
  await asBeforeNetworkColumns(path, [...Array.from({ length: 9 }, () => 'INSERT INTO flows SELECT * FROM flows'),
    'PRAGMA disable_checkpoint_on_shutdown', 'DELETE FROM flows WHERE rowid % 3 = 0']);
  // Two rows appended as the version before did (its columns; SQL would refuse the first one's JSON):
  // JSON.stringify writes a lone surrogate as \ud800, which DuckDB's JSON parser refuses; the second
  // has the key only inside `extra`.
  const { DuckDbStore } = await import('../src/store/duckdb.js');
  const { flowColumns } = await import('../src/store/columns.js');
  const before = new DuckDbStore({ path, timestampSource: 'collect', retentionDays: 30, maxBytes: 4 * 2 ** 30 });
  Object.assign(before, { cols: flowColumns('collect').filter((c) => c.name !== 'src_net' && c.name !== 'dst_net') });
  await before.open();
  const odd = (src: string, set: Partial<FlowRecord>): FlowRecord => Object.assign(new FlowRecord(), { collectTs: now, kind: 'flow', exporterIp: '192.0.2.99', srcIp: src, ...set });
  before.append([odd('10.9.9.1', { srcHost: 'a\ud800b', extra: { srcSubnetName: 'in extra' } }), odd('10.9.9.2', { extra: { srcSubnetName: 'in extra' } })]);
  before.close();
  out = new DuckDbOutput(opts);
  await out.start();
  const one = async (sql: string): Promise<unknown[]> => {
    const reader = (out.store as unknown as { reader: { runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }> } }).reader;
    return (await reader.runAndReadAll(sql)).getRows()[0]!;
  };
  try {
    const [rows, filled, want] = (await one(`SELECT count(*), count(src_net), count(*) FILTER (WHERE TRY(json_extract_string(rest, '$.srcSubnetName')) IS NOT NULL) FROM flows`)).map(Number);
    assert.equal(rows, 3000 * 512 - Math.ceil((3000 * 512) / 3) + 2, 'the deleted rows are gone');
    assert.ok(want! > named * 300, `${want} names in rest`);
    assert.equal(filled, want, 'every row with a name in rest has it in its column');
    assert.deepEqual((await one(`SELECT src_net FROM flows WHERE exporter = '192.0.2.99' AND src_ip = '10.9.9.1'`)), [null]);
    assert.deepEqual((await one(`SELECT src_net FROM flows WHERE exporter = '192.0.2.99' AND src_ip = '10.9.9.2'`)), [null]);
    assert.equal(Number((await one("SELECT count(*) FROM information_schema.tables WHERE table_name = 'ufc_column_fills'"))[0]), 0, 'nothing left to fill');
  } finally {
    await out.close();
  }
  // A start cut short after the columns were added: the note is there, some rows filled, others not.
  await asBeforeNetworkColumns(path);
  {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run('ALTER TABLE flows ADD COLUMN src_net VARCHAR; ALTER TABLE flows ADD COLUMN dst_net VARCHAR');
    await c.run("CREATE TABLE ufc_column_fills (col VARCHAR, rest_key VARCHAR); INSERT INTO ufc_column_fills VALUES ('src_net', 'srcSubnetName'), ('dst_net', 'dstSubnetName')");
    await c.run(`UPDATE flows SET src_net = json_extract_string(rest, '$.srcSubnetName') WHERE rowid < 100000 AND contains(rest, '"srcSubnetName":')`);
    c.closeSync();
    inst.closeSync();
  }
  out = new DuckDbOutput(opts);
  await out.start();
  try {
    const [src, dst, wantSrc, wantDst] = (await one(`SELECT count(src_net), count(dst_net), count(*) FILTER (WHERE TRY(json_extract_string(rest, '$.srcSubnetName')) IS NOT NULL),
      count(*) FILTER (WHERE TRY(json_extract_string(rest, '$.dstSubnetName')) IS NOT NULL) FROM flows`)).map(Number);
    assert.ok(wantSrc! > 0 && wantDst! > 0);
    assert.deepEqual([src, dst], [wantSrc, wantDst]);
    const q = out.flowQuery()!;
    const lab = Number((await one(`SELECT count(*) FROM flows WHERE kind = 'flow' AND (rest LIKE '%"srcSubnetName":"lab"%' OR rest LIKE '%"dstSubnetName":"lab"%')`))[0]);
    assert.ok(lab > 0);
    assert.equal(await q.count({ from: now - 3_600_000, to: now + 1, filter: { net: 'lab' } }), lab);
  } finally {
    await out.close();
  }
});

test('a note of columns to fill left by another version does not stop the store: one naming a column this version does not fill is dropped; one beside a table set aside goes with it', async () => {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const config = testConfig();
  const path = join(config.EF_DATA_DIR, 'notes.duckdb');
  const opts = { path, retentionDays: 30, maxBytes: 1 << 30, timestampSource: 'collect' as const, batchMax: 500, deadlineMs: 10, queueMax: 100_000 };
  const now = Date.now();
  let out = new DuckDbOutput(opts);
  await out.start();
  out.write(ref.rollupMaker(17)(now - 60_000, now, 100));
  await out.flush();
  await out.close();
  const tables = async (): Promise<string[]> => {
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    const names = (await c.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE starts_with(table_name, 'flows') OR table_name = 'ufc_column_fills' ORDER BY 1")).getRows().map((r) => String(r[0]));
    c.closeSync();
    inst.closeSync();
    return names.map((n) => n.replace(/_old_\d+$/, '_old'));
  };
  const run = async (sql: string[]): Promise<void> => {
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    for (const s of sql) await c.run(s);
    c.closeSync();
    inst.closeSync();
  };
  // This version's table, with a note a newer version left about a column this one does not have.
  await run(["CREATE TABLE ufc_column_fills (col VARCHAR, rest_key VARCHAR); INSERT INTO ufc_column_fills VALUES ('exporter_net', 'exporterSubnetName')"]);
  out = new DuckDbOutput(opts);
  await out.start();
  assert.equal(await out.flowQuery()!.count({ from: now - 120_000, to: now + 1 }), 100);
  await out.close();
  assert.ok(!(await tables()).includes('ufc_column_fills'));
  // A newer version's table (a column more) with its note: the table is set aside, the note with it.
  await run(['ALTER TABLE flows ADD COLUMN exporter_net VARCHAR', "CREATE TABLE ufc_column_fills (col VARCHAR, rest_key VARCHAR); INSERT INTO ufc_column_fills VALUES ('exporter_net', 'exporterSubnetName')"]);
  out = new DuckDbOutput(opts);
  await out.start();
  await out.close();
  assert.deepEqual(await tables(), ['flows', 'flows_minute_v1', 'flows_old', 'flows_rollup_hours_v2', 'flows_top_hour_v2']);
});

test('conversations: a ping\'s request and reply are one conversation (ICMP has port 0, not the type and code the exporter put there)', () => withOutput('ping', async (out) => {
  const now = Date.now();
  const rec = (src: string, dst: string, dstPort: number, orientation: number, proto = 1): FlowRecord => Object.assign(new FlowRecord(), {
    collectTs: now, kind: 'flow', exporterIp: '192.0.2.1', ipVersion: 4, srcIp: src, dstIp: dst, proto, dstPort, orientation, bytes: 84, packets: 1,
  });
  // Echo request (type 8: 2048) and reply (type 0), and a TCP flow for contrast.
  out.write([rec('10.0.0.5', '8.8.8.8', 2048, 1), rec('8.8.8.8', '10.0.0.5', 0, 2), rec('10.0.0.5', '8.8.8.8', 443, 1, 6)]);
  await out.flush();
  const got = await out.flowQuery()!.conversations({ from: now - 1000, to: now + 1 });
  assert.deepEqual(got.map((c) => [c.client, c.server, c.port, c.proto, c.flows, c.bytes]), [['10.0.0.5', '8.8.8.8', 0, 1, 2, 168], ['10.0.0.5', '8.8.8.8', 443, 6, 1, 84]]);
}));

test('a damaged store file: one whose table description changed on disk is refused at start with what to do (a configuration problem); one cut short, or with a flows block changed, starts, and the first read that meets the damage makes the store not ready and is logged once with what to do; new flows are still stored', async () => {
  const { isConfigFileError } = await import('../src/config/file-error.js');
  const { createApi } = await import('../src/web/api.js');
  const { copyFileSync, openSync, writeSync, closeSync, statSync, truncateSync } = await import('node:fs');
  const config = testConfig();
  const pristine = join(config.EF_DATA_DIR, 'pristine.duckdb');
  const path = join(config.EF_DATA_DIR, 'damaged.duckdb');
  const opts = (p: string) => ({ path: p, retentionDays: 30, maxBytes: 2 ** 32, timestampSource: 'collect' as const, batchMax: 5000, deadlineMs: 10, queueMax: 100_000, summariseEveryMs: 0 });
  const now = Date.now();
  const first = new DuckDbOutput(opts(pristine));
  await first.start();
  first.write(ref.rollupMaker(3)(now - 3_600_000, now, 20_000));
  await first.flush();
  await first.close();
  const size = statSync(pristine).size;
  const HEADERS = 3 * 4096;
  const BLOCK = 262_144;
  const blocks = (size - HEADERS) / BLOCK;
  assert.ok(Number.isInteger(blocks) && blocks >= 2, `${size} bytes`);
  const spoil = (block: number): void => {
    copyFileSync(pristine, path);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, HEADERS + block * BLOCK + 5000);
    closeSync(fd);
  };
  // The first block holds the table's description, which opening reads.
  spoil(0);
  {
    const out = new DuckDbOutput(opts(path));
    await assert.rejects(out.start(), (err: Error) => {
      assert.ok(isConfigFileError(err), err.message);
      assert.match(err.message, /is damaged: IO Error: Corrupt database file: computed checksum .*\. Restore it from a backup, or move it aside \(with its \.wal\) to start a new one/);
      return true;
    });
    await out.close();
  }
  /** Starts on the file as `damage` left it; false when no read met the damage (an unused block). */
  const readDamaged = async (damage: () => void, words: RegExp, summariesFirst = false): Promise<boolean> => {
    damage();
    const lines: string[] = [];
    setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
    const out = new DuckDbOutput(opts(path));
    try {
      await out.start();
      const q = out.flowQuery()!;
      const api = createApi({ config, outputs: [out] } as never);
      // Summarising the hours reads the flows, before any page is asked.
      if (summariesFirst) {
        await out.summarise(now + 3 * 3_600_000);
        assert.match(out.store.damage ?? '', words, 'the summaries took note');
      }
      const read = await q.search({ from: now - 7_200_000, to: now + 1, limit: 1000 }).then(() => null, (err: Error) => err);
      if (read === null) return false;
      assert.match(read.message, words);
      const ready = await api.storeReady();
      assert.equal(ready.ok, false);
      assert.match(ready.error ?? '', new RegExp(`^the store's file is damaged: IO Error: ${words.source}`));
      await q.search({ from: now - 7_200_000, to: now + 1, limit: 1000 }).catch(() => null);
      const logged = lines.filter((l) => l.includes('is damaged'));
      assert.equal(logged.length, 1, lines.join('\n'));
      assert.match(logged[0]!, /"level":"error".*DuckDB store .*damaged\.duckdb is damaged: older flows cannot be read, summarised or deleted \(new ones are still stored\); stop ufc and restore the file from a backup, or move it aside/);
      const fresh = Object.assign(new FlowRecord(), { collectTs: now + 5, kind: 'flow', exporterIp: '192.0.2.123', srcIp: '10.1.1.1', dstIp: '10.1.1.2', ipVersion: 4 });
      out.write([fresh]);
      await out.flush();
      assert.equal((await q.search({ from: now, to: now + 10, filter: { exporter: '192.0.2.123' } })).total, 1);
      return true;
    } finally {
      setLogger(createLogger({ level: 'info', encoding: 'json' }));
      await out.close();
    }
  };
  // Cut short in the middle of its second block (a copy or restore that did not finish).
  assert.ok(await readDamaged(() => {
    copyFileSync(pristine, path);
    truncateSync(path, HEADERS + BLOCK + BLOCK / 2);
  }, /Could not read enough bytes from file/, true), 'a read met the missing end');
  // A block of the flows' values changed on disk.
  let met = 0;
  for (let b = 1; b < blocks; b++) if (await readDamaged(() => spoil(b), /Corrupt database file/)) met++;
  assert.ok(met > 0, 'a block the flows read');
});

test('an overview asked while retention deletes summaries counts every flow still stored: the hours leave the summarised list before their rows leave the tables', async () => {
  const config = testConfig();
  const H = 3_600_000;
  const now = Date.now();
  const top = Math.floor(now / H) * H;
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'retain-race.duckdb'), retentionDays: 1, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 1000, deadlineMs: 5, queueMax: 100_000, summariseEveryMs: 0 });
  await out.start();
  try {
    // 60 flows an hour, one a minute, in the hours top-6h .. top-2h; all summarised.
    const recs: FlowRecord[] = [];
    for (let h = 6; h >= 2; h--) {
      for (let m = 0; m < 60; m++) {
        const r = new FlowRecord();
        r.collectTs = top - h * H + m * 60_000;
        r.exporterIp = '192.0.2.8'; r.ipVersion = 4; r.srcIp = '10.0.0.1'; r.dstIp = '198.51.100.1'; r.proto = 6; r.srcPort = 1024; r.dstPort = 443; r.bytes = 100; r.packets = 1;
        recs.push(r);
      }
    }
    out.write(recs);
    await out.flush();
    assert.equal(await out.summarise(now + 10 * 60_000), 5, 'five hours summarised');
    const q = out.flowQuery()!;
    const range = { from: top - 6 * H, to: top - 2 * H + 1 };
    const flows = async (): Promise<number> => (await q.topN({ ...range, field: 'l4.proto.id', metric: 'flows', limit: 10 }))[0]?.flows ?? 0;
    assert.equal(await flows(), 241, 'before retention: every flow in the range (the last hour\'s first minute included)');
    // An overview asked right after the first summary table lost its rows, before the flows did.
    const reader = (out.store as unknown as { reader: { run: (sql: string, ...a: unknown[]) => Promise<unknown> } }).reader;
    const run = reader.run.bind(reader);
    let during: number | null = null;
    reader.run = async (sql: string, ...a: unknown[]): Promise<unknown> => {
      const r = await run(sql, ...a);
      if (during === null && /^DELETE FROM flows_top_hour/.test(sql)) during = await flows();
      return r;
    };
    // The cutoff 30 minutes into hour -4: hours -6 and -5 go, the second half of -4 stays.
    await out.maintain(top - 4 * H + 30 * 60_000 + 86_400_000);
    reader.run = run;
    const after = await flows();
    assert.equal(after, 91, 'after retention: the second half of hour -4 and the hours after it');
    assert.notEqual(during, null, 'the overview was asked between the deletes');
    assert.ok(during === 241 || during === after, `during retention: ${during} flows, neither the ${241} before nor the ${after} after (stored flows left uncounted)`);
  } finally {
    await out.close();
  }
});

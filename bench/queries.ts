/**
 * Query benchmark: `npm run bench:queries`. How long the web UI's API takes over a store holding a
 * day of flows: the collector (full pipeline, default enrichers) stores BENCH_RECORDS NetFlow v5
 * records spread over the last BENCH_HOURS hours, then each endpoint is asked BENCH_ROUNDS times
 * over HTTP, for the last hour and for the whole span; the table shows the first answer's time and
 * the best. DuckDB is asked twice: from its flows alone, then with its hourly summaries built
 * (src/store/rollup.ts; the collector builds them within a minute of each hour's end). ClickHouse,
 * when its server listens on 127.0.0.1:8123, is the peer: the same questions, the same SQL, asked
 * three times: from the flows alone, with the summaries its views made as the flows were inserted
 * (src/store/clickhouse-rollup.ts), and once the server has merged those (OPTIMIZE FINAL).
 *
 *   BENCH_RECORDS=3000000 npm run bench:queries      (default 1,000,000)
 *   BENCH_HOURS=24                                     (default 24)
 *   BENCH_TARGETS=duckdb,clickhouse                    (default both; ClickHouse skipped when not listening)
 */
import { rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { ROLLUP_SETTLE_MS } from '../src/store/rollup.js';
import { WebServer } from '../src/web/server.js';
import { createClient } from '@clickhouse/client';
import { ClickHouseOutput } from '../src/output/clickhouse/clickhouse.js';
import type { ClickHouseFlowQuery } from '../src/store/clickhouse-query.js';
import { chSummaryNames } from '../src/store/clickhouse-rollup.js';
import { CH_URL, chListening, dropChDatabase, storeTarget } from './store-target.js';
import { v5Stream } from './store-traffic.js';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGETS = (process.env.BENCH_TARGETS ?? 'duckdb,clickhouse').split(',').map((s) => s.trim());
const HOUR_MS = 3_600_000;

/** The endpoints the UI's pages call, with filters a user would type or follow (v5Stream's clients are 10.0.x.y); each over the last hour and the whole span. */
const ASKS: [string, string][] = [
  ['overview', '/api/overview'],
  ['overview, one address', '/api/overview?ip=10.0.3.7'],
  ['overview, a /20', '/api/overview?ip=10.0.0.0/20'],
  // An interface's own Overview, as the Interfaces card links to it (v5Stream's output interfaces are 10-12).
  ['overview, one interface', '/api/overview?exporter=192.0.2.10&ifIndex=11'],
  ['flows, newest 50', '/api/flows'],
  ['flows, one address', '/api/flows?ip=10.0.3.7'],
  ['flows, a /16', '/api/flows?ip=10.0.0.0/16'],
  ['flows, a /20', '/api/flows?ip=10.0.0.0/20'],
  ['flows, an IPv6 /32', '/api/flows?ip=2001:db8::/32'],
  ['flows, a port', '/api/flows?port=53'],
  ['threats', '/api/threats'],
  ['top destination ports', '/api/top?field=flow.dst.l4.port.id'],
  ['interfaces', '/api/interfaces?limit=10'],
  ['conversations', '/api/conversations?limit=10'],
  // Networks and tags of the address metadata file (ADDRESS_METADATA): names have columns, tags are read from `rest`.
  ['flows, a network', '/api/flows?net=clients%20low'],
  ['flows, a tag', '/api/flows?tag=lab'],
  ['overview, a tag', '/api/overview?tag=lab'],
];

/** Names and tags for v5Stream's clients (10.0.0.0 to 10.0.19.135): most in one network, the rest in another. */
const ADDRESS_METADATA = `10.0.0.0/20:\n  name: clients low\n  tags: [clients, lab]\n10.0.16.0/20:\n  name: clients high\n  tags: [clients]\n`;

setLogger(createLogger({ level: 'warn', encoding: 'json' }));

interface Timing { first: number; best: number }
type Times = Map<string, Timing>;

async function ask(base: string, end: number): Promise<Times> {
  const times: Times = new Map();
  for (const [span, from] of [['last hour', end - HOUR_MS], [`last ${HOURS} hours`, end - HOURS * HOUR_MS]] as const) {
    for (const [name, path] of ASKS) {
      const t: Timing = { first: Infinity, best: Infinity };
      const url = `${base}${path}${path.includes('?') ? '&' : '?'}from=${from}&to=${end}`;
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        const resp = await fetch(url);
        await resp.arrayBuffer();
        if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status}`);
        const ms = performance.now() - t0;
        if (r === 0) t.first = ms;
        t.best = Math.min(t.best, ms);
      }
      times.set(`${name} (${span})`, t);
    }
  }
  return times;
}

async function run(target: string): Promise<Map<string, Times>> {
  const { dir, db, config: c } = storeTarget(target, 'queries', (d) => {
    const path = join(d, 'address-metadata.yml');
    writeFileSync(path, ADDRESS_METADATA);
    return { EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: path };
  });
  // DuckDB as the registry makes it, but summarising only when told: first the flows alone are asked.
  const collector = new Collector(c, target === 'duckdb' ? {
    outputs: [new DuckDbOutput({
      path: join(dir, 'flows.duckdb'), retentionDays: c.EF_OUTPUT_DUCKDB_RETENTION, maxBytes: c.EF_OUTPUT_DUCKDB_MAX_SIZE * 1024 * 1024,
      timestampSource: c.EF_OUTPUT_DUCKDB_TIMESTAMP_SOURCE, batchMax: 10_000, deadlineMs: c.EF_OUTPUT_DUCKDB_BATCH_DEADLINE, queueMax: 500_000, summariseEveryMs: 0,
    })],
  } : {});
  await collector.start();
  const web = new WebServer(collector, { ip: '127.0.0.1', port: 0 });
  try {
    const out = collector.outputs[0]!;
    const now = Date.now();
    const end = Math.floor(now / 60_000) * 60_000;
    let i = 0;
    const datagrams = Math.ceil(N / 30);
    for (const d of v5Stream(N, { exportMs: now })) {
      // Spread over the span: the export time moves, so the flows' times move with it.
      const at = end - HOURS * HOUR_MS + Math.floor((i / datagrams) * HOURS * HOUR_MS);
      d.writeUInt32BE(Math.floor(at / 1000), 8);
      collector.pipeline.handle(d, { exporterIp: '192.0.2.10', exporterPort: 2055, receivedAt: at });
      i++;
      if (i % 500 === 0) {
        await new Promise((r) => setImmediate(r));
        const n = out.counters();
        if ((n.queued ?? 0) + (n.spill_pending ?? 0) > 40_000) await out.flush();
      }
    }
    await collector.flush();
    await web.start();
    web.setReady(true);
    const phases = new Map<string, Times>();
    if (out instanceof DuckDbOutput) {
      // The summaries the collector builds by itself within a minute of an hour's end, left out first.
      phases.set('duckdb, flows only', await ask(web.url(), end));
      const t0 = performance.now();
      // As the collector would five minutes on, with no more flows coming.
      const built = await out.summarise(Date.now() + ROLLUP_SETTLE_MS, Infinity);
      console.log(`duckdb: ${built} hours summarised in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      phases.set('duckdb', await ask(web.url(), end));
    } else if (out instanceof ClickHouseOutput) {
      // The server summarises as flows are inserted (clickhouse-rollup.ts): asked without them,
      // then with them as inserted, then once the server has merged their rows.
      const q = out.flowQuery() as ClickHouseFlowQuery;
      q.readSummaries = false;
      phases.set('clickhouse, flows only', await ask(web.url(), end));
      q.readSummaries = true;
      phases.set('clickhouse', await ask(web.url(), end));
      const n = chSummaryNames(db, c.EF_OUTPUT_CLICKHOUSE_TABLE);
      const client = createClient({ url: CH_URL, request_timeout: 600_000 });
      try {
        const t0 = performance.now();
        for (const t of [n.top, n.minutes]) await client.command({ query: `OPTIMIZE TABLE ${t} FINAL` });
        console.log(`clickhouse: summaries merged (OPTIMIZE FINAL) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        await client.close();
      }
      phases.set('clickhouse, merged', await ask(web.url(), end));
    } else {
      phases.set(target, await ask(web.url(), end));
    }
    return phases;
  } finally {
    await web.stop();
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
    if (target === 'clickhouse') await dropChDatabase(db);
  }
}

const phases = new Map<string, Times>();
for (const t of TARGETS) {
  if (t === 'clickhouse' && !(await chListening())) {
    console.log('clickhouse: skipped (not listening on 127.0.0.1:8123; scripts/start-test-servers.sh starts it)');
    continue;
  }
  for (const [name, times] of await run(t)) phases.set(name, times);
}

const names = [...phases.keys()];
const rows = [...(phases.values().next().value ?? new Map<string, Timing>()).keys()];
const ratio = phases.has('duckdb') && phases.has('clickhouse');
console.log(`\nQuery benchmark: ${N.toLocaleString()} flows over the last ${HOURS} hours, each endpoint asked ${ROUNDS} times over HTTP (ms: first / best); ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log(`| endpoint (range) | ${names.join(' | ')} |${ratio ? ' DuckDB best / ClickHouse best |' : ''}`);
console.log(`|---|${names.map(() => '---|').join('')}${ratio ? '---|' : ''}`);
for (const row of rows) {
  const cells = names.map((n) => {
    const t = phases.get(n)!.get(row)!;
    return `${t.first.toFixed(0)} / ${t.best.toFixed(0)}`;
  });
  const r = ratio ? ` ${(phases.get('duckdb')!.get(row)!.best / phases.get('clickhouse')!.get(row)!.best).toFixed(2)}x |` : '';
  console.log(`| ${row} | ${cells.join(' | ')} |${r}`);
}

/**
 * Query benchmark: `npm run bench:queries`. How long the web UI's API takes over a store holding
 * an hour of flows: the collector (full pipeline, default enrichers) stores BENCH_RECORDS NetFlow v5
 * records spread over the last hour into DuckDB, and into ClickHouse when its server listens on
 * 127.0.0.1:8123, then each endpoint is asked BENCH_ROUNDS times over HTTP; the table shows the
 * first answer's time and the best. ClickHouse is the peer: the same questions, the same SQL.
 *
 *   BENCH_RECORDS=3000000 npm run bench:queries      (default 1,000,000)
 *   BENCH_TARGETS=duckdb,clickhouse                    (default both; ClickHouse skipped when not listening)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Collector } from '../src/collector.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { WebServer } from '../src/web/server.js';
import { v5Stream } from './store-traffic.js';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGETS = (process.env.BENCH_TARGETS ?? 'duckdb,clickhouse').split(',').map((s) => s.trim());
const CH_URL = 'http://127.0.0.1:8123';
const HOUR_MS = 3_600_000;

/** The endpoints the UI's pages call, with filters a user would type (v5Stream's clients are 10.0.x.y). */
const ASKS: [string, string][] = [
  ['overview (last hour)', '/api/overview'],
  ['overview, one address', '/api/overview?ip=10.0.3.7'],
  ['overview, a /20', '/api/overview?ip=10.0.0.0/20'],
  ['flows, newest 50', '/api/flows'],
  ['flows, one address', '/api/flows?ip=10.0.3.7'],
  ['flows, a /16', '/api/flows?ip=10.0.0.0/16'],
  ['flows, a /20', '/api/flows?ip=10.0.0.0/20'],
  ['flows, an IPv6 /32', '/api/flows?ip=2001:db8::/32'],
  ['flows, a port', '/api/flows?port=53'],
  ['threats', '/api/threats'],
  ['top destination ports', '/api/top?field=flow.dst.l4.port.id'],
];

setLogger(createLogger({ level: 'warn', encoding: 'json' }));

async function chListening(): Promise<boolean> {
  try {
    return (await fetch(`${CH_URL}/ping`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

interface Timing { first: number; best: number }

async function run(target: string): Promise<Map<string, Timing>> {
  const dir = mkdtempSync(join(tmpdir(), 'ufc-bench-queries-'));
  const db = `ufc_bench_q_${process.pid}`;
  const res = loadConfig({
    env: {
      EF_DATA_DIR: dir, EF_WEBUI_ENABLE: 'false',
      EF_OUTPUT_DUCKDB_ENABLE: String(target === 'duckdb'),
      EF_OUTPUT_CLICKHOUSE_ENABLE: String(target === 'clickhouse'), EF_OUTPUT_CLICKHOUSE_DATABASE: db,
    },
  });
  if (res.config === null) throw new Error(res.errors.join('\n'));
  const collector = new Collector(res.config);
  await collector.start();
  const web = new WebServer(collector, { ip: '127.0.0.1', port: 0 });
  try {
    const out = collector.outputs[0]!;
    const now = Date.now();
    let i = 0;
    const datagrams = Math.ceil(N / 30);
    for (const d of v5Stream(N, { exportMs: now })) {
      // Spread over the last hour: the export time moves, so the flows' times move with it.
      const at = now - HOUR_MS + Math.floor((i / datagrams) * (HOUR_MS - 60_000));
      d.writeUInt32BE(Math.floor(at / 1000), 8);
      collector.pipeline.handle(d, { exporterIp: '192.0.2.10', exporterPort: 2055, receivedAt: at });
      i++;
      if (i % 500 === 0) {
        await new Promise((r) => setImmediate(r));
        const c = out.counters();
        if ((c.queued ?? 0) + (c.spill_pending ?? 0) > 40_000) await out.flush();
      }
    }
    await collector.flush();
    await web.start();
    web.setReady(true);
    const times = new Map<string, Timing>();
    for (const [name, path] of ASKS) {
      const t: Timing = { first: Infinity, best: Infinity };
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        const resp = await fetch(web.url() + path);
        await resp.arrayBuffer();
        if (!resp.ok) throw new Error(`${path}: HTTP ${resp.status}`);
        const ms = performance.now() - t0;
        if (r === 0) t.first = ms;
        t.best = Math.min(t.best, ms);
      }
      times.set(name, t);
    }
    return times;
  } finally {
    await web.stop();
    await collector.stop();
    rmSync(dir, { recursive: true, force: true });
    if (target === 'clickhouse') {
      const c = createClient({ url: CH_URL });
      await c.command({ query: `DROP DATABASE IF EXISTS ${db}` }).finally(() => c.close());
    }
  }
}

const results = new Map<string, Map<string, Timing>>();
for (const t of TARGETS) {
  if (t === 'clickhouse' && !(await chListening())) {
    console.log('clickhouse: skipped (not listening on 127.0.0.1:8123; scripts/start-test-servers.sh starts it)');
    continue;
  }
  results.set(t, await run(t));
}

const stores = [...results.keys()];
console.log(`\nQuery benchmark: ${N.toLocaleString()} flows over the last hour, each endpoint asked ${ROUNDS} times over HTTP (ms: first / best); ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
const ratio = results.has('duckdb') && results.has('clickhouse');
console.log(`| endpoint | ${stores.join(' | ')} |${ratio ? ' DuckDB best / ClickHouse best |' : ''}`);
console.log(`|---|${stores.map(() => '---|').join('')}${ratio ? '---|' : ''}`);
for (const [name] of ASKS) {
  const cells = stores.map((s) => {
    const t = results.get(s)!.get(name)!;
    return `${t.first.toFixed(0)} / ${t.best.toFixed(0)}`;
  });
  const r = ratio ? ` ${(results.get('duckdb')!.get(name)!.best / results.get('clickhouse')!.get(name)!.best).toFixed(2)}x |` : '';
  console.log(`| ${name} | ${cells.join(' | ')} |${r}`);
}

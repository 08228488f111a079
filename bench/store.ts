/**
 * Store benchmark: `npm run bench:store`. Records per CPU-second through the full pipeline
 * (NetFlow v5 decode, the default enricher chain, the output) into DuckDB and into ClickHouse,
 * with a no-output run for reference. CPU is this process's user+system time (every thread,
 * DuckDB's included) from the first datagram until the output has stored the last record; for
 * ClickHouse the server's own CPU (from /proc) is shown beside it. Rows are checked to be there.
 *
 *   BENCH_RECORDS=1000000 npm run bench:store       (default 1,000,000 records per target)
 *   BENCH_TARGETS=duckdb,clickhouse,none              (default all; ClickHouse skipped when not listening)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { Collector } from '../src/collector.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { chListening, dropChDatabase, storeTarget } from './store-target.js';
import { v5Stream } from './store-traffic.js';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const TARGETS = (process.env.BENCH_TARGETS ?? 'none,duckdb,clickhouse').split(',').map((s) => s.trim());

setLogger(createLogger({ level: 'warn', encoding: 'json' }));

function serverCpuMs(): number | null {
  try {
    const out = execFileSync('ss', ['-Hltnp', 'sport = :8123'], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    if (m === null) return null;
    const f = readFileSync(`/proc/${m[1]}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat (clock ticks, 100 per second on Linux).
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

interface Result { target: string; records: number; cpuS: number; wallS: number; stored: number; serverCpuS: number | null }

async function run(target: string): Promise<Result> {
  const { dir, db, config } = storeTarget(target, 'store');
  const collector = new Collector(config);
  await collector.start();
  const out = collector.outputs[0];
  const datagrams = [...v5Stream(N, { exportMs: Date.now() })];
  const serverBefore = target === 'clickhouse' ? serverCpuMs() : null;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const now = Date.now();
  for (let i = 0; i < datagrams.length; i++) {
    collector.pipeline.handle(datagrams[i]!, { exporterIp: '192.0.2.10', exporterPort: 2055, receivedAt: now });
    // Let the output work as a live collector would, and keep the feed within its memory queue
    // (a live feed this fast would spill to disk, which is measured by the outage drill, not here).
    if (i % 500 === 499) {
      await new Promise((r) => setImmediate(r));
      const c = out?.counters() ?? {};
      if ((c.queued ?? 0) + (c.spill_pending ?? 0) > 40_000) await out!.flush();
    }
  }
  await collector.flush();
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - wall0) / 1000;
  const serverAfter = target === 'clickhouse' ? serverCpuMs() : null;
  let stored = N;
  const flowQuery = out as unknown as { flowQuery?: () => { search(q: { from: number; to: number; limit: number }): Promise<{ total: number }> } | null } | undefined;
  const q = flowQuery?.flowQuery?.() ?? null;
  if (q !== null) stored = (await q.search({ from: 0, to: now + 86_400_000, limit: 1 })).total;
  await collector.stop();
  if (target === 'clickhouse') await dropChDatabase(db);
  rmSync(dir, { recursive: true, force: true });
  return {
    target, records: N, cpuS: (cpu.user + cpu.system) / 1e6, wallS, stored,
    serverCpuS: serverBefore !== null && serverAfter !== null ? (serverAfter - serverBefore) / 1000 : null,
  };
}

const results: Result[] = [];
for (const t of TARGETS) {
  if (t === 'clickhouse' && !(await chListening())) {
    console.log('clickhouse: skipped (not listening on 127.0.0.1:8123; scripts/start-test-servers.sh starts it)');
    continue;
  }
  results.push(await run(t));
}

console.log(`\nStore benchmark: ${N.toLocaleString()} NetFlow v5 records (30 per datagram), full pipeline with default enrichers; ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log('| target | records stored | CPU s (collector) | records / CPU-s | wall s | records / s | ClickHouse server CPU s | records / CPU-s incl. server |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const label = r.target === 'none' ? 'no output (decode + enrich only)' : r.target;
  const incl = r.serverCpuS === null ? '' : Math.round(r.records / (r.cpuS + r.serverCpuS)).toLocaleString();
  console.log(`| ${label} | ${r.stored.toLocaleString()} | ${r.cpuS.toFixed(2)} | ${Math.round(r.records / r.cpuS).toLocaleString()} | ${r.wallS.toFixed(2)} | ${Math.round(r.records / r.wallS).toLocaleString()} | ${r.serverCpuS === null ? '' : r.serverCpuS.toFixed(2)} | ${incl} |`);
  if (r.stored !== r.records) console.log(`  WARNING: ${r.target} stored ${r.stored} of ${r.records}`);
}

/**
 * Opt-in soak (not in CI): `npm run build && node --import tsx scripts/soak.ts [--minutes 60] [--pps 20000] [--exporters 50]
 * [--workers N] [--out DIR] [--contend S]` (--workers sets EF_FLOW_SERVER_WORKERS; --out is where the rotated NDJSON goes,
 * e.g. /dev/shm to keep a disk out of the measurement; --contend runs two busy processes for S seconds a third of
 * the way in). EF_ variables of its environment reach the collector.
 * Runs the built collector (file output, DuckDB off) and sends the benchmark NetFlow v9 stream from
 * N simulated exporters (127.0.1.1 ... on loopback only) at a fixed total rate, bounded by time.
 * Every minute it prints RSS, kernel UDP drops, and the collector's exporter and error counters
 * (from /metrics); at the end RSS at start and end, so a leak shows as growth. The data directory is
 * removed at the end unless BENCH_KEEP=1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataPacket, templatePacket } from '../bench/netflow9-stream.js';
import { envWithPrefix, cli } from '../bench/send-stream.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const opts = cli(
  'usage: npm run build && node --import tsx scripts/soak.ts [--minutes N (60)] [--pps N (20000)] [--exporters N (50)] [--workers N] [--out DIR] [--contend SECONDS (0)] [--every SECONDS (60)]',
  ['minutes', 'pps', 'exporters', 'workers', 'out', 'contend', 'every'],
);
const MINUTES = opts.num('minutes', 60);
const PPS = opts.num('pps', 20_000);
const EXPORTERS = opts.num('exporters', 50);
const WORKERS = opts.num('workers', -1);
/**
 * Seconds of CPU contention a third of the way in (0: none): two busy processes beside the collector, as
 * anything else busy on the machine would be. Its queues then fill, and the report shows whether RSS
 * comes back down once they have drained.
 */
const CONTEND = opts.num('contend', 0);
/** Seconds between report lines. */
const EVERY = opts.num('every', 60);
const OUT = opts.str('out') ?? null;
const PORT = 39555;
const WEB = 39556;

function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function drops(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length > 12 && cols[1]!.endsWith(`:${hex}`)) return Number(cols[cols.length - 1]);
  }
  return 0;
}

/** Sum of a series in /metrics: `name`, and of its lines those whose labels include `label`, when given. */
type Metric = (name: string, label?: string) => number;

/** One scrape of /metrics, read as many times as a report needs (every value NaN when it fails). */
async function scrape(): Promise<Metric> {
  let lines: string[] | null = null;
  try {
    lines = (await (await fetch(`http://127.0.0.1:${WEB}/metrics`)).text()).split('\n');
  } catch {
    // Reported as NaN below.
  }
  return (name, label) => {
    if (lines === null) return NaN;
    let sum = 0;
    for (const line of lines) if (line.startsWith(name) && !line.startsWith('#') && (label === undefined || line.includes(label))) sum += Number(line.split(' ').pop());
    return sum;
  };
}

/** The decode workers' V8 heaps together (ufc_worker_heap_bytes): used, total and external, in MB. */
function workerHeaps(metric: Metric): string {
  const mb = (space: string): string => (metric('ufc_worker_heap_bytes', `space="${space}"`) / 1e6).toFixed(0);
  return `used ${mb('used')} MB total ${mb('total')} MB external ${mb('external')} MB`;
}

const dir = mkdtempSync(join(tmpdir(), 'ufc-soak-'));
const outDir = OUT === null ? dir : mkdtempSync(join(OUT, 'ufc-soak-out-'));
// Started as users start it: bin/ufc (glibc's mmap threshold) runs the built CLI.
const child = spawn(join(ROOT, 'bin', 'ufc'), ['run'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    PATH: process.env.PATH, UFC_NODE: process.execPath, EF_DATA_DIR: dir, EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: String(PORT),
    EF_LOGGER_LEVEL: 'warn', EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_IP: '127.0.0.1', EF_WEBUI_PORT: String(WEB),
    EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(outDir, 'flows.ndjson'), EF_OUTPUT_FILE_MAX_SIZE: '512', EF_OUTPUT_FILE_MAX_FILES: '2',
    ...(WORKERS >= 0 ? { EF_FLOW_SERVER_WORKERS: String(WORKERS) } : {}),
    // EF_ and MALLOC_ variables of the soak's own environment win (to compare settings).
    ...envWithPrefix('EF_'), ...envWithPrefix('MALLOC_'),
  },
});
const busy: ChildProcess[] = [];
const removeData = (): void => {
  if (process.env.BENCH_KEEP === '1') process.stdout.write(`data kept in ${dir}\n`);
  else {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
};
// Ctrl-C or a kill ends the soak early: the collector and the busy processes are stopped with it (the
// collector would otherwise go on running, an orphan holding the port), then the data is removed.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const b of busy) b.kill();
    const done = (): never => {
      removeData();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    if (child.exitCode !== null || child.signalCode !== null) done();
    child.once('exit', done);
    child.kill('SIGTERM');
  });
}
await new Promise((r) => setTimeout(r, 5000));
const socks = await Promise.all(Array.from({ length: EXPORTERS }, (_, i) => new Promise<dgram.Socket>((resolve) => {
  const s = dgram.createSocket('udp4');
  s.bind(0, `127.0.1.${i + 1}`, () => resolve(s));
})));
const rssStart = rssMb(child.pid!);
process.stdout.write(`soak: ${EXPORTERS} exporters, ${PPS} packets/s, ${MINUTES} min; data in ${dir}; RSS at start ${rssStart.toFixed(0)} MB\n`);
const end = Date.now() + MINUTES * 60_000;
const start = process.hrtime.bigint();
let sent = 0;
let nextReport = Date.now() + EVERY * 1000;
let contendAt = CONTEND > 0 ? Date.now() + (MINUTES * 60_000) / 3 : Infinity;
while (Date.now() < end) {
  const due = Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * PPS);
  while (sent < due) {
    const e = sent % EXPORTERS;
    const n = Math.floor(sent / EXPORTERS);
    socks[e]!.send(n % 100 === 0 ? templatePacket(n) : dataPacket(n % 100_000, n), PORT, '127.0.0.1');
    sent++;
  }
  if (Date.now() >= contendAt) {
    contendAt = Infinity;
    process.stdout.write(`${new Date().toISOString()} contention: two busy processes for ${CONTEND} s; RSS now ${rssMb(child.pid!).toFixed(0)} MB\n`);
    // Each spins until its own deadline (bounded), then exits.
    for (let i = 0; i < 2; i++) busy.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${CONTEND * 1000}; while (Date.now() < end);`], { stdio: 'ignore' }));
  }
  if (Date.now() >= nextReport) {
    nextReport += EVERY * 1000;
    const metric = await scrape();
    process.stdout.write(`${new Date().toISOString()} sent ${sent} RSS ${rssMb(child.pid!).toFixed(0)} MB kernel drops ${drops(PORT)} receive-queue drops ${metric('ufc_udp_receive_dropped_total')} records ${metric('ufc_exporter_records_total')} exporters ${metric('ufc_exporters')} decode errors ${metric('ufc_decode_errors_total')} output queued ${metric('ufc_output_queue_depth')} JS heap ${(metric('ufc_nodejs_heap_size_used_bytes') / 1e6).toFixed(0)} MB external ${(metric('ufc_nodejs_external_memory_bytes') / 1e6).toFixed(0)} MB; workers' heaps ${workerHeaps(metric)}\n`);
  }
  await new Promise((r) => setImmediate(r));
}
for (const s of socks) s.close();
for (const b of busy) b.kill();
await new Promise((r) => setTimeout(r, 3000));
const rssEnd = rssMb(child.pid!);
const metric = await scrape();
const records = metric('ufc_exporter_records_total');
process.stdout.write(`done: sent ${sent} datagrams; RSS start ${rssStart.toFixed(0)} MB, end ${rssEnd.toFixed(0)} MB; kernel drops ${drops(PORT)}; receive-queue drops ${metric('ufc_udp_receive_dropped_total')}; records decoded ${records}; exporters ${metric('ufc_exporters')}; decode errors ${metric('ufc_decode_errors_total')}\n`);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
removeData();

/**
 * Threat-list benchmark: `npm run bench:threat`.
 * - lookups per second on a 1,000,000-entry list (IPv4 uint32 path, and the text path the enricher uses);
 * - memory held by a 1,000,000-entry index;
 * - download-to-active time for a response the size the seed page shows (28,762,468 bytes), per format;
 * - the longest event-loop pause while a 1,000,000-entry DB is downloaded, parsed, indexed and swapped in.
 * Targets (issue 5): >= 10M IPv4 lookups/s/core, < 200 MB for 1M entries, < 3 s download-to-active.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { RiskiqThreatEnricher } from '../src/enrich/riskiq-threat.js';
import { generateList, SEED_RESPONSE_BYTES, startPassiveTotalEmulator, type EmulatorListFormat } from '../src/dev/passivetotal-emulator.js';
import { parseList } from '../src/threat/formats.js';
import { buildPrefixIndex, type PrefixIndex } from '../src/threat/prefix-index.js';
import { ThreatMatcher } from '../src/threat/matcher.js';
import { formatIPv4 } from '../src/threat/ip.js';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
const rows: [string, string, string][] = [];
const mb = (n: number): string => (n / 1048576).toFixed(1) + ' MB';

function rss(): { heap: number; ab: number; rss: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ab: m.arrayBuffers, rss: m.rss };
}

setLogger(createLogger({ level: 'warn', encoding: 'json', sink: () => undefined }));

// 1. Build a 1M-entry index and measure what it holds.
const list = generateList({ entries: ENTRIES, format: 'text', seed: 42 });
const before = rss();
let index: PrefixIndex | null = await buildPrefixIndex((await parseList(list.body, 'blocklist')).set);
const afterBuild = rss();
const held = afterBuild.heap + afterBuild.ab - (before.heap + before.ab);
rows.push(['memory held by the index', `${index.size.toLocaleString()} entries (${index.ranges.toLocaleString()} ranges)`, `${mb(held)} (target < 200 MB)`]);

// 2. Lookups: half of the probes hit (addresses drawn from the list), half are random.
const PROBES = 1 << 20;
const probes = new Uint32Array(PROBES);
const text: string[] = [];
let rnd = 12345;
const next = (): number => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
const listed: number[] = [];
for (const line of list.body.toString('utf8').split('\n')) {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+) ;/.exec(line);
  if (m !== null) listed.push(((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0);
  if (listed.length >= PROBES / 2) break;
}
for (let i = 0; i < PROBES; i++) {
  probes[i] = i % 2 === 0 && listed.length > 0 ? listed[(i >>> 1) % listed.length]! : next();
  if (i < 1 << 18) text.push(formatIPv4(probes[i]!));
}
{
  let hits = 0;
  for (let i = 0; i < PROBES; i++) if (index.lookupV4(probes[i]!) >= 0) hits++; // warm-up
  const N = 20_000_000;
  const t0 = process.hrtime.bigint();
  hits = 0;
  for (let i = 0; i < N; i++) if (index.lookupV4(probes[i & (PROBES - 1)]!) >= 0) hits++;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push(['IPv4 lookups (uint32)', `${N.toLocaleString()} lookups, ${((hits / N) * 100).toFixed(0)}% hits`, `${(N / s / 1e6).toFixed(1)} M/s on one core (target >= 10 M/s)`]);
}
{
  const matcher = new ThreatMatcher();
  matcher.setList(index);
  let hits = 0;
  for (const t of text) if (matcher.nameFor(t) !== null) hits++;
  const N = 5_000_000;
  const t0 = process.hrtime.bigint();
  hits = 0;
  for (let i = 0; i < N; i++) if (matcher.nameFor(text[i & ((1 << 18) - 1)]!) !== null) hits++;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push(['IPv4 lookups (text, as enrich() does)', `${N.toLocaleString()} lookups, ${((hits / N) * 100).toFixed(0)}% hits`, `${(N / s / 1e6).toFixed(1)} M/s on one core`]);
}
index = null;

// 3. Download-to-active for a seed-sized response, and the longest loop pause during it.
async function downloadToActive(format: EmulatorListFormat, spec: { bytes?: number; entries?: number }): Promise<{ ms: number; entries: number; bytes: number; maxPauseMs: number; p99Ms: number; tickGapMs: number }> {
  const emu = await startPassiveTotalEmulator({ ...spec, format, user: 'bench@example.com', key: 'bench-key-0123456789' });
  const dataDir = mkdtempSync(join(tmpdir(), 'ufc-bench-threat-'));
  const res = loadConfig({
    env: {
      EF_DATA_DIR: dataDir,
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'bench@example.com',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'bench-key-0123456789',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emu.url,
    },
  });
  if (res.config === null) throw new Error(res.errors.join('\n'));
  const e = new RiskiqThreatEnricher({ config: res.config, dataDir, autoRefresh: false });
  await e.start();
  gc?.();
  // A 1 ms ticker stands in for the pipeline: its longest gap is the longest pause a datagram would see.
  let last = performance.now();
  let gap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, 1);
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const ok = await e.refresh();
  const ms = performance.now() - t0;
  h.disable();
  clearInterval(ticker);
  if (!ok) throw new Error('refresh failed');
  const entries = e.matcher.listSize;
  await e.stop();
  await emu.close();
  rmSync(dataDir, { recursive: true, force: true });
  return { ms, entries, bytes: emu.list.body.length, maxPauseMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, tickGapMs: gap };
}

for (const format of ['text', 'csv', 'json'] as EmulatorListFormat[]) {
  const r = await downloadToActive(format, { bytes: SEED_RESPONSE_BYTES });
  rows.push([`download-to-active, ${format}`, `${r.bytes.toLocaleString()} bytes, ${r.entries.toLocaleString()} entries`, `${(r.ms / 1000).toFixed(2)} s (target < 3 s); longest loop pause ${r.maxPauseMs.toFixed(1)} ms`]);
}
const swap = await downloadToActive('text', { entries: ENTRIES });
rows.push([
  `swap of a ${ENTRIES.toLocaleString()}-entry DB (text)`,
  `${swap.bytes.toLocaleString()} bytes, ${swap.entries.toLocaleString()} entries, ${(swap.ms / 1000).toFixed(2)} s`,
  `longest event-loop pause ${swap.maxPauseMs.toFixed(1)} ms (monitorEventLoopDelay max), p99 ${swap.p99Ms.toFixed(1)} ms, 1 ms ticker's longest gap ${swap.tickGapMs.toFixed(1)} ms`,
]);

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
process.stdout.write(`threat benchmark (node ${process.version}, ${gc ? 'with' : 'without'} --expose-gc)\n`);
for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}\n`);

/**
 * npm run bench:pipeline — the full pipeline in one process without sockets: the benchmark NetFlow v9
 * stream (bench/netflow9-stream.ts) handed datagram by datagram to the collector built from the same
 * configuration as `bench:peers` uses for ufc (every enricher: GeoIP, ASN and the RiskIQ list from the
 * local PassiveTotal emulator; NDJSON file output).
 * Records per CPU-second here are the ceiling the UDP path can reach; the gap to bench:peers is the
 * receive side. Options: --packets N (default 40000 = 1,000,000 records), --rounds N (default 3).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { Collector } from '../src/collector.js';
import { DISTINCT_DST, RECORDS_PER_PACKET, stream, THREAT_LIST } from './netflow9-stream.js';
import { startPassiveTotalEmulator } from '../src/dev/passivetotal-emulator.js';
import { envWithPrefix, isTemplate, cli } from './send-stream.js';

const opts = cli('usage: npm run bench:pipeline -- [--packets N (40000)] [--rounds N (3)] [--exporters N (1)]', ['packets', 'rounds', 'exporters']);
const PACKETS = opts.num('packets', 40_000);
const ROUNDS = opts.num('rounds', 3);

const dir = mkdtempSync(join(tmpdir(), 'bench-pipeline-'));
// The RiskIQ threat enricher downloads the stream's blocklist from the local PassiveTotal emulator
// (loopback), as in bench:peers: one destination in 16 is on it.
const emulator = await startPassiveTotalEmulator({ host: '127.0.0.1', port: 0, user: 'bench@example.com', key: 'bench-emulator-key-0123456789', ...THREAT_LIST });
const res = loadConfig({
  env: {
    EF_DATA_DIR: dir, EF_LOGGER_LEVEL: 'warn', EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emulator.url,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'bench@example.com', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'bench-emulator-key-0123456789',
    EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'), EF_OUTPUT_FILE_MAX_SIZE: '0',
    EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: process.env.BENCH_GEO ?? 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: process.env.BENCH_GEO ?? 'true',
    // EF_ variables of the environment win, so one stage at a time can be switched off to see its cost.
    ...envWithPrefix('EF_'),
  },
});
if (res.config === null) throw new Error(res.errors.join('\n'));
const collector = new Collector(res.config);
await collector.start();
const riskiq = collector.enrichers.find((e) => e.name === 'riskiq-threat') as unknown as { matcher: { listSize: number } };
for (let i = 0; i < 200 && riskiq.matcher.listSize === 0; i++) await new Promise((r) => setTimeout(r, 50));
if (riskiq.matcher.listSize === 0) throw new Error('the RiskIQ list did not load from the emulator');
// With decode workers (EF_FLOW_SERVER_WORKERS, `auto`: one with the file output alone) the datagrams go to the decode workers (listen() starts them; the
// socket it opens on a free loopback port stays unused), as the UDP input would hand them over.
const workers = collector.workers;
if (workers > 0) await collector.listen();
// --exporters N: data packets round-robin over N exporter addresses (templates go to all of them), as
// when several routers export to one collector; with workers, exporters spread over them.
const EXPORTERS = Array.from({ length: opts.num('exporters', 1) }, (_, i) => `127.0.0.${i + 1}`);
const send = workers > 0
  ? (buf: Buffer, from: string): void => collector.pool!.dispatch(buf, from, 2055, Date.now())
  : (buf: Buffer, from: string): void => collector.pipeline.handle(buf, { exporterIp: from, exporterPort: 2055, receivedAt: Date.now() });
let turn = 0;
const feed = (buf: Buffer): void => {
  // Every exporter sends the template packets.
  if (isTemplate(buf)) for (const e of EXPORTERS) send(buf, e);
  else send(buf, EXPORTERS[turn++ % EXPORTERS.length]!);
};
const packets = [...stream(PACKETS)];
const records = PACKETS * RECORDS_PER_PACKET;
process.stdout.write(`full pipeline, no sockets: ${records.toLocaleString('en-US')} records a round (NetFlow v9, ${RECORDS_PER_PACKET} per packet, ${DISTINCT_DST} distinct destinations, ${EXPORTERS.length} exporter${EXPORTERS.length === 1 ? '' : 's'}, ${workers} decode workers)\n`);
for (let round = 1; round <= ROUNDS; round++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Handed over in slices with a turn of the event loop between them, as datagrams arrive.
  for (let i = 0; i < packets.length; i++) {
    feed(packets[i]!);
    if (workers > 0 && i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
  await collector.flush();
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(`round ${round}: ${Math.round(records / cpuS).toLocaleString('en-US')} records/CPU-s (${cpuS.toFixed(2)} CPU s, ${((performance.now() - t0) / 1000).toFixed(2)} s wall)\n`);
}
await collector.stop();
await emulator.close();
const out = join(dir, 'flows.ndjson');
if (existsSync(out)) process.stdout.write(`NDJSON written: ${(statSync(out).size / 1e6).toFixed(0)} MB\n`);
if (process.env.BENCH_KEEP === undefined) rmSync(dir, { recursive: true, force: true }); else process.stdout.write(`kept ${dir}\n`);

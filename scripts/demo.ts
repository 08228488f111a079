/**
 * `npm run demo`: the whole product on one machine, over loopback only.
 *
 *  1. the PassiveTotal emulator serves a 50,000-entry blocklist (src/dev/passivetotal-emulator.ts);
 *  2. the collector starts with the embedded DuckDB store, the RiskIQ threat enricher pointed at
 *     the emulator, the RiskIQ output in audit mode (rows go to a local file, nothing leaves the
 *     machine) and the web UI;
 *  3. four synthetic exporters (NetFlow v5, NetFlow v9, IPFIX, sFlow v5) send an office's traffic,
 *     a few percent of it to or from listed addresses, at about 200 flows per second.
 *
 * Threats show on http://127.0.0.1:8080/threats within seconds. Stop with Ctrl-C; the demo also
 * stops by itself after --minutes (default 60). Any EF_* variable in the environment overrides the
 * demo's defaults (e.g. EF_WEBUI_PORT=8081 npm run demo).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Collector } from '../src/collector.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger, setLogger, log } from '../src/log/logger.js';
import { packageRoot } from '../src/cli/version.js';
import { startPassiveTotalEmulator } from '../src/dev/passivetotal-emulator.js';
import { DemoTraffic, TrafficModel, defaultExporters } from './demo-exporters.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    'interval-ms': { type: 'string', default: '250' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write('npm run demo [-- --minutes N] [--interval-ms MS]\n  Collector + web UI + PassiveTotal emulator + four synthetic exporters, on 127.0.0.1 only.\n');
  process.exit(0);
}
const minutes = Math.min(24 * 60, Math.max(1, Number(args.minutes) || 60));
// One datagram per exporter per interval; 50 ms is the floor (about 1,500 flows/s).
const intervalMs = Math.max(50, Number(args['interval-ms']) || 250);

const USER = 'demo@example.com';
const KEY = 'demo-key-0123456789abcdef0123456789abcdef';
const emulator = await startPassiveTotalEmulator({ host: '127.0.0.1', port: 0, user: USER, key: KEY, entries: 50_000, seed: 2021, format: 'json' });

// Listed IPv4 addresses the traffic will touch (a CIDR entry gives one address inside it).
const listed = emulator.list.sample
  .filter((e) => !e.addr.includes(':'))
  .map((e) => (e.addr.endsWith('.0/24') ? e.addr.replace('.0/24', '.77') : e.addr))
  .slice(0, 8);

const dataDir = join(packageRoot(), 'data', 'demo');
const env: Record<string, string> = {
  EF_DATA_DIR: dataDir,
  EF_LOGGER_ENCODING: 'console',
  EF_FLOW_SERVER_UDP_IP: '127.0.0.1',
  EF_FLOW_SERVER_UDP_PORT: '2055,4739,6343',
  EF_OUTPUT_DUCKDB_ENABLE: 'true',
  // Countries and AS organisations from the bundled offline databases (DB-IP, RouteViews).
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true',
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true',
  EF_WEBUI_ENABLE: 'true',
  EF_WEBUI_IP: '127.0.0.1',
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER,
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY,
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emulator.url,
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL: '60',
  EF_OUTPUT_RISKIQ_ENABLE: 'true',
  EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438',
  EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg==',
  // `data/...`: in the data directory, wherever EF_DATA_DIR puts it.
  EF_OUTPUT_RISKIQ_AUDIT_PATH: 'data/riskiq-audit.ndjson',
  EF_OUTPUT_DUCKDB_RETENTION: '1',
};
for (const [k, v] of Object.entries(process.env)) if (k.startsWith('EF_') && v !== undefined) env[k] = v;
const res = loadConfig({ env });
if (res.config === null) {
  for (const e of res.errors) process.stderr.write(`${e}\n`);
  await emulator.close();
  process.exit(2);
}
const config = res.config;
setLogger(createLogger({ level: config.EF_LOGGER_LEVEL, encoding: config.EF_LOGGER_ENCODING }));

// A port taken by another collector (or an earlier demo) gets one clear line, not a stack trace.
const busy = await busyPorts(config.EF_FLOW_SERVER_UDP_IP, config.EF_FLOW_SERVER_UDP_PORT.map(Number), config.EF_WEBUI_ENABLE ? [config.EF_WEBUI_IP, config.EF_WEBUI_PORT] : null);
if (busy.length > 0) {
  process.stderr.write(`ufc demo: ${busy.join(', ')} already in use (another collector or demo running?). Free them, or choose others, e.g. EF_WEBUI_PORT=8081 EF_FLOW_SERVER_UDP_PORT=12055,14739,16343 npm run demo\n`);
  await emulator.close();
  process.exit(2);
}

const collector = new Collector(config);
try {
  await collector.start();
} catch {
  // Said already, in one line naming the option (start-up failed: ...), as `ufc run` says it.
  await emulator.close();
  process.exit(2);
}
// Ports as bound (0 in EF_FLOW_SERVER_UDP_PORT picks a free one), in the configured order.
const bound = await collector.listen();

// Wait (bounded) for the first download so the first flows are already enriched.
const threat = collector.enrichers.find((e) => e.name === 'riskiq-threat') as { feed?: { index: unknown } } | undefined;
for (let i = 0; i < 300 && threat?.feed !== undefined && threat.feed.index === null; i++) await new Promise((r) => setTimeout(r, 100));

/** The port for a protocol's usual number, or the first one bound (any protocol is accepted on any port). */
const port = (usual: number): number => {
  const i = config.EF_FLOW_SERVER_UDP_PORT.map(Number).indexOf(usual);
  return bound[i >= 0 ? i : 0]!;
};
const target = config.EF_FLOW_SERVER_UDP_IP === '0.0.0.0' || config.EF_FLOW_SERVER_UDP_IP === '::' ? '127.0.0.1' : config.EF_FLOW_SERVER_UDP_IP;
const traffic = new DemoTraffic(
  defaultExporters({ netflow: port(2055), ipfix: port(4739), sflow: port(6343) }),
  new TrafficModel(listed, 42),
  target, intervalMs, minutes * 60_000,
);
await traffic.start();

const web = collector.web?.url() ?? '(web UI disabled)';
process.stderr.write([
  '',
  '  ufc demo is running (loopback only)',
  `    web UI          ${web}        threats: ${web}/threats`,
  `    metrics         ${web}/metrics`,
  `    PassiveTotal    emulator at ${emulator.url} (${emulator.list.entries.toLocaleString('en-US')} entries)`,
  `    exporters       NetFlow v5 127.0.0.11, NetFlow v9 127.0.0.12, IPFIX 127.0.0.13, sFlow 127.0.0.14`,
  `    listed peers    ${listed.join(', ')}`,
  `    data            ${config.EF_DATA_DIR}`,
  `  stops after ${minutes} min, or press Ctrl-C`,
  '',
].join('\n'));

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info(`demo stopping: ${why}`, { datagrams: traffic.sent, flows: traffic.flows });
  await traffic.stop();
  await collector.stop();
  await emulator.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
const deadline = setTimeout(() => void stop(`${minutes} minutes passed`), minutes * 60_000 + 1000);
deadline.unref();

/** Ports among ours that cannot be bound right now ("udp 127.0.0.1:2055", "tcp 127.0.0.1:8080"). */
async function busyPorts(udpIp: string, udpPorts: number[], web: [string, number] | null): Promise<string[]> {
  const busy: string[] = [];
  for (const p of udpPorts) {
    const s = createSocket(udpIp.includes(':') ? 'udp6' : 'udp4');
    const ok = await new Promise<boolean>((done) => {
      s.once('error', () => done(false));
      s.bind(p, udpIp, () => done(true));
    });
    if (ok) await new Promise<void>((done) => s.close(() => done()));
    else busy.push(`udp ${udpIp}:${p}`);
  }
  if (web !== null) {
    const srv = createServer();
    const ok = await new Promise<boolean>((done) => {
      srv.once('error', () => done(false));
      srv.listen(web[1], web[0], () => done(true));
    });
    if (ok) await new Promise<void>((done) => srv.close(() => done()));
    else busy.push(`tcp ${web[0]}:${web[1]}`);
  }
  return busy;
}

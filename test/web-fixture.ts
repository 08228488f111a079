/**
 * A running collector for the web tests: the embedded DuckDB store, the RiskIQ threat enricher
 * downloading a small list from a loopback HTTP server, the RiskIQ output writing its audit file,
 * and the web server on a free port. Real captures (NetFlow v5, NetFlow v9, sFlow v5) are replayed
 * through the pipeline many times, spread over the last `spanMs`, as if received live, with a
 * crafted IPFIX exporter that names its interfaces.
 *
 * Expected values are computed here from the replayed records themselves (a capture output beside
 * the store), never from the API under test.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Collector } from '../src/collector.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { WebServer } from '../src/web/server.js';
import { CaptureOutput, tempDir, testConfig, until } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';
import { createOutputs } from '../src/output/registry.js';
import { createEnrichers } from '../src/enrich/chain.js';

export const CAPTURES = [
  join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap'),
  join(TESTDATA, 'flowbeat', 'pcap', 'ipt_netflow_v9.pcap'),
  join(TESTDATA, 'akvorado', 'sflow', 'data-1140.pcap'),
];

/** Listed addresses, one from each capture, as the blocklist names them. */
export const LISTED: Record<string, string> = {
  '202.160.21.5': 'botnet-c2',
  '145.239.234.88': 'scanner',
  '45.90.161.46': 'malware-host',
};

/**
 * A crafted IPFIX exporter beside the captures (none of them carries interface names): an options
 * template and interface table (ingressInterface -> interfaceName), then flows between its named
 * interfaces, the busiest of the fixture, so the Overview's Interfaces card leads with named ones.
 */
export const NAMED_EXPORTER = '192.0.2.250';
export const NAMED_INTERFACES: Record<number, string> = { 1: 'Gi0/0 uplink', 2: 'Gi0/1' };

function namedExporterMessages(): Buffer[] {
  const u16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
  const set = (id: number, body: Buffer): Buffer => Buffer.concat([u16(id), u16(4 + body.length), body]);
  const msg = (sets: Buffer[]): Buffer => {
    const body = Buffer.concat(sets);
    return Buffer.concat([u16(10), u16(16 + body.length), u32(Math.floor(Date.now() / 1000)), u32(0), u32(1), body]);
  };
  const ip = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
  const table = Object.entries(NAMED_INTERFACES).map(([i, n]) => Buffer.concat([u32(Number(i)), Buffer.from([Buffer.byteLength(n)]), Buffer.from(n)]));
  // src, dst, sport, dport, proto, octets (4), packets (4), ingressInterface, egressInterface.
  const flow = (src: string, dst: string, inIf: number, outIf: number, bytes: number): Buffer =>
    Buffer.concat([ip(src), ip(dst), u16(50_000), u16(443), Buffer.from([6]), u32(bytes), u32(Math.ceil(bytes / 1500)), u32(inIf), u32(outIf)]);
  return [
    msg([
      set(3, Buffer.concat([u16(400), u16(2), u16(1), u16(10), u16(4), u16(82), u16(0xffff)])),
      set(400, Buffer.concat(table)),
      set(2, Buffer.concat([u16(300), u16(9), ...[[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 4], [2, 4], [10, 4], [14, 4]].flatMap(([id, len]) => [u16(id!), u16(len!)])])),
    ]),
    msg([set(300, Buffer.concat([flow('93.184.216.34', '10.9.0.1', 1, 2, 400_000_000), flow('10.9.0.1', '93.184.216.34', 2, 1, 40_000_000)]))]),
  ];
}

/** The newest replayed record is this old when the fixture returns: queries up to `startedAt - SETTLED_MS + 1` see everything. */
export const SETTLED_MS = 5000;

export interface WebFixture {
  collector: Collector;
  web: WebServer;
  url: string;
  /** Every record the pipeline produced, as the store received them. */
  records: CaptureOutput;
  startedAt: number;
  stop(): Promise<void>;
}

async function listServer(): Promise<Server> {
  const body = Object.entries(LISTED).map(([ip, name]) => `${ip} ; ${name}`).join('\n') + '\n# end\n';
  const s = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return s;
}

export interface WebFixtureOptions {
  replays?: number;
  spanMs?: number;
  passiveTotalUrl?: string;
  /** The store the API reads (default duckdb); clickhouse uses a fresh database on the local server, dropped at stop(). */
  store?: 'duckdb' | 'clickhouse';
}

export const CLICKHOUSE_URL = 'http://127.0.0.1:8123';

/** The network the fixture's address metadata file names. */
export const OFFICE_NET = '192.168.1.0/24';
export const OFFICE_NAME = 'office lan';
/** The network the file names the crafted IPFIX exporter's address in (an entry for exporters). */
export const EXPORTER_NETWORK = 'lab exporters';

export async function startWebFixture(opts: WebFixtureOptions = {}): Promise<WebFixture> {
  const replays = opts.replays ?? 30;
  const spanMs = opts.spanMs ?? 20 * 60_000;
  const lists = await listServer();
  const listUrl = `http://127.0.0.1:${(lists.address() as AddressInfo).port}/v2/netflow/blocklist/download`;
  const chDb = `ufc_web_${process.pid}_${Date.now()}`;
  const storeEnv: Record<string, string> = opts.store === 'clickhouse'
    ? { EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_OUTPUT_CLICKHOUSE_ENABLE: 'true', EF_OUTPUT_CLICKHOUSE_ADDRESSES: CLICKHOUSE_URL, EF_OUTPUT_CLICKHOUSE_DATABASE: chDb, EF_OUTPUT_CLICKHOUSE_BATCH_DEADLINE: '50' }
    : { EF_OUTPUT_DUCKDB_ENABLE: 'true' };
  // The address metadata file names one network, which the flow table shows under its addresses.
  const metaPath = join(tempDir('ufc-web-meta-'), 'ipaddrs.yml');
  writeFileSync(metaPath, `${OFFICE_NET}:\n  name: ${OFFICE_NAME}\n  tags: [office, wired]\n${NAMED_EXPORTER}:\n  contexts: [exporter]\n  name: ${EXPORTER_NETWORK}\n`);
  const config = testConfig({
    ...storeEnv,
    EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: metaPath,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'analyst@example.com',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'not-a-real-key-0123456789abcdef',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: listUrl,
    EF_OUTPUT_RISKIQ_ENABLE: 'true',
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438',
    EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg==',
    EF_OUTPUT_RISKIQ_AUDIT_PATH: 'data/riskiq-audit.ndjson',
    ...(opts.passiveTotalUrl ? { EF_WEBUI_PASSIVETOTAL_URL: opts.passiveTotalUrl } : {}),
  });
  const records = new CaptureOutput();
  const dataDir = config.EF_DATA_DIR;
  const collector = new Collector(config, {
    enrichers: createEnrichers({ config, dataDir }),
    outputs: [...createOutputs({ config, dataDir }), records],
  });
  await collector.start();
  // The list downloads in the background at start; wait for it (bounded).
  const threat = collector.enrichers.find((e) => e.name === 'riskiq-threat') as { feed: { index: unknown } } | undefined;
  if (threat === undefined) throw new Error('the RiskIQ threat enricher is not in the chain');
  await until(() => threat.feed.index !== null);
  if (threat.feed.index === null) throw new Error('the blocklist did not load within 5 s');

  const web = new WebServer(collector, { ip: '127.0.0.1', port: 0 });
  await web.start();
  web.setReady(true);

  const startedAt = Date.now();
  const datagrams = CAPTURES.map((f) => [...readUdpDatagrams(readFileSync(f))]);
  const named = namedExporterMessages();
  for (let k = 0; k < replays; k++) {
    // Oldest first, ending just now; each replay a little bigger than a uniform load would be.
    const at = startedAt - SETTLED_MS - spanMs + Math.round(((k + 1) * spanMs) / replays) - 1;
    for (const dgs of datagrams) {
      for (const dg of dgs) collector.pipeline.handle(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: at });
    }
    for (const m of named) collector.pipeline.handle(m, { exporterIp: NAMED_EXPORTER, exporterPort: 4739, receivedAt: at });
  }
  await collector.flush();
  return {
    collector, web, url: web.url(), records, startedAt,
    async stop() {
      await web.stop();
      await collector.stop();
      await new Promise<void>((ok) => lists.close(() => ok()));
      if (opts.store === 'clickhouse') {
        const c = createClient({ url: CLICKHOUSE_URL });
        await c.command({ query: `DROP DATABASE IF EXISTS ${chDb}` }).finally(() => c.close());
      }
    },
  };
}

/** True when either end of the record is on the list. */
export function touchesListed(r: { srcIp: string; dstIp: string }): boolean {
  return LISTED[r.srcIp] !== undefined || LISTED[r.dstIp] !== undefined;
}

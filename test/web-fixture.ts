/**
 * A running collector for the web tests: the embedded DuckDB store, the RiskIQ threat enricher
 * downloading a small list from a loopback HTTP server, the RiskIQ output writing its audit file,
 * and the web server on a free port. Real captures (NetFlow v5, NetFlow v9, sFlow v5) are replayed
 * through the pipeline many times, spread over the last `spanMs`, as if received live.
 *
 * Expected values are computed here from the replayed records themselves (a capture output beside
 * the store), never from the API under test.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Collector } from '../src/collector.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { WebServer } from '../src/web/server.js';
import { CaptureOutput, testConfig, until } from './helpers/collect.js';
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

export async function startWebFixture(opts: WebFixtureOptions = {}): Promise<WebFixture> {
  const replays = opts.replays ?? 30;
  const spanMs = opts.spanMs ?? 20 * 60_000;
  const lists = await listServer();
  const listUrl = `http://127.0.0.1:${(lists.address() as AddressInfo).port}/v2/netflow/blocklist/download`;
  const chDb = `ufc_web_${process.pid}_${Date.now()}`;
  const storeEnv: Record<string, string> = opts.store === 'clickhouse'
    ? { EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_OUTPUT_CLICKHOUSE_ENABLE: 'true', EF_OUTPUT_CLICKHOUSE_ADDRESSES: CLICKHOUSE_URL, EF_OUTPUT_CLICKHOUSE_DATABASE: chDb, EF_OUTPUT_CLICKHOUSE_BATCH_DEADLINE: '50' }
    : { EF_OUTPUT_DUCKDB_ENABLE: 'true' };
  const config = testConfig({
    ...storeEnv,
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
  for (let k = 0; k < replays; k++) {
    // Oldest first, ending just now; each replay a little bigger than a uniform load would be.
    const at = startedAt - SETTLED_MS - spanMs + Math.round(((k + 1) * spanMs) / replays) - 1;
    for (const dgs of datagrams) {
      for (const dg of dgs) collector.pipeline.handle(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: at });
    }
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

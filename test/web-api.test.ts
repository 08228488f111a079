/**
 * The HTTP API, /metrics, /healthz and /readyz against a running collector fed by replayed
 * captures (NetFlow v5, v9, sFlow) into the embedded DuckDB store, with the RiskIQ threat enricher
 * and output on. Expected values come from the records the pipeline produced.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPORTER_NETWORK, LISTED, NAMED_EXPORTER, NAMED_INTERFACES, startWebFixture, type WebFixture } from './web-fixture.js';
import { storeApiTests, storeOrderTests } from './web-api-suite.js';
import { WebServer } from '../src/web/server.js';
import { createServer, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApi, eitherEnd, EXPORTS_AT_ONCE } from '../src/web/api.js';
import type { WebSources } from '../src/web/sources.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { flowQueryFrom } from '../src/store/query.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { testConfig, until } from './helpers/collect.js';

let f: WebFixture;

before(async () => {
  f = await startWebFixture({ replays: 12 });
});
after(async () => {
  await f?.stop();
});

async function get(path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(f.url + path);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}
async function json<T = Record<string, unknown>>(path: string): Promise<T> {
  const r = await get(path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

const flowRecords = () => f.records.records.filter((r) => r.kind === 'flow');

test('healthz answers ok; readyz follows the collector', async () => {
  assert.equal((await get('/healthz')).status, 200);
  const ready = await json<{ ready: boolean; store: { store: string } }>('/readyz');
  assert.equal(ready.ready, true);
  assert.equal(ready.store.store, 'duckdb');
  f.web.setReady(false);
  try {
    assert.equal((await get('/readyz')).status, 503);
  } finally {
    f.web.setReady(true);
  }
});

test('pages are served with a strict CSP; unknown paths are 404', async () => {
  for (const p of ['/', '/threats', '/flows', '/exporters', '/integrations']) {
    const res = await fetch(f.url + p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await res.text(), /<script type="module" src="\/static\/app.js">/);
  }
  const js = await get('/static/pages/overview.js');
  assert.equal(js.status, 200);
  assert.match(js.type, /javascript/);
  assert.equal((await get('/static/../../package.json')).status, 404);
  assert.equal((await get('/api/nope')).status, 404);
});

storeApiTests(() => f);

test('/api/exporters shows each exporter with its protocol, counters and templates', async () => {
  const d = await json<{ exporters: { exporter: string; host: string; network: string; protocol: string; packets: number; records: number; templates: number | null; interfaceNames: number; samplingRates: number[] }[] }>('/api/exporters');
  // The address metadata file's entry for exporters names the crafted IPFIX exporter's network; DNS names are off.
  assert.deepEqual(d.exporters.map((e) => [e.exporter, e.host, e.network]).filter(([, h, n]) => h !== '' || n !== ''), [[NAMED_EXPORTER, '', EXPORTER_NETWORK]]);
  const stats = f.collector.pipeline.stats.snapshot();
  assert.equal(d.exporters.length, stats.length);
  for (const s of stats) {
    const e = d.exporters.find((x) => x.exporter === s.exporter)!;
    assert.equal(e.protocol, s.protocol);
    assert.equal(e.packets, s.packets);
    assert.equal(e.records, s.records);
  }
  assert.deepEqual(d.exporters.map((e) => e.protocol).sort(), ['ipfix', 'netflow5', 'netflow9', 'sflow5']);
  assert.ok((d.exporters.find((e) => e.protocol === 'netflow9')!.templates ?? 0) >= 1);
  // Interfaces named by options data: the crafted IPFIX exporter's two, no one else's.
  assert.deepEqual(d.exporters.filter((e) => e.interfaceNames > 0).map((e) => [e.exporter, e.interfaceNames]), [[NAMED_EXPORTER, Object.keys(NAMED_INTERFACES).length]]);
  // Sampling rates: what the exporter's stored flows were scaled by.
  for (const e of d.exporters) {
    const rates = [...new Set(f.records.records.filter((r) => r.exporterIp === e.exporter && r.samplingRate > 0).map((r) => r.samplingRate))].sort((a, b) => a - b);
    assert.deepEqual(e.samplingRates, rates, e.exporter);
  }
  // (The sFlow capture's flows carry its agent address, 172.16.0.3, not the UDP source: the demo test checks a sampled exporter.)
});

test('/api/exporters: limit keeps the busiest, q finds by address, host name or network, and the totals are over every exporter', async () => {
  interface Answer { total: number; matched: number; sums: { packets: number; bytes: number; records: number; errorCount: number }; exporters: { exporter: string; network: string; packets: number; bytes: number; records: number; errorCount: number }[] }
  const all = await json<Answer>('/api/exporters');
  assert.ok(all.exporters.length >= 3, `the fixture has several exporters: ${all.exporters.length}`);
  assert.equal(all.total, all.exporters.length, 'without a limit, every exporter (as before)');
  assert.equal(all.matched, all.total, 'without q, every exporter matches');
  const sum = (k: 'packets' | 'bytes' | 'records' | 'errorCount') => all.exporters.reduce((a, e) => a + e[k], 0);
  assert.deepEqual(all.sums, { packets: sum('packets'), bytes: sum('bytes'), records: sum('records'), errorCount: sum('errorCount') }, 'sums over the list');
  // With 10,000 exporters the answer was 5.85 MB: the page asks for the busiest few hundred.
  const two = await json<Answer>('/api/exporters?limit=2');
  assert.deepEqual(two.exporters.map((e) => e.exporter), all.exporters.slice(0, 2).map((e) => e.exporter), 'the first two of the list, the busiest by records');
  assert.ok(two.exporters[0]!.records >= two.exporters[1]!.records, 'busiest first');
  assert.equal(two.total, all.total, 'total: every exporter, not the rows sent');
  assert.equal(two.matched, all.total, 'matched: every exporter without q');
  assert.deepEqual(two.sums, all.sums, 'the sums stay over every exporter');
  // By network name, in any case; by part of an address.
  const byNet = await json<Answer>(`/api/exporters?q=${encodeURIComponent(EXPORTER_NETWORK.toUpperCase().slice(2))}&limit=5`);
  assert.deepEqual(byNet.exporters.map((e) => e.exporter), [NAMED_EXPORTER], 'the one exporter in the named network');
  assert.deepEqual([byNet.matched, byNet.total], [1, all.total], 'matched 1 of all');
  assert.deepEqual(byNet.sums, all.sums, 'the sums are not the search\'s');
  const last = all.exporters.at(-1)!.exporter;
  const byAddress = await json<Answer>(`/api/exporters?q=${encodeURIComponent(` ${last} `)}`);
  assert.ok(byAddress.exporters.some((e) => e.exporter === last), `${last} found by its address, blanks around it ignored`);
  assert.ok(byAddress.exporters.every((e) => e.exporter.includes(last)), 'only addresses holding it');
  assert.equal(byAddress.matched, byAddress.exporters.length, 'matched counts the rows found');
  const none = await json<Answer>('/api/exporters?q=no-such-exporter');
  assert.deepEqual([none.exporters.length, none.matched, none.total], [0, 0, all.total], 'nothing found, the total still said');
  // sampling=decoders leaves out the store's look-up (searches counted on the stores' query modules); the rows are the same.
  let searches = 0;
  const stores = f.collector.outputs.filter((o) => typeof (o as { flowQuery?: unknown }).flowQuery === 'function') as unknown as { flowQuery: () => { search: (...a: unknown[]) => unknown } | null }[];
  const originals = stores.map((o) => o.flowQuery);
  for (const [i, o] of stores.entries()) {
    o.flowQuery = () => {
      const q = originals[i]!.call(o);
      if (q === null) return q;
      const search = q.search.bind(q);
      return Object.assign(Object.create(q) as object, { search: (...a: unknown[]) => (searches++, search(...a)) }) as typeof q;
    };
  }
  let quick: Answer;
  try {
    await json<Answer>('/api/exporters?limit=3');
    assert.ok(searches > 0, 'the default looks in the store');
    searches = 0;
    quick = await json<Answer>('/api/exporters?limit=3&sampling=decoders');
    assert.equal(searches, 0, 'sampling=decoders: no search of the store');
  } finally {
    for (const [i, o] of stores.entries()) o.flowQuery = originals[i]!;
  }
  assert.deepEqual(quick.exporters.map((e) => e.exporter), all.exporters.slice(0, 3).map((e) => e.exporter), 'the same busiest rows');
  for (const bad of ['limit=0', 'limit=ten', 'limit=-1', 'sampling=none']) assert.equal((await get(`/api/exporters?${bad}`)).status, 400, bad);
});

test('/api/integrations reports the blocklist and the RiskIQ output', async () => {
  const d = await json<{ feeds: { feed: string; entries: number; lastRefresh: number; nextRefresh: number; lastError: string | null }[]; riskiqOutput: { enabled: boolean; sent: number } }>('/api/integrations');
  assert.equal(d.feeds.length, 1);
  assert.equal(d.feeds[0]!.feed, 'riskiq');
  assert.equal(d.feeds[0]!.entries, Object.keys(LISTED).length);
  assert.equal(d.feeds[0]!.lastError, null);
  assert.ok(d.feeds[0]!.lastRefresh <= Date.now() && d.feeds[0]!.lastRefresh > f.startedAt - 60_000);
  assert.ok(d.feeds[0]!.nextRefresh > Date.now());
  assert.equal(d.riskiqOutput.enabled, true);
  assert.equal(d.riskiqOutput.sent, flowRecords().length);
  // The files of the user's the enrichers read: the fixture's address metadata file, two entries.
  const files = (d as unknown as { files: { what: string; option: string; path: string; entries: number; loadedAt: number; error: string | null }[] }).files;
  assert.deepEqual(files.map((x) => [x.what, x.option, x.entries, x.error]), [['address metadata', 'EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH', 2, null]]);
  assert.ok(files[0]!.path.endsWith('ipaddrs.yml') && files[0]!.loadedAt <= Date.now() && files[0]!.loadedAt > f.startedAt - 120_000);
});

test('/metrics: per-exporter counters, outputs, blocklist and process stats', async () => {
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /text\/plain/);
  let bytesTold = false;
  for (const s of f.collector.pipeline.stats.snapshot()) {
    for (const [protocol, c] of Object.entries(s.byProtocol)) {
      const labels = `{exporter="${s.exporter}",protocol="${protocol}"}`;
      assert.ok(r.body.includes(`ufc_exporter_packets_total${labels} ${c.packets}\n`), labels);
      assert.ok(r.body.includes(`ufc_exporter_bytes_total${labels} ${c.bytes}\n`), `${labels}: bytes`);
      assert.ok(r.body.includes(`ufc_exporter_records_total${labels} ${c.records}\n`), labels);
      if (c.bytes !== c.packets) bytesTold = true;
    }
  }
  assert.ok(bytesTold, 'some exporter\'s bytes differ from its packets, so the bytes line is told apart');
  assert.match(r.body, new RegExp(`ufc_threat_blocklist_entries\\{feed="riskiq"\\} ${Object.keys(LISTED).length}\\n`));
  assert.match(r.body, /ufc_enrich_file_entries\{option="EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH"\} 2\n/);
  assert.match(r.body, /ufc_enrich_file_read_failed\{option="EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH"\} 0\n/);
  assert.match(r.body, /ufc_threat_blocklist_age_seconds\{feed="riskiq"\} \d/);
  assert.match(r.body, new RegExp(`ufc_output_events_total\\{output="duckdb",outcome="sent"\\} ${f.records.records.length}\\n`));
  assert.match(r.body, /ufc_output_queue_depth\{output="duckdb",counter="queued"\} 0\n/);
  assert.match(r.body, new RegExp(`ufc_riskiq_output_events_total\\{counter="records_sent"\\} ${flowRecords().length}\\n`));
  assert.match(r.body, /ufc_process_cpu_seconds_total \d/);
  assert.match(r.body, /ufc_nodejs_heap_size_used_bytes \d/);
});

test('decode errors are counted by exporter and reason in /metrics and /api/exporters', async () => {
  const now = Date.now();
  f.collector.pipeline.handle(Buffer.from([0, 5, 0, 30, 1, 2]), { exporterIp: '198.51.100.7', exporterPort: 2055, receivedAt: now });
  f.collector.pipeline.handle(Buffer.from('hello, not a flow'), { exporterIp: '198.51.100.7', exporterPort: 2055, receivedAt: now });
  const m = (await get('/metrics')).body;
  const lines = m.split('\n').filter((l) => l.startsWith('ufc_exporter_errors_total{exporter="198.51.100.7"'));
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(m, /ufc_decode_errors_total\{reason="unknown protocol"\} 1\n/);
  const d = await json<{ exporters: { exporter: string; errorCount: number; errors: Record<string, number> }[] }>('/api/exporters');
  const e = d.exporters.find((x) => x.exporter === '198.51.100.7')!;
  assert.equal(e.errorCount, 2);
  assert.equal(e.errors['unknown protocol'], 1);
});

test('/metrics: what an exporter\'s sequence numbers told, one series per exporter that has something to tell', async () => {
  const now = Date.now();
  const v5 = (seq: number): Buffer => {
    const b = Buffer.alloc(24 + 48);
    b.writeUInt16BE(5, 0); b.writeUInt16BE(1, 2); b.writeUInt32BE(100_000, 4); b.writeUInt32BE(Math.floor(now / 1000), 8); b.writeUInt32BE(seq, 16);
    b.writeUInt32BE(99_000, 48); b.writeUInt32BE(99_500, 52); b[62] = 17;
    return b;
  };
  // 1 record numbered 0; then 100 (99 missing); 50 (late); 40,000,000 (too far ahead: a restart).
  for (const seq of [0, 100, 50, 40_000_000]) f.collector.pipeline.handle(v5(seq), { exporterIp: '198.51.100.8', exporterPort: 2055, receivedAt: now });
  const m = (await get('/metrics')).body;
  assert.match(m, /^ufc_exporter_sequence_missing_total\{exporter="198\.51\.100\.8",unit="records"\} 99$/m);
  assert.match(m, /^ufc_exporter_sequence_late_total\{exporter="198\.51\.100\.8"\} 1$/m);
  assert.match(m, /^ufc_exporter_sequence_resets_total\{exporter="198\.51\.100\.8"\} 1$/m);
  assert.doesNotMatch(m, /^ufc_exporter_sflow_agent_drops_total\{exporter="198\.51\.100\.8"/m);
});

test('/api/exporters counts the records whose times the decoder changed, per exporter and reason', async () => {
  const now = Date.now();
  // One NetFlow v5 record whose Last is before its First (uptime 100 s, first 99 s, last 90 s).
  const v5 = Buffer.alloc(24 + 48);
  v5.writeUInt16BE(5, 0); v5.writeUInt16BE(1, 2); v5.writeUInt32BE(100_000, 4); v5.writeUInt32BE(Math.floor(now / 1000), 8);
  v5.writeUInt32BE(0x0a000001, 24); v5.writeUInt32BE(0x0a000002, 28); v5.writeUInt32BE(1, 40); v5.writeUInt32BE(64, 44);
  v5.writeUInt32BE(99_000, 48); v5.writeUInt32BE(90_000, 52); v5[62] = 17;
  for (let i = 0; i < 3; i++) f.collector.pipeline.handle(v5, { exporterIp: '198.51.100.11', exporterPort: 2055, receivedAt: now });
  const d = await json<{ exporters: { exporter: string; errorCount: number; timesChanged: Record<string, number> }[] }>('/api/exporters');
  const e = d.exporters.find((x) => x.exporter === '198.51.100.11')!;
  assert.deepEqual(e.timesChanged, { 'time: end before start (end set to start)': 3 });
  assert.equal(e.errorCount, 0, 'the records were kept: no error');
  assert.ok(d.exporters.every((x) => typeof x.timesChanged === 'object'));
});

test('one address sending several protocols: one series per protocol, each only going up', async () => {
  const now = Date.now();
  const at = (p: Buffer): void => f.collector.pipeline.handle(p, { exporterIp: '198.51.100.9', exporterPort: 2055, receivedAt: now });
  // Headers only: a NetFlow v5 datagram and an IPFIX message, neither with a record.
  const v5 = Buffer.alloc(24);
  v5.writeUInt16BE(5, 0);
  const ipfix = Buffer.alloc(16);
  ipfix.writeUInt16BE(10, 0);
  ipfix.writeUInt16BE(16, 2);
  const series = async (): Promise<Map<string, number>> => {
    const m = (await get('/metrics')).body;
    const out = new Map<string, number>();
    for (const [, protocol, n] of m.matchAll(/^ufc_exporter_packets_total\{exporter="198\.51\.100\.9",protocol="(\w+)"\} (\d+)$/gm)) out.set(protocol!, Number(n));
    return out;
  };
  at(v5);
  at(v5);
  at(ipfix);
  assert.deepEqual(await series(), new Map([['netflow5', 2], ['ipfix', 1]]));
  // Before, the exporter's one series took the latest protocol's name with all its packets: the
  // netflow5 series vanished here and an ipfix one counted all four.
  at(ipfix);
  assert.deepEqual(await series(), new Map([['netflow5', 2], ['ipfix', 2]]));
  const d = await json<{ exporters: { exporter: string; protocol: string; protocols: string[]; packets: number }[] }>('/api/exporters');
  const e = d.exporters.find((x) => x.exporter === '198.51.100.9')!;
  assert.equal(e.protocol, 'ipfix', 'the latest');
  assert.deepEqual([...e.protocols].sort(), ['ipfix', 'netflow5']);
  assert.equal(e.packets, 4);
});

test('the collector starts the web server on listen() when EF_WEBUI_ENABLE, and stops it', async () => {
  // A free port, found by binding port 0 first.
  const probe = new WebServer(f.collector, { ip: '127.0.0.1', port: 0 });
  await probe.start();
  const port = Number(new URL(probe.url()).port);
  await probe.stop();
  const { Collector } = await import('../src/collector.js');
  const { testConfig } = await import('./helpers/collect.js');
  const c = new Collector(testConfig({ EF_WEBUI_ENABLE: 'true', EF_WEBUI_PORT: String(port), EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '0' }));
  await c.start();
  await c.listen();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = (await res.json()) as { ready: boolean; store: { store: string | null } };
    assert.equal(res.status, 200);
    assert.equal(body.store.store, null);
    const api = await fetch(`http://127.0.0.1:${port}/api/overview`);
    assert.equal(api.status, 503);
  } finally {
    await c.stop();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});

/** A DuckDB store of 40,000 flows (about 20 MB of NDJSON: enough to fill the socket buffers of a client that does not read) behind createApi on a loopback HTTP server; `ended` counts finished handlers. */
async function exportFixture(opts: { exportStallMs?: number; exportTotalMs?: number }): Promise<{ port: number; now: number; started: () => number; ended: () => number; close: () => Promise<void>; store: DuckDbOutput; api: ReturnType<typeof createApi> }> {
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'export.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  const now = Date.now();
  const recs: FlowRecord[] = [];
  for (let i = 0; i < 40_000; i++) {
    const r = new FlowRecord();
    r.collectTs = now - i; r.exporterIp = '192.0.2.1'; r.srcIp = `10.0.${i >> 8 & 255}.${i & 255}`; r.dstIp = '198.51.100.7'; r.ipVersion = 4;
    r.proto = 6; r.srcPort = 40000 + (i % 1000); r.dstPort = 443; r.bytes = 1000 + i; r.packets = 3;
    recs.push(r);
  }
  store.write(recs);
  await store.flush();
  const api = createApi({ config, outputs: [store] } as unknown as WebSources, undefined, opts);
  let started = 0;
  let ended = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    started++;
    // As the web server answers an ApiError: its status and message (headers set before it kept).
    void api.handle(url.pathname, url.searchParams, res).catch((err: { status?: number; message: string }) => {
      if (!res.headersSent) res.writeHead(err.status ?? 500).end(err.message);
    }).finally(() => ended++);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    now,
    started: () => started,
    ended: () => ended,
    store,
    api,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await store.close();
    },
  };
}

test('an export whose client stops reading and goes away ends on the server too, and one whose client stays without reading gives up its place after the stall time; exports past EXPORTS_AT_ONCE are answered 429 meanwhile, and taken again once one has ended', async () => {
  const STALL_MS = 4000;
  const fx = await exportFixture({ exportStallMs: STALL_MS });
  const { port, now } = fx;
  const stuck = () => Array.from({ length: EXPORTS_AT_ONCE }, () => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(`GET /api/flows?from=${now - 3_600_000}&format=ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    // Never reads.
    s.pause();
    return s;
  });
  const sockets = stuck();
  let still: typeof sockets = [];
  const exportUrl = `http://127.0.0.1:${port}/api/flows?from=${now - 3_600_000}&format=csv&limit=10`;
  try {
    await until(() => fx.started() === EXPORTS_AT_ONCE, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(fx.ended(), 0, 'the exports are waiting for their clients to read');
    // One more while they hold their places: refused, with when to try again.
    const refused = await fetch(exportUrl);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '10');
    assert.match(await refused.text(), /exports are running/);
    // A page of the same search is no export: answered.
    assert.equal((await fetch(exportUrl.replace('format=csv', 'format=json'))).status, 200);
    for (const s of sockets) s.destroy();
    await until(() => fx.ended() === EXPORTS_AT_ONCE + 2, 5000);
    assert.equal(fx.ended(), EXPORTS_AT_ONCE + 2, 'every export handler finished once its client was gone');
    const again = await fetch(exportUrl);
    assert.equal(again.status, 200);
    assert.equal((await again.text()).trim().split('\n').length, 11, 'a header line and 10 rows');
    // Clients that stay connected and never read: cut off after the stall time, their places free.
    still = stuck();
    const t0 = Date.now();
    await until(() => fx.ended() === 2 * EXPORTS_AT_ONCE + 3, STALL_MS + 5000);
    assert.equal(fx.ended(), 2 * EXPORTS_AT_ONCE + 3, 'the exports of clients that never read were cut off');
    assert.ok(Date.now() - t0 >= STALL_MS - 500, `ended after ${Date.now() - t0} ms`);
    assert.equal((await fetch(exportUrl)).status, 200);
  } finally {
    for (const s of [...sockets, ...still]) s.destroy();
    await fx.close();
  }
});

/** Makes every API query on the store's query connection take `ms` longer, and counts them (the probe's connection is another). */
function slowQueries(store: DuckDbOutput, ms: number): { count: () => number } {
  const conn = (flowQueryFrom([store]) as unknown as { conn: { runAndReadAll: (...a: unknown[]) => Promise<unknown> } }).conn;
  const run = conn.runAndReadAll.bind(conn);
  let n = 0;
  conn.runAndReadAll = async (...a: unknown[]) => {
    n++;
    await new Promise((r) => setTimeout(r, ms));
    return run(...a);
  };
  return { count: () => n };
}

test('API queries whose clients have gone are not run; /readyz does not wait behind the API\'s queries; past REQUESTS_MAX requests the answer is 503 with Retry-After at once', async () => {
  const fx = await exportFixture({});
  const { port, now } = fx;
  const slow = slowQueries(fx.store, 100);
  // An Overview's dozen queries listen on one request's signal: no leak warning on standard error.
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const overview = `/api/overview?from=${now - 3_600_000}`;
  const clients: ReturnType<typeof connect>[] = [];
  const ask = (path: string): ReturnType<typeof connect> => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    clients.push(s);
    return s;
  };
  try {
    // 16 Overviews (a dozen queries each, 100 ms a query here: about 20 s if all ran), clients staying.
    for (let i = 0; i < 16; i++) ask(overview);
    await until(() => fx.started() === 16, 5000);
    assert.equal(fx.started(), 16, 'all asked');
    // The probe answers on its own connection while they wait.
    const t0 = Date.now();
    const ready = await fx.api.storeReady();
    assert.deepEqual([ready.ok, ready.store], [true, 'duckdb'], JSON.stringify(ready));
    assert.ok(fx.ended() < 16, `the probe answered before the Overviews (${fx.ended()} of 16 ended, ${Date.now() - t0} ms)`);
    // One more request while 16 are running: refused at once, with when to try again.
    const refused = await fetch(`http://127.0.0.1:${port}${overview}`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.match(await refused.text(), /busy: 16 API requests are running/);
    // The clients go: their queries waiting are never run, the running one is interrupted.
    const ranBefore = slow.count();
    for (const s of clients) s.destroy();
    await until(() => fx.ended() === 17, 5000);
    assert.equal(fx.ended(), 17, 'every handler ended once its client was gone');
    assert.ok(slow.count() - ranBefore <= 2, `${slow.count() - ranBefore} queries started after the clients left (of ${16 * 12 - ranBefore} waiting)`);
    // And the store answers the next one.
    assert.equal((await fetch(`http://127.0.0.1:${port}${overview}`)).status, 200);
    assert.deepEqual(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning')), [], 'no listener warning');
  } finally {
    process.off('warning', onWarning);
    for (const s of clients) s.destroy();
    await fx.close();
  }
});

test('an export read slowly, never stalling long enough to be cut off, ends at the export time limit and gives up its place', async () => {
  const TOTAL_MS = 3000;
  const fx = await exportFixture({ exportStallMs: 60_000, exportTotalMs: TOTAL_MS });
  const s = connect(fx.port, '127.0.0.1');
  s.on('error', () => undefined);
  let got = 0;
  s.write(`GET /api/flows?from=${fx.now - 3_600_000}&format=ndjson HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  // 16 KB every 100 ms: about 20 MB would take two minutes at this pace.
  const drip = setInterval(() => {
    const d = s.read(16_384) as Buffer | null;
    if (d !== null) got += d.length;
  }, 100);
  try {
    const t0 = Date.now();
    await until(() => fx.ended() === 1, TOTAL_MS + 5000);
    const took = Date.now() - t0;
    assert.equal(fx.ended(), 1, `still running after ${took} ms`);
    assert.ok(took >= TOTAL_MS - 500, `ended after ${took} ms`);
    assert.ok(got > 0 && got < 15_000_000, `${got} bytes read before the cut`);
  } finally {
    clearInterval(drip);
    s.destroy();
    await fx.close();
  }
});

/** One raw HTTP/1.1 request (Host and target exactly as given); the status line's code. */
function rawStatus(url: string, target: string, host: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname.replace(/^\[|\]$/g, ''), () => s.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0)));
    s.on('error', reject);
  });
}

test('DNS rebinding: only IP literals, localhost, this machine\'s name and EF_WEBUI_ALLOWED_HOSTS are answered (421 otherwise); a malformed target is 400', async () => {
  const port = new URL(f.url).port;
  for (const host of [`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `ui.localhost:${port}`]) {
    assert.equal(await rawStatus(f.url, '/api/meta', host), 200, host);
  }
  for (const host of [`attacker.example:${port}`, 'attacker.example', `localhost.attacker.example:${port}`]) {
    assert.equal(await rawStatus(f.url, '/api/flows?limit=1', host), 421, host);
    assert.equal(await rawStatus(f.url, '/', host), 421, host);
  }
  assert.equal(await rawStatus(f.url, 'http://[', `127.0.0.1:${port}`), 400);
  const { hostCheck } = await import('../src/web/host-check.js');
  const check = hostCheck(['flows.example.com', '*.corp.example'], 'collector01.lan');
  assert.deepEqual(['flows.example.com:443', 'ui.corp.example', 'corp.example', 'collector01', 'collector01.lan:8080', 'other.example', '10.1.2.3:8080'].map((h) => check(h)), [true, true, false, true, true, false, true]);
  assert.equal(hostCheck(['*'])('anything.example'), true);
});

test('/api/overview networks and /api/threats byNetwork stay exact with more than the 10 networks shown: a network\'s sent and received bytes come from every network of each side', async () => {
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'nets.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  const now = Date.now();
  const flow = (src: string, dst: string, bytes: number, threat = ''): FlowRecord => Object.assign(new FlowRecord(), {
    collectTs: now - 1000, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '10.0.0.2', ipVersion: 4, proto: 6, bytes, packets: 1,
    srcSubnetName: src, dstSubnetName: dst, dstThreatName: threat,
  });
  // `big` sends a lot and receives one small flow; 59 others each send and receive more than that.
  const recs = [flow('big', '', 1e9), flow('', 'big', 100, 'botnet')];
  for (let i = 1; i < 60; i++) recs.push(flow(`n${i}`, '', 1e6), flow('', `n${i}`, 1e6, 'botnet'), flow(`n${i}`, '', 1e6, 'botnet'));
  store.write(recs);
  await store.flush();
  const api = createApi({ config, outputs: [store] } as unknown as WebSources);
  const ask = async (path: string, params: Record<string, string>): Promise<Record<string, unknown>> => {
    let body = '';
    const res = { writeHead: () => res, once: () => res, end: (b: string) => { body = b; } } as unknown as ServerResponse;
    await api.handle(path, new URLSearchParams(params), res);
    return JSON.parse(body) as Record<string, unknown>;
  };
  try {
    const range = { from: String(now - 3_600_000), to: String(now + 1) };
    const o = await ask('/api/overview', range) as { top: { networks: { name: string; bytes: number; flows: number; outBytes: number; inBytes: number }[] } };
    assert.deepEqual(o.top.networks[0], { name: 'big', bytes: 1e9 + 100, packets: 2, flows: 2, outBytes: 1e9, inBytes: 100 });
    assert.equal(o.top.networks.length, 10);
    const t = await ask('/api/threats', range) as { byNetwork: { network: string; flows: number; bytes: number }[] };
    assert.equal(t.byNetwork.length, 20);
    assert.ok(t.byNetwork.every((x) => x.flows === 2 && x.bytes === 2e6), JSON.stringify(t.byNetwork.slice(0, 2)));
  } finally {
    await store.close();
  }
});

test('/api/overview talkers: either end\'s top 10 with both sides summed, where a host ranks on neither side\'s top list alone (as a review found it missing); the lists say when they may not be exact', async () => {
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'talkers.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  const now = Date.now();
  const flow = (src: string, dst: string, bytes: number): FlowRecord => Object.assign(new FlowRecord(), {
    collectTs: now - 1000, exporterIp: '192.0.2.1', srcIp: src, dstIp: dst, ipVersion: 4, proto: 6, bytes, packets: 1,
  });
  // 60 hosts A each send 100 bytes and receive 100; the B hosts send 101 and C hosts receive 101, so
  // each side's busiest 50 are all B or all C, and A (200 bytes either end) tops neither side alone.
  const recs: FlowRecord[] = [];
  for (let i = 1; i <= 60; i++) recs.push(flow(`10.99.3.${i}`, `10.99.2.${i}`, 100), flow(`10.99.1.${i}`, `10.99.3.${i}`, 100), flow(`10.99.1.${i}`, `10.99.2.${i}`, 1));
  store.write(recs);
  await store.flush();
  const api = createApi({ config, outputs: [store] } as unknown as WebSources);
  let body = '';
  const res = { writeHead: () => res, once: () => res, end: (b: string) => { body = b; } } as unknown as ServerResponse;
  try {
    await api.handle('/api/overview', new URLSearchParams({ from: String(now - 3_600_000), to: String(now + 1) }), res);
    const o = JSON.parse(body) as { top: { talkers: { ip: string; bytes: number }[]; approximate: string[] } };
    assert.equal(o.top.talkers.length, 10);
    for (const t of o.top.talkers) {
      assert.match(t.ip, /^10\.99\.3\.\d+$/, JSON.stringify(o.top.talkers));
      assert.equal(t.bytes, 200);
    }
    assert.deepEqual(o.top.approximate, []);
  } finally {
    await store.close();
  }
  // The exactness test itself, on lists cut at 3 a side: a key missing from a full list, or a
  // 10th below what an unseen key could have, makes the list approximate.
  const row = (key: string, bytes: number) => ({ key, bytes, packets: 1, flows: 1 });
  assert.equal(eitherEnd([row('a', 5), row('b', 4)], [row('c', 3)], 3, 2).exact, true, 'short lists hold every key');
  const cut = eitherEnd([row('a', 50), row('b', 40), row('c', 30)], [row('a', 50), row('b', 40), row('c', 30)], 3, 2);
  assert.deepEqual([cut.rows.map((r) => r.key), cut.exact], [['a', 'b'], true], '80 >= 30 + 30: nothing unseen can pass b');
  assert.equal(eitherEnd([row('a', 50), row('b', 40), row('c', 30)], [row('a', 50), row('b', 40), row('c', 30)], 3, 3).exact, true);
  assert.equal(eitherEnd([row('a', 50), row('b', 20), row('c', 10)], [row('a', 50), row('d', 20), row('c', 10)], 3, 2).exact, false, 'b lacks its destination side from a full list');
  assert.equal(eitherEnd([row('a', 50), row('b', 31), row('c', 30)], [row('a', 50), row('b', 1), row('c', 30)], 3, 3).exact, false, 'b at 32 is below what a key on neither list could have (30 + 30)');
  assert.equal(eitherEnd([row('y', 20), row('p', 5)], [row('p', 16), row('r', 10)], 2, 1).exact, false, 'y, left out, may have 20 + 10 against p\'s 21');
  assert.equal(eitherEnd([row('a', 5)], [row('a', 5)], 1, 2).exact, false, 'a second row may exist beyond full lists');
});

test('parameters are taken as documented or refused (400): threat only 1/true or 0/false, whole numbers in digits only, each parameter once, no offset on exports; HEAD of an export runs no query; API answers carry nosniff', async () => {
  const q = `from=${f.startedAt - 3_600_000}&to=${Date.now() + 60_000}`;
  for (const [path, why] of [
    [`/api/flows?${q}&threat=yes`, /threat: expected 1 or true/],
    [`/api/flows?${q}&ip=10.0.0.0/8&ip=garbage`, /ip: given more than once/],
    [`/api/overview?${q}&port=443&port=80`, /port: given more than once/],
    [`/api/flows?from=1e12`, /from: expected a whole number/],
    [`/api/flows?${q}&limit=0x10`, /limit: expected a whole number/],
    [`/api/flows?${q}&format=csv&offset=5`, /offset: exports start at the newest flow/],
    // Only blanks (a no-break space, a line separator): read as none, they searched every flow.
    [`/api/flows?${q}&ip=%C2%A0`, /ip: only blank characters/],
    [`/api/flows?${q}&exporter=%E2%80%A8`, /exporter: only blank characters/],
    [`/api/overview?${q}&net=%20`, /net: only blank characters/],
  ] as const) {
    const r = await get(path);
    assert.equal(r.status, 400, `${path}: ${r.body}`);
    assert.match(r.body, why, path);
  }
  // 0 and false mean every flow, as no threat parameter does.
  const all = await json<{ total: number }>(`/api/flows?${q}`);
  assert.equal((await json<{ total: number }>(`/api/flows?${q}&threat=0`)).total, all.total);
  assert.equal((await json<{ total: number }>(`/api/flows?${q}&threat=false`)).total, all.total);
  assert.equal((await json<{ total: number }>(`/api/flows?${q}&ip=&tag=`)).total, all.total, 'empty: no filter');
  assert.ok((await json<{ total: number }>(`/api/flows?${q}&threat=1`)).total < all.total);
  // A network name of 200 emoji is 200 characters (400 UTF-16 units): a name, not an error.
  assert.equal((await get(`/api/flows?${q}&net=${encodeURIComponent('🙂'.repeat(200))}`)).status, 200);
  assert.equal((await get(`/api/flows?${q}&net=${encodeURIComponent('🙂'.repeat(257))}`)).status, 400);
  const head = await fetch(`${f.url}/api/flows?${q}&format=csv`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.equal((await fetch(`${f.url}/api/overview?${q}`)).headers.get('x-content-type-options'), 'nosniff');
  assert.equal((await fetch(`${f.url}/api/nowhere`)).headers.get('x-content-type-options'), 'nosniff');
});

test('/api/interface-counters needs an exporter and an ifIndex (400 naming both), and answers no samples for an interface never polled', async () => {
  for (const q of ['', '?exporter=192.0.2.1', '?ifIndex=3', '?exporter=192.0.2.1&ifIndex=x']) {
    const res = await get(`/api/interface-counters${q}`);
    assert.equal(res.status, 400, q);
  }
  assert.match((await get('/api/interface-counters?ifIndex=3')).body, /exporter and ifIndex: both required/);
  assert.equal((await get('/api/interface-counters?exporter=192.0.2.0/24&ifIndex=3')).status, 400, 'an address, not a CIDR');
  const none = await json<{ samples: number; points: unknown[]; latest: unknown }>('/api/interface-counters?exporter=192.0.2.1&ifIndex=3');
  assert.deepEqual([none.samples, none.points, none.latest], [0, [], null]);
});

test('a store DuckDB has invalidated (a failed write, until the store reopens it) answers 503, as a closed one does, not 500', async () => {
  const { DuckDbFlowQuery } = await import('../src/store/query.js');
  const fail = async (): Promise<never> => { throw new Error('FATAL Error: Failed: database has been invalidated because of a previous fatal error. The database must be restarted prior to being used again.'); };
  const conn = { runAndReadAll: fail, stream: fail, closeSync: () => undefined, disconnectSync: () => undefined };
  const q = new DuckDbFlowQuery(conn as never, 'flows', 'collect', null, async () => conn as never);
  const api = createApi({ ...f.collector, outputs: [{ flowQuery: () => q }] } as unknown as WebSources);
  const server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    api.handle(u.pathname, u.searchParams, res).catch((err: { status?: number; message: string }) => res.writeHead(err.status ?? 500).end(err.message));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    for (const path of ['/api/top?field=l4.proto.id', '/api/flows', '/api/flows?format=csv', '/api/flows?format=ndjson']) {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
      assert.equal(res.status, 503, path);
      assert.match(await res.text(), /the store is being reopened after a failed write/);
    }
  } finally {
    server.close();
  }
});

// Last: it stores flows of its own (web-api-suite.ts).
storeOrderTests(() => f);

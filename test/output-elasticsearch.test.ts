/**
 * Elasticsearch output against the ES TEST SERVER (test/servers/es-test-server.ts; no real cluster
 * can run here): fixture records arrive with the right index names and documents, templates are
 * installed, credentials are sent, partial bulk failures retry only the failed items, an outage
 * spills to disk and loses nothing, and the spill survives a restart of the output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowRecord } from '../src/record/flow-record.js';
import { encodeRecord } from '../src/record/json.js';
import type { ViewOptions } from '../src/record/fields.js';
import { IndexNamer } from '../src/output/elasticsearch/index-name.js';
import { SearchOutput, type SearchOutputOptions } from '../src/output/elasticsearch/output.js';
import { EsTestServer } from './servers/es-test-server.js';
import { fixtureRecords, replayFixtures } from './servers/fixture-records.js';
import { tempDir } from './helpers/collect.js';
import { createLogger, setLogger } from '../src/log/logger.js';

const CODEX: ViewOptions = { ecs: false, timestampSource: 'collect' };

function p2(n: number): string {
  return String(n).padStart(2, '0');
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Multiset of documents as JSON text. */
function bag(docs: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of docs) m.set(d, (m.get(d) ?? 0) + 1);
  return m;
}

function docText(doc: Record<string, unknown>): string {
  return JSON.stringify(doc);
}

function expectedText(r: FlowRecord, view: ViewOptions): string {
  return JSON.stringify(JSON.parse(encodeRecord(r, view)));
}

function outputOptions(server: EsTestServer, over: Partial<SearchOutputOptions> = {}): SearchOutputOptions {
  return {
    flavor: 'elasticsearch',
    connection: { flavor: 'elasticsearch', addresses: [server.address], username: '', password: '', apiKey: '', tls: { enable: false, skipVerification: false, caCertPath: '' }, requestTimeoutMs: 5000 },
    view: CODEX,
    indexPrefix: 'elastiflow-flow',
    indexPeriod: 'daily',
    templateEnable: true,
    deadlineMs: 20,
    maxBytes: 256 * 1024,
    batchRecords: 200,
    itemBackoffMs: 20,
    ...over,
  };
}

test('index names: period suffixes in UTC, ISO weeks at year ends', () => {
  const t = Date.UTC(2026, 10, 27, 14, 5, 0);
  assert.equal(new IndexNamer('p', 'codex', 'none').nameFor(t), 'p-codex');
  assert.equal(new IndexNamer('p', 'codex', 'hourly').nameFor(t), 'p-codex-2026.11.27.14');
  assert.equal(new IndexNamer('p', 'ecs', 'daily').nameFor(t), 'p-ecs-2026.11.27');
  assert.equal(new IndexNamer('p', 'codex', 'monthly').nameFor(t), 'p-codex-2026.11');
  const w = new IndexNamer('p', 'codex', 'weekly');
  assert.equal(w.nameFor(t), 'p-codex-2026.w48');
  assert.equal(w.nameFor(Date.UTC(2026, 0, 1)), 'p-codex-2026.w01'); // a Thursday
  assert.equal(w.nameFor(Date.UTC(2027, 0, 1)), 'p-codex-2026.w53'); // a Friday: last week of 2026
  assert.equal(w.nameFor(Date.UTC(2024, 11, 30)), 'p-codex-2025.w01'); // a Monday in ISO 2025
  // The cache must not leak a name across a boundary.
  const h = new IndexNamer('p', 'codex', 'hourly');
  assert.equal(h.nameFor(Date.UTC(2026, 0, 1, 0, 59, 59, 999)), 'p-codex-2026.01.01.00');
  assert.equal(h.nameFor(Date.UTC(2026, 0, 1, 1)), 'p-codex-2026.01.01.01');
  assert.equal(h.nameFor(Date.UTC(2025, 11, 31, 23)), 'p-codex-2025.12.31.23');
});

test('replayed fixture → CODEX documents in daily indices, template installed, basic auth sent', async () => {
  const server = new EsTestServer({ product: 'elasticsearch', auth: { username: 'elastic', password: 's3cret' } });
  await server.start();
  try {
    const { records, outputs } = await replayFixtures({
      EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true',
      EF_OUTPUT_ELASTICSEARCH_ADDRESSES: server.address,
      EF_OUTPUT_ELASTICSEARCH_USERNAME: 'elastic',
      EF_OUTPUT_ELASTICSEARCH_PASSWORD: 's3cret',
      EF_OUTPUT_ELASTICSEARCH_INDEX_PERIOD: 'daily',
      EF_OUTPUT_ELASTICSEARCH_BATCH_DEADLINE: '50',
    });
    assert.ok(records.length > 700, `fixture gave ${records.length} records`);
    assert.equal(server.authFailures, 0);
    assert.ok(server.requests.length > 0 && server.requests.every((r) => r.headers.authorization === `Basic ${Buffer.from('elastic:s3cret').toString('base64')}`), 'every request authenticated');
    assert.ok(server.requests.some((r) => r.method === 'GET' && r.path === '/'), 'cluster info asked');
    assert.ok(server.compatSeen.length > 0 && server.compatSeen.every((v) => v === 8), 'REST compatibility with 8 requested');
    const tpl = server.templates.get('elastiflow-flow-codex') as { index_patterns: string[]; template: { mappings: { properties: Record<string, { type: string }>; subobjects?: boolean } } } | undefined;
    assert.ok(tpl, 'template installed');
    assert.deepEqual(tpl.index_patterns, ['elastiflow-flow-codex-*']);
    assert.equal(tpl.template.mappings.properties['flow.src.ip.addr']!.type, 'ip');
    assert.equal(tpl.template.mappings.properties['flow.bytes']!.type, 'long');
    assert.equal(tpl.template.mappings.properties['tcp.flags.tags']!.type, 'keyword');
    assert.equal(tpl.template.mappings.subobjects, false);
    assert.equal(server.docs.length, records.length, 'every record indexed once');
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const d = new Date(r.collectTs);
      const want = `elastiflow-flow-codex-${d.getUTCFullYear()}.${p2(d.getUTCMonth() + 1)}.${p2(d.getUTCDate())}`;
      assert.equal(server.docs[i]!.index, want);
      assert.equal(server.docs[i]!.template, 'elastiflow-flow-codex');
      assert.equal(docText(server.docs[i]!.doc), expectedText(r, CODEX));
    }
    assert.ok(server.docs.some((d) => d.doc['tcp.flags'] !== undefined && d.doc['tcp.flags.tags'] !== undefined), 'flat tcp.flags and tcp.flags.tags accepted under subobjects:false');
    const c = outputs[0]!.counters();
    assert.equal(c.indexed, records.length);
    assert.equal(c.rejected, 0);
    assert.equal(c.templates_installed, 1);
  } finally {
    await server.stop();
  }
});

test('ECS layout, hourly indices, API key auth', async () => {
  const server = new EsTestServer({ product: 'elasticsearch', auth: { apiKey: 'aWQ6a2V5' } });
  await server.start();
  try {
    const { records } = await replayFixtures({
      EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true',
      EF_OUTPUT_ELASTICSEARCH_ADDRESSES: server.address,
      EF_OUTPUT_ELASTICSEARCH_API_KEY: 'aWQ6a2V5',
      EF_OUTPUT_ELASTICSEARCH_ECS_ENABLE: 'true',
      EF_OUTPUT_ELASTICSEARCH_INDEX_PREFIX: 'flows',
      EF_OUTPUT_ELASTICSEARCH_INDEX_PERIOD: 'hourly',
    });
    assert.equal(server.authFailures, 0);
    assert.ok(server.requests.every((r) => r.headers.authorization === 'ApiKey aWQ6a2V5'));
    assert.ok(server.templates.has('flows-ecs'));
    assert.equal(server.docs.length, records.length);
    const view: ViewOptions = { ecs: true, timestampSource: 'collect' };
    for (let i = 0; i < records.length; i++) {
      const d = new Date(records[i]!.collectTs);
      assert.equal(server.docs[i]!.index, `flows-ecs-${d.getUTCFullYear()}.${p2(d.getUTCMonth() + 1)}.${p2(d.getUTCDate())}.${p2(d.getUTCHours())}`);
      assert.equal(docText(server.docs[i]!.doc), expectedText(records[i]!, view));
    }
    assert.equal(typeof server.docs[0]!.doc['source.ip'], 'string');
    assert.match(String(server.docs[0]!.doc['@timestamp']), /^\d{4}-\d{2}-\d{2}T/);
  } finally {
    await server.stop();
  }
});

test('wrong credentials: nothing indexed, the cluster says 401, records are held on disk', async () => {
  const server = new EsTestServer({ product: 'elasticsearch', auth: { username: 'elastic', password: 'right' } });
  await server.start();
  const dir = tempDir('ufc-es-spill-');
  const out = new SearchOutput(outputOptions(server, {
    connection: { ...outputOptions(server).connection, username: 'elastic', password: 'wrong' },
    spill: { dir, maxBytes: 64 << 20 },
  }));
  try {
    await out.start();
    const recs = (await fixtureRecords()).slice(0, 100);
    out.write(recs);
    await until(() => out.counters().failures! > 0, 5000, 'a failed send');
    await out.close();
    assert.equal(server.docs.length, 0);
    assert.ok(server.authFailures > 0);
    assert.equal(out.counters().spill_pending, 100);
  } finally {
    await server.stop();
  }
});

test('partial bulk failure: only the failed items are sent again; 429/503 items arrive exactly once, 400 items are dropped and counted', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  const records = await fixtureRecords();
  const hash = (s: string): number => {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
    return h;
  };
  const seen = new Map<string, number>();
  let injected = 0;
  server.itemFault = (doc) => {
    const k = docText(doc);
    const h = hash(k);
    if (h % 23 === 0) return 400; // the mapping refuses it: never retried
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    if (n < 2 && h % 3 === 0) {
      injected++;
      return n === 0 ? 429 : 503; // fails twice, then indexed
    }
    return 0;
  };
  const out = new SearchOutput(outputOptions(server, { batchRecords: 100000, maxBytes: 16 << 20 }));
  try {
    await out.start();
    out.write(records);
    await out.flush();
    const expected = records.map((r) => expectedText(r, CODEX));
    const refused = expected.filter((t) => hash(t) % 23 === 0);
    assert.ok(refused.length > 0 && injected > 0, `test set-up: ${refused.length} refused, ${injected} transient failures`);
    const kept = bag(expected.filter((t) => hash(t) % 23 !== 0));
    assert.deepEqual(bag(server.docs.map((d) => docText(d.doc))), kept, 'every accepted document exactly once');
    const c = out.counters();
    assert.equal(c.rejected, refused.length);
    assert.equal(c.indexed, server.docs.length);
    assert.equal(c.sent, server.docs.length, 'refused documents are counted as rejected, not also as sent');
    assert.equal(c.sent! + c.rejected!, records.length);
    assert.ok(c.item_retries! > 0);
    // Request 1 carried everything; each later request only the items that had failed before.
    assert.equal(server.bulkSizes[0], records.length);
    assert.ok(server.bulkSizes.length >= 3);
    for (const n of server.bulkSizes.slice(1)) assert.ok(n < records.length / 2, `retry request of ${n} items carries only failed items`);
  } finally {
    await out.close();
    await server.stop();
  }
});

test('outage: the cluster stops listening for a few seconds; records spill to disk and every one arrives exactly once, in order per exporter', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  const dir = tempDir('ufc-es-spill-');
  const records = await fixtureRecords();
  // Four passes over the fixture records, as a longer stream.
  const stream: FlowRecord[] = [];
  for (let i = 0; i < 4; i++) stream.push(...records);
  const out = new SearchOutput(outputOptions(server, { spill: { dir, maxBytes: 64 << 20 } }));
  try {
    await out.start();
    const chunk = 40;
    const third = Math.floor(stream.length / chunk / 3);
    let k = 0;
    const writeChunks = async (n: number): Promise<void> => {
      for (let i = 0; i < n && k < stream.length; i++, k += chunk) {
        out.write(stream.slice(k, k + chunk));
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await writeChunks(third);
    await server.stop();
    const down = Date.now();
    await writeChunks(third);
    while (Date.now() - down < 2500) await new Promise((r) => setTimeout(r, 50));
    const during = out.counters();
    assert.ok(during.spilled! > 0, 'records went to disk while the cluster was down');
    assert.ok(during.failures! > 0);
    // Back, but slow: new records written while the disk is still draining must queue behind it.
    server.bulkDelayMs = 40;
    await server.start();
    await until(() => out.counters().spill_replayed! > 0, 10_000, 'replay to start');
    assert.ok(out.counters().spill_pending! > 0, 'disk still draining');
    await writeChunks(Number.MAX_SAFE_INTEGER);
    await until(() => server.docs.length >= stream.length, 30_000, 'all records indexed');
    await out.flush();
    assert.equal(server.docs.length, stream.length, 'no duplicates');
    // Per exporter, documents arrive in the order they were written.
    const byExporter = (texts: { exp: string; text: string }[]): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const t of texts) m.set(t.exp, [...(m.get(t.exp) ?? []), t.text]);
      return m;
    };
    const want = byExporter(stream.map((r) => ({ exp: r.exporterIp, text: expectedText(r, CODEX) })));
    const got = byExporter(server.docs.map((d) => ({ exp: String(d.doc['flow.export.ip.addr']), text: docText(d.doc) })));
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [e, list] of want) assert.deepEqual(got.get(e), list, `exporter ${e} in order`);
    const c = out.counters();
    assert.equal(c.spill_pending, 0);
    assert.equal(c.spill_dropped, 0);
    assert.equal(c.dropped_queue_full, 0);
  } finally {
    await out.close();
    await server.stop();
  }
});

test('spill survives a restart of the output: segments written while the cluster was down are replayed by the next instance', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  await server.stop(); // port known, nothing listening
  const dir = tempDir('ufc-es-spill-');
  const records = await fixtureRecords();
  const a = new SearchOutput(outputOptions(server, { spill: { dir, maxBytes: 64 << 20 } }));
  await a.start();
  for (let i = 0; i < records.length; i += 50) a.write(records.slice(i, i + 50));
  await until(() => a.counters().failures! > 0, 5000, 'a failed send');
  await a.close();
  assert.equal(a.counters().spill_pending, records.length, 'all on disk at close');
  await server.start();
  const b = new SearchOutput(outputOptions(server, { spill: { dir, maxBytes: 64 << 20 } }));
  try {
    await b.start();
    await until(() => server.docs.length >= records.length, 20_000, 'replay');
    await b.flush();
    assert.equal(b.counters().spill_recovered, records.length);
    assert.deepEqual(server.docs.map((d) => docText(d.doc)), records.map((r) => expectedText(r, CODEX)), 'all, once, in order');
  } finally {
    await b.close();
    await server.stop();
  }
});

test('Elasticsearch 8.x and 9.x both accept what the output sends (compatible-with=8); a refusal (from a 10.x) is seen and the records held', async () => {
  const records = (await fixtureRecords()).slice(0, 30);
  for (const version of ['8.15.3', '9.1.0']) {
    const server = new EsTestServer({ product: 'elasticsearch', version });
    await server.start();
    const out = new SearchOutput(outputOptions(server));
    try {
      await out.start();
      out.write(records);
      await out.flush();
      assert.equal(server.docs.length, 30, `delivered to ${version}`);
      assert.ok(server.requests.every((r) => r.status < 300), `no refusals from ${version}`);
    } finally {
      await out.close();
      await server.stop();
    }
  }
  // A 10.x server would refuse compatible-with=8: the output must see the failure, not lose records silently.
  const future = new EsTestServer({ product: 'elasticsearch', version: '10.0.0' });
  await future.start();
  const dir = tempDir('ufc-es-spill-');
  const out = new SearchOutput(outputOptions(future, { spill: { dir, maxBytes: 1 << 24 } }));
  try {
    await out.start();
    out.write(records);
    await until(() => out.counters().failures! > 0, 5000, 'a refused request');
    assert.equal(future.docs.length, 0);
  } finally {
    await out.close();
    await future.stop();
  }
  assert.equal(out.counters().spill_pending, 30);
});

test('INDEX_TEMPLATE_ENABLE=false: no template is installed; without one, documents with tcp.flags and tcp.flags.tags are refused (and counted)', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  const out = new SearchOutput(outputOptions(server, { templateEnable: false }));
  try {
    await out.start();
    const records = (await fixtureRecords()).slice(0, 40);
    const clashing = records.filter((r) => r.proto === 6 && r.tcpFlags !== 0).length;
    assert.ok(clashing > 0 && clashing < records.length);
    out.write(records);
    await out.flush();
    assert.equal(server.templates.size, 0);
    assert.ok(server.requests.every((r) => !r.path.startsWith('/_index_template')));
    assert.equal(server.docs.length, records.length - clashing);
    assert.equal(out.counters().rejected, clashing);
    assert.ok(server.docs.every((d) => d.template === null));
  } finally {
    await out.close();
    await server.stop();
  }
});

test('BATCH_MAX_BYTES: bulk bodies stay under the limit', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  const records = await fixtureRecords();
  const out = new SearchOutput(outputOptions(server, { maxBytes: 32 * 1024, batchRecords: 1000 }));
  try {
    await out.start();
    out.write(records);
    await out.flush();
    assert.equal(server.docs.length, records.length);
    const bulks = server.requests.filter((r) => r.path === '/_bulk');
    assert.ok(bulks.length > 5, `${bulks.length} bulk requests`);
    for (const r of bulks) assert.ok(Number(r.headers['content-length']) <= 32 * 1024, `body ${r.headers['content-length']} bytes`);
  } finally {
    await out.close();
    await server.stop();
  }
});

test('items the cluster\'s set-up refuses (403: an index made read-only at the disk\'s flood stage; 404: no index where automatic creation is off) are kept and sent again once it takes them, not dropped', async () => {
  for (const status of [403, 404]) {
    const server = new EsTestServer({ product: 'elasticsearch' });
    await server.start();
    let blocked = true;
    server.itemFault = () => (blocked ? status : 0);
    const out = new SearchOutput(outputOptions(server, { spill: { dir: tempDir('ufc-es-spill-'), maxBytes: 64 << 20 } }));
    try {
      await out.start();
      const records = (await fixtureRecords()).slice(0, 300);
      out.write(records);
      await until(() => out.counters().failures! > 0, 10_000, 'a failed send');
      assert.equal(out.counters().rejected, 0, `${status}: nothing dropped`);
      blocked = false;
      await until(() => server.docs.length >= records.length, 15_000, `every record indexed after the ${status}s`);
      assert.deepEqual(bag(server.docs.map((d) => docText(d.doc))), bag(records.map((r) => expectedText(r, CODEX))), `${status}: each record once`);
      assert.equal(out.counters().rejected, 0);
    } finally {
      await out.close();
      await server.stop();
    }
  }
});

test('items refused because a new index would pass the cluster\'s shard limit (400, Elasticsearch and OpenSearch words) are kept and sent again once shards are freed, not dropped', async () => {
  const refusals = [
    { product: 'elasticsearch' as const, type: 'validation_exception', reason: 'Validation Failed: 1: this action would add [2] shards, but this cluster currently has [1000]/[1000] maximum normal shards open;' },
    { product: 'opensearch' as const, type: 'illegal_argument_exception', reason: 'Validation Failed: 1: this action would add [2] total shards, but this cluster currently has [1000]/[1000] maximum shards open;' },
    // OpenSearch 2.9's overflowed maximum (its per-node limit times the nodes).
    { product: 'opensearch' as const, type: 'illegal_argument_exception', reason: 'Validation Failed: 1: this action would add [2] total shards, but this cluster currently has [30101]/[-1089934592] maximum shards open;' },
  ];
  for (const r of refusals) {
    const server = new EsTestServer({ product: r.product });
    await server.start();
    let full = true;
    server.itemError = () => (full ? { status: 400, type: r.type, reason: r.reason } : null);
    const base = outputOptions(server, { spill: { dir: tempDir('ufc-es-spill-'), maxBytes: 64 << 20 } });
    const out = new SearchOutput({ ...base, flavor: r.product, connection: { ...base.connection, flavor: r.product } });
    try {
      await out.start();
      const records = (await fixtureRecords()).slice(0, 200);
      out.write(records);
      await until(() => out.counters().failures! > 0, 10_000, 'a failed send');
      assert.equal(out.counters().rejected, 0, `${r.product}: nothing dropped`);
      full = false;
      await until(() => server.docs.length >= records.length, 15_000, `${r.product}: every record indexed once shards are freed`);
      assert.equal(server.docs.length, records.length, `${r.product}: each record once`);
      assert.equal(out.counters().rejected, 0, `${r.product}: still nothing dropped`);
    } finally {
      await out.close();
      await server.stop();
    }
  }
});

test('an information element without a named field is mapped double by the template, whatever its first value (a float element sent first as 1 was mapped long, later fractions truncated)', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  const out = new SearchOutput(outputOptions(server, { indexPeriod: 'none' }));
  try {
    await out.start();
    const recs = [1, 0.01].map((p, i) => {
      const r = Object.assign(new FlowRecord(), { collectTs: 1_700_000_000_000 + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 17, bytes: 100, packets: 1 });
      r.setExtra('ipfix.samplingProbability', p);
      r.setExtra('ipfix.someRatio', 0.5 + i);
      return r;
    });
    out.write(recs);
    await out.flush();
    assert.equal(server.docs.length, 2, 'both indexed');
    const types = server.dynamicTypes('elastiflow-flow-codex');
    assert.equal(types.get('ipfix.samplingProbability'), 'double', 'a whole number first: double, not long');
    assert.equal(types.get('ipfix.someRatio'), 'double', 'a fraction first: double, not a 32-bit float');
  } finally {
    await out.close();
    await server.stop();
  }
});

test('a request the cluster refuses as too large (413, no body) is sent again in halves and later ones kept smaller; a document too large on its own is dropped and counted; rejections are logged with their full count', async () => {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  server.maxContentLength = 40_000;
  const records = await fixtureRecords();
  const big = (await fixtureRecords())[0]!;
  // Over 1 MiB: no ordinary document's size, so the one refused alone is dropped.
  big.application = 'x'.repeat(1_100_000);
  // Every third document refused by the mapping: one log line must count them all.
  let n = 0;
  server.itemFault = () => (n++ % 3 === 2 ? 400 : 0);
  const out = new SearchOutput(outputOptions(server, { maxBytes: 256 * 1024, batchRecords: 1000 }));
  try {
    await out.start();
    out.write([...records, big]);
    await out.flush();
    const c = out.counters();
    assert.equal(c.sent! + c.rejected!, records.length + 1, 'every record indexed or rejected');
    assert.equal(server.docs.length, c.sent);
    assert.ok(c.rejected! >= 2, `${c.rejected} rejected`);
    const refused = server.requests.filter((r) => r.status === 413).length;
    const taken = server.requests.filter((r) => r.path === '/_bulk' && r.status === 200);
    assert.ok(refused > 0 && refused < 12, `${refused} requests refused as too large`);
    for (const r of taken) assert.ok(Number(r.headers['content-length']) <= 40_000, `body ${r.headers['content-length']} bytes`);
    const warned = lines.map((l) => JSON.parse(l) as { msg: string }).map((l) => l.msg);
    assert.ok(warned.some((m) => /a bulk request of \d+ bytes was refused \(HTTP 413 \(the request is larger than the cluster or a proxy in front of it takes: EF_OUTPUT_ELASTICSEARCH_BATCH_MAX_BYTES\)\); sending it in halves, and requests of at most \d+ bytes from now on/.test(m)), warned.join('\n'));
    await out.close();
    const counted = lines.map((l) => (JSON.parse(l) as { msg: string }).msg).map((m) => /(\d+) records rejected by the cluster and dropped/.exec(m)).filter((m) => m !== null).reduce((sum, m) => sum + Number(m[1]), 0);
    assert.equal(counted, c.rejected, 'the log lines count every rejection');
  } finally {
    await out.close();
    await server.stop();
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
});

test('a cluster (or a proxy) refusing even one ordinary document as too large keeps the records, as in an outage; once the limit is mended, full-size requests again after the wait', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  server.maxContentLength = 1;
  const out = new SearchOutput(outputOptions(server, { spill: { dir: tempDir('ufc-es-spill-'), maxBytes: 64 << 20 }, maxBytes: 256 * 1024, batchRecords: 1000, resizeAfterMs: 300 }));
  try {
    await out.start();
    const records = (await fixtureRecords()).slice(0, 200);
    out.write(records);
    await until(() => out.counters().failures! >= 3, 20_000, 'three failed sends');
    assert.ok(out.counters().failures! >= 3, 'three failed sends');
    assert.equal(out.counters().rejected, 0, 'nothing dropped');
    // Each failed send a few requests, not one (or five) a record: 200 records made thousands.
    const bulks = server.requests.filter((r) => r.path === '/_bulk').length;
    assert.ok(bulks <= 15 * out.counters().failures!, `${bulks} bulk requests for ${out.counters().failures} failed sends of ${records.length} records`);
    server.maxContentLength = 0;
    await until(() => server.docs.length >= records.length, 20_000, 'every record indexed once the limit is gone');
    assert.deepEqual(bag(server.docs.map((d) => docText(d.doc))), bag(records.map((r) => expectedText(r, CODEX))));
    // Past the wait, requests carry many documents again (not one each, as the shrunken size allowed).
    await new Promise((r) => setTimeout(r, 400));
    const more = (await fixtureRecords()).slice(200, 400);
    const before = server.bulkSizes.length;
    out.write(more);
    await out.flush();
    const sizes = server.bulkSizes.slice(before);
    assert.ok(sizes.length <= 3 && sizes.every((n) => n > 10), `${sizes.join(',')} items a request`);
  } finally {
    await out.close();
    await server.stop();
  }
});

test('a document over a proxy\'s limit, among ordinary ones the limit lets through, is dropped alone: the others are indexed, not held behind it', async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  server.maxContentLength = 20_000;
  const out = new SearchOutput(outputOptions(server, { spill: { dir: tempDir('ufc-es-spill-'), maxBytes: 64 << 20 }, maxBytes: 256 * 1024, batchRecords: 1000 }));
  try {
    await out.start();
    const records = (await fixtureRecords()).slice(0, 200);
    const big = (await fixtureRecords())[0]!;
    big.application = 'x'.repeat(30_000);
    // Two at the head: the first refused alone, the next alone is as large (a review found the send then kept them all, for ever).
    const big2 = (await fixtureRecords())[1]!;
    big2.application = 'y'.repeat(30_000);
    out.write([big, big2, ...records]);
    await until(() => server.docs.length >= records.length && out.counters().rejected === 2, 20_000, 'the ordinary records indexed and the large ones dropped');
    assert.deepEqual(bag(server.docs.map((d) => docText(d.doc))), bag(records.map((r) => expectedText(r, CODEX))));
    assert.equal(out.counters().spill_pending ?? 0, 0);
  } finally {
    await out.close();
    await server.stop();
  }
});

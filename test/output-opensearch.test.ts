/**
 * OpenSearch output (the @opensearch-project/opensearch client) against the test server in
 * OpenSearch mode (test/servers/es-test-server.ts; no real cluster can run here). OpenSearch has no
 * `subobjects: false`, so the server refuses a document holding both `tcp.flags` and
 * `tcp.flags.tags`, and a template with `subobjects`, as a real cluster would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord } from '../src/record/json.js';
import type { ViewOptions } from '../src/record/fields.js';
import { SearchOutput } from '../src/output/elasticsearch/output.js';
import { buildTemplate } from '../src/output/elasticsearch/template.js';
import { EsTestServer } from './servers/es-test-server.js';
import { fixtureRecords, replayFixtures } from './servers/fixture-records.js';
import { tempDir, until } from './helpers/collect.js';

function p2(n: number): string {
  return String(n).padStart(2, '0');
}

test('replayed fixture → OpenSearch, CODEX, monthly indices, basic auth; tcp.flags written as tcp.flags.value', async () => {
  const server = new EsTestServer({ product: 'opensearch', auth: { username: 'admin', password: 'Admin-123' } });
  await server.start();
  try {
    const { records, outputs } = await replayFixtures({
      EF_OUTPUT_OPENSEARCH_ENABLE: 'true',
      EF_OUTPUT_OPENSEARCH_ADDRESSES: server.address,
      EF_OUTPUT_OPENSEARCH_USERNAME: 'admin',
      EF_OUTPUT_OPENSEARCH_PASSWORD: 'Admin-123',
      EF_OUTPUT_OPENSEARCH_INDEX_PERIOD: 'monthly',
      EF_OUTPUT_OPENSEARCH_BATCH_DEADLINE: '50',
    });
    assert.equal(server.authFailures, 0);
    assert.ok(server.requests.every((r) => r.headers.authorization === `Basic ${Buffer.from('admin:Admin-123').toString('base64')}`));
    assert.ok(server.requests.every((r) => r.headers['x-elastic-client-meta'] === undefined), 'the OpenSearch client, not the Elastic one');
    const tpl = server.templates.get('elastiflow-flow-codex') as { template: { mappings: Record<string, unknown> & { properties: Record<string, { type: string }> } } };
    assert.ok(tpl, 'template installed');
    assert.equal(tpl.template.mappings.subobjects, undefined);
    assert.equal(tpl.template.mappings.properties['tcp.flags.value']!.type, 'integer');
    assert.equal(tpl.template.mappings.properties['tcp.flags'], undefined);
    const c = outputs[0]!.counters();
    assert.equal(c.rejected, 0, 'no document refused');
    assert.equal(server.docs.length, records.length);
    const view: ViewOptions = { ecs: false, timestampSource: 'collect' };
    let tcp = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      const d = new Date(r.collectTs);
      assert.equal(server.docs[i]!.index, `elastiflow-flow-codex-${d.getUTCFullYear()}.${p2(d.getUTCMonth() + 1)}`);
      const want = JSON.parse(encodeRecord(r, view)) as Record<string, unknown>;
      if ('tcp.flags' in want) {
        tcp++;
        want['tcp.flags.value'] = want['tcp.flags'];
        delete want['tcp.flags'];
      }
      assert.deepEqual(server.docs[i]!.doc, want);
    }
    assert.ok(tcp > 0, 'fixture has TCP flows');
  } finally {
    await server.stop();
  }
});

test('the test server refuses what OpenSearch refuses: subobjects in a template, tcp.flags next to tcp.flags.tags', async () => {
  const server = new EsTestServer({ product: 'opensearch' });
  await server.start();
  try {
    // An Elasticsearch-flavoured template (subobjects:false) sent to OpenSearch is refused ...
    const es = buildTemplate('elasticsearch', 'x-codex', 'x-codex-*', 'codex');
    const res = await fetch(`${server.url}/_index_template/x-codex`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(es.body) });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /unsupported parameters: \[subobjects\]/);
    // ... and so are documents written without the OpenSearch renames.
    const records = (await fixtureRecords()).filter((r) => r.proto === 6 && r.tcpFlags !== 0).slice(0, 5);
    assert.ok(records.length > 0);
    const body = records.map((r) => `{"index":{"_index":"x-codex-1"}}\n${encodeRecord(r, { ecs: false, timestampSource: 'collect' })}\n`).join('');
    const bulk = await fetch(`${server.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    const answer = (await bulk.json()) as { errors: boolean; items: { index: { status: number } }[] };
    assert.equal(answer.errors, true);
    assert.ok(answer.items.every((i) => i.index.status === 400));
  } finally {
    await server.stop();
  }
});

test('OpenSearch: outage spills and replays exactly once', async () => {
  const server = new EsTestServer({ product: 'opensearch' });
  await server.start();
  const dir = tempDir('ufc-os-spill-');
  const records = await fixtureRecords();
  const out = new SearchOutput({
    flavor: 'opensearch',
    connection: { flavor: 'opensearch', addresses: [server.address], username: '', password: '', apiKey: '', tls: { enable: false, skipVerification: false, caCertPath: '' }, requestTimeoutMs: 5000 },
    view: { ecs: true, timestampSource: 'collect' },
    indexPrefix: 'os',
    indexPeriod: 'none',
    templateEnable: true,
    deadlineMs: 20,
    maxBytes: 1 << 20,
    batchRecords: 100,
    spill: { dir, maxBytes: 64 << 20 },
  });
  try {
    await out.start();
    const half = Math.floor(records.length / 2);
    out.write(records.slice(0, half));
    await out.flush();
    await server.stop();
    out.write(records.slice(half));
    await until(() => out.counters().spilled! > 0, 5000);
    assert.ok(out.counters().spilled! > 0);
    await server.start();
    await until(() => server.docs.length >= records.length, 20_000);
    await out.flush();
    assert.equal(server.docs.length, records.length);
    assert.ok(server.docs.every((d) => d.index === 'os-ecs' && d.template === 'os-ecs'));
    assert.deepEqual(server.docs.map((d) => d.doc), records.map((r) => {
      const want = JSON.parse(encodeRecord(r, { ecs: true, timestampSource: 'collect' })) as Record<string, unknown>;
      if ('tcp.flags' in want) {
        want['tcp.flags.value'] = want['tcp.flags'];
        delete want['tcp.flags'];
      }
      return want;
    }), 'all, once, in order');
  } finally {
    await out.close();
    await server.stop();
  }
});

/**
 * The GeoIP/ASN address cache's size is a level, not a running total: it drops when the cache turns
 * over, is cleared on a database reload, or goes with a crashed decode worker. /metrics shows it as
 * the gauge ufc_enricher_cache_entries; ufc_enricher_events_total series only ever go up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnEnricher } from '../src/enrich/asn.js';
import { createFactsCache } from '../src/enrich/address-facts.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { Collector } from '../src/collector.js';
import { enricherCounters } from '../src/pipeline/worker-protocol.js';
import { createMetrics } from '../src/web/metrics.js';
import type { WebSources } from '../src/web/sources.js';
import { ExporterStats } from '../src/pipeline/exporter-stats.js';
import { tempDir, testConfig, until } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

const address = (i: number): string => `8.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

/** Every series of `name` in a scrape, by its labels. */
function series(text: string, name: string): Map<string, number> {
  return new Map([...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])]));
}

test('the address cache\'s size is the gauge ufc_enricher_cache_entries: ufc_enricher_events_total does not go down when the cache is cleared', async () => {
  const facts = createFactsCache();
  // Not started: every answer is 'none', and each address is still cached.
  const asn = new AsnEnricher('', facts);
  const metrics = createMetrics({ pipeline: { stats: new ExporterStats() }, outputs: [], enrichers: [], enricherCounters: () => enricherCounters([asn]) } as unknown as WebSources);
  asn.enrich(Array.from({ length: 3000 }, (_, i) => Object.assign(new FlowRecord(), { srcIp: address(i), dstIp: address(i + 3000) })));
  const before = await metrics.metrics();
  assert.match(before, /^# TYPE ufc_enricher_cache_entries gauge$/m, 'the cache size is a gauge');
  assert.equal(series(before, 'ufc_enricher_cache_entries').get('enricher="asn"'), 6000, 'one entry per address');
  // A database reload forgets every answer.
  facts.clear();
  const after = await metrics.metrics();
  assert.equal(series(after, 'ufc_enricher_cache_entries').get('enricher="asn"'), 0, 'the gauge follows the cache down');
  const counted = series(before, 'ufc_enricher_events_total');
  assert.ok(counted.size > 0, 'the enricher has counters');
  for (const [labels, v] of series(after, 'ufc_enricher_events_total')) assert.ok(v >= (counted.get(labels) ?? 0), `${labels} went from ${counted.get(labels)} to ${v}`);
  assert.doesNotMatch(after, /^ufc_enricher_events_total\{[^}]*counter="cacheSize"/m, 'no level among the counters');
});

test('a crashed decode worker\'s cache is not added to its successor\'s: the cache size is the running workers\' alone, the counters stay', async () => {
  const dir = tempDir('ufc-cache-');
  const c = new Collector(testConfig({
    EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '1',
    EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'), EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true',
  }));
  try {
    await c.start();
    await c.listen();
    const pool = c.pool!;
    // NetFlow v5, 30 records a datagram (Cisco's v5 layout: a 24-byte header, 48-byte records), given public addresses.
    const datagram = Buffer.from(readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat')));
    for (let r = 0; r < 30; r++) {
      datagram.writeUInt32BE((8 << 24) + r, 24 + 48 * r);
      datagram.writeUInt32BE((9 << 24) + r, 24 + 48 * r + 4);
    }
    pool.dispatch(datagram, '127.0.0.2', 2055, Date.now());
    await c.flush();
    const asn = (): Record<string, number> => c.enricherCounters()['asn'] ?? {};
    await until(() => (asn()['cacheSize'] ?? 0) >= 60, 10_000);
    assert.equal(asn()['cacheSize'], 60, 'the worker cached the 60 addresses');
    const misses = asn()['cacheMisses'];
    const before = pool.restarts;
    // What a bug in the worker looks like: a message it cannot handle throws there, uncaught.
    (pool as unknown as { workers: { postMessage(m: unknown): void }[] }).workers[0]!.postMessage({ type: 'datagrams', batch: null });
    await until(() => pool.restarts !== before);
    assert.equal(pool.restarts, before + 1, 'the crash is seen');
    await c.flush();
    // The successor's first report: its cache is empty.
    await until(() => c.workerHeaps()[0] !== null, 10_000);
    assert.notEqual(c.workerHeaps()[0], null, 'the successor reported');
    assert.equal(asn()['cacheSize'], 0, 'the crashed worker\'s cache went with it');
    assert.equal(asn()['cacheMisses'], misses, 'its counters stay');
  } finally {
    await c.stop();
  }
});

/**
 * What /api/integrations serves of a threat list: the API leaves out each feed's `details` (the
 * enricher's status as it is), so the figures docs/threat-intel.md names per feed come in `figures`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreatFeedsEnricher } from '../src/enrich/threat-feeds.js';
import { MsGraphReputationEnricher } from '../src/threat/reputation/enricher.js';
import { integrationsStatus } from '../src/web/integrations.js';
import { tempDir, testConfig } from './helpers/collect.js';

/** As src/web/api.ts answers /api/integrations: each feed without its details. */
function served(enrichers: Parameters<typeof integrationsStatus>[0]): Record<string, unknown>[] {
  return JSON.parse(JSON.stringify(integrationsStatus(enrichers, []).feeds.map((f) => ({ ...f, details: undefined })))) as Record<string, unknown>[];
}

test('/api/integrations carries each threat feed\'s figures (format, origin, dropped, skipped, interval, failures) without its details', () => {
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'http://127.0.0.1:9',
  });
  const e = new ThreatFeedsEnricher({ config, dataDir: tempDir('ufc-feeds-'), userFeeds: [{ name: 'corp', url: 'http://127.0.0.1:9/corp.txt', format: 'plain', headers: {} }], autoRefresh: false });
  const feeds = served([e]);
  assert.equal(feeds.length, 2, 'both feeds listed');
  const drop = feeds.find((f) => f.feed === 'spamhaus-drop-v4')!;
  assert.equal(drop.details, undefined, 'details left out, as the API does');
  assert.deepEqual(drop.figures, { origin: 'built-in', format: 'jsonl', droppedPrivate: 0, skipped: 0, consecutiveFailures: 0, refreshIntervalMinutes: 720 }, 'the list\'s figures (none of a list not loaded yet)');
  assert.deepEqual(feeds.find((f) => f.feed === 'corp')!.figures, { origin: 'user', format: 'plain', droppedPrivate: 0, skipped: 0, consecutiveFailures: 0, refreshIntervalMinutes: 60 }, 'a user feed');
});

test('/api/integrations carries Microsoft Graph\'s lookup counters in its figures', () => {
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID: '4a1aa1d5-c567-49d0-ad0b-cd957a47f842',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET: 'graph-s3cret~0123456789abcdefghij',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL: 'http://127.0.0.1:9',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL: 'http://127.0.0.1:9',
  });
  const e = new MsGraphReputationEnricher(config);
  try {
    const [g] = served([e]);
    assert.equal(g?.feed, 'msgraph', 'listed as msgraph');
    assert.deepEqual(g?.figures, { queued: 0, requests: 0, answers: 0, notFound: 0, errors: 0, throttled: 0, tokens: 0, queueDropped: 0 }, 'every counter');
  } finally {
    void e.stop();
  }
});

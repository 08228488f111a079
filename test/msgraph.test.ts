/**
 * Microsoft Graph host reputation against the local token + reputation emulator: the
 * client-credentials token (fetched once, reused, renewed on 401), the cache and its TTL, the rate
 * limit between requests, the bounded queue, 429 Retry-After, and records marked only once the
 * answer is cached (never on the hot path).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, setLogger } from '../src/log/logger.js';
import { startFeedEmulator, type FeedEmulator } from '../src/dev/feed-emulator.js';
import { MsGraphReputationEnricher } from '../src/threat/reputation/enricher.js';
import { GraphReputation } from '../src/threat/reputation/msgraph.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { FIELDS } from '../src/record/fields.js';
import { integrationsStatus } from '../src/web/integrations.js';
import { testConfig } from './helpers/collect.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '4a1aa1d5-c567-49d0-ad0b-cd957a47f842';
const SECRET = 'graph-s3cret~0123456789abcdefghij';
const raw: string[] = [];
setLogger(createLogger({ level: 'debug', encoding: 'json', sink: (l) => raw.push(l) }));

const REPS = {
  '45.148.10.81': { classification: 'malicious', score: 92 },
  '80.94.95.115': { classification: 'suspicious', score: 40 },
  '8.8.8.8': { classification: 'neutral', score: 0 },
};

let emu: FeedEmulator;
before(async () => {
  emu = await startFeedEmulator({ graph: { tenant: TENANT, clientId: CLIENT, clientSecret: SECRET, reputations: REPS } });
});
after(async () => {
  await emu.close();
  for (const l of raw) assert.ok(!l.includes(SECRET), `secret leaked: ${l}`);
});

function rep(over: Partial<ConstructorParameters<typeof GraphReputation>[0]> = {}): GraphReputation {
  return new GraphReputation({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, loginUrl: emu.url, graphUrl: emu.url, ttlMs: 60_000, ratePerMinute: 6000, queueSize: 100, timeoutMs: 2000, ...over });
}

function flow(src: string, dst: string): FlowRecord {
  const r = new FlowRecord();
  r.srcIp = src;
  r.dstIp = dst;
  return r;
}
const field = (r: FlowRecord, codex: string): unknown => FIELDS.find((f) => f.codex === codex)!.get(r);

test('records are marked only once the answer is cached; misses are queued, private ends never looked up', async () => {
  const c = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID: TENANT,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID: CLIENT,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET: SECRET,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL: emu.url,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL: emu.url,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_RATE_LIMIT: '6000',
  });
  const e = new MsGraphReputationEnricher(c);
  const before = emu.graphRequests.length;
  const first = [flow('10.0.0.7', '45.148.10.81'), flow('80.94.95.115', '192.168.1.1'), flow('8.8.8.8', '1.1.1.1')];
  e.enrich(first);
  // Nothing cached yet: nothing marked, four public addresses queued.
  for (const r of first) assert.equal(r.srcThreatName + r.dstThreatName, '');
  assert.equal(e.rep.queued + (emu.graphRequests.length - before), 4);
  await e.rep.idle();
  assert.equal(emu.graphRequests.length - before, 4, 'one request per public address, none for private ones');
  const again = [flow('10.0.0.7', '45.148.10.81'), flow('80.94.95.115', '192.168.1.1'), flow('8.8.8.8', '1.1.1.1')];
  again[0]!.dstThreatName = 'tor-exit';
  again[0]!.dstThreatFeed = 'tor-exit';
  e.enrich(again);
  assert.deepEqual(field(again[0]!, 'flow.dst.sec.threat.name'), ['tor-exit', 'malicious:92']);
  assert.deepEqual(field(again[0]!, 'flow.dst.sec.threat.feed.name'), ['tor-exit', 'msgraph']);
  assert.deepEqual(field(again[1]!, 'flow.src.sec.threat.name'), ['suspicious:40']);
  assert.equal(again[2]!.srcThreatName + again[2]!.dstThreatName, '', 'neutral and unknown (404) never mark');
  assert.equal(emu.graphRequests.length - before, 4, 'answers (404 included) come from the cache');
  const st = integrationsStatus([e], []).feeds;
  assert.equal(st.length, 1);
  assert.equal(st[0]!.feed, 'msgraph');
  assert.equal(st[0]!.entries, 4);
  assert.equal(st[0]!.details.notFound, 1);
  await e.stop();
});

test('an end that the registries or EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS call private is never looked up, whatever its locality says (an address metadata file\'s internal: false)', async () => {
  const c = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID: TENANT,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID: CLIENT, EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET: SECRET,
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL: emu.url, EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL: emu.url, EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_RATE_LIMIT: '6000',
    // The mapped form names the same IPv4 range.
    EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '5.5.5.0/24,::ffff:6.6.6.0/120',
  });
  const e = new MsGraphReputationEnricher(c);
  const before = emu.graphRequests.length;
  const recs = [flow('10.0.0.1', '1.1.1.1'), flow('5.5.5.5', '6.6.6.6'), flow('::ffff:5.5.5.9', '7.7.7.7')];
  for (const r of recs) r.srcLocality = r.dstLocality = 'public';
  e.enrich(recs);
  await e.rep.idle();
  assert.equal(emu.graphRequests.length - before, 2, 'only 1.1.1.1 and 7.7.7.7');
  assert.equal(e.rep.cacheSize, 2);
  await e.stop();
});

test('one token is fetched and reused; a rejected token is renewed once', async () => {
  const g = rep();
  const t0 = emu.tokensIssued;
  for (const ip of ['45.148.10.81', '80.94.95.115', '8.8.8.8']) g.enqueue(ip);
  await g.idle();
  assert.equal(emu.tokensIssued - t0, 1);
  assert.equal(g.counters.tokens, 1);
  // Forget the token server-side: the next lookup gets 401, renews, and succeeds.
  (g as unknown as { token: { value: string; expires: number } }).token.value = 'revoked';
  g.enqueue('9.9.9.9');
  await g.idle();
  assert.equal(emu.tokensIssued - t0, 2);
  assert.equal(g.counters.errors, 0);
  assert.equal(g.counters.notFound, 1);
  g.stop();
});

test('a wrong secret is an error with the AADSTS reason, never the secret', async () => {
  const g = rep({ clientSecret: 'wrong-secret-value' });
  g.enqueue('45.148.10.81');
  await g.idle();
  assert.equal(g.counters.errors, 1);
  assert.match(String(g.lastError), /HTTP 401: invalid_client \(AADSTS7000215/);
  assert.ok(!String(g.lastError).includes('wrong-secret-value'));
  g.stop();
});

test('cache TTL: an expired answer is still used while it is looked up again', async () => {
  const g = rep({ ttlMs: 150 });
  const n0 = emu.graphRequests.length;
  assert.equal(g.peek('45.148.10.81', Date.now()), undefined);
  await g.idle();
  const a = g.peek('45.148.10.81', Date.now());
  assert.equal(a?.classification, 'malicious');
  assert.equal(emu.graphRequests.length - n0, 1);
  await new Promise((r) => setTimeout(r, 200));
  const stale = g.peek('45.148.10.81', Date.now());
  assert.equal(stale?.score, 92, 'the stale answer is returned');
  await g.idle();
  assert.equal(emu.graphRequests.length - n0, 2, 'and refreshed once');
  g.stop();
});

test('rate limit spaces requests; the queue is bounded and overflow counted', async () => {
  const g = rep({ ratePerMinute: 600, queueSize: 5 }); // one request per 100 ms
  const n0 = emu.graphRequests.length;
  const ips = Array.from({ length: 8 }, (_, i) => `45.148.10.${100 + i}`);
  for (const ip of ips) g.enqueue(ip);
  assert.equal(g.counters.queueDropped, 3);
  await g.idle();
  const times = emu.graphRequests.slice(n0);
  assert.equal(times.length, 5);
  // Starts are 100 ms apart; arrival jitter at the server can shift one request, not the whole run.
  const span = times[times.length - 1]! - times[0]!;
  assert.ok(span >= 350, `5 requests at 600/min span ${span} ms (at least 400 ms less jitter)`);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(gaps.filter((g) => g < 90).length <= 1, `gaps ${gaps.join(', ')} ms: at most one shortened by jitter`);
  g.stop();
});

test('HTTP 429 pauses lookups for Retry-After, then the address is looked up again', async () => {
  const emu2 = await startFeedEmulator({ graph: { tenant: TENANT, clientId: CLIENT, clientSecret: SECRET, reputations: REPS, throttleAfter: 1, throttleCount: 1, retryAfterSec: 1 } });
  try {
    const g = new GraphReputation({ tenantId: TENANT, clientId: CLIENT, clientSecret: SECRET, loginUrl: emu2.url, graphUrl: emu2.url, ttlMs: 60_000, ratePerMinute: 6000, queueSize: 10, timeoutMs: 2000 });
    g.enqueue('45.148.10.81');
    g.enqueue('80.94.95.115');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(g.counters.throttled, 1);
    assert.equal(g.queued, 1, 'the throttled address is queued again');
    assert.equal(emu2.graphRequests.length, 2, 'no request during the pause');
    await g.idle();
    const t = emu2.graphRequests;
    assert.equal(t.length, 3);
    assert.ok(t[2]! - t[1]! >= 990, `retried after Retry-After (${t[2]! - t[1]!} ms)`);
    assert.equal(g.peek('80.94.95.115', Date.now())?.classification, 'suspicious');
    g.stop();
  } finally {
    await emu2.close();
  }
});

test('enabling without tenant, client or secret stops start-up with the option named', () => {
  assert.throws(() => new MsGraphReputationEnricher(testConfig({ EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE: 'true' })), /EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID/);
});

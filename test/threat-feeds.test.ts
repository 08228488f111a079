/**
 * The threat-feeds enricher against the local feed emulator (loopback only): every built-in feed
 * and every user format is served in its provider's shape, loaded, and flags a flow from its own
 * address; private and bogon entries never flag; names merge with RiskIQ's; faults never make
 * things worse; the last good copy survives a restart with the network down; status and logs.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, setLogger } from '../src/log/logger.js';
import { retryPolicy, ThreatFeedsEnricher } from '../src/enrich/threat-feeds.js';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';
import { FIELDS } from '../src/record/fields.js';
import { startFeedEmulator, FEED_HITS, OTX_PAGE2_HIT, USER_HITS, type FeedEmulator, type FeedFault } from '../src/dev/feed-emulator.js';
import { CATALOGUE_NAMES } from '../src/threat/feeds/catalogue.js';
import { parseUserFeeds, type UserFeed } from '../src/threat/feeds/userdef.js';
import { integrationsStatus } from '../src/web/integrations.js';
import { createEnrichers } from '../src/enrich/chain.js';
import { createMetrics } from '../src/web/metrics.js';
import type { WebSources } from '../src/web/sources.js';
import { CaptureOutput, tempDir, testConfig, until } from './helpers/collect.js';
import { Collector } from '../src/collector.js';
import type { Config } from '../src/config/schema.js';

const ABUSE_KEY = 'abuse-key-5f2d8e1c9a7b6d4e3f201918';
const OTX_KEY = 'otx-key-a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';

const raw: string[] = [];
setLogger(createLogger({ level: 'debug', encoding: 'json', sink: (l) => raw.push(l) }));
const msgs = (): string[] => raw.map((l) => (JSON.parse(l) as { msg: string }).msg);

let emu: FeedEmulator;
before(async () => {
  emu = await startFeedEmulator({ abuseipdbKey: ABUSE_KEY, otxKey: OTX_KEY });
});
after(async () => {
  await emu.close();
  for (const l of raw) {
    assert.ok(!l.includes(ABUSE_KEY), `AbuseIPDB key leaked: ${l}`);
    assert.ok(!l.includes(OTX_KEY), `OTX key leaked: ${l}`);
  }
});

function userFeeds(): UserFeed[] {
  const feeds: UserFeed[] = Object.keys(USER_HITS).map((fmt) => ({ name: `user-${fmt}`, url: `${emu.url}/user/${fmt}`, format: fmt as UserFeed['format'], headers: {}, threatName: `user-${fmt}` }));
  // A second list holding the Tor exits: one end matched by two feeds.
  feeds.push({ name: 'my-tor', url: `${emu.url}/tor-exit`, format: 'plain', headers: {}, threatName: 'my-tor' });
  return feeds;
}

function enricher(dataDir: string, extra: Record<string, string> = {}, feeds = userFeeds()): ThreatFeedsEnricher {
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: CATALOGUE_NAMES.join(','),
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY: ABUSE_KEY,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY: OTX_KEY,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_TIMEOUT: '2',
    ...extra,
  });
  return new ThreatFeedsEnricher({ config, dataDir, userFeeds: feeds, autoRefresh: false, retry: { retryBaseMs: 50, retryCapMs: 100 } });
}

function flow(src: string, dst: string): FlowRecord {
  const r = new FlowRecord();
  r.srcIp = src;
  r.dstIp = dst;
  r.ipVersion = src.includes(':') ? 6 : 4;
  r.orientation = Orientation.SrcIsClient;
  return r;
}

const field = (r: FlowRecord, codex: string): unknown => FIELDS.find((f) => f.codex === codex)!.get(r);

test('every built-in feed and user format loads from the emulator and flags a flow from its own address', async () => {
  // Twenty lists at once, built on worker threads: 2 s (the fault tests' stall) was short under load.
  const e = enricher(tempDir('ufc-feeds-'), { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_TIMEOUT: '20' });
  await e.start();
  const loaded = await e.refreshAll();
  const expected = [...CATALOGUE_NAMES, ...Object.keys(USER_HITS).map((f) => `user-${f}`), 'my-tor'];
  assert.deepEqual([...loaded].sort(), [...expected].sort(), 'every feed got a list');
  // Built-ins used their captured request shape.
  assert.equal(emu.lastHeaders.get('/abuseipdb')?.key, ABUSE_KEY);
  assert.match(emu.lastQuery.get('/abuseipdb') ?? '', /confidenceMinimum=90/);
  assert.equal(emu.lastHeaders.get('/otx')?.['x-otx-api-key'], OTX_KEY);

  const hits = { ...FEED_HITS, ...Object.fromEntries(Object.entries(USER_HITS).map(([f, h]) => [`user-${f}`, h])) };
  for (const [feed, hit] of Object.entries(hits)) {
    const r = flow(hit.ip, hit.ip.includes(':') ? 'fd00::5' : '10.0.0.5');
    e.enrich([r]);
    const feeds = (field(r, 'flow.src.sec.threat.feed.name') ?? []) as string[];
    const names = (field(r, 'flow.src.sec.threat.name') ?? []) as string[];
    assert.ok(feeds.includes(feed), `${feed} flags ${hit.ip} (got ${JSON.stringify(feeds)})`);
    assert.equal(names[feeds.indexOf(feed)], hit.name, `${feed} names ${hit.ip}`);
    assert.equal(field(r, 'flow.dst.sec.threat.name'), undefined, 'the private end is never flagged');
  }
  // A decode worker's copy, fed only with the state the main instance posts, flags the same.
  const copy = new ThreatFeedsEnricher({ config: (e as unknown as { o: { config: Config } }).o.config, dataDir: tempDir('ufc-feeds-'), userFeeds: userFeeds(), replica: true });
  await copy.start();
  copy.applyReplicaState(structuredClone(e.replicaState()));
  for (const hit of Object.values(hits)) {
    const [a, b] = [flow(hit.ip, '10.0.0.5'), flow(hit.ip, '10.0.0.5')];
    e.enrich([a]);
    copy.enrich([b]);
    assert.deepEqual([b.srcThreatName, b.srcThreatFeed], [a.srcThreatName, a.srcThreatFeed], `copy flags ${hit.ip}`);
    assert.notEqual(b.srcThreatFeed, '');
  }
  const st = e.status().feeds;
  assert.equal(st.length, expected.length);
  for (const f of st) {
    assert.ok((f.entries as number) > 0, `${f.feed as string} has entries`);
    assert.equal(f.lastError, null);
    assert.ok(typeof f.nextRefresh === 'number' && f.nextRefresh > Date.now(), `${f.feed as string} has a next refresh`);
    assert.equal(typeof f.lastRefresh, 'number');
  }
  // Spamhaus's metadata record and OTX's domain indicator are not "bad entries".
  assert.equal(st.find((f) => f.feed === 'spamhaus-drop-v4')!.skipped, 0);
  assert.equal(st.find((f) => f.feed === 'spamhaus-drop-v4')!.entries, 3);
  assert.equal(st.find((f) => f.feed === 'otx')!.skipped, 0);
  // OTX: the second page (reached through `next`) is part of the list.
  const p2 = flow(OTX_PAGE2_HIT.ip, '10.0.0.9');
  e.enrich([p2]);
  assert.equal(p2.srcThreatFeed, 'otx');
  assert.equal(p2.srcThreatName, OTX_PAGE2_HIT.name);
  assert.equal(emu.hits.get('/otx'), 2, 'two pages fetched');
  // /metrics reads the same status: one series per feed.
  const metrics = await createMetrics({ config: testConfig({}), pipeline: { stats: { snapshot: () => [], forgotten: () => ({ errors: {} }) } }, decoders: new Map(), enrichers: [e], outputs: [] } as unknown as WebSources).metrics();
  assert.match(metrics, /ufc_threat_blocklist_entries\{feed="spamhaus-drop-v4"\} 3\n/);
  assert.match(metrics, /ufc_threat_blocklist_refresh_failed\{feed="otx"\} 0\n/);
  for (const name of expected) assert.match(metrics, new RegExp(`ufc_threat_blocklist_age_seconds\\{feed="${name}"\\} \\d`), `${name} age exported`);
  assert.ok(msgs().includes('Threat feed spamhaus-drop-v4: DB successfully populated.'));
  assert.ok(msgs().some((m) => m.startsWith(`Threat feed dshield: Fetching Threat DB from ${emu.url}/dshield`)));
  await e.stop();
});

test('private, special-purpose and bogon entries are dropped at load, counted and logged', async () => {
  const e = enricher(tempDir('ufc-feeds-'), { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'firehol-level1', EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '77.90.185.0/24' });
  const mark = raw.length;
  await e.start();
  await e.refreshAll();
  const s = e.status().feeds;
  const l1 = s.find((f) => f.feed === 'firehol-level1')!;
  // 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.168/16, 224/3: eight bogons.
  assert.equal(l1.droppedPrivate, 8);
  assert.equal(l1.entries, 1);
  const ups = s.find((f) => f.feed === 'user-plain')!;
  // 192.168.1.10, 10.1.2.3, fd00::1 and (by EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS) 77.90.185.60.
  assert.equal(ups.entries, null, 'nothing usable left: no list');
  assert.match(String(ups.lastError), /all 4 entries cover private or special-purpose space/);
  assert.ok(msgs().slice(mark).some((m) => /^Threat feed firehol-level1: dropped 8 entries covering private or special-purpose space \(e\.g\. 0\.0\.0\.0\/8, 10\.0\.0\.0\/8/.test(m)));
  for (const ip of ['10.1.2.3', '192.168.1.10', '172.16.5.5', '224.0.0.251', '100.64.1.1', '127.0.0.1', '169.254.1.1', '10.10.10.10', '192.168.0.1', '192.168.7.7', '10.20.30.40', '77.90.185.60']) {
    const r = flow(ip, '8.8.8.8');
    const r2 = flow('8.8.8.8', ip);
    e.enrich([r, r2]);
    assert.equal(r.srcThreatName, '', `${ip} never flagged as source`);
    assert.equal(r2.dstThreatName, '', `${ip} never flagged as destination`);
  }
  await e.stop();
});

test('several feeds on one end, merged with what RiskIQ set: every name and feed, as arrays', async () => {
  const e = enricher(tempDir('ufc-feeds-'), { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'tor-exit,spamhaus-drop-v4' });
  await e.start();
  await e.refreshAll();
  const r = flow(FEED_HITS['tor-exit']!.ip, FEED_HITS['spamhaus-drop-v4']!.ip);
  // The RiskIQ enricher ran first and marked both ends.
  r.srcThreatName = 'c2';
  r.srcThreatFeed = 'riskiq';
  r.dstThreatName = 'c2';
  r.dstThreatFeed = 'riskiq';
  e.enrich([r]);
  assert.deepEqual(field(r, 'flow.src.sec.threat.feed.name'), ['riskiq', 'tor-exit', 'my-tor']);
  assert.deepEqual(field(r, 'flow.src.sec.threat.name'), ['c2', 'tor-exit', 'my-tor']);
  assert.deepEqual(field(r, 'flow.dst.sec.threat.feed.name'), ['riskiq', 'spamhaus-drop-v4'], 'the destination keeps RiskIQ\'s feed');
  assert.deepEqual(field(r, 'flow.dst.sec.threat.name'), ['c2', FEED_HITS['spamhaus-drop-v4']!.name], 'the destination keeps RiskIQ\'s name');
  assert.deepEqual(field(r, 'sec.threat.feed.name'), ['riskiq', 'tor-exit', 'my-tor', 'spamhaus-drop-v4']);
  assert.deepEqual(field(r, 'flow.client.sec.threat.feed.name'), ['riskiq', 'tor-exit', 'my-tor']);
  // An IPv4-mapped IPv6 end is looked up as its IPv4 address; a batch mixes both families.
  const batch = [flow(`::ffff:${FEED_HITS['tor-exit']!.ip}`, '::1'), flow('2a06:5280::9', '1.10.16.1'), flow('', 'not an address')];
  e.enrich(batch);
  assert.equal(batch[0]!.srcThreatFeed, 'tor-exit,my-tor');
  assert.equal(batch[1]!.srcThreatFeed, '', 'spamhaus-drop-v6 is not in this enricher');
  assert.equal(batch[1]!.dstThreatFeed, 'spamhaus-drop-v4');
  assert.equal(batch[2]!.srcThreatFeed + batch[2]!.dstThreatFeed, '');
  await e.stop();
});

const FAULTS: FeedFault[] = ['500', '404', '429', '401', 'stall', 'truncate', 'garbage', 'empty'];

test('every fault leaves the active list in use and is reported; the list persists across a restart without network', async () => {
  const dir = tempDir('ufc-feeds-');
  const e = enricher(dir, { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'feodo,dshield' }, []);
  await e.start();
  assert.deepEqual((await e.refreshAll()).sort(), ['dshield', 'feodo']);
  const hit = FEED_HITS.feodo!.ip;
  for (const fault of FAULTS) {
    emu.setFault('/feodo', fault);
    const mark = raw.length;
    const ok = await e.slot('feodo')!.feed.refresh();
    assert.equal(ok, false, `${fault}: no new list`);
    const st = e.status().feeds.find((f) => f.feed === 'feodo')!;
    assert.ok(typeof st.lastError === 'string' && st.lastError !== '', `${fault}: last error shown`);
    assert.equal(st.entries, 2, `${fault}: the active list stays`);
    const r = flow(hit, '10.0.0.1');
    e.enrich([r]);
    assert.equal(r.srcThreatFeed, 'feodo', `${fault}: still flags`);
    assert.ok(msgs().slice(mark).some((m) => m.startsWith('Threat feed feodo: failed to refresh DB, keeping the active DB: ')), `${fault}: logged`);
  }
  // The status reaches the Integrations page and /metrics the way the RiskIQ one does.
  const integ = integrationsStatus([e], []).feeds;
  const fe = integ.find((f) => f.feed === 'feodo')!;
  assert.equal(fe.entries, 2);
  assert.ok(fe.lastError !== null);
  assert.equal(typeof fe.nextRefresh, 'number', 'a retry is scheduled');
  assert.equal(integ.find((f) => f.feed === 'dshield')!.lastError, null);
  await e.stop();

  // Restart with every feed path failing: the stored copies are used.
  emu.setFault('/feodo', 'none');
  emu.setFault('*', '500');
  try {
    const e2 = enricher(dir, { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'feodo,dshield' }, []);
    const mark = raw.length;
    await e2.start();
    assert.equal(await e2.slot('feodo')!.feed.refresh(), false);
    const r = flow('193.32.162.7', hit);
    e2.enrich([r]);
    assert.equal(r.srcThreatFeed, 'dshield');
    assert.equal(r.dstThreatFeed, 'feodo');
    assert.ok(msgs().slice(mark).some((m) => m.startsWith('Threat feed feodo: loaded the last good DB from ')));
    await e2.stop();
  } finally {
    emu.setFault('*', 'none');
  }
});

test('refresh intervals: provider floors are enforced, user YAML parsed and checked', () => {
  const feeds = parseUserFeeds(
    ['feeds:', '  - name: spamhaus-drop-v4', '    interval: 5', '  - name: corp', `    url: ${'http://127.0.0.1:9/x.txt'}`, '    format: zeek', '    header: "Authorization: Bearer t0ken-abcdef"', '    interval: 15'].join('\n'),
    'feeds.yaml',
  );
  assert.equal(feeds.length, 2);
  assert.deepEqual(feeds[1]!.headers, { Authorization: 'Bearer t0ken-abcdef' });
  const e = enricher(tempDir('ufc-feeds-'), { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4,abuseipdb' }, feeds);
  const by = (n: string): number => e.slot(n)!.def.intervalMin;
  assert.equal(by('spamhaus-drop-v4'), 60, 'Spamhaus: at most one download an hour');
  assert.equal(by('abuseipdb'), 1440);
  assert.equal(by('corp'), 15);
  assert.equal(e.slot('corp')!.def.format, 'zeek');
  // Retries after a failure respect the provider's floor too: Spamhaus never sooner than an hour.
  assert.equal(retryPolicy(e.slot('spamhaus-drop-v4')!.def).retryBaseMs, 60 * 60_000);
  assert.equal(retryPolicy(e.slot('corp')!.def).retryBaseMs, 5 * 60_000);
  assert.equal(retryPolicy(e.slot('abuseipdb')!.def).retryBaseMs, 6 * 60 * 60_000);
  assert.throws(() => parseUserFeeds('- name: x\n  url: ftp://a\n', 'f.yaml'), /url/);
  assert.throws(() => parseUserFeeds('- name: x\n  url: http://a/\n  interval: 1\n', 'f.yaml'), /interval/);
  assert.throws(() => parseUserFeeds('- name: x\n  url: http://a/\n  format: xml\n', 'f.yaml'), /format/);
  assert.throws(() => parseUserFeeds('- name: x\n  colour: red\n', 'f.yaml'), /unknown key "colour"/);
});

test('off by default; the one switch turns on the key-free set (keyed feeds only with their key)', () => {
  const dataDir = tempDir('ufc-feeds-');
  assert.equal(createEnrichers({ config: testConfig({}), dataDir }).some((x) => x.name === 'threat-feeds'), false);
  const chain = createEnrichers({ config: testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'http://127.0.0.1:9' }), dataDir });
  const tf = chain.find((x) => x.name === 'threat-feeds') as ThreatFeedsEnricher;
  assert.equal(tf.placement, 'replica');
  const names = tf.slots.map((s) => s.def.name);
  assert.deepEqual(names, ['spamhaus-drop-v4', 'spamhaus-drop-v6', 'feodo', 'et-compromised', 'cins-army', 'blocklist-de', 'tor-exit', 'dshield', 'firehol-level1']);
  const withKey = createEnrichers({ config: testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY: OTX_KEY }), dataDir });
  const tf2 = withKey.find((x) => x.name === 'threat-feeds') as ThreatFeedsEnricher;
  assert.ok(tf2.slots.some((s) => s.def.name === 'otx'));
  assert.equal(tf2.slot('otx')!.def.url, 'https://otx.alienvault.com/api/v1/pulses/subscribed?limit=50');
  // Threat enrichers come after RiskIQ in the chain.
  const both = createEnrichers({ config: testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'a@example.com', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'k3y-0123456789' }), dataDir }).map((x) => x.name);
  assert.ok(both.indexOf('riskiq-threat') < both.indexOf('threat-feeds'));
});

test('wired by the chain: the collector starts at once, downloads in the background, enriches emitted flows; YAML user feeds', async () => {
  const dataDir = tempDir('ufc-feeds-e2e-');
  const yaml = join(dataDir, 'feeds.yaml');
  writeFileSync(yaml, `feeds:\n  - name: corp-zeek\n    url: ${emu.url}/user/zeek\n    format: zeek\n    interval: 30\n`);
  const config = testConfig({
    EF_DATA_DIR: dataDir,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'tor-exit,spamhaus-drop-v4',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: yaml,
  });
  const capture = new CaptureOutput();
  const collector = new Collector(config, { outputs: [capture] });
  const e = collector.enrichers.find((x) => x.name === 'threat-feeds') as ThreatFeedsEnricher | undefined;
  assert.ok(e, 'createEnrichers adds the threat-feeds enricher when enabled');
  assert.deepEqual(e.slots.map((s) => s.def.name), ['tor-exit', 'spamhaus-drop-v4', 'corp-zeek']);
  await collector.start();
  await until(() => e.slots.every((s) => s.feed.index !== null), 10_000);
  collector.pipeline.emit([flow(USER_HITS.zeek!.ip, FEED_HITS['tor-exit']!.ip), flow('10.0.0.1', FEED_HITS['spamhaus-drop-v4']!.ip)]);
  await collector.stop();
  assert.deepEqual(field(capture.records[0]!, 'flow.src.sec.threat.feed.name'), ['corp-zeek']);
  assert.deepEqual(field(capture.records[0]!, 'flow.src.sec.threat.name'), ['phishing kit host']);
  assert.deepEqual(field(capture.records[0]!, 'flow.dst.sec.threat.feed.name'), ['tor-exit']);
  assert.deepEqual(field(capture.records[1]!, 'sec.threat.name'), ['SBL256894']);
});

test('a key in a user feed URL query string never reaches the log', async () => {
  const token = 'q-token-7c9e2b4a1d3f5e6a';
  const mark = raw.length;
  const e = enricher(tempDir('ufc-feeds-'), { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'tor-exit' }, [{ name: 'keyed', url: `${emu.url}/user/plain?apikey=${token}`, format: 'plain', headers: {} }]);
  await e.start();
  await e.refreshAll();
  const logged = raw.slice(mark);
  assert.ok(logged.some((l) => l.includes('Threat feed keyed: Fetching Threat DB from') && l.includes('apikey=')), 'the URL with its query is logged, redacted');
  for (const l of logged) assert.ok(!l.includes(token), `token leaked: ${l}`);
  assert.equal(e.status().feeds.find((f) => f.feed === 'keyed')!.source, `${emu.url}/user/plain?apikey=***`, 'nor the status page');
  await e.stop();
});

test('a restart with a fresh stored copy does not download again until it is due', async () => {
  const dir = tempDir('ufc-feeds-');
  const first = enricher(dir, { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4,tor-exit' }, []);
  await first.start();
  await first.refreshAll();
  await first.stop();
  const before = { s: emu.hits.get('/spamhaus-drop-v4') ?? 0, t: emu.hits.get('/tor-exit') ?? 0 };
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4,tor-exit,feodo',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
  });
  const fe0 = emu.hits.get('/feodo') ?? 0;
  const second = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
  await second.start();
  await until(() => (emu.hits.get('/feodo') ?? 0) !== fe0, 5000);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(emu.hits.get('/feodo'), fe0 + 1, 'a feed without a stored copy downloads at once');
  assert.equal(emu.hits.get('/spamhaus-drop-v4') ?? 0, before.s, 'the fresh Spamhaus copy is not fetched again');
  assert.equal(emu.hits.get('/tor-exit') ?? 0, before.t);
  const st = second.status().feeds.find((f) => f.feed === 'spamhaus-drop-v4')!;
  assert.equal(st.entries, 3, 'the stored copy is active');
  assert.ok((st.nextRefresh as number) > Date.now() + 11 * 3600_000, 'next download when the 12 h interval is up');
  await second.stop();
  // Moved to another URL: the stored copy serves until the new one arrives, fetched at once.
  const moved = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [{ name: 'tor-exit', url: `${emu.url}/user/plain`, headers: {} }] });
  const t0 = emu.hits.get('/user/plain') ?? 0;
  await moved.start();
  await until(() => (emu.hits.get('/user/plain') ?? 0) !== t0, 5000);
  assert.equal(emu.hits.get('/user/plain'), t0 + 1);
  await moved.stop();
});

test('a stored copy dated in the future (clock was ahead) is due at once, not after the clock catches up', async () => {
  const dir = tempDir('ufc-feeds-');
  const first = enricher(dir, { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4' }, []);
  await first.start();
  await first.refreshAll();
  await first.stop();
  const metaPath = join(dir, 'threat', 'spamhaus-drop-v4.meta.json');
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { savedAt: string };
  meta.savedAt = new Date(Date.now() + 30 * 86400_000).toISOString();
  writeFileSync(metaPath, JSON.stringify(meta));
  // The attempt was recorded by the same clock.
  const attemptPath = join(dir, 'threat', 'spamhaus-drop-v4.attempt.json');
  const attempt = JSON.parse(readFileSync(attemptPath, 'utf8')) as { at: number };
  attempt.at = Date.now() + 30 * 86400_000;
  writeFileSync(attemptPath, JSON.stringify(attempt));
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
  });
  const hits = emu.hits.get('/spamhaus-drop-v4') ?? 0;
  const second = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
  await second.start();
  try {
    await until(() => (emu.hits.get('/spamhaus-drop-v4') ?? 0) !== hits, 5000);
    assert.ok((emu.hits.get('/spamhaus-drop-v4') ?? 0) > hits, 'the copy dated in the future is downloaded at once');
    const st = second.status().feeds.find((f) => f.feed === 'spamhaus-drop-v4')!;
    assert.ok((st.nextRefresh as number) <= Date.now() + 12 * 3600_000 + 5000, 'the next download is at most one interval away');
  } finally {
    await second.stop();
  }
});

test('a restart does not ask a provider sooner than its floor after the last attempt, a failed one included', async () => {
  const dir = tempDir('ufc-feeds-');
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'spamhaus-drop-v4',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
  });
  emu.setFault('/spamhaus-drop-v4', '500');
  try {
    // A collector that never got the list, restarting in a loop (a crash at every start).
    const hits = emu.hits.get('/spamhaus-drop-v4') ?? 0;
    const first = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
    await first.start();
    await until(() => first.status().feeds[0]!.lastError !== null, 5000);
    await first.stop();
    assert.equal(emu.hits.get('/spamhaus-drop-v4'), hits + 1, 'the first start asks at once');
    const attempt = JSON.parse(readFileSync(join(dir, 'threat', 'spamhaus-drop-v4.attempt.json'), 'utf8')) as { failures: number };
    assert.equal(attempt.failures, 1, 'the failure is kept');
    for (let i = 0; i < 3; i++) {
      const again = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
      await again.start();
      await new Promise((r) => setTimeout(r, 150));
      const st = again.status().feeds[0]!;
      await again.stop();
      assert.equal(emu.hits.get('/spamhaus-drop-v4'), hits + 1, `restart ${i + 1}: Spamhaus is not asked again within its hour`);
      assert.ok((st.nextRefresh as number) > Date.now() + 55 * 60_000, `restart ${i + 1}: the next try is an hour after the last`);
      assert.equal(typeof st.lastAttempt, 'number', 'the last attempt is shown after the restart');
    }
  } finally {
    emu.setFault('/spamhaus-drop-v4', 'none');
  }
  // Another URL is another provider (a mirror): its first request is not held back.
  const moved = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [{ name: 'spamhaus-drop-v4', url: `${emu.url}/spamhaus-drop-v4?mirror`, headers: {} }] });
  const m0 = emu.hits.get('/spamhaus-drop-v4') ?? 0;
  await moved.start();
  await until(() => (emu.hits.get('/spamhaus-drop-v4') ?? 0) !== m0, 5000);
  await moved.stop();
});

test('a stored copy without its meta file is dated by the file, not by the start: an old one is due at once', async () => {
  const dir = tempDir('ufc-feeds-');
  const first = enricher(dir, { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'tor-exit' }, []);
  await first.start();
  await first.refreshAll();
  await first.stop();
  // As a copy kept by an older version, or whose meta file was lost, three hours old.
  rmSync(join(dir, 'threat', 'tor-exit.meta.json'));
  rmSync(join(dir, 'threat', 'tor-exit.attempt.json'));
  const threeHours = new Date(Date.now() - 3 * 3600_000);
  utimesSync(join(dir, 'threat', 'tor-exit.body'), threeHours, threeHours);
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'tor-exit',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
  });
  const hits = emu.hits.get('/tor-exit') ?? 0;
  const second = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
  await second.start();
  // Read before the download the start scheduled has begun.
  const st = second.status().feeds[0]!;
  try {
    assert.equal(st.entries, 3, 'the copy is used');
    assert.ok(Math.abs((st.ageSeconds as number) - 3 * 3600) < 60, `aged by the file (${String(st.ageSeconds)} s), not 0`);
    await until(() => (emu.hits.get('/tor-exit') ?? 0) !== hits, 5000);
    assert.equal(emu.hits.get('/tor-exit'), hits + 1, 'older than its hour: downloaded at once');
  } finally {
    await second.stop();
  }
});

test('threat names joined with ", " read as trimmed parts in every threat field', () => {
  const r = flow('198.51.100.7', '10.0.0.1');
  r.srcThreatName = 'botnet, mirai';
  r.srcThreatFeed = 'riskiq, my-feed';
  r.dstThreatName = ' scanner ,';
  assert.deepEqual(field(r, 'flow.src.sec.threat.name'), ['botnet', 'mirai']);
  assert.deepEqual(field(r, 'flow.src.sec.threat.feed.name'), ['riskiq', 'my-feed']);
  assert.deepEqual(field(r, 'flow.client.sec.threat.name'), ['botnet', 'mirai']);
  assert.deepEqual(field(r, 'sec.threat.name'), ['botnet', 'mirai', 'scanner']);
});

/**
 * The real RiskIQ threat enricher against the PassiveTotal emulator over loopback: the seed's log
 * lines word for word, HTTP Basic auth, every fault mode (the active DB keeps enriching), the
 * persisted DB at restart with the emulator down, include/exclude, and the key never logged.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, setLogger } from '../src/log/logger.js';
import { RiskiqThreatEnricher } from '../src/enrich/riskiq-threat.js';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';
import { FIELDS } from '../src/record/fields.js';
import { startPassiveTotalEmulator, type EmulatorFault, type PassiveTotalEmulator } from '../src/dev/passivetotal-emulator.js';
import { CaptureOutput, tempDir, testConfig, until } from './helpers/collect.js';
import { REPO_ROOT, TESTDATA } from './helpers/tools.js';
import { ListStore } from '../src/threat/persist.js';
import { Collector } from '../src/collector.js';
import { execFileSync } from 'node:child_process';
import { integrationsStatus } from '../src/web/integrations.js';

const USER = 'analyst@example.com';
const KEY = '0ff5abcdefdaf9ef12345675c4c11abcdef61bfe7ad1234568ec395bb288639';

interface Line {
  level: string;
  ts: number;
  caller: string;
  msg: string;
  [k: string]: unknown;
}
const raw: string[] = [];
setLogger(createLogger({ level: 'debug', encoding: 'json', sink: (l) => raw.push(l) }));
function lines(): Line[] {
  return raw.map((l) => JSON.parse(l) as Line);
}
function msgsSince(mark: number): string[] {
  return lines().slice(mark).map((l) => l.msg).filter((m) => m.startsWith('RiskIQ Threats:'));
}

const emulators: PassiveTotalEmulator[] = [];
after(async () => {
  for (const e of emulators) await e.close();
  if (process.env.UFC_DUMP_LOG !== undefined) writeFileSync(process.env.UFC_DUMP_LOG, raw.join('\n') + '\n');
  // The API key must never have reached a log line, whatever happened.
  for (const l of raw) assert.ok(!l.includes(KEY), `key leaked: ${l}`);
});

async function emulator(fault: EmulatorFault = 'none', entries = 500): Promise<PassiveTotalEmulator> {
  const e = await startPassiveTotalEmulator({ user: USER, key: KEY, entries, format: 'text', fault, slowBytesPerSec: 2000 });
  emulators.push(e);
  return e;
}

function enricher(url: string, extra: Record<string, string> = {}, dataDir?: string, offThread = true): RiskiqThreatEnricher {
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: url,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT: '1',
    ...(dataDir === undefined ? {} : { EF_DATA_DIR: dataDir }),
    ...extra,
  });
  return new RiskiqThreatEnricher({ config, dataDir: config.EF_DATA_DIR, autoRefresh: false, retry: { retryBaseMs: 50, retryCapMs: 200 }, offThread });
}

/** A flow between two addresses; a CIDR from the generated list stands for its first address. */
function flow(src: string, dst: string): FlowRecord {
  const r = new FlowRecord();
  r.srcIp = src.split('/')[0]!;
  r.dstIp = dst.split('/')[0]!;
  r.ipVersion = src.includes(':') ? 6 : 4;
  r.orientation = Orientation.SrcIsClient;
  return r;
}

function field(r: FlowRecord, codex: string): unknown {
  return FIELDS.find((f) => f.codex === codex)!.get(r);
}

test('downloads with HTTP Basic auth, logs the seed lines word for word, and marks both ends', async () => {
  const emu = await emulator();
  const e = enricher(emu.url);
  await e.start();
  const mark = raw.length;
  assert.equal(await e.refresh(), true);
  assert.deepEqual(msgsSince(mark), [
    `RiskIQ Threats: Fetching Threat DB from enrichment API at ${emu.url}`,
    `RiskIQ Threats: received enrichment API response: ${emu.list.body.length} bytes`,
    'RiskIQ Threats: DB successfully populated.',
  ]);
  const got = lines().slice(mark);
  for (const l of got) {
    assert.equal(l.level, 'info');
    assert.match(l.caller, /^(enrich\/riskiq-threat\.ts|threat\/[\w-]+\.ts):\d+$/);
  }
  assert.equal(emu.stats.authorized, 1);

  const [a, b] = emu.list.sample;
  const r = flow(a!.addr, b!.addr);
  const clean = flow('192.0.2.1', '198.51.100.200');
  e.enrich([r, clean]);
  assert.equal(r.srcThreatName, a!.name);
  assert.equal(r.dstThreatName, b!.name);
  assert.equal(r.srcThreatFeed, 'riskiq');
  assert.equal(r.dstThreatFeed, 'riskiq');
  assert.deepEqual(field(r, 'flow.client.sec.threat.name'), [a!.name]);
  assert.deepEqual(field(r, 'flow.server.sec.threat.feed.name'), ['riskiq']);
  assert.deepEqual(field(r, 'sec.threat.feed.name'), ['riskiq']);
  assert.equal(clean.srcThreatName, '');
  assert.equal(clean.dstThreatFeed, '');
  await e.stop();
});

test('wrong credentials: 401 is named, and no DB is initialised', async () => {
  const emu = await emulator();
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'wrong-key-wrong-key',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emu.url,
  });
  const e = new RiskiqThreatEnricher({ config, dataDir: config.EF_DATA_DIR, autoRefresh: false });
  await e.start();
  const mark = raw.length;
  assert.equal(await e.refresh(), false);
  const m = msgsSince(mark);
  assert.equal(m[0], `RiskIQ Threats: Fetching Threat DB from enrichment API at ${emu.url}`);
  assert.match(m[1]!, /^RiskIQ Threats: enrichment API request failed: enrichment API answered HTTP 401 Unauthorized; check EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER/);
  assert.equal(m[2], 'RiskIQ Threats: failed to initialize DB: enrichment API answered HTTP 401 Unauthorized');
  assert.equal(emu.stats.authorized, 0);
  assert.ok(!raw.some((l) => l.includes('wrong-key-wrong-key')), 'the key is redacted from every line');
  await e.stop();
});

const TIMEOUT = 'context deadline exceeded (Client.Timeout or context cancellation while reading body)';
const faults: { fault: EmulatorFault; read?: RegExp; request?: RegExp; cause: RegExp; skipped?: RegExp }[] = [
  { fault: '401', request: /HTTP 401 Unauthorized/, cause: /^enrichment API answered HTTP 401 Unauthorized$/ },
  { fault: '500', request: /HTTP 500 Internal Server Error/, cause: /^enrichment API answered HTTP 500 Internal Server Error$/ },
  { fault: 'stall', read: new RegExp(`^${TIMEOUT.replace(/[()]/g, '\\$&')}$`), cause: /^context deadline exceeded \(Client\.Timeout or context cancellation while reading body\)$/ },
  { fault: 'slow', read: /^context deadline exceeded \(Client\.Timeout/, cause: /^context deadline exceeded/ },
  { fault: 'truncate', read: /^unexpected EOF/, cause: /^unexpected EOF/ },
  { fault: 'garbage', skipped: /^RiskIQ Threats: skipped \d+ entries that did not parse \(e\.g\. "/, cause: /^no usable entry in the response \(\d+ entries did not parse\)$/ },
  { fault: 'empty', cause: /^empty response \(0 bytes\)$/ },
];

for (const f of faults) {
  test(`fault ${f.fault}: initialising fails with the cause; a refresh keeps the active DB and flows stay enriched`, async () => {
    const emu = await emulator(f.fault, 2000);
    const e = enricher(emu.url);
    await e.start();

    // 1. No DB yet: "failed to initialize DB".
    let mark = raw.length;
    const t0 = Date.now();
    assert.equal(await e.refresh(), false);
    assert.ok(Date.now() - t0 < 5000, 'the 1 s deadline bounds the whole exchange');
    let m = msgsSince(mark);
    assert.equal(m[0], `RiskIQ Threats: Fetching Threat DB from enrichment API at ${emu.url}`);
    const expectInit = (msgs: string[], prefix: string): void => {
      let i = 1;
      if (f.read) {
        assert.ok(msgs[i]!.startsWith('RiskIQ Threats: failed to read the complete enrichment API response: '), msgs[i]);
        assert.match(msgs[i]!.slice('RiskIQ Threats: failed to read the complete enrichment API response: '.length), f.read);
        i++;
      }
      if (f.request) {
        assert.match(msgs[i]!, /^RiskIQ Threats: enrichment API request failed: /);
        assert.match(msgs[i]!, f.request);
        i++;
      }
      if (!f.read && !f.request) {
        assert.match(msgs[i]!, /^RiskIQ Threats: received enrichment API response: \d+ bytes$/);
        i++;
      }
      if (f.skipped) {
        assert.match(msgs[i]!, f.skipped);
        i++;
      }
      assert.ok(msgs[i]!.startsWith(prefix), `${msgs[i]} starts with ${prefix}`);
      assert.match(msgs[i]!.slice(prefix.length), f.cause);
      assert.equal(msgs.length, i + 1, msgs.join('\n'));
    };
    expectInit(m, 'RiskIQ Threats: failed to initialize DB: ');
    if (f.read) assert.equal(lines().slice(mark).find((l) => l.msg.includes('failed to read the complete'))!.level, 'error');
    // The web UI's Integrations page says why, and when it last tried (it said only 'the log says why').
    const shown = (): { lastError: string | null; lastAttempt: number | null } => integrationsStatus([e], []).feeds[0]!;
    const [cause, state] = String(shown().lastError).split(/ (?=\(the last refresh failed)/);
    assert.match(cause!, f.cause);
    assert.equal(state, '(the last refresh failed; no list is active)');
    assert.ok(shown().lastAttempt! >= t0 && shown().lastAttempt! <= Date.now(), String(shown().lastAttempt));

    // 2. A good download, then the fault again: the active DB stays.
    const fault = emu.fault;
    emu.fault = 'none';
    assert.equal(await e.refresh(), true);
    assert.equal(shown().lastError, null);
    const hit = emu.list.sample[3]!;
    emu.fault = fault;
    mark = raw.length;
    assert.equal(await e.refresh(), false);
    m = msgsSince(mark);
    expectInit(m, 'RiskIQ Threats: failed to refresh DB, keeping the active DB: ');
    assert.match(String(shown().lastError), /\(the last refresh failed; the previous list stays active\)$/);
    const r = flow('192.0.2.9', hit.addr);
    e.enrich([r]);
    assert.equal(r.dstThreatName, hit.name, 'still enriched from the previous DB');
    assert.equal(r.dstThreatFeed, 'riskiq');
    await e.stop();
  });
}

test('restart with the emulator down: the persisted DB is loaded before any download and enriches', async () => {
  const emu = await emulator('none', 1000);
  const dataDir = tempDir('ufc-riq-');
  const first = enricher(emu.url, {}, dataDir);
  await first.start();
  assert.equal(await first.refresh(), true);
  await first.stop();
  assert.ok(existsSync(join(dataDir, 'threat', 'riskiq.body')));
  assert.ok(existsSync(join(dataDir, 'threat', 'riskiq.meta.json')));
  assert.deepEqual(readdirSync(join(dataDir, 'threat')).filter((n) => n.includes('.tmp-')), [], 'no temporary file left behind');
  const url = emu.url;
  await emu.close();
  emulators.splice(emulators.indexOf(emu), 1);

  const mark = raw.length;
  const second = enricher(url, {}, dataDir);
  await second.start();
  const m = msgsSince(mark);
  assert.match(m[0]!, /^RiskIQ Threats: loaded the last good DB from .*threat\/riskiq\.body \(downloaded \d{4}-/);
  const loaded = raw.slice(mark).map((l) => JSON.parse(l) as { msg: string; bytes?: number }).find((l) => l.msg.includes('loaded the last good DB'))!;
  assert.equal(loaded.bytes, statSync(join(dataDir, 'threat', 'riskiq.body')).size, 'the stored body\'s size, not the emptied buffer\'s');
  const hit = emu.list.sample[5]!;
  const r = flow(hit.addr, '192.0.2.1');
  second.enrich([r]);
  assert.equal(r.srcThreatName, hit.name);

  // The download that follows fails (connection refused) and says it keeps the active DB.
  const m2 = raw.length;
  assert.equal(await second.refresh(), false);
  const after2 = msgsSince(m2);
  assert.match(after2[1]!, /^RiskIQ Threats: enrichment API request failed: Get "http:\/\/127\.0\.0\.1:\d+\/v2\/netflow\/blocklist\/download": .*(ECONNREFUSED|EOF)/);
  assert.match(after2[2]!, /^RiskIQ Threats: failed to refresh DB, keeping the active DB: /);
  await second.stop();
});

test('start() does not wait for the network: a stalled API leaves start-up instant', async () => {
  const emu = await emulator('stall');
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emu.url,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT: '30',
  });
  const e = new RiskiqThreatEnricher({ config, dataDir: config.EF_DATA_DIR });
  const t0 = performance.now();
  await e.start();
  // A start that waited would wait for the 30 s timeout.
  assert.ok(performance.now() - t0 < 5000, `start() took ${performance.now() - t0} ms`);
  await e.stop(); // aborts the stalled download
});

test('failed refreshes back off (1, 2, 4 ... retry steps, capped) and a success resets to the interval', async () => {
  const emu = await emulator('500');
  const e = enricher(emu.url);
  const s = e.feed.schedule;
  assert.equal(s.delayAfter(0), 1440 * 60_000);
  assert.deepEqual([1, 2, 3, 4, 5].map((k) => s.delayAfter(k)), [50, 100, 200, 200, 200]);
  // The production policy: 1, 2, 4, 8, 16 minutes, capped at 30 (well below the 1440-minute interval).
  const prod = new RiskiqThreatEnricher({ config: testConfig(), dataDir: tempDir('ufc-riq-') }).feed.schedule;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((k) => prod.delayAfter(k) / 60_000), [1, 2, 4, 8, 16, 30, 30]);
  // Driven for real: the schedule retries on its own after failures.
  e.feed.start(0);
  await until(() => emu.stats.requests >= 3, 3000);
  assert.ok(emu.stats.requests >= 3, `retried ${emu.stats.requests} times`);
  emu.fault = 'none';
  await until(() => s.consecutiveFailures === 0, 5000);
  assert.equal(s.consecutiveFailures, 0);
  assert.ok(s.nextAt - Date.now() > 1439 * 60_000, 'after a success the next download is an interval away');
  await e.stop();
});

test('include/exclude YAML: include flags with its name, exclude wins over the list and include', async () => {
  const emu = await emulator('none', 300);
  const dir = tempDir('ufc-riq-ie-');
  const listed = emu.list.sample[0]!;
  const listed24 = emu.list.sample[1]!;
  const file = join(dir, 'inclexcl.yml');
  writeFileSync(
    file,
    ['include:', '  - 203.0.113.7', '  - { ip: 198.51.100.0/24, name: lab-scanner }', '  - 2001:db8:ffff::/48', 'exclude:', `  - ${listed.addr}`, '  - 198.51.100.128/25', ''].join('\n'),
  );
  const e = enricher(emu.url, { EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: file });
  const mark = raw.length;
  await e.start();
  assert.ok(msgsSince(mark).includes(`RiskIQ Threats: loaded include/exclude lists from ${file}: 3 include, 2 exclude`));
  // Include works before any list is downloaded.
  const r0 = flow('203.0.113.7', '198.51.100.5');
  e.enrich([r0]);
  assert.equal(r0.srcThreatName, 'blocklist');
  assert.equal(r0.dstThreatName, 'lab-scanner');
  assert.equal(await e.refresh(), true);
  const r = flow(listed.addr, '198.51.100.200');
  const r2 = flow(listed24.addr, '2001:db8:ffff::1');
  e.enrich([r, r2]);
  assert.equal(r.srcThreatName, '', 'excluded although listed');
  assert.equal(r.dstThreatName, '', 'excluded although included');
  assert.equal(r2.srcThreatName, listed24.name);
  assert.equal(r2.dstThreatName, 'blocklist');
  await e.stop();
});

test('a broken include/exclude file stops start-up with the option name', async () => {
  const dir = tempDir('ufc-riq-ie-');
  const file = join(dir, 'bad.yml');
  writeFileSync(file, 'include: [1.2.3.4\n');
  const e = enricher('http://127.0.0.1:9/x', { EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: file });
  await assert.rejects(e.start(), /EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: .*bad\.yml/);
  await e.stop();
});

test('wired by the chain: the collector starts at once, downloads in the background, and enriches emitted flows', async () => {
  const emu = await emulator('none', 200);
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emu.url,
  });
  const capture = new CaptureOutput();
  const collector = new Collector(config, { outputs: [capture] });
  const e = collector.enrichers.find((x) => x.name === 'riskiq-threat') as RiskiqThreatEnricher | undefined;
  assert.ok(e, 'createEnrichers adds the RiskIQ enricher when enabled');
  assert.equal(collector.enrichers[collector.enrichers.length - 1], e, 'last in the chain');
  assert.equal(e.placement, 'replica', 'one download and index per process; decode workers get copies of the index');
  await collector.start();
  await until(() => e.matcher.listSize > 0, 5000);
  const hit = emu.list.sample[2]!;
  collector.pipeline.emit([flow('192.0.2.77', hit.addr)]);
  assert.equal(capture.records[0]!.dstThreatName, hit.name);
  assert.equal(capture.records[0]!.dstThreatFeed, 'riskiq');
  await collector.stop();
});

test('`ufc config` shows the key as ***', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'config'], {
    env: { ...process.env, EF_DATA_DIR: tempDir('ufc-riq-'), EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER, EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  assert.match(out, /^EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY=\*\*\*$/m);
  assert.ok(!out.includes(KEY));
});

test('end to end: a NetFlow v5 capture replayed after a restart without network is enriched from the saved DB', async () => {
  const dataDir = tempDir('ufc-riq-e2e-');
  // The DB a previous run saved: both ends of the capture's first flow (akvorado nfv5.pcap) listed.
  await new ListStore(join(dataDir, 'threat'), 'riskiq').save(Buffer.from('# saved\n161.202.192.0/19 ; scanner\n202.152.70.24 ; c2\n'), {
    feed: 'riskiq',
    savedAt: '2026-11-26T00:00:00.000Z',
    entries: 2,
    format: 'text',
    source: 'http://127.0.0.1:9/',
  });
  const config = testConfig({
    EF_DATA_DIR: dataDir,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: USER,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY,
    // Nothing listens on the discard port: the background download fails, the saved DB stays.
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: 'http://127.0.0.1:9/v2/netflow/blocklist/download',
  });
  const capture = new CaptureOutput();
  const collector = new Collector(config, { outputs: [capture] });
  await collector.start();
  collector.replay(readFileSync(join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')));
  await collector.flush();
  await collector.stop();
  const first = capture.records.find((r) => r.srcIp === '161.202.212.212' && r.dstIp === '202.152.70.24');
  assert.ok(first, `the capture's first flow was decoded (${capture.records.length} records)`);
  assert.deepEqual(field(first, 'flow.src.sec.threat.name'), ['scanner']);
  assert.deepEqual(field(first, 'flow.dst.sec.threat.name'), ['c2']);
  assert.deepEqual(field(first, 'sec.threat.name'), ['scanner', 'c2']);
  assert.deepEqual(field(first, 'sec.threat.feed.name'), ['riskiq']);
  const others = capture.records.filter((r) => r !== first && r.srcThreatName === '' && r.dstThreatName === '');
  assert.ok(others.length > 0, 'unlisted flows carry no threat fields');
});

test('parsing and indexing run on a worker thread by default, on this thread in time slices when asked', async () => {
  const emu = await emulator('none', 3000);
  for (const offThread of [true, false]) {
    const e = enricher(emu.url, {}, undefined, offThread);
    await e.start();
    const mark = raw.length;
    assert.equal(await e.refresh(), true);
    const populated = lines().slice(mark).find((l) => l.msg === 'RiskIQ Threats: DB successfully populated.')!;
    assert.equal(populated.built_on, offThread ? 'worker' : 'main');
    assert.equal(populated.entries, e.matcher.listSize);
    const hit = emu.list.sample[7]!;
    const r = flow(hit.addr.split('/')[0]!, '192.0.2.1');
    e.enrich([r]);
    assert.equal(r.srcThreatName, hit.name);
    await e.stop();
  }
});

test('docs/riskiq.md: each sample log line names the source line that logs its message', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'riskiq.md'), 'utf8');
  const src = readFileSync(join(REPO_ROOT, 'src', 'enrich', 'riskiq-threat.ts'), 'utf8').split('\n');
  const samples = [...doc.matchAll(/"caller":"enrich\/riskiq-threat\.ts:(\d+)".*"msg":"RiskIQ Threats: ([^":]+)/g)];
  assert.ok(samples.length >= 5, `${samples.length} sample lines`);
  for (const [, line, msg] of samples) {
    const words = msg!.replace(/ \d+ bytes$/, '').trim();
    assert.ok(src[Number(line) - 1]?.includes(words.split(' ').slice(0, 4).join(' ')), `riskiq-threat.ts:${line} logs "${words}"`);
  }
});

/**
 * A saved list whose meta file is there but damaged (emptied, cut, not JSON, no size) is refused
 * with a warning naming the file and the fault: without the size and SHA-256 nothing tells a whole
 * body from one cut short, whose last line can read as a wider CIDR. A body with no meta file at
 * all is still used, dated by the file.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, setLogger } from '../src/log/logger.js';
import { ListStore } from '../src/threat/persist.js';
import { ThreatFeedsEnricher } from '../src/enrich/threat-feeds.js';
import { startFeedEmulator } from '../src/dev/feed-emulator.js';
import { tempDir, testConfig } from './helpers/collect.js';

const raw: string[] = [];
setLogger(createLogger({ level: 'debug', encoding: 'json', sink: (l) => raw.push(l) }));
const lines = (): { level: string; msg: string }[] => raw.map((l) => JSON.parse(l) as { level: string; msg: string });

const BODY = '198.51.100.7 ; c2\n203.0.113.0/24 ; scan\n';

async function saved(): Promise<ListStore> {
  const s = new ListStore(join(tempDir('ufc-meta-'), 'threat'), 'riskiq');
  await s.save(Buffer.from(BODY), { feed: 'riskiq', savedAt: '2026-01-01T00:00:00.000Z', entries: 2, format: 'text', source: 'http://x/' });
  return s;
}

test('ListStore refuses a body whose meta file is there but damaged, naming the file and the fault', async () => {
  const s = await saved();
  const meta = JSON.parse(readFileSync(s.metaPath, 'utf8')) as Record<string, unknown>;
  const cases: [string, string, RegExp][] = [
    ['emptied (`: > file`)', '', /is empty/],
    ['blank', ' \n', /is empty/],
    ['cut mid-write', JSON.stringify(meta).slice(0, 30), /is not JSON \(/],
    ['JSON null', 'null', /does not hold a JSON object/],
    ['a JSON array', '[]', /does not hold a JSON object/],
    ['without a size', JSON.stringify({ ...meta, bytes: undefined }), /has no valid size \("bytes": missing\)/],
    ['a size as text', JSON.stringify({ ...meta, bytes: '40' }), /has no valid size \("bytes": "40"\)/],
    ['a malformed checksum', JSON.stringify({ ...meta, sha256: 'abc' }), /has a malformed "sha256"/],
  ];
  for (const [what, text, why] of cases) {
    writeFileSync(s.metaPath, text);
    assert.throws(() => s.load(), (err: Error) => {
      assert.ok(err.message.startsWith(`${s.metaPath} `), `${what}: the message names the meta file: ${err.message}`);
      assert.match(err.message, why, `${what}: the message says what is wrong`);
      assert.ok(err.message.includes(`${s.bodyPath} cannot be checked`) && err.message.includes('not used'), `${what}: the message says the body is not used: ${err.message}`);
      return true;
    }, `${what}: the body is refused`);
  }
  // The body itself is left for the next download to replace.
  assert.equal(readFileSync(s.bodyPath, 'utf8'), BODY, 'the body file is untouched');
  // Older meta files without the checksum still load.
  writeFileSync(s.metaPath, JSON.stringify({ ...meta, sha256: undefined }));
  assert.equal(s.load()?.body.toString(), BODY, 'a meta file without sha256 still vouches by its size');
});

test('ListStore uses a body with no meta file at all, unchecked and undated', async () => {
  const s = await saved();
  rmSync(s.metaPath);
  const got = s.load();
  assert.equal(got?.body.toString(), BODY, 'the body is used');
  assert.equal(got?.meta, null, 'no meta');
});

test('a restart with a saved list whose meta file was emptied warns and does not use it; a missing one is still loaded', async (t) => {
  const emu = await startFeedEmulator();
  let up = true;
  after(async () => {
    if (up) await emu.close();
  });
  const dir = tempDir('ufc-meta-');
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'feodo,spamhaus-drop-v4',
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: emu.url,
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_TIMEOUT: '1',
  });
  const first = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
  await first.start();
  assert.deepEqual((await first.refreshAll()).sort(), ['feodo', 'spamhaus-drop-v4'], 'both lists downloaded');
  await first.stop();
  await emu.close();
  up = false;

  const meta = join(dir, 'threat', 'spamhaus-drop-v4.meta.json');
  const body = join(dir, 'threat', 'spamhaus-drop-v4.body');
  const restart = async (): Promise<{ entries: Map<string, number | null>; logged: { level: string; msg: string }[] }> => {
    const from = raw.length;
    const e = new ThreatFeedsEnricher({ config, dataDir: dir, userFeeds: [] });
    await e.start();
    const entries = new Map(e.status().feeds.map((f) => [f.feed as string, f.entries as number | null]));
    await e.stop();
    return { entries, logged: lines().slice(from) };
  };

  await t.test('emptied meta file: warned, not used', async () => {
    writeFileSync(meta, '');
    const { entries, logged } = await restart();
    assert.ok((entries.get('feodo') ?? 0) > 0, 'the other feed still loads');
    assert.equal(entries.get('spamhaus-drop-v4'), null, 'no list from the unchecked copy');
    const warn = logged.find((l) => l.level === 'warn' && l.msg.includes(meta));
    assert.ok(warn !== undefined, `a warning names ${meta}: ${JSON.stringify(logged.map((l) => l.msg))}`);
    assert.match(warn.msg, /could not load the saved DB: .* is empty, so .*spamhaus-drop-v4\.body cannot be checked .*: not used/, 'it says why');
    assert.ok(!logged.some((l) => l.msg.includes(`loaded the last good DB from ${body}`)), 'the copy is not reported loaded');
  });

  await t.test('no meta file: the copy is used', async () => {
    rmSync(meta);
    const { entries, logged } = await restart();
    assert.ok((entries.get('spamhaus-drop-v4') ?? 0) > 0, 'the copy without meta is loaded');
    assert.ok(logged.some((l) => l.msg.includes(`loaded the last good DB from ${body}`)), 'and reported loaded');
  });
});

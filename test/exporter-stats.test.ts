/**
 * Per-exporter counters stay bounded: past MAX_EXPORTERS (10,000) distinct addresses, a new one takes
 * the place of exporters silent for 10 minutes, else it is counted under one `other` entry, on the
 * thread that counts them and over the decode workers together (their reports, added up on the main
 * thread). Exporters silent for a day are forgotten, with their /metrics series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExporterStats, UNEARNED_MAX } from '../src/pipeline/exporter-stats.js';
import { ExporterReasons } from '../src/decode/exporter-reasons.js';
import { createMetrics } from '../src/web/metrics.js';
import type { WebSources } from '../src/web/sources.js';

const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

test('past 10,000 exporters the rest are counted under "other", packets and errors alike, without a crash', () => {
  const s = new ExporterStats();
  for (let i = 0; i < 10_050; i++) s.packet(address(i), 'netflow5', 100, 30, 1_000 + i);
  s.error(address(20_000), 'netflow5: short header', 2_000);
  const snap = s.snapshot();
  assert.equal(snap.length, 10_001);
  const other = snap.find((e) => e.exporter === 'other')!;
  assert.equal(other.packets, 50);
  assert.equal(other.records, 50 * 30);
  assert.equal(snap.reduce((n, e) => n + e.packets, 0), 10_050);
});

test('a gone worker\'s 10,000 exporters merged into a main thread at its bound', () => {
  const worker = new ExporterStats();
  for (let i = 0; i < 10_000; i++) worker.packet(address(i), 'ipfix', 100, 10, 1_000);
  const main = new ExporterStats();
  for (let i = 10_000; i < 20_000; i++) main.packet(address(i), 'ipfix', 100, 10, 1_000);
  main.absorb(worker.takeReport());
  const snap = main.snapshot();
  assert.equal(snap.reduce((n, e) => n + e.packets, 0), 20_000);
  assert.equal(snap.find((e) => e.exporter === 'other')?.packets, 10_000);
});

const MIN = 60_000;

test('a full table gives the places of exporters silent for 10 minutes to new ones', () => {
  const s = new ExporterStats();
  for (let i = 0; i < 10_000; i++) s.packet(address(i), 'netflow5', 100, 30, 0);
  // 5,000 of them keep sending.
  for (let i = 0; i < 5000; i++) s.packet(address(i), 'netflow5', 100, 30, 9 * MIN);
  s.packet('192.0.2.1', 'ipfix', 100, 10, 11 * MIN);
  const snap = s.snapshot();
  assert.equal(snap.find((e) => e.exporter === '192.0.2.1')?.records, 10, 'counted on its own');
  assert.equal(snap.length, 5001, 'the silent ones went, and their counts under no exporter');
  assert.ok(snap.find((e) => e.exporter === address(4999)), 'the active ones stayed');
  // What the silent ones counted stays in the totals: they never go down.
  assert.deepEqual([s.forgotten().packets, s.forgotten().records], [5000, 150_000]);
  assert.equal(s.totals().packets, 15_001);
});

test('a flood of new sources at a full, busy table: counted under "other", the table scanned at most once a second', () => {
  const s = new ExporterStats();
  for (let i = 0; i < 10_000; i++) s.packet(address(i), 'netflow5', 100, 30, 0);
  let scans = 0;
  const t = (s as unknown as { table: { forget(now: number, idleMs: number): void } }).table;
  const forget = t.forget.bind(t);
  t.forget = (now: number, idleMs: number) => { scans++; forget(now, idleMs); };
  for (let i = 0; i < 5000; i++) s.packet(address(100_000 + i), 'netflow5', 100, 30, 1 + i / 5);
  assert.ok(scans <= 2, `${scans} scans`);
  assert.equal(s.snapshot().find((e) => e.exporter === 'other')?.packets, 5000);
});

test('exporters silent for a day are forgotten, and their /metrics series go; what they counted stays in the totals and counts by reason, which never go down, and under no exporter ("other" does not jump by it)', async () => {
  const s = new ExporterStats();
  s.packet('192.0.2.1', 'netflow9', 100, 5, 0);
  s.error('192.0.2.1', 'netflow9: no template', 0, 1000);
  s.packet('192.0.2.2', 'netflow9', 100, 5, 0);
  s.error('192.0.2.2', 'netflow9: no template', 0, 5);
  const registry = createMetrics({ pipeline: { stats: s }, outputs: [], enrichers: [] } as unknown as WebSources);
  assert.match(await registry.metrics(), /ufc_exporter_packets_total\{exporter="192\.0\.2\.1",protocol="netflow9"\} 1/);
  s.packet('192.0.2.2', 'netflow9', 100, 5, 23 * 60 * MIN);
  s.packet('192.0.2.2', 'netflow9', 100, 5, 24 * 60 * MIN + 2 * MIN);
  assert.deepEqual(s.snapshot().map((e) => e.exporter), ['192.0.2.2']);
  await new Promise((resolve) => setImmediate(resolve)); // the metrics' snapshot lasts one turn
  const text = await registry.metrics();
  assert.doesNotMatch(text, /192\.0\.2\.1/);
  // Summed over exporters, the packets counted once: 1 and 2 before, 3 now.
  assert.doesNotMatch(text, /exporter="other"/, 'no series jumps by what the forgotten one counted');
  assert.match(text, /ufc_exporter_packets_total\{exporter="192\.0\.2\.2",protocol="netflow9"\} 3/);
  assert.match(text, /^ufc_exporters 1$/m, '"other" is no exporter');
  assert.match(text, /^ufc_decode_errors_total\{reason="netflow9: no template"\} 1005$/m);
  assert.equal(s.totals().packets, 4);
});

test('a thread nothing reaches any more still ages its exporters (the main thread under decode workers: a retired worker\'s counts), by the workers\' clock', () => {
  const s = new ExporterStats();
  const HOUR = 60 * MIN;
  const at = (exporter: string, lastSeen: number) => ({ exporter, protocol: 'netflow9' as const, packets: 1, bytes: 100, records: 5, byProtocol: { netflow9: { packets: 1, bytes: 100, records: 5 } }, errors: {}, sequence: s.totals().sequence, firstSeen: lastSeen, lastSeen });
  s.absorb([at('192.0.2.1', 0)]);
  for (let h = 1; h <= 26; h++) s.absorb([at('192.0.2.2', h * HOUR)]);
  const snap = s.snapshot();
  assert.equal(snap.find((e) => e.exporter === '192.0.2.1'), undefined, 'forgotten a day after its last datagram');
  assert.equal(s.totals().packets, 27, 'its packet still counted');
});

test('a decoder\'s per-exporter reasons are bounded and aged as the exporter counters are: silent exporters give their places, a busy full table shares "other", a day\'s silence forgets', () => {
  const r = new ExporterReasons();
  for (let i = 0; i < 10_000; i++) r.add(address(i), 'time: end before start', 1, 0);
  // Full and all heard from within 10 minutes: a new one is counted under "other".
  r.add('198.51.100.1', 'time: end before start', 2, 5 * MIN);
  assert.equal(r.toJSON().other?.['time: end before start'], 2);
  assert.equal(r.toJSON()['198.51.100.1'], undefined);
  // One of the first is heard from again; 11 minutes on, the silent ones give their places.
  r.add(address(7), 'time: end before start', 1, 10 * MIN);
  r.add('198.51.100.2', 'time: export time used', 3, 11 * MIN);
  const now = r.toJSON();
  assert.deepEqual(now['198.51.100.2'], { 'time: export time used': 3 });
  assert.deepEqual(now[address(7)], { 'time: end before start': 2 });
  assert.equal(now[address(8)], undefined);
  // A day without a word: forgotten, though the table has room.
  r.add('198.51.100.3', 'x', 1, 11 * MIN + 24 * 60 * MIN + MIN);
  assert.deepEqual(Object.keys(r.toJSON()).sort(), ['198.51.100.3', 'other']);
});

test('an exporter a worker still reports, or the main thread still counts drops for, is not forgotten here: its counts never go down', () => {
  const s = new ExporterStats();
  const HOUR = 60 * MIN;
  const at = (exporter: string, packets: number, lastSeen: number) => ({ exporter, protocol: 'netflow9' as const, packets, bytes: 100, records: 5, byProtocol: { netflow9: { packets, bytes: 100, records: 5 } }, errors: {}, sequence: s.totals().sequence, firstSeen: 0, lastSeen });
  // A worker's counts, kept here when it stopped; its successor keeps reporting the exporter.
  s.absorb([at('192.0.2.1', 1_000_000, 0)]);
  for (let h = 1; h <= 30; h++) {
    s.absorb([at('192.0.2.1', 1, h * HOUR)]);
    // Drops counted on this thread every hour for another exporter.
    s.error('192.0.2.9', 'dropped: decode backlog full', h * HOUR, 1000);
  }
  const snap = s.snapshot();
  assert.equal(snap.find((e) => e.exporter === '192.0.2.1')?.packets, 1_000_030);
  assert.equal(snap.find((e) => e.exporter === '192.0.2.9')?.errors['dropped: decode backlog full'], 30_000);
  assert.equal(snap.find((e) => e.exporter === 'other'), undefined);
});

test('the overflow entry takes no exporter\'s place: one silent exporter forgotten at a full table makes room for exactly one new one', () => {
  const s = new ExporterStats();
  for (let i = 0; i < 10_000; i++) s.packet(address(i), 'netflow5', 100, 30, 0);
  for (let i = 1; i < 10_000; i++) s.packet(address(i), 'netflow5', 100, 30, 9 * MIN);
  s.packet('192.0.2.1', 'ipfix', 100, 10, 11 * MIN);
  const snap = s.snapshot();
  assert.equal(snap.find((e) => e.exporter === '192.0.2.1')?.records, 10, 'counted on its own');
  assert.equal(s.forgotten().packets, 1, 'the forgotten one\'s packet');
  assert.equal(snap.find((e) => e.exporter === 'other'), undefined, 'under no exporter');
  assert.equal(snap.length, 10_000);
});

test('a decode worker reports what changed since its last report: nothing for 10,000 idle exporters, and the main thread\'s sums are what was sent', () => {
  const worker = new ExporterStats();
  const main = new ExporterStats();
  const direct = new ExporterStats();
  for (let i = 0; i < 10_000; i++) {
    worker.packet(address(i), 'netflow5', 100, 30, 1_000);
    direct.packet(address(i), 'netflow5', 100, 30, 1_000);
  }
  const first = worker.takeReport();
  assert.equal(first.length, 10_000, 'the first report has them all');
  main.absorb(first);
  // Nothing since: an empty report, however many exporters the worker knows.
  assert.deepEqual(worker.takeReport(), []);
  // Reports of a few exporters at a time, many of them; errors, sequence counts and protocols too.
  let t = 2_000;
  for (let round = 0; round < 200; round++) {
    for (let k = 0; k < 5; k++) {
      const a = address((round * 37 + k * 1009) % 10_000);
      t += 10;
      for (const s of [worker, direct]) {
        s.packet(a, k === 4 ? 'ipfix' : 'netflow5', 100 + k, k, t);
        s.error(a, 'netflow5: truncated', t, k + 1);
        s.sequence(a, { missingDatagrams: k, missingRecords: 1, late: 0, resets: 0, agentDrops: 0 }, t);
      }
    }
    const report = worker.takeReport();
    assert.ok(report.length <= 5, `${report.length} entries for 5 exporters`);
    main.absorb(report);
  }
  main.absorb(worker.takeReport());
  const byName = (s: ExporterStats): Map<string, unknown> => new Map(s.snapshot().map((e) => [e.exporter, e]));
  assert.deepEqual(byName(main), byName(direct));
  assert.deepEqual(main.totals(), direct.totals());
});

test('exporters a worker forgets after a day\'s silence: what they had not reported yet comes under "other", nothing counted twice', () => {
  const worker = new ExporterStats();
  const main = new ExporterStats();
  worker.packet('192.0.2.1', 'netflow9', 100, 5, 0);
  main.absorb(worker.takeReport());
  worker.packet('192.0.2.1', 'netflow9', 100, 5, MIN);
  // A day later, another exporter's datagram: 192.0.2.1 is forgotten with one datagram not reported.
  worker.packet('192.0.2.2', 'netflow9', 100, 5, MIN + 24 * 60 * MIN + 2 * MIN);
  const report = worker.takeReport();
  assert.deepEqual(report.map((e) => [e.exporter, e.packets]).sort(), [['192.0.2.2', 1], ['other', 1]]);
  main.absorb(report);
  assert.equal(main.totals().packets, 3);
  assert.deepEqual(main.snapshot().map((e) => e.exporter).sort(), ['192.0.2.2', 'other'], 'forgotten here too, by the reports\' clock');
});

test('the bound holds over the threads together: two workers\' 10,000 exporters each make 10,000 here, the rest counted under "other"', async () => {
  const main = new ExporterStats();
  for (const first of [0, 10_000]) {
    const worker = new ExporterStats();
    for (let i = first; i < first + 10_000; i++) worker.packet(address(i), 'netflow5', 100, 30, 1_000);
    main.absorb(worker.takeReport());
  }
  const snap = main.snapshot();
  assert.equal(snap.filter((e) => e.exporter !== 'other').length, 10_000);
  assert.equal(snap.find((e) => e.exporter === 'other')?.packets, 10_000);
  assert.equal(main.totals().packets, 20_000);
  const registry = createMetrics({ pipeline: { stats: main }, outputs: [], enrichers: [] } as unknown as WebSources);
  assert.match(await registry.metrics(), /^ufc_exporters 10000$/m);
});

const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
const u32 = (...ns: number[]): number[] => ns.flatMap((n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

test('addresses that have sent no records: the first UNEARNED_MAX are counted on their own (an exporter being set up shows its reasons), the rest under "other", every datagram counted; one silent for 10 minutes gives its place; an address with records gets its own entry whatever their count', async () => {
  const { Pipeline } = await import('../src/pipeline/pipeline.js');
  const { createDecoders } = await import('../src/decode/registry.js');
  const { testConfig } = await import('./helpers/collect.js');
  const p = new Pipeline(createDecoders({ config: testConfig(), stateDir: '' }), [], []);
  const now = Date.now();
  const v9 = (sets: number[]): Buffer => Buffer.from([...u16(9), ...u16(1), ...u32(1000, Math.floor(now / 1000), 7, 1), ...sets]);
  const garbage = [
    Buffer.from([0, 5, 0, 30, 1, 2]), // NetFlow v5, a short header
    v9([...u16(0), ...u16(12), ...u16(100), ...u16(1), ...u16(8), ...u16(4)]), // a v9 template ID below 256
    Buffer.from([...u32(5, 1), 127, 2, 0, 1, ...u32(0, 1, 1000, 1000)]), // sFlow: 1,000 samples in none
    Buffer.from('hello, not a flow'),
  ];
  const spoofed = (i: number): string => `127.2.${i >> 8}.${i & 255}`;
  const SOURCES = 1000;
  for (let i = 0; i < SOURCES; i++) p.handle(garbage[i % garbage.length]!, { exporterIp: spoofed(i), exporterPort: 2055, receivedAt: now });
  const own = (): string[] => p.stats.snapshot().map((e) => e.exporter).filter((e) => e !== 'other');
  assert.equal(own().length, UNEARNED_MAX);
  assert.deepEqual(own().sort(), Array.from({ length: UNEARNED_MAX }, (_, i) => spoofed(i)).sort(), 'the first ones');
  assert.equal(p.stats.snapshot().find((e) => e.exporter === 'other')!.packets, SOURCES - UNEARNED_MAX);
  assert.equal(p.stats.totals().packets, SOURCES);
  assert.equal(p.stats.totals().errors, SOURCES);
  assert.deepEqual(p.stats.snapshot().find((e) => e.exporter === spoofed(0))!.errors, { 'netflow5: short header': 1 }, 'its reasons');
  const text = await createMetrics({ pipeline: p, outputs: [], enrichers: [] } as unknown as WebSources).metrics();
  assert.equal(new Set([...text.matchAll(/exporter="([^"]+)"/g)].map((m) => m[1])).size, UNEARNED_MAX + 1, 'series of at most that many, and "other"');
  // An exporter with records at the full quota: its own entry, its errors its own.
  const v5 = Buffer.alloc(24 + 48);
  v5.writeUInt16BE(5, 0); v5.writeUInt16BE(1, 2); v5.writeUInt32BE(100_000, 4); v5.writeUInt32BE(Math.floor(now / 1000), 8);
  v5.writeUInt32BE(99_000, 48); v5.writeUInt32BE(99_500, 52); v5[62] = 17;
  p.handle(v5, { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now });
  p.handle(garbage[0]!, { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now });
  const real = p.stats.snapshot().find((e) => e.exporter === '192.0.2.1')!;
  assert.deepEqual([real.packets, real.records, real.errors], [2, 1, { 'netflow5: short header': 1 }]);
  // One of the first that then sends records keeps its entry and leaves the quota: a new source takes its place.
  p.handle(v5, { exporterIp: spoofed(0), exporterPort: 2055, receivedAt: now + 2000 });
  p.handle(garbage[0]!, { exporterIp: '198.51.100.1', exporterPort: 2055, receivedAt: now + 4000 });
  assert.ok(own().includes('198.51.100.1') && own().includes(spoofed(0)), `${own().length} own entries`);
  // Not after 9 minutes' silence; after 10, the others give their places, their counts under "other".
  p.handle(garbage[0]!, { exporterIp: '198.51.100.2', exporterPort: 2055, receivedAt: now + 540_000 });
  assert.ok(!own().includes('198.51.100.2'), 'no place yet');
  p.handle(garbage[0]!, { exporterIp: '198.51.100.2', exporterPort: 2055, receivedAt: now + 601_000 });
  p.handle(garbage[0]!, { exporterIp: '198.51.100.3', exporterPort: 2055, receivedAt: now + 601_000 });
  assert.deepEqual(own().sort(), ['192.0.2.1', '198.51.100.1', '198.51.100.2', '198.51.100.3', spoofed(0)].sort());
  assert.equal(p.stats.totals().packets, SOURCES + 7);
  assert.equal(p.stats.totals().errors, SOURCES + 5);
});

test('the main thread holds the same few entries of addresses without records from the workers\' reports, over the workers together', () => {
  const at = (exporter: string, records: number, lastSeen: number) => ({ exporter, protocol: 'unknown' as const, packets: 1, bytes: 10, records, byProtocol: {}, errors: { 'unknown protocol': 1 }, sequence: new ExporterStats().totals().sequence, firstSeen: lastSeen, lastSeen });
  const main = new ExporterStats();
  main.absorb(Array.from({ length: 600 }, (_, i) => at(address(i), 0, 1_000)));
  main.absorb(Array.from({ length: 600 }, (_, i) => at(address(10_000 + i), 0, 1_000)));
  main.absorb([at('192.0.2.1', 5, 1_000)]);
  const snap = main.snapshot();
  assert.equal(snap.filter((e) => e.exporter !== 'other' && e.records === 0).length, UNEARNED_MAX);
  assert.ok(snap.some((e) => e.exporter === '192.0.2.1'), 'an address with records has its entry');
  assert.equal(snap.find((e) => e.exporter === 'other')!.packets, 1200 - UNEARNED_MAX);
  assert.equal(main.totals().errors, 1201);
});

test('an exporter back after a day\'s silence is counted on its own from its first datagram, records or not; a worker\'s "other" takes no place of an address without records', () => {
  const s = new ExporterStats();
  const DAY = 86_400_000;
  s.packet('192.0.2.1', 'netflow9', 100, 5, 1_000);
  s.packet('192.0.2.1', 'netflow9', 100, 0, 1_000 + DAY + 3_600_000);
  const snap = new Map(s.snapshot().map((e) => [e.exporter, e]));
  assert.equal(snap.get('192.0.2.1')?.packets, 1, 'its own entry, counted from zero');
  assert.equal(snap.get('other'), undefined, 'what it counted before its silence is under no exporter');
  assert.equal(s.totals().packets, 2, 'and in the totals');
  const main = new ExporterStats();
  const at = (exporter: string) => ({ exporter, protocol: 'unknown' as const, packets: 1, bytes: 10, records: 0, byProtocol: {}, errors: {}, sequence: s.totals().sequence, firstSeen: 1_000, lastSeen: 1_000 });
  main.absorb([at('other'), ...Array.from({ length: UNEARNED_MAX }, (_, i) => at(address(i)))]);
  assert.equal(main.snapshot().filter((e) => e.exporter !== 'other').length, UNEARNED_MAX);
});

test('what a decode worker forgot before its first report reaches the main thread (under "other"): nothing counted is lost', () => {
  const worker = new ExporterStats();
  worker.packet('192.0.2.1', 'netflow9', 100, 5, 0);
  // A day later (a replayed capture's clock), before any report: 192.0.2.1 is forgotten.
  worker.packet('192.0.2.2', 'netflow9', 100, 5, 24 * 60 * MIN + 2 * MIN);
  const main = new ExporterStats();
  main.absorb(worker.takeReport());
  assert.equal(main.totals().packets, 2, 'both datagrams counted');
  assert.equal(main.snapshot().find((e) => e.exporter === 'other')?.packets, 1, 'the forgotten one\'s, as new to the main thread');
  assert.deepEqual(worker.takeReport(), [], 'and handed over once');
});

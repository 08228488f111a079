/**
 * Per-exporter counters stay bounded: past MAX_EXPORTERS (10,000) distinct addresses, the rest are
 * counted under one `other` entry, on the thread that counts them and when a gone worker's counters
 * are merged into the main thread's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExporterStats } from '../src/pipeline/exporter-stats.js';

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
  main.absorb(0, worker.snapshot());
  main.retire(0);
  const snap = main.snapshot();
  assert.equal(snap.reduce((n, e) => n + e.packets, 0), 20_000);
  assert.equal(snap.find((e) => e.exporter === 'other')?.packets, 10_000);
});

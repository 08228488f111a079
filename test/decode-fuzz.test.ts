/**
 * The suite's short fuzz run (scripts/fuzz.ts runs 1,000,000): 20,000 mutated packets from the
 * shared captures and hostile templates through `Pipeline.handle`, with every decoder
 * `createDecoders` registers. Nothing escapes, nothing hangs, memory stays bounded, and every
 * malformed packet is counted per exporter and reason.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, type FuzzResult } from '../scripts/fuzz.js';

const PACKETS = 20_000;
let res: FuzzResult;

before(async () => {
  res = await runFuzz({ packets: PACKETS, seed: 20261127 });
});

test('fuzz: every decoder of createDecoders took part', () => {
  for (const p of ['netflow1', 'netflow5', 'netflow7', 'sflow5']) assert.ok(res.decoders.includes(p), p);
  for (const p of res.decoders) assert.ok(Object.keys(res.errorsByReason).some((k) => k.startsWith(`${p}: `)), `no malformed ${p} packet was counted`);
});

test('fuzz: no exception escapes Pipeline.handle', () => {
  assert.deepEqual(res.escaped, []);
});

test('fuzz: every packet is counted by the pipeline, malformed ones per exporter and reason', () => {
  assert.equal(res.countedPackets, PACKETS);
  assert.equal(res.exporters, 16);
  // Mutations are mostly fatal: a large share must have been counted as malformed, by name.
  assert.ok(res.errorsTotal > PACKETS / 5, `only ${res.errorsTotal} errors counted`);
  for (const k of Object.keys(res.errorsByReason)) assert.match(k, /^(unknown protocol|[a-z0-9]+(: | disabled).*)/, k);
  assert.ok(res.records > 0, 'intact and lightly mutated packets still decode');
});

test('fuzz: no decoder throws anything but a DecodeError (no internal errors)', () => {
  assert.deepEqual(res.internalErrors, {});
});

test('fuzz: no packet takes long (no hang)', () => {
  assert.ok(res.slowestMs < 1000, `packet #${res.slowestPacket} took ${res.slowestMs} ms`);
});

test('fuzz: memory stays bounded', () => {
  // Heap after GC: template stores and per-exporter counters are capped, so growth over 20,000
  // hostile packets (3% of them 50-template floods) stays within a fixed budget.
  assert.ok(res.heapEndMb - res.heapStartMb < 160, `heap grew ${res.heapStartMb} -> ${res.heapEndMb} MB`);
  assert.ok(res.rssPeakMb < 1024, `RSS peaked at ${res.rssPeakMb} MB`);
});

test('fuzz: NetFlow v1/v5/v7 and sFlow records keep their invariants (finite, non-negative counters and times)', () => {
  const mine = Object.entries(res.badRecordsBy).filter(([k]) => k.startsWith('sflow') || k.startsWith('netflow v1') || k.startsWith('netflow v5') || k.startsWith('netflow v7'));
  assert.deepEqual(mine, []);
});

test('fuzz: NetFlow v9/IPFIX records keep their invariants', () => {
  assert.deepEqual(res.badRecordsBy, {});
});

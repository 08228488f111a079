/**
 * Rates from sFlow counter samples (src/store/interface-counters.ts): the arithmetic on samples made
 * here, with the cases real agents produce that the captures lack: a 32-bit counter wrapping, an
 * agent restart, counters cleared, two sub-agents reporting one ifIndex, missing structures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterRates, sampleOf, type CounterSample } from '../src/store/interface-counters.js';

const T0 = 1_700_000_000_000;
function sample(sec: number, seq: number, v: Partial<Record<string, number>>, domain = 0): CounterSample {
  const values: Record<string, unknown> = { 'sflow.counter.sample_sequence': seq };
  for (const [k, x] of Object.entries(v)) values[`sflow.counter.${k}`] = x;
  return { ts: T0 + sec * 1000, domain, values };
}

test('counter rates: bits and packets per second between samples; a 32-bit counter past 2^32 wraps; 64-bit octets do not', () => {
  const r = counterRates([
    sample(0, 1, { if_in_octets: 1_000, if_out_octets: 0, if_in_ucast_pkts: 2 ** 32 - 10, if_in_multicast_pkts: 0, if_in_broadcast_pkts: 0, if_in_errors: 5, if_speed: 1e9, if_status: 3 }),
    sample(20, 2, { if_in_octets: 1_000 + 2.5e9, if_out_octets: 5e9, if_in_ucast_pkts: 30, if_in_multicast_pkts: 2, if_in_broadcast_pkts: 8, if_in_errors: 25, if_speed: 1e9, if_status: 3 }),
  ]);
  assert.equal(r.points.length, 1);
  const p = r.points[0]!;
  assert.deepEqual([p.ts, p.seconds, p.inBps, p.outBps, p.inPps, p.inErrors], [T0 + 20_000, 20, 1e9, 2e9, (40 + 10) / 20, 1]);
  assert.equal(p.outPps, null, 'no out packet counters: no rate, not 0');
  assert.deepEqual(r.totals, { inOctets: 2.5e9, outOctets: 5e9, inErrors: 20, outErrors: 0, inDiscards: 0, outDiscards: 0 });
  assert.deepEqual(r.latest, { ts: T0 + 20_000, speed: 1e9, status: 3, direction: 0 });
});

test('counter rates: no rate across an agent restart (its sequence went down) or cleared counters (octets went down); the series goes on after', () => {
  const r = counterRates([
    sample(0, 100, { if_in_octets: 5e6, if_out_octets: 5e6 }),
    sample(30, 101, { if_in_octets: 6e6, if_out_octets: 6e6 }),
    sample(60, 1, { if_in_octets: 1e5, if_out_octets: 1e5 }),
    sample(90, 2, { if_in_octets: 4e5, if_out_octets: 4e5 }),
    sample(120, 3, { if_in_octets: 10, if_out_octets: 10 }),
    sample(150, 4, { if_in_octets: 310, if_out_octets: 610 }),
  ]);
  assert.equal(r.resets, 2);
  assert.deepEqual(r.points.map((p) => [p.ts - T0, p.inBps, p.outBps]), [[30_000, (1e6 * 8) / 30, (1e6 * 8) / 30], [90_000, (3e5 * 8) / 30, (3e5 * 8) / 30], [150_000, 80, 160]]);
  assert.equal(r.totals.inOctets, 1e6 + 3e5 + 300);
});

test('counter rates: of several data sources giving one ifIndex (a port and a VLAN on it), the port\'s own; else the one with the most samples; never interleaved', () => {
  const of = (type: number, index: number) => (sec: number, seq: number, octets: number, errors: number): CounterSample => {
    const s = sample(sec, seq, { if_in_octets: octets, if_out_octets: 0, if_in_errors: errors });
    s.values['sflow.counter.source_id_type'] = type;
    s.values['sflow.counter.source_id_index'] = index;
    return s;
  };
  const port = of(0, 7), vlan = of(1, 3);
  const mixed = [port(0, 100, 0, 0), vlan(1, 5, 10, 0), port(30, 101, 30e6, 30), vlan(31, 6, 20, 30), port(60, 102, 60e6, 60), vlan(61, 7, 30, 60), vlan(91, 8, 40, 90)];
  const r = counterRates(mixed, false, 7);
  assert.deepEqual([r.sources, r.source, r.resets], [2, { domain: 0, type: 0, index: 7 }, 0]);
  assert.deepEqual(r.points.map((p) => [p.ts - T0, p.inBps]), [[30_000, 8e6], [60_000, 8e6]]);
  assert.deepEqual([r.totals.inOctets, r.totals.inErrors], [60e6, 60], 'the port\'s, not the sum of both');
  // No source that is the interface itself: the one with the most samples (the VLAN here, four to three).
  const other = counterRates(mixed, false, 9);
  assert.deepEqual(other.source, { domain: 0, type: 1, index: 3 });
  assert.deepEqual(other.points.map((p) => p.ts - T0), [31_000, 61_000, 91_000]);
});

test('counter rates: of two sub-agents reporting one ifIndex, one series; samples without the generic counters give no rates; rest as stored', () => {
  const r = counterRates([
    sample(0, 1, { if_in_octets: 0 }, 1),
    sample(5, 1, { if_in_octets: 1e9 }, 2),
    sample(10, 2, { if_in_octets: 1_000 }, 1),
    sample(15, 2, { if_in_octets: 1e9 + 10 }, 2),
    sample(20, 3, {}, 1),
  ]);
  assert.deepEqual([r.sources, r.source?.domain], [2, 1]);
  assert.deepEqual(r.points.map((p) => [p.ts - T0, p.inBps]), [[10_000, 800], [20_000, null]]);
  // Stored rows: `rest` JSON with the counters under extra; one that does not parse gives no values.
  assert.deepEqual(sampleOf(T0, '{"observationDomain":7,"extra":{"sflow.counter.if_in_octets":12}}'), { ts: T0, domain: 7, values: { 'sflow.counter.if_in_octets': 12 } });
  assert.deepEqual(sampleOf(T0, '{bad'), { ts: T0, domain: 0, values: {} });
  assert.deepEqual(sampleOf(T0, ''), { ts: T0, domain: 0, values: {} });
  assert.deepEqual(counterRates([]), { samples: 0, sources: 0, source: null, truncated: false, points: [], latest: null, totals: { inOctets: 0, outOctets: 0, inErrors: 0, outErrors: 0, inDiscards: 0, outDiscards: 0 }, resets: 0 });
});

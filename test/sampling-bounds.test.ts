/**
 * Sampling at its bounds: counts scaled past 2^63 are held there (sFlow's as the template decoders'),
 * rates above 4294967295 (the stores' u32 sampling_rate) are refused in the user's file and held when
 * derived, and a samplingInterval of 0 must not hide a samplerRandomInterval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SflowDecoder } from '../src/decode/sflow/datagram.js';
import { heldSamples } from '../src/decode/sflow/flow-sample.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';
import { compileTemplate, OP } from '../src/decode/template/compile.js';
import { MAX_RATE, rateOf, SAMPLING_IE, SamplingTable } from '../src/decode/sampling.js';
import { parseRateTable } from '../src/enrich/sampling-userdef.js';
import { MAX_I64, type FlowRecord } from '../src/record/flow-record.js';
import { ipfixMsg, ipfixTemplate, ip, set, u32, u64, type Spec } from './helpers/ipfix-build.js';

const EXPORT_S = 1_700_000_000;
const IPFIX_OPTS: TemplateDecoderOptions = { templateLifetimeS: 1e9, pendingMax: 1024, pendingTimeoutS: 1e9, stateDir: '' };

// sFlow v5 (sflow_version_5.txt): datagram header, expanded flow sample (3), sampled IPv4 record (3).
const words = (...v: number[]) => Buffer.concat(v.map(u32));
const sflowRecord = (format: number, body: Buffer) => Buffer.concat([words(format, body.length), body]);

function sflowDatagram(rate: number, ipLength: number): Buffer {
  const sampledV4 = sflowRecord(3, Buffer.concat([words(ipLength, 6), ip('10.0.0.1'), ip('10.0.0.2'), words(1000, 80, 0x10, 0)]));
  // sequence, source type and index, sampling_rate, sample_pool, drops, input and output (format, value), records.
  const sample = sflowRecord(3, Buffer.concat([words(1, 0, 5, rate, 1000, 0, 0, 5, 0, 6, 1), sampledV4]));
  return Buffer.concat([words(5, 1), ip('192.0.2.7'), words(0, 1, 123456, 1), sample]);
}

function sflow(buf: Buffer, dec = new SflowDecoder()): FlowRecord {
  const out: FlowRecord[] = [];
  dec.decode(buf, { exporterIp: '192.0.2.7', exporterPort: 6343, receivedAt: EXPORT_S * 1000 }, out);
  assert.equal(out.length, 1, 'one record of the one sample');
  return out[0]!;
}

function ipfix(dec: IpfixDecoder, sets: Buffer[]): FlowRecord[] {
  const out: FlowRecord[] = [];
  dec.decode(ipfixMsg(sets, EXPORT_S), { exporterIp: '192.0.2.1', exporterPort: 4739, receivedAt: EXPORT_S * 1000 }, out);
  dec.drainReleased(out);
  return out;
}

/** Data template 256: addresses, bytes, packets, ingressInterface, selectorId (no rate of its own). */
const DATA_FIELDS: Spec[] = [[8, 4], [12, 4], [1, 8], [2, 8], [10, 4], [302, 8]];
const dataRecord = () => Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u64(100), u64(1), u32(1), u64(0)]);

/** Options template 300 scoped to the observation domain with `fields`, one options record of `values`, then data. */
function withOptions(fields: Spec[], values: Buffer): FlowRecord {
  const dec = new IpfixDecoder(IPFIX_OPTS);
  ipfix(dec, [set(3, ipfixTemplate(300, [[149, 4], ...fields], 1)), set(300, Buffer.concat([u32(1), values])), set(2, ipfixTemplate(256, DATA_FIELDS))]);
  const out = ipfix(dec, [set(256, dataRecord())]);
  assert.equal(out.length, 1, 'one data record');
  return out[0]!;
}

const f64 = (v: number) => { const b = Buffer.alloc(8); b.writeDoubleBE(v); return b; };

test('sFlow: bytes scaled past 2^63 (a 2^32 length at a 2^32 rate) are held at MAX_I64 and counted, as the template decoders hold and count them', () => {
  const dec = new SflowDecoder();
  const r = sflow(sflowDatagram(0xffffffff, 0xffffffff), dec);
  assert.equal(r.bytes, MAX_I64, 'bytes held at the largest int64 a double holds');
  assert.equal(r.packets, 0xffffffff, 'packets are the rate, below 2^63');
  assert.equal(r.samplingRate, 0xffffffff, 'the rate as sent');
  const counted = (): number | undefined => dec.takeLosses()?.get('192.0.2.7')?.get('counter beyond 2^63 clamped');
  assert.equal(counted(), 1, 'counted as the exporter\'s, under the template decoders\' reason');
  assert.equal(heldSamples.count, 0, 'the decoder took the hold');
  // Just below the bound: scaled as before, nothing counted.
  const below = sflow(sflowDatagram(2 ** 31, 0xffffffff), dec);
  assert.equal(below.bytes, 2 ** 31 * 0xffffffff, 'bytes below 2^63 are the length times the rate');
  assert.equal(counted(), undefined, 'nothing more counted');
});

test('user sampling rates: a rate above 4294967295 is refused, naming the entry and the bound; 4294967295 is taken', () => {
  for (const bad of ['192.0.2.1: 4294967296', '"192.0.2.1/3": 10000000000', '192.0.2.1: "4294967296"']) {
    assert.throws(() => parseRateTable(bad, 'rates.yml'), /^Error: rates\.yml: [^:]*192\.0\.2\.1[^:]*: rate .* is above 4294967295, the largest a stored flow\.sampling\.rate \(32 bits\) holds$/, bad);
  }
  assert.equal(parseRateTable('192.0.2.1: 4294967295').get('192.0.2.1')?.rate, 4294967295, 'the bound itself is a rate');
});

test('derived rates above 4294967295 are held there, in options data and in the record, so the applied rate is the stored one', () => {
  assert.equal(MAX_RATE, 4294967295, 'the u32 sampling_rate column');
  assert.equal(rateOf(new Map([[SAMPLING_IE.SAMPLING_PROBABILITY, 1e-10]])), MAX_RATE, 'probability 1e-10');
  assert.equal(rateOf(new Map([[SAMPLING_IE.SAMPLING_PACKET_INTERVAL, 1], [SAMPLING_IE.SAMPLING_PACKET_SPACE, 0xffffffff]])), MAX_RATE, '1 out of 2^32');
  assert.equal(rateOf(new Map([[SAMPLING_IE.SAMPLING_INTERVAL, 2 ** 40]])), MAX_RATE, 'an interval sent in 8 octets');
  assert.equal(rateOf(new Map([[SAMPLING_IE.SAMPLING_PROBABILITY, 1 / 4294967295]])), MAX_RATE, 'the bound itself');
  // End to end: the record's rate and its scaled counts agree.
  const r = withOptions([[311, 8]], f64(1e-10));
  assert.deepEqual([r.samplingRate, r.bytes, r.packets], [MAX_RATE, 100 * MAX_RATE, MAX_RATE], 'probability 1e-10 in options data');
  // samplingPacketInterval/Space in the data record itself (record-reader.ts, recordRate).
  const dec = new IpfixDecoder(IPFIX_OPTS);
  const own = ipfix(dec, [
    set(2, ipfixTemplate(257, [[8, 4], [12, 4], [1, 8], [2, 8], [305, 4], [306, 4]])),
    set(257, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u64(100), u64(1), u32(1), u32(0xffffffff)])),
  ]);
  assert.deepEqual(own.map((x) => [x.samplingRate, x.bytes, x.packets]), [[MAX_RATE, 100 * MAX_RATE, MAX_RATE]], '1 out of 2^32 in the record');
  // A cache saved before rates were bounded.
  const t = SamplingTable.fromJSON({ domain: [1e10, 0], bySampler: [[1, 1e10, 0]], byInterface: [] }, 0);
  assert.deepEqual([t.rateFor(-1, 0), t.rateFor(1, 0)], [MAX_RATE, MAX_RATE], 'restored rates held too');
});

test('samplingInterval 0 does not hide samplerRandomInterval: options data', () => {
  const r = withOptions([[34, 4], [50, 4]], Buffer.concat([u32(0), u32(100)]));
  assert.deepEqual([r.bytes, r.packets, r.samplingRate], [10_000, 100, 100], 'the random interval applies');
  assert.equal(rateOf(new Map([[SAMPLING_IE.SAMPLING_INTERVAL, 0], [SAMPLING_IE.SAMPLER_RANDOM_INTERVAL, 64]])), 64, 'rateOf alone');
  assert.equal(rateOf(new Map([[SAMPLING_IE.SAMPLING_INTERVAL, 10], [SAMPLING_IE.SAMPLER_RANDOM_INTERVAL, 64]])), 10, 'a non-zero samplingInterval still comes first');
});

test('samplingInterval 0 does not hide samplerRandomInterval: in the data record, in either order', () => {
  for (const [fields, values] of [
    [[[34, 4], [50, 4]], [0, 100]],
    [[[50, 4], [34, 4]], [100, 0]],
  ] as [Spec[], number[]][]) {
    const dec = new IpfixDecoder(IPFIX_OPTS);
    const out = ipfix(dec, [
      set(2, ipfixTemplate(258, [[8, 4], [12, 4], [1, 8], [2, 8], ...fields])),
      set(258, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), u64(100), u64(1), ...values.map(u32)])),
    ]);
    assert.deepEqual(out.map((x) => [x.bytes, x.packets, x.samplingRate]), [[10_000, 100, 100]], `fields ${JSON.stringify(fields)}`);
  }
  // A template with one of them reads it as before (no test for 0 per record).
  const one = compileTemplate(259, [{ id: 8, pen: 0, len: 4 }, { id: 34, pen: 0, len: 4 }], 0, false, false, 0);
  assert.equal(one.ops[1], OP.SAMPLING_INTERVAL, 'samplingInterval alone: the plain operation');
  const both = compileTemplate(260, [{ id: 34, pen: 0, len: 4 }, { id: 50, pen: 0, len: 2 }], 0, false, false, 0);
  assert.deepEqual([...both.ops], [OP.SAMPLING_INTERVAL_EITHER, OP.SAMPLING_INTERVAL_EITHER], 'both: each read with the test for 0');
});

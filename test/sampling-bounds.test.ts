/**
 * Sampling at its bounds: counts scaled past 2^63 are held there, sFlow's as the template decoders'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SflowDecoder } from '../src/decode/sflow/datagram.js';
import { heldSamples } from '../src/decode/sflow/flow-sample.js';
import { MAX_I64, type FlowRecord } from '../src/record/flow-record.js';
import { ip, u32 } from './helpers/ipfix-build.js';

const EXPORT_S = 1_700_000_000;

// sFlow v5 (sflow_version_5.txt): datagram header, expanded flow sample (3), sampled IPv4 record (3).
const words = (...v: number[]) => Buffer.concat(v.map(u32));
const sflowRecord = (format: number, body: Buffer) => Buffer.concat([words(format, body.length), body]);

function sflowDatagram(rate: number, ipLength: number): Buffer {
  const sampledV4 = sflowRecord(3, Buffer.concat([words(ipLength, 6), ip('10.0.0.1'), ip('10.0.0.2'), words(1000, 80, 0x10, 0)]));
  // sequence, source type and index, sampling_rate, sample_pool, drops, input and output (format, value), records.
  const sample = sflowRecord(3, Buffer.concat([words(1, 0, 5, rate, 1000, 0, 0, 5, 0, 6, 1), sampledV4]));
  return Buffer.concat([words(5, 1), ip('192.0.2.7'), words(0, 1, 123456, 1), sample]);
}

function sflow(buf: Buffer): FlowRecord {
  const out: FlowRecord[] = [];
  new SflowDecoder().decode(buf, { exporterIp: '192.0.2.7', exporterPort: 6343, receivedAt: EXPORT_S * 1000 }, out);
  assert.equal(out.length, 1, 'one record of the one sample');
  return out[0]!;
}

test('sFlow: bytes scaled past 2^63 (a 2^32 length at a 2^32 rate) are held at MAX_I64, as the template decoders hold them, and the hold is noted for counting', () => {
  const before = heldSamples.count;
  const r = sflow(sflowDatagram(0xffffffff, 0xffffffff));
  assert.equal(r.bytes, MAX_I64, 'bytes held at the largest int64 a double holds');
  assert.equal(r.packets, 0xffffffff, 'packets are the rate, below 2^63');
  assert.equal(r.samplingRate, 0xffffffff, 'the rate as sent');
  assert.equal(heldSamples.count, before + 1, 'the hold is left for the decoder to count');
  // Just below the bound: scaled as before, nothing counted.
  const below = sflow(sflowDatagram(2 ** 31, 0xffffffff));
  assert.equal(below.bytes, 2 ** 31 * 0xffffffff, 'bytes below 2^63 are the length times the rate');
  assert.equal(heldSamples.count, before + 1, 'nothing more counted');
});

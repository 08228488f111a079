/** User-defined sampling rates: per exporter, per exporter and interface, unscaling an exporter's own rate. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRateTable, UserSamplingEnricher } from '../src/enrich/sampling-userdef.js';
import { FlowRecord, MAX_I64 } from '../src/record/flow-record.js';
import { tempDir } from './helpers/collect.js';

const rec = (exporter: string, inIf: number, bytes: number, packets: number, rate = 0): FlowRecord =>
  Object.assign(new FlowRecord(), { exporterIp: exporter, inIf, bytes, packets, samplingRate: rate, srcIp: '10.0.0.1', dstIp: '10.0.0.2' });

test('sampling-userdef: exporter rate, interface rate, unscaled exporter rate, untouched others', async () => {
  const dir = tempDir('ufc-sr-');
  const path = join(dir, 'rates.yml');
  writeFileSync(path, '192.0.2.1: 100\n"192.0.2.1/7": 10\n"2001:db8::1": 4\n');
  const e = new UserSamplingEnricher(path, 15);
  await e.start();
  const rs = [rec('192.0.2.1', 1, 1000, 2), rec('192.0.2.1', 7, 1000, 2), rec('192.0.2.1', 1, 64000, 64, 64), rec('2001:db8::1', 0, 5, 1), rec('192.0.2.9', 1, 5, 1)];
  e.enrich(rs);
  await e.stop();
  assert.deepEqual(rs.map((r) => [r.bytes, r.packets, r.samplingRate]), [[100000, 200, 100], [10000, 20, 10], [100000, 100, 100], [20, 4, 4], [5, 1, 0]]);
});

test('sampling-userdef: sFlow counter records from an exporter with a rate are left alone (a rate is about sampled flows)', async () => {
  const dir = tempDir('ufc-sr-');
  const path = join(dir, 'rates.yml');
  writeFileSync(path, '192.0.2.1: 100\n"192.0.2.1/3": 10\n');
  const e = new UserSamplingEnricher(path, 15);
  await e.start();
  // As the sFlow decoder makes them: no bytes, packets or rate of their own, the interface's counts as extras.
  const counter = (inIf: number): FlowRecord => {
    const r = Object.assign(new FlowRecord(), { kind: 'counter', exporterIp: '192.0.2.1', exportType: 'sflow', inIf });
    r.setExtra('sflow.counter.if_in_octets', 123_456);
    return r;
  };
  const rs = [counter(1), counter(3), rec('192.0.2.1', 1, 1000, 2)];
  e.enrich(rs);
  await e.stop();
  assert.deepEqual(rs.map((r) => [r.kind, r.bytes, r.packets, r.samplingRate]), [['counter', 0, 0, 0], ['counter', 0, 0, 0], ['flow', 100000, 200, 100]], 'counter records keep no sampling rate; the flow beside them is scaled');
});

test('sampling-userdef: bad files name the entry', () => {
  assert.throws(() => parseRateTable('192.0.2.1: zero'), /192\.0\.2\.1: rate "zero"/);
  assert.throws(() => parseRateTable('host.example: 10'), /not an IP address/);
  assert.throws(() => parseRateTable('- 1\n- 2'), /expected a map/);
  assert.equal(parseRateTable('').size, 0);
  // What Number() would also have taken: true as 1 (undoing the exporter's rate), a list, nothing; an empty ifIndex as 0.
  for (const bad of ['192.0.2.1: true', '192.0.2.1: [1000]', '192.0.2.1: ""', '"192.0.2.1": 1.5']) assert.throws(() => parseRateTable(bad), /is not a whole number >= 1/, bad);
  for (const bad of ['"192.0.2.1/": 5', '"192.0.2.1/x": 5', '"192.0.2.1/-1": 5', '"192.0.2.1/4294967296": 5']) assert.throws(() => parseRateTable(bad), /interface index is not a whole number/, bad);
  assert.equal(parseRateTable('192.0.2.1: "100"').get('192.0.2.1')?.rate, 100, 'digits in quotes');
});

test('sampling-userdef: counts a rate takes past 2^63 are held there and counted, as the decoders hold them', async () => {
  const dir = tempDir('ufc-sr-');
  const path = join(dir, 'rates.yml');
  writeFileSync(path, '192.0.2.1: 4\n');
  const e = new UserSamplingEnricher(path, 15);
  await e.start();
  const rs = [rec('192.0.2.1', 1, 2 ** 62, 2 ** 40), rec('192.0.2.1', 1, 1000, 1)];
  e.enrich(rs);
  await e.stop();
  assert.deepEqual(rs.map((r) => [r.bytes, r.packets]), [[MAX_I64, 2 ** 42], [4000, 4]]);
  assert.equal(e.counters()['counter beyond 2^63 clamped'], 1);
});

test('sampling-userdef: a bad re-read keeps the previous table', async () => {
  const dir = tempDir('ufc-sr-');
  const path = join(dir, 'rates.yml');
  writeFileSync(path, '192.0.2.1: 8\n');
  const e = new UserSamplingEnricher(path, 15);
  await e.start();
  writeFileSync(path, '192.0.2.1: -3\n');
  await e.reload();
  await e.stop();
  const r = rec('192.0.2.1', 0, 1, 1);
  e.enrich([r]);
  assert.equal(r.samplingRate, 8);
});

test('sampling-userdef: addresses are matched as records spell them (IPv6 in any spelling, IPv4-mapped); a prefix-like key is warned about', () => {
  const warnings: string[] = [];
  const t = parseRateTable('"2001:DB8:0:0:0:0:0:1": 4\n"::ffff:192.0.2.7": 8\n"192.0.2.0/24": 5\n"2001:db8::/3": 6\n"192.0.2.1/3": 7\n', 'rates.yml', warnings);
  assert.deepEqual([...t.keys()], ['2001:db8::1', '192.0.2.7', '192.0.2.0', '2001:db8::', '192.0.2.1']);
  assert.deepEqual(warnings, [
    'rates.yml: 192.0.2.0/24: read as exporter 192.0.2.0, input interface 24; address prefixes are not supported, name each exporter',
    'rates.yml: 2001:db8::/3: read as exporter 2001:db8::, input interface 3; address prefixes are not supported, name each exporter',
  ]);
  const e = new UserSamplingEnricher('unused', 15, t);
  const rs = [rec('2001:db8::1', 0, 5, 1), rec('192.0.2.7', 0, 5, 1)];
  e.enrich(rs);
  assert.deepEqual(rs.map((r) => [r.bytes, r.samplingRate]), [[20, 4], [40, 8]]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowRecord, MAX_TIME_MS, Orientation } from '../src/record/flow-record.js';
import { toDocument, type TimestampSource } from '../src/record/fields.js';
import { checkMemoBy, encodeRecord, MEMO_MAX, toNdjson } from '../src/record/json.js';
import { portName } from '../src/record/names.js';

/**
 * JSON.stringify, but for integers of 2^53 or more, written with all their digits as the encoder
 * writes them (JSON.stringify gives 9223372036854775000 for 9223372036854774784).
 */
function documentJson(v: unknown): string {
  if (typeof v === 'number') return Math.abs(v) >= 2 ** 53 && Number.isFinite(v) ? BigInt(v).toString() : JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(documentJson).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => JSON.stringify(k) + ':' + documentJson(x)).join(',') + '}';
  }
  return JSON.stringify(v);
}

const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant(''));
const text = fc.oneof(fc.constant(''), fc.string(), fc.constantFrom('a"b', 'x\\y', 'nl\n', '\u2028', 'évé', '\ud800', 'é"'.repeat(100)));
const u32 = fc.nat({ max: 0xffffffff });
const odd = fc.oneof(fc.nat({ max: 5000 }), fc.integer(), fc.double(), fc.constantFrom(-0, NaN, 4095, 4096, 2 ** 31, 2 ** 32 + 5), fc.constantFrom(999, 1000, 1001, 100_005, 999_999, 1_000_000, 1_000_042, 123_004_005, 999_999_999, 1e9, -1000, 1e9 + 0.5), fc.nat({ max: 2e9 }));
const coord = fc.oneof(fc.constant(NaN), fc.constantFrom(0, -0, 1.5, 45.25), fc.double({ min: -90, max: 90, noNaN: true }));

// Times past what a record carries too (decoders keep them out; the encoder must not throw on one).
const time = fc.oneof(fc.nat(), fc.nat(), fc.constantFrom(MAX_TIME_MS, MAX_TIME_MS + 1, 8.64e15, 8.64e15 + 1, 2 ** 64, -5, NaN));
const record = fc.record({
  collectTs: fc.nat(), exportTs: time, startTs: time, endTs: time, exporterIp: ip, srcIp: ip, dstIp: ip,
  srcPort: fc.nat({ max: 65535 }), dstPort: fc.nat({ max: 65535 }),
  // Integer fields past json.ts's table of small values: negatives, fractions, NaN, -0, 2^31 and up.
  srcMask: odd, dstMask: odd, srcVlan: odd, icmpType: odd, endReason: odd, proto: fc.constantFrom(0, 1, 6, 17, 58, 132, 255),
  bytes: fc.oneof(u32, fc.maxSafeNat()), packets: u32, tcpFlags: fc.nat({ max: 511 }), tos: fc.nat({ max: 255 }),
  ipVersion: fc.constantFrom(0, 4, 6), orientation: fc.constantFrom(Orientation.Unknown, Orientation.SrcIsClient, Orientation.DstIsClient),
  application: text, communityId: text, srcThreatName: fc.constantFrom('', 'blocklist', 'c2,spam'), dstThreatFeed: fc.constantFrom('', 'riskiq', 'riskiq,spamhaus'),
  // Few distinct coordinates, so the same latitude comes back with another longitude (json.ts keeps
  // the coordinate's text per latitude and longitude).
  srcLat: coord, srcLon: coord, dstLat: coord, dstLon: coord, kind: fc.constantFrom('flow' as const, 'counter' as const),
  direction: fc.constantFrom(-1, 0, 1), inIf: fc.oneof(u32, odd), outIf: u32,
  srcMac: fc.constantFrom('', '00:1b:21:0a:bc:de', 'f4:8e:38:00:00:01'), dstMac: fc.constantFrom('', 'aa:bb:cc:dd:ee:ff'), extra: fc.option(fc.dictionary(fc.string().map((k) => 'raw.' + k), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.double())), { nil: null }),
});

test('the compiled encoder is byte-identical to JSON.stringify(toDocument(r)) (integers past 2^53 in full), CODEX and ECS, every timestamp source', () => {
  fc.assert(
    fc.property(record, fc.boolean(), fc.constantFrom<TimestampSource>('collect', 'start', 'end', 'export'), (fields, ecs, ts) => {
      const r = Object.assign(new FlowRecord(), fields);
      const view = { ecs, timestampSource: ts };
      assert.equal(encodeRecord(r, view), documentJson(toDocument(r, view)));
    }),
    { numRuns: 3000 },
  );
});

test('a time past what a record carries is left out of the document, ECS included (toISOString would throw), and @timestamp falls back to collect', () => {
  const r = Object.assign(new FlowRecord(), { collectTs: 1_700_000_000_000, exportTs: 2 ** 64, startTs: 2 ** 64, endTs: MAX_TIME_MS + 1, srcIp: '10.0.0.1' });
  for (const ts of ['collect', 'start', 'end', 'export'] as const) {
    const doc = JSON.parse(encodeRecord(r, { ecs: true, timestampSource: ts })) as Record<string, unknown>;
    assert.equal(doc['@timestamp'], '2023-11-14T22:13:20.000Z', ts);
    assert.equal(doc['event.start'], undefined);
    assert.equal(doc['event.end'], undefined);
  }
  r.endTs = MAX_TIME_MS;
  assert.equal((JSON.parse(encodeRecord(r, { ecs: true, timestampSource: 'end' })) as Record<string, unknown>)['@timestamp'], '2106-02-06T23:59:59.999Z');
});

test('NDJSON: one line per record', () => {
  const a = new FlowRecord();
  a.collectTs = 1;
  const b = new FlowRecord();
  b.collectTs = 2;
  const text = toNdjson([a, b], { ecs: false, timestampSource: 'collect' });
  assert.equal(text, '{"@timestamp":1,"flow.collect.timestamp":1,"flow.record.type":"flow","flow.bytes":0,"flow.packets":0}\n{"@timestamp":2,"flow.collect.timestamp":2,"flow.record.type":"flow","flow.bytes":0,"flow.packets":0}\n');
});

test('NDJSON bytes equal the NDJSON text, multi-byte characters included', async () => {
  const { toNdjsonBuffer } = await import('../src/record/json.js');
  const batch = ['plain', 'évé ünïcödé', '日本語のアプリ', 'emoji 🚀', 'q"uote'].map((app, i) => {
    const r = new FlowRecord();
    r.collectTs = 1000 + i;
    r.application = app.repeat(50);
    return r;
  });
  const view = { ecs: false, timestampSource: 'collect' as const };
  assert.equal(toNdjsonBuffer(batch, view).toString('utf8'), toNdjson(batch, view));
  assert.equal(toNdjsonBuffer(batch, view, 1, 3).toString('utf8'), toNdjson(batch.slice(1, 3), view));
});

test('NDJSON bytes equal JSON.stringify of every record, CODEX and ECS, any field values', async () => {
  const { toNdjsonBuffer } = await import('../src/record/json.js');
  fc.assert(
    fc.property(fc.array(record, { maxLength: 8 }), fc.boolean(), fc.constantFrom<TimestampSource>('collect', 'start', 'end', 'export'), (rows, ecs, ts) => {
      const batch = rows.map((fields) => {
        return Object.assign(new FlowRecord(), fields);
      });
      const view = { ecs, timestampSource: ts };
      const want = batch.map((r) => documentJson(toDocument(r, view)) + '\n').join('');
      assert.equal(toNdjsonBuffer(batch, view).toString('utf8'), want);
    }),
    { numRuns: 2000 },
  );
});

test('keyword text remembered by value stays right past the memo bound and when values alternate', () => {
  const view = { ecs: false, timestampSource: 'collect' as const };
  // More distinct values than one field's map keeps (json.ts MEMO_MAX), each encoded twice, and two
  // records' values alternating: every line must still be what JSON.stringify gives.
  for (let i = 0; i < 10_000; i++) {
    for (const app of [`app-${i}`, `app-${i % 7}`, `app-${i}`]) {
      const r = new FlowRecord();
      r.collectTs = 1;
      r.application = app;
      r.srcCountry = i % 2 === 0 ? 'Italy' : 'Côte d\u2019Ivoire';
      assert.equal(encodeRecord(r, view), documentJson(toDocument(r, view)));
    }
  }
});

test('text kept per key: one latitude with other longitudes, TCP flags with other protocols, integers past the table', () => {
  const view = { ecs: false, timestampSource: 'collect' as const };
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    for (const lon of [10, 20, NaN]) {
      for (const proto of [6, 17]) {
        for (const port of [0, 4095, 4096, 65535]) {
          const r = new FlowRecord();
          r.collectTs = 1;
          r.srcIp = '192.0.2.1';
          r.dstIp = '198.51.100.1';
          r.dstLat = 45.25;
          r.dstLon = lon;
          r.proto = proto;
          r.tcpFlags = 0x12;
          r.dstPort = port;
          const line = encodeRecord(r, view);
          assert.equal(line, documentJson(toDocument(r, view)));
          seen.add(line);
        }
      }
    }
  }
  // Every combination is a different line, and each repeat gave the same text as the first time.
  assert.equal(seen.size, 3 * 2 * 4);
  // One latitude with more longitudes than its inner map keeps (json.ts MEMO_INNER_MAX), twice over.
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < 100; k++) {
      const r = new FlowRecord();
      r.collectTs = 1;
      r.dstLat = 45.25;
      r.dstLon = k / 8;
      assert.equal(encodeRecord(r, view), documentJson(toDocument(r, view)));
    }
  }
});

test('a memoBy that does not determine the value is refused', () => {
  const def = { codex: 'x', ecs: null, type: 'geo_point' as const, description: '', expr: 'Number.isNaN(r.dstLat) ? undefined : `${r.dstLat},${r.dstLon}`' };
  assert.doesNotThrow(() => checkMemoBy({ ...def, memoBy: ['r.dstLat', 'r.dstLon'] }));
  assert.throws(() => checkMemoBy({ ...def, memoBy: ['r.dstLat'] }), /reads r\.dstLon/);
  assert.throws(() => checkMemoBy({ ...def, expr: 'cs ? r.srcPort : r.dstPort', memoBy: ['r.srcPort', 'r.dstPort'] }), /uses cs/);
});

test('every port name fits in a keyword field\'s kept texts, so client ports never make the map start again', () => {
  const names = new Set<string>();
  for (const proto of [6, 17]) for (let port = 1; port < 65536; port++) names.add(portName(proto, port));
  assert.ok(names.size > 5000, `${names.size} names: the registry is loaded`);
  assert.ok(names.size < MEMO_MAX, `${names.size} port names, MEMO_MAX ${MEMO_MAX}`);
});

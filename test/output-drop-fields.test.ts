/**
 * EF_OUTPUT_*_DROP_FIELDS: what an output leaves out of every record. The compiled encoder stays
 * byte-identical to JSON.stringify(toDocument) with any drop list; the collector's outputs (a file
 * written by a decode worker or the main thread, Elasticsearch and OpenSearch against the ES TEST
 * SERVER, Kafka against the Kafka TEST BROKER) write each record as without the option, less exactly
 * the fields named; bad entries stop start-up, entries that name nothing are a warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';
import { FIELDS, toDocument, type TimestampSource, type ViewOptions } from '../src/record/fields.js';
import { encodeRecord, toNdjsonBuffer } from '../src/record/json.js';
import { loadConfig } from '../src/config/load.js';
import { EXTRA_NAMESPACES, mayNameExtra } from '../src/decode/extra-names.js';
import { IANA_IES } from '../src/decode/template/ie-registry.js';
import { VENDOR_IES } from '../src/decode/template/vendor-ies.js';
import { Collector } from '../src/collector.js';
import { EsTestServer } from './servers/es-test-server.js';
import { KafkaTestBroker } from './servers/kafka-test-broker.js';
import { tempDir, testConfig, until } from './helpers/collect.js';

const TESTDATA = join(import.meta.dirname, '..', '..', 'shared', 'testdata');
const SRC = join(import.meta.dirname, '..', 'src');

/** Every name a schema field goes by, CODEX and ECS. */
const NAMES = [...new Set(FIELDS.flatMap((f) => (f.ecs === null ? [f.codex] : [f.codex, f.ecs])))];

/** What dropping `entries` must leave of a document: every key but those named or under a named prefix. */
function without(doc: Record<string, unknown>, entries: readonly string[], ecs: boolean): Record<string, unknown> {
  // Worked out from the field table, not from the matcher under test: a key goes when its field's
  // CODEX or ECS name, or the extra's own name, is listed or starts with a listed prefix.
  const other = new Map<string, string | null>();
  for (const f of FIELDS) other.set(ecs ? (f.ecs ?? f.codex) : f.codex, ecs ? f.codex : f.ecs);
  const listed = (n: string): boolean => entries.some((e) => (e.endsWith('*') ? n.startsWith(e.slice(0, -1)) : n === e));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    const alias = other.get(k) ?? null;
    if (k !== '@timestamp' && (listed(k) || (alias !== null && listed(alias)))) continue;
    out[k] = v;
  }
  return out;
}

const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant(''));
const record = fc.record({
  collectTs: fc.nat(), exportTs: fc.nat(), startTs: fc.nat(), endTs: fc.nat(), exporterIp: ip, srcIp: ip, dstIp: ip,
  srcPort: fc.nat({ max: 65535 }), dstPort: fc.nat({ max: 65535 }), proto: fc.constantFrom(0, 1, 6, 17, 58),
  bytes: fc.nat(), packets: fc.nat(), tcpFlags: fc.nat({ max: 511 }), ipVersion: fc.constantFrom(0, 4, 6),
  orientation: fc.constantFrom(Orientation.Unknown, Orientation.SrcIsClient, Orientation.DstIsClient),
  application: fc.string(), srcCountry: fc.constantFrom('', 'Germany'), srcCity: fc.constantFrom('', 'Köln'), srcLat: fc.constantFrom(NaN, 50.9), srcLon: fc.constantFrom(NaN, 6.9),
  srcThreatName: fc.constantFrom('', 'c2'), dstThreatFeed: fc.constantFrom('', 'riskiq'),
  inIfName: fc.constantFrom('', 'Gi0/0'),
  extra: fc.option(fc.dictionary(fc.constantFrom('ipfix.a', 'ipfix.b', 'sflow.c', 'mpls.labels'), fc.oneof(fc.string(), fc.integer())), { nil: null }),
});
const entry = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.constantFrom(...NAMES).map((n) => n.slice(0, Math.max(1, n.lastIndexOf('.') + 1)) + '*'),
  fc.constantFrom('ipfix.*', 'ipfix.a', 'sflow.*', 'mpls.labels', '@timestamp', 'flow.*', 'source.*', 'nothing.here'),
);

test('with any drop list the compiled encoder equals JSON.stringify(toDocument), and both leave out exactly the fields named', () => {
  fc.assert(
    fc.property(record, fc.boolean(), fc.constantFrom<TimestampSource>('collect', 'start', 'end', 'export'), fc.array(entry, { maxLength: 6 }), (fields, ecs, ts, drop) => {
      const r = Object.assign(new FlowRecord(), fields);
      const view: ViewOptions = { ecs, timestampSource: ts, drop };
      const text = encodeRecord(r, view);
      assert.equal(text, JSON.stringify(toDocument(r, view)));
      assert.deepEqual(JSON.parse(text), without(JSON.parse(encodeRecord(r, { ecs, timestampSource: ts })) as Record<string, unknown>, drop, ecs));
      assert.equal(toNdjsonBuffer([r, r], view).toString('utf8'), `${text}\n${text}\n`);
    }),
    { numRuns: 1500 },
  );
});

test('a drop list leaves the fields out, whichever view names them; @timestamp stays', () => {
  const r = Object.assign(new FlowRecord(), {
    collectTs: 1_700_000_000_000, srcIp: '192.0.2.1', dstIp: '198.51.100.7', srcPort: 443, dstPort: 50000, proto: 6,
    srcCountry: 'Germany', srcCity: 'Köln', srcLat: 50.9, srcLon: 6.9, extra: { 'ipfix.flowId': 7, 'ipfix.vlanId': 3 },
  });
  const drop = ['flow.src.geo.*', 'destination.ip', 'ipfix.flowId', '@*'];
  const codex = JSON.parse(encodeRecord(r, { ecs: false, timestampSource: 'collect', drop })) as Record<string, unknown>;
  assert.equal(codex['@timestamp'], 1_700_000_000_000);
  assert.equal(codex['flow.src.ip.addr'], '192.0.2.1');
  assert.equal(codex['flow.dst.ip.addr'], undefined, 'dropped by its ECS name in the CODEX view');
  assert.deepEqual(Object.keys(codex).filter((k) => k.includes('.geo.')), []);
  assert.equal(codex['ipfix.flowId'], undefined);
  assert.equal(codex['ipfix.vlanId'], 3);
  const ecs = JSON.parse(encodeRecord(r, { ecs: true, timestampSource: 'collect', drop })) as Record<string, unknown>;
  assert.equal(ecs['@timestamp'], '2023-11-14T22:13:20.000Z');
  assert.equal(ecs['destination.ip'], undefined);
  assert.equal(ecs['source.geo.country_name'], undefined, 'dropped by its CODEX prefix in the ECS view');
  assert.equal(ecs['source.ip'], '192.0.2.1');
  assert.equal(ecs['source.port'], 443);
});

test('DROP_FIELDS: bad entries stop start-up, every one named; entries that name nothing are a warning; good ones neither', () => {
  const bad = loadConfig({ env: { EF_OUTPUT_FILE_DROP_FIELDS: 'flow.src.geo.*,@timestamp,*,a b', EF_OUTPUT_KAFKA_DROP_FIELDS: 'x"y' } });
  assert.equal(bad.config, null);
  const file = bad.errors.find((e) => e.startsWith('EF_OUTPUT_FILE_DROP_FIELDS'));
  assert.ok(file?.includes('bad: @timestamp, *, a b'), bad.errors.join('\n'));
  assert.ok(bad.errors.some((e) => e.startsWith('EF_OUTPUT_KAFKA_DROP_FIELDS') && e.includes('bad: x"y')), bad.errors.join('\n'));

  const typo = loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_DROP_FIELDS: 'flow.src.geo.ctiy.name,source.as.*,nothing*,ipfix.flowId,cisco.asa.*,flow.biflow_direction' } });
  assert.ok(typo.config !== null, typo.errors.join('\n'));
  assert.deepEqual(typo.config.EF_OUTPUT_ELASTICSEARCH_DROP_FIELDS, ['flow.src.geo.ctiy.name', 'source.as.*', 'nothing*', 'ipfix.flowId', 'cisco.asa.*', 'flow.biflow_direction']);
  const warned = typo.warnings.filter((w) => w.startsWith('EF_OUTPUT_ELASTICSEARCH_DROP_FIELDS'));
  assert.equal(warned.length, 1, typo.warnings.join('\n'));
  assert.ok(warned[0]!.includes('flow.src.geo.ctiy.name, nothing* name no field'), warned[0]);

  const fine = loadConfig({ env: { EF_OUTPUT_STDOUT_DROP_FIELDS: 'flow.src.geo.*, network.community_id ,sflow.*', EF_OUTPUT_OPENSEARCH_DROP_FIELDS: '' } });
  assert.deepEqual(fine.config?.EF_OUTPUT_STDOUT_DROP_FIELDS, ['flow.src.geo.*', 'network.community_id', 'sflow.*']);
  assert.deepEqual(fine.config?.EF_OUTPUT_OPENSEARCH_DROP_FIELDS, []);
  assert.deepEqual(fine.warnings, []);
});

test('every extra a decoder names (fixed names in the sources, registry names) passes the DROP_FIELDS check, so listing one is no warning', () => {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const fixed = new Set<string>();
  for (const f of files) for (const m of readFileSync(join(SRC, f), 'utf8').matchAll(/setExtra\('([^']+)'/g)) fixed.add(m[1]!);
  assert.ok(fixed.size >= 10, `found ${fixed.size} fixed extras`);
  for (const name of fixed) assert.ok(mayNameExtra(name, false), name);
  for (const def of [...IANA_IES.values(), ...VENDOR_IES.values()]) {
    const name = def.name.includes('.') ? def.name : `ipfix.${def.name}`;
    assert.ok(mayNameExtra(name, false), name);
  }
  assert.ok(EXTRA_NAMESPACES.has('cisco.') && EXTRA_NAMESPACES.has('ie.'));
  assert.equal(mayNameExtra('flow.src.geo.ctiy.name', false), false);
});

/** Documents less the times that differ between two runs of the same capture. */
function comparable(docs: Record<string, unknown>[]): string[] {
  return docs.map((d) => {
    const c = { ...d };
    for (const k of ['@timestamp', 'flow.collect.timestamp', 'event.created']) delete c[k];
    return JSON.stringify(c);
  }).sort();
}

test('every JSON output of a running collector leaves out its own list: file, Elasticsearch, OpenSearch, Kafka (test servers)', async () => {
  const es = new EsTestServer({ product: 'elasticsearch' });
  const os = new EsTestServer({ product: 'opensearch' });
  const kafka = new KafkaTestBroker({ topics: { flows: 1 } });
  await Promise.all([es.start(), os.start(), kafka.start()]);
  const capture = readFileSync(join(TESTDATA, 'akvorado', 'historical', 'ipfix_v10_with_mpls_labels.pcap'));
  const drops = {
    FILE: ['flow.src.geo.*', 'destination.ip', 'ipfix.*'],
    ELASTICSEARCH: ['network.community_id', 'flow.dst.l4.port.*', 'ipfix.mpls*'],
    OPENSEARCH: ['l4.proto.name', 'source.*'],
    KAFKA: ['flow.packets', 'flow.bytes', 'flow.export.*'],
  };
  async function run(drop: boolean): Promise<Record<keyof typeof drops, Record<string, unknown>[]>> {
    const dir = tempDir('ufc-drop-');
    const [esFrom, osFrom, kFrom] = [es.docs.length, os.docs.length, kafka.messages.length];
    const c = new Collector(testConfig({
      EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'f.ndjson'),
      EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: es.address, EF_OUTPUT_ELASTICSEARCH_ECS_ENABLE: 'true', EF_OUTPUT_ELASTICSEARCH_BATCH_DEADLINE: '20',
      EF_OUTPUT_OPENSEARCH_ENABLE: 'true', EF_OUTPUT_OPENSEARCH_ADDRESSES: os.address, EF_OUTPUT_OPENSEARCH_BATCH_DEADLINE: '20',
      EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_BROKERS: kafka.address, EF_OUTPUT_KAFKA_TOPIC: 'flows', EF_OUTPUT_KAFKA_BATCH_DEADLINE: '20',
      ...(drop ? Object.fromEntries(Object.entries(drops).map(([o, list]) => [`EF_OUTPUT_${o}_DROP_FIELDS`, list.join(',')])) : {}),
    }));
    await c.start();
    const n = c.replay(capture);
    assert.ok(n > 0);
    await c.flush();
    await c.stop();
    return {
      FILE: readFileSync(join(dir, 'f.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>),
      ELASTICSEARCH: es.docs.slice(esFrom).map((d) => d.doc),
      OPENSEARCH: os.docs.slice(osFrom).map((d) => d.doc),
      KAFKA: kafka.messages.slice(kFrom).map((m) => JSON.parse(m.value!.toString()) as Record<string, unknown>),
    };
  }
  try {
    const full = await run(false);
    const dropped = await run(true);
    for (const o of Object.keys(drops) as (keyof typeof drops)[]) {
      assert.ok(full[o].length > 0, `${o}: records arrived`);
      const ecs = o === 'ELASTICSEARCH';
      assert.deepEqual(comparable(dropped[o]), comparable(full[o].map((d) => without(d, drops[o], ecs))), `${o}: as without the option, less its list`);
      assert.ok(comparable(dropped[o]).join().length < comparable(full[o]).join().length, `${o}: something was dropped`);
    }
    assert.ok(full.FILE.some((d) => Object.keys(d).some((k) => k.startsWith('ipfix.'))), 'the capture has ipfix.* extras to drop');
    assert.ok(full.ELASTICSEARCH.some((d) => d['ipfix.mplsTopLabelStackSection'] !== undefined), 'the capture has MPLS labels to drop');
    assert.ok(dropped.ELASTICSEARCH.every((d) => d['ipfix.mplsTopLabelStackSection'] === undefined && d['ipfix.bgpNextHopIPv4Address'] !== undefined));
  } finally {
    await Promise.all([es.stop(), os.stop(), kafka.stop()]);
  }
});

test('a decode worker encodes the file output with its drop list: the same lines as the main thread', async () => {
  const packet = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const drop = 'flow.src.ip.*,network.transport,flow.locality';
  async function run(workers: string): Promise<string[]> {
    const dir = tempDir('ufc-drop-workers-');
    const c = new Collector(testConfig({
      EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: workers,
      EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'f.ndjson'), EF_OUTPUT_FILE_DROP_FIELDS: drop,
    }));
    await c.start();
    const [port] = await c.listen();
    assert.equal(c.pool?.size ?? 0, Number(workers));
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.send(packet, port!, '127.0.0.1', () => r()));
    s.close();
    await until(() => c.pipeline.stats.totals().records >= 30);
    await c.flush();
    await c.stop();
    return comparable(readFileSync(join(dir, 'f.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>));
  }
  const onWorker = await run('1');
  assert.equal(onWorker.length, 30);
  assert.deepEqual(onWorker, await run('0'));
  for (const line of onWorker) {
    const doc = JSON.parse(line) as Record<string, unknown>;
    assert.ok(doc['flow.dst.ip.addr'] !== undefined && doc['flow.src.ip.addr'] === undefined && doc['l4.proto.name'] === undefined && doc['flow.locality'] === undefined, line);
  }
});

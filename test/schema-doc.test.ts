/** docs/schema.md is generated from the field table and must be current. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaMarkdown } from '../src/record/schema-doc.js';
import { FIELDS } from '../src/record/fields.js';
import { IPV4_SPECIAL, IPV6_SPECIAL } from '../src/enrich/locality.js';
import { CLIENT_SERVER_RULES } from '../src/enrich/client-server.js';
import { REPO_ROOT } from './helpers/tools.js';

test('docs/schema.md is generated from src/record/fields.ts and current (run `npm run docs`)', () => {
  const onDisk = readFileSync(join(REPO_ROOT, 'docs', 'schema.md'), 'utf8');
  assert.equal(onDisk, schemaMarkdown(), 'docs/schema.md is stale: run `npm run docs`');
});

test('docs/schema.md lists every field with its ECS name, type and meaning, the rules and the registries', () => {
  const md = schemaMarkdown();
  for (const f of FIELDS) {
    const row = md.split('\n').find((l) => l.startsWith(`| \`${f.codex}\` |`));
    assert.ok(row, `${f.codex} has a row`);
    if (f.ecs !== null) assert.ok(row.includes(`\`${f.ecs}\``), `${f.codex} shows ECS ${f.ecs}`);
    assert.ok(row.includes(` ${f.type}`), `${f.codex} shows type ${f.type}`);
    assert.ok(f.description.length > 3);
  }
  for (const e of [...IPV4_SPECIAL, ...IPV6_SPECIAL]) assert.ok(md.includes(`\`${e.cidr}\``), e.cidr);
  for (const r of CLIENT_SERVER_RULES) assert.ok(md.includes(r));
  assert.ok(md.includes('(schema-counters.md)'));
  assert.ok(md.includes('(enrichment.md)'));
});

test('field names are unique in both views', () => {
  const codex = FIELDS.map((f) => f.codex);
  assert.equal(new Set(codex).size, codex.length);
  const ecs = FIELDS.map((f) => f.ecs ?? f.codex);
  assert.equal(new Set(ecs).size, ecs.length, 'ECS names (with CODEX fallbacks) collide');
});

test('ECS view: names and value types of a fully enriched record', async () => {
  const { FlowRecord, Orientation } = await import('../src/record/flow-record.js');
  const { toDocument } = await import('../src/record/fields.js');
  const r = Object.assign(new FlowRecord(), {
    collectTs: 1_700_000_000_500, exportTs: 1_700_000_000_000, startTs: 1_699_999_990_000, endTs: 1_699_999_999_250,
    exporterIp: '192.0.2.1', exportVersion: 5, exportType: 'netflow' as const, ipVersion: 4, srcIp: '10.0.0.1', dstIp: '8.8.8.8',
    srcPort: 51000, dstPort: 53, proto: 17, bytes: 120, packets: 2, samplingRate: 10, srcLocality: 'private' as const,
    dstLocality: 'public' as const, communityId: '1:abc=', orientation: Orientation.SrcIsClient, dstCountryIso: 'US',
    dstLat: 37.5, dstLon: -122.1, dstAs: 15169, dstAsOrg: 'Google LLC', inIf: 3, outIf: 70000, srcVlan: 12,
    srcMac: '00:1b:21:0a:bc:de', dstMac: 'f4:8e:38:00:00:01',
  });
  const ecs = toDocument(r, { ecs: true, timestampSource: 'collect' });
  const want: Record<string, unknown> = {
    '@timestamp': '2023-11-14T22:13:20.500Z', 'event.created': '2023-11-14T22:13:20.500Z', 'event.start': '2023-11-14T22:13:10.000Z',
    'event.duration': 9_250_000_000, 'observer.ip': '192.0.2.1', 'network.type': 'ipv4', 'source.ip': '10.0.0.1',
    'destination.ip': '8.8.8.8', 'source.port': 51000, 'destination.port': 53, 'client.ip': '10.0.0.1', 'server.port': 53,
    'network.transport': 'udp', 'network.iana_number': '17', 'network.bytes': 120, 'network.packets': 2,
    // ECS: event.kind from its allowed values; ids ECS types as keywords are text; MACs upper case with hyphens.
    'event.kind': 'event', 'observer.ingress.interface.id': '3', 'observer.egress.interface.id': '70000', 'network.vlan.id': '12',
    'source.mac': '00-1B-21-0A-BC-DE', 'destination.mac': 'F4-8E-38-00-00-01',
    // Not ECS's event.ingested (arrival in the store) nor observer.version (the observer's software).
    'flow.export.timestamp': '2023-11-14T22:13:20.000Z', 'flow.export.version.ver': 5, 'event.ingested': undefined, 'observer.version': undefined,
    'network.community_id': '1:abc=', 'source.locality': 'private', 'destination.locality': 'public', 'network.locality': 'public',
    'destination.geo.country_iso_code': 'US', 'destination.geo.location': '37.5,-122.1', 'destination.as.number': 15169,
    'destination.as.organization.name': 'Google LLC', 'flow.sampling.rate': 10, 'flow.dst.l4.port.name': 'domain',
  };
  for (const [k, v] of Object.entries(want)) assert.deepEqual(ecs[k], v, k);
  // No CODEX name leaks into ECS where an ECS name exists.
  for (const f of FIELDS) if (f.ecs !== null && f.ecs !== f.codex) assert.ok(!(f.codex in ecs), `${f.codex} in ECS view`);
  const codex = toDocument(r, { ecs: false, timestampSource: 'collect' });
  assert.equal(codex['flow.duration'], 9250);
  assert.equal(codex['ip.version'], 4);
  assert.deepEqual([codex['flow.record.type'], codex['l4.proto.id'], codex['flow.src.mac.addr'], codex['flow.in.netif.index']], ['flow', 17, '00:1b:21:0a:bc:de', 3]);
  assert.equal(toDocument(Object.assign(new FlowRecord(), { kind: 'counter', collectTs: 1 }), { ecs: true, timestampSource: 'collect' })['event.kind'], 'metric');
  assert.equal(codex['flow.start.timestamp'], 1_699_999_990_000);
});

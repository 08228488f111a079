/**
 * User-defined address metadata (EF_PROCESSOR_ENRICH_IPADDR_METADATA_*): addresses, CIDRs and ranges
 * to internal / name / tags / vlan / metadata; the most specific entry wins per attribute (checked
 * against a brute force over random overlapping entries); bad files stop start-up naming the entry;
 * both views name the fields; the locality it sets keeps an internal end out of the RiskIQ output; a
 * running collector applies it in its decode worker as on the main thread, and the embedded store keeps it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AddressMetadataEnricher, parseMetadataTable, parseRangeKey, type AddressMeta, type MetadataParseNotes } from '../src/enrich/ipaddr-metadata.js';
import { LocalityEnricher } from '../src/enrich/locality.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { encodeRecord } from '../src/record/json.js';
import { toDocument } from '../src/record/fields.js';
import type { UserFileStatus } from '../src/pipeline/types.js';
import { flowColumns, restApply, restJson, rowToRecord } from '../src/store/columns.js';
import { projectRecord } from '../src/output/riskiq/projection.js';
import { createRiskiqOutput } from '../src/output/riskiq/output.js';
import { buildTemplate } from '../src/output/elasticsearch/template.js';
import { loadConfig } from '../src/config/load.js';
import { Collector } from '../src/collector.js';
import { flowQueryFrom } from '../src/store/query.js';
import { exportersView, type ExporterView } from '../src/web/exporters-view.js';
import { mulberry32 } from '../src/dev/prng.js';
import { sendFrom, tempDir, testConfig, until } from './helpers/collect.js';

const TESTDATA = join(import.meta.dirname, '..', '..', 'shared', 'testdata');

const EXAMPLE = `
10.0.0.0/8:
  internal: true
198.51.100.0/24:
  internal: true
  name: lab
10.1.2.0/24:
  name: atlanta_guest_wifi
  vlan: 1001
  tags: [wifi, dhcp, wifi]
  metadata:
    dhcp.pool.name: atlanta_guest_wifi
    .site.id: atlanta
10.1.2.10-10.1.2.20:
  metadata:
    .rack.id: r7
    .site.id: "007"
"2001:db8:1::/48":
  name: lab-v6
  tags: [lab]
  internal: false
"::ffff:192.0.2.0/120":
  name: mapped-key
`;

/** An enricher holding `text` as its table (without a file). */
function enricherOf(text: string): AddressMetadataEnricher {
  const e = new AddressMetadataEnricher('/nonexistent/ipaddrs.yml');
  (e as unknown as { table: unknown }).table = parseMetadataTable(text);
  return e;
}

function flow(src: string, dst: string, extra: Partial<FlowRecord> = {}): FlowRecord {
  const r = Object.assign(new FlowRecord(), { srcIp: src, dstIp: dst, collectTs: 1_700_000_000_000, proto: 6, srcPort: 40000, dstPort: 443 }, extra);
  new LocalityEnricher().enrich([r]);
  return r;
}

test('ipaddr-metadata: keys are addresses, CIDRs (host bits ignored) and ranges of one family; anything else is no key', () => {
  assert.deepEqual(parseRangeKey('192.0.2.77/24'), { lo: 0xc0000200n, hi: 0xc00002ffn, v6: false });
  assert.deepEqual(parseRangeKey('192.0.2.7'), { lo: 0xc0000207n, hi: 0xc0000207n, v6: false });
  assert.deepEqual(parseRangeKey('192.0.2.7 - 192.0.2.9'), { lo: 0xc0000207n, hi: 0xc0000209n, v6: false });
  assert.deepEqual(parseRangeKey('::ffff:192.0.2.0/120'), { lo: 0xc0000200n, hi: 0xc00002ffn, v6: false });
  assert.deepEqual(parseRangeKey('0.0.0.0/0'), { lo: 0n, hi: 0xffffffffn, v6: false });
  assert.deepEqual(parseRangeKey('2001:db8::/32'), { lo: 0x20010db8n << 96n, hi: (0x20010db8n << 96n) | ((1n << 96n) - 1n), v6: true });
  for (const bad of ['192.0.2.9-192.0.2.7', '192.0.2.1-2001:db8::1', '192.0.2.0/33', '2001:db8::/129', '192.0.2.0/', 'host.example', '300.1.1.1', '192.0.2.0/24/1', '']) {
    assert.equal(parseRangeKey(bad), null, bad);
  }
});

test('ipaddr-metadata: each attribute from the most specific entry that sets it, metadata key by key; IPv6 and IPv4-mapped addresses', () => {
  const e = enricherOf(EXAMPLE);
  const at = (ip: string): AddressMeta | null => e.lookup(ip);
  const m15 = at('10.1.2.15')!;
  assert.deepEqual({ ...m15 }, {
    internal: 1, name: 'atlanta_guest_wifi', tags: 'wifi,dhcp', vlan: 1001,
    src: [['flow.src.site.id', '007'], ['flow.src.rack.id', 'r7']], dst: [['flow.dst.site.id', '007'], ['flow.dst.rack.id', 'r7']], exp: [],
    top: [['dhcp.pool.name', 'atlanta_guest_wifi']],
  });
  assert.deepEqual(at('10.1.2.9')!.src, [['flow.src.site.id', 'atlanta']]);
  assert.deepEqual(at('10.1.2.21')!.src, [['flow.src.site.id', 'atlanta']]);
  assert.deepEqual({ ...at('10.200.0.1')! }, { internal: 1, name: '', tags: '', vlan: 0, src: [], dst: [], exp: [], top: [] });
  assert.equal(at('198.51.100.7')!.name, 'lab');
  assert.equal(at('::ffff:10.1.2.15'), m15, 'an IPv4-mapped address is its IPv4 address');
  assert.equal(e.lookup('10.1.2.15', 0x0a01020f), m15, 'the decoder\'s uint32');
  assert.equal(at('192.0.2.200')!.name, 'mapped-key');
  assert.deepEqual([at('2001:db8:1:ffff::1')?.name, at('2001:db8:1::')?.internal], ['lab-v6', 0]);
  for (const none of ['2001:db8:2::1', '2001:db8:0:ffff:ffff:ffff:ffff:ffff', '11.0.0.0', '9.255.255.255', '203.0.113.1', 'not an address', '']) assert.equal(at(none), null, none);
  // Equal ranges: the later entry wins.
  const eq = enricherOf('192.0.2.0/24: { name: first, vlan: "5" }\n192.0.2.0-192.0.2.255: { name: second }\n');
  assert.deepEqual([eq.lookup('192.0.2.1')!.name, eq.lookup('192.0.2.1')!.vlan], ['second', 5]);
});

test('ipaddr-metadata: the flattened table answers as a brute force over random overlapping entries does', () => {
  const rng = mulberry32(20261129);
  const int = (n: number): number => Math.floor(rng() * n);
  for (let round = 0; round < 20; round++) {
    const entries: { lo: number; hi: number; yaml: string; attrs: { internal?: number; name?: string; vlan?: number; tags?: string; md: Record<string, string> } }[] = [];
    let yaml = '';
    for (let i = 0; i < 60; i++) {
      // Addresses in 10.0.0.0/22, so that entries overlap often.
      const base = 0x0a000000;
      let lo: number, hi: number, key: string;
      const ip = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
      if (rng() < 0.5) {
        const prefix = 22 + int(11);
        const size = 2 ** (32 - prefix);
        lo = base + Math.floor(int(1024) / size) * size;
        hi = lo + size - 1;
        key = `${ip(lo)}/${prefix}`;
      } else {
        lo = base + int(1024);
        hi = Math.min(base + 1023, lo + int(200));
        key = hi === lo && rng() < 0.5 ? ip(lo) : `${ip(lo)}-${ip(hi)}`;
      }
      const attrs: (typeof entries)[number]['attrs'] = { md: {} };
      let body = '';
      if (rng() < 0.4) { attrs.internal = int(2); body += `  internal: ${attrs.internal === 1}\n`; }
      if (rng() < 0.5) { attrs.name = `n${i}`; body += `  name: n${i}\n`; }
      if (rng() < 0.3) { attrs.vlan = 1 + int(4094); body += `  vlan: ${attrs.vlan}\n`; }
      if (rng() < 0.3) { attrs.tags = `t${i},u`; body += `  tags: [t${i}, u]\n`; }
      if (rng() < 0.5) {
        body += '  metadata:\n';
        for (const k of ['.a', '.b', 'c', 'd'].filter(() => rng() < 0.5)) { attrs.md[k] = `v${i}${k}`; body += `    ${k}: v${i}${k}\n`; }
        if (Object.keys(attrs.md).length === 0) body = body.replace('  metadata:\n', '');
      }
      if (body === '') {
        body = '  name: only\n';
        attrs.name = 'only';
      }
      if (yaml.includes(`\n${key}:\n`) || yaml.startsWith(`${key}:\n`)) continue; // a YAML map key once
      entries.push({ lo, hi, yaml: key, attrs });
      yaml += `${key}:\n${body}`;
    }
    const e = enricherOf(yaml);
    for (let a = 0x0a000000 - 2; a < 0x0a000000 + 1026; a++) {
      const covering = entries.map((en, order) => ({ ...en, order })).filter((en) => en.lo <= a && a <= en.hi)
        .sort((x, y) => (y.hi - y.lo) - (x.hi - x.lo) || x.order - y.order);
      const got = e.lookup(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
      if (covering.length === 0) {
        assert.equal(got, null, `round ${round}, address ${a}`);
        continue;
      }
      let internal = -1, name = '', vlan = 0, tags = '';
      const md = new Map<string, string>();
      for (const c of covering) {
        if (c.attrs.internal !== undefined) internal = c.attrs.internal;
        if (c.attrs.name !== undefined) name = c.attrs.name;
        if (c.attrs.vlan !== undefined) vlan = c.attrs.vlan;
        if (c.attrs.tags !== undefined) tags = c.attrs.tags;
        for (const [k, v] of Object.entries(c.attrs.md)) md.set(k, v);
      }
      assert.ok(got !== null, `round ${round}, address ${a}`);
      assert.deepEqual([got.internal, got.name, got.vlan, got.tags], [internal, name, vlan, tags], `round ${round}, address ${a}`);
      const want = [...md].filter(([k]) => !k.startsWith('.')).sort();
      const wantEnd = [...md].filter(([k]) => k.startsWith('.')).map(([k, v]) => [`flow.src${k}`, v]).sort();
      assert.deepEqual([...got.top].sort(), want, `round ${round}, address ${a}`);
      assert.deepEqual([...got.src].sort(), wantEnd, `round ${round}, address ${a}`);
    }
  }
});

test('ipaddr-metadata: bad files name the entry; attributes it does not use and entries for other contexts are noted', () => {
  const bad: [string, RegExp][] = [
    ['host.example: { name: x }\n', /host\.example: not an address, CIDR/],
    ['192.0.2.9-192.0.2.1: { name: x }\n', /192\.0\.2\.9-192\.0\.2\.1: not an address/],
    ['192.0.2.0/24: { internal: yes }\n', /192\.0\.2\.0\/24: internal is true or false, not "yes"/],
    ['192.0.2.0/24: { vlan: 4095 }\n', /vlan is a VLAN ID from 0 to 4094, not "4095"/],
    ['192.0.2.0/24: { vlan: "-1" }\n', /vlan is a VLAN ID/],
    ['192.0.2.0/24: { tags: wifi }\n', /tags is a list of text/],
    ['192.0.2.0/24: { tags: ["a,b"] }\n', /tag "a,b": a tag may not hold a comma/],
    ['192.0.2.0/24: { name: [a] }\n', /name is text, not a list/],
    // A line break (a YAML block scalar) or another control character: a search field could never hold the name.
    ['192.0.2.0/24:\n  name: |\n    a\n    b\n', /name "a\\nb" holds a control character \(a line break\?\): names and tags are one line of text/],
    ['192.0.2.0/24: { tags: ["ok", "x\\u0000y"] }\n', /a tag "x\\u0000y" holds a control character/],
    ['192.0.2.0/24: { metadata: [a] }\n', /metadata is a map of field name to text/],
    ['192.0.2.0/24: { metadata: { site: { id: 1 } } }\n', /metadata "site" is text, not a map/],
    ['192.0.2.0/24: { metadata: { "a..b": x } }\n', /metadata "a\.\.b": a field name is letters/],
    ['192.0.2.0/24: { metadata: { "a b": x } }\n', /metadata "a b": a field name is letters/],
    ['192.0.2.0/24: { metadata: { flow.bytes: x } }\n', /metadata "flow\.bytes": is the record's field flow\.bytes/],
    ['192.0.2.0/24: { metadata: { network.vlan.id: x } }\n', /is the record's field network\.vlan\.id/],
    ['192.0.2.0/24: { metadata: { flow: x } }\n', /metadata "flow": holds the record's field/],
    ['192.0.2.0/24: { metadata: { .ip: x } }\n', /metadata "\.ip": as flow\.src\.ip holds the record's field flow\.src\.ip\.addr/],
    ['192.0.2.0/24: { metadata: { .geo.city_name: x } }\n', /as source\.geo\.city_name is the record's field source\.geo\.city_name/],
    ['192.0.2.0/24: { metadata: { .as.path: x } }\n', /collides with flow\.dst\.as\.path, which decoders fill/],
    ['192.0.2.0/24: { metadata: { ipfix.foo: x } }\n', /metadata "ipfix\.foo": is in a namespace decoders fill/],
    ['192.0.2.0/24: { metadata: { site: x } }\n192.0.2.1: { metadata: { site.id: y } }\n', /metadata "site" and "site\.id": a field cannot also hold fields/],
    ['192.0.2.0/24: { metadata: { .site: x } }\n192.0.2.1: { metadata: { .site.id: y } }\n', /metadata "\.site" and "\.site\.id": a field cannot also hold fields/],
    // A top-level name under an end's object would collide with the end's own fields in one view or label the wrong end.
    ['192.0.2.0/24: { metadata: { destination.site.id: x, .site.id: y } }\n', /metadata "destination\.site\.id": a field under destination is written with a leading '\.' \(\.site\.id\)/],
    ['192.0.2.0/24: { metadata: { flow.src.site.id: x } }\n', /a field under flow\.src is written with a leading '\.'/],
    ['192.0.2.0/24: { metadata: { source.site: x } }\n', /a field under source is written with a leading '\.'/],
    ['192.0.2.0/24: { metadata: { ipfix: x } }\n', /metadata "ipfix": holds the fields decoders fill under ipfix\./],
    ['192.0.2.0/24: { metadata: { cisco: x } }\n', /holds the fields decoders fill under cisco\./],
    ['192.0.2.0/24: { metadata: { _id: x } }\n', /metadata "_id": a top-level field name starts with a letter or digit/],
    ['192.0.2.0/24: { metadata: { __proto__: x } }\n', /metadata "__proto__": a top-level field name starts with a letter or digit/],
    ['192.0.2.0/24: [name]\n', /192\.0\.2\.0\/24: expected attributes/],
    ['192.0.2.0/24: { contexts: [router], name: x }\n', /contexts is a list of endpoint \(flow ends\) and exporter, not "router"/],
    // An exporter's fields go under flow.export / observer: a name taken there is refused for exporter entries only.
    ['192.0.2.0/24: { contexts: [exporter], metadata: { .type: x } }\n', /metadata "\.type": as flow\.export\.type is the record's field flow\.export\.type/],
    ['192.0.2.0/24: { metadata: { observer.site: x } }\n', /a field under observer is written with a leading '\.' \(\.site\): in an entry with contexts: \[exporter\] it goes under the exporter/],
    ['192.0.2.0/24: { metadata: { .site: x } }\n10.0.0.0/8: { contexts: [exporter, endpoint], metadata: { .site.id: y } }\n', /metadata "\.site" and "\.site\.id": a field cannot also hold fields/],
    ['- 192.0.2.0/24\n', /expected a map of address, CIDR or range/],
  ];
  for (const [text, want] of bad) assert.throws(() => parseMetadataTable(text, 'ipaddrs.yml'), want, text);
  const notes: MetadataParseNotes = { unused: new Set(), noContexts: 0 };
  const t = parseMetadataTable('192.0.2.0/24: { name: a, owner: x, comment: y }\n10.0.0.0/16: { contexts: [exporter], name: e }\n10.1.0.0/16: { contexts: [endpoint, exporter], name: f }\n10.2.0.0/16: { contexts: [], name: g }\n192.0.2.9:\n', 'f', notes);
  assert.deepEqual([[...notes.unused].sort(), notes.noContexts, t.entries], [['comment', 'owner'], 1, 3]);
  assert.deepEqual([t.v4.metas.length, t.exporterV4.metas.length], [2, 2], 'ends: 192.0.2.0/24 and 10.1/16; exporters: 10.0/16 and 10.1/16');
  assert.equal(parseMetadataTable('').entries, 0);
  // An end's `.site` and an exporter's `.site.id` never meet in one object: both load.
  assert.equal(parseMetadataTable('10.0.0.0/8: { metadata: { .site: hq } }\n192.0.2.0/28: { contexts: [exporter], metadata: { .site.id: fra1 } }\n').entries, 2);
  assert.equal(parseMetadataTable('# nothing yet\n').entries, 0);
});

test('ipaddr-metadata: a record gets locality, subnet names and tags, the VLAN the exporter did not send, and fields in both views; the source keeps its top-level value', () => {
  const e = enricherOf(EXAMPLE);
  const r = flow('10.1.2.15', '2001:db8:1::5', { dstVlan: 42 });
  const other = flow('10.200.0.1', '198.51.100.7');
  const counter = Object.assign(new FlowRecord(), { kind: 'counter' as const, srcIp: '', exporterIp: '10.1.2.15' });
  assert.deepEqual([r.srcLocality, r.dstLocality], ['private', 'private'], 'by the registries (2001:db8::/32 is documentation space)');
  e.enrich([r, other, counter]);
  assert.deepEqual([r.srcLocality, r.dstLocality, r.srcSubnetName, r.dstSubnetName, r.srcSubnetTags, r.srcVlan, r.dstVlan], ['private', 'public', 'atlanta_guest_wifi', 'lab-v6', 'wifi,dhcp', 1001, 42]);
  assert.deepEqual(r.extra, { 'flow.src.site.id': '007', 'flow.src.rack.id': 'r7', 'dhcp.pool.name': 'atlanta_guest_wifi' });
  assert.deepEqual([other.srcLocality, other.dstLocality, other.dstSubnetName], ['private', 'private', 'lab']);
  assert.deepEqual([counter.extra, counter.srcSubnetName], [null, '']);
  const codex = JSON.parse(encodeRecord(r, { ecs: false, timestampSource: 'collect' })) as Record<string, unknown>;
  assert.deepEqual([codex['flow.src.ip.subnet.name'], codex['flow.src.ip.subnet.tags'], codex['flow.dst.ip.subnet.name'], codex['flow.dst.ip.subnet.tags'], codex['flow.src.vlan.id'], codex['flow.src.site.id'], codex['dhcp.pool.name']],
    ['atlanta_guest_wifi', ['wifi', 'dhcp'], 'lab-v6', ['lab'], 1001, '007', 'atlanta_guest_wifi']);
  const ecsView = { ecs: true, timestampSource: 'collect' as const };
  const ecs = JSON.parse(encodeRecord(r, ecsView)) as Record<string, unknown>;
  assert.deepEqual([ecs['source.subnet.name'], ecs['source.subnet.tags'], ecs['destination.subnet.name'], ecs['source.site.id'], ecs['source.rack.id'], ecs['dhcp.pool.name'], ecs['flow.src.site.id']],
    ['atlanta_guest_wifi', ['wifi', 'dhcp'], 'lab-v6', '007', 'r7', 'atlanta_guest_wifi', undefined]);
  assert.deepEqual(ecs, toDocument(r, ecsView));
  // Dropping by either view's name, as for schema fields.
  const dropped = JSON.parse(encodeRecord(r, { ...ecsView, drop: ['source.site.*', 'source.subnet.tags'] })) as Record<string, unknown>;
  assert.deepEqual([dropped['source.site.id'], dropped['source.subnet.tags'], dropped['source.rack.id'], dropped['source.subnet.name']], [undefined, undefined, 'r7', 'atlanta_guest_wifi']);
  for (const [view, drop, gone, kept] of [
    [ecsView, ['flow.src.rack.id', 'flow.src.ip.subnet.name'], ['source.rack.id', 'source.subnet.name'], ['source.site.id', 'source.subnet.tags']],
    [{ ecs: false, timestampSource: 'collect' as const }, ['source.rack.*', 'source.subnet.tags'], ['flow.src.rack.id', 'flow.src.ip.subnet.tags'], ['flow.src.site.id', 'flow.src.ip.subnet.name']],
  ] as const) {
    const v = { ...view, drop: [...drop] };
    const doc = JSON.parse(encodeRecord(r, v)) as Record<string, unknown>;
    assert.deepEqual([gone.map((n) => doc[n]), kept.map((n) => doc[n] !== undefined)], [[undefined, undefined], [true, true]], JSON.stringify(drop));
    assert.deepEqual(doc, toDocument(r, v));
  }
  // A decoder's own flow.dst.* extra keeps its name in ECS.
  const path = Object.assign(new FlowRecord(), { srcIp: '192.0.2.1', dstIp: '192.0.2.2' });
  path.setExtra('flow.dst.as.path', '65001 65002');
  assert.equal((JSON.parse(encodeRecord(path, ecsView)) as Record<string, unknown>)['flow.dst.as.path'], '65001 65002');
  // Both ends set one top-level field: the source's value is kept.
  const both = enricherOf('192.0.2.1: { metadata: { owner: src } }\n192.0.2.2: { metadata: { owner: dst } }\n');
  const b = flow('192.0.2.1', '192.0.2.2');
  const rev = flow('192.0.2.2', '192.0.2.1');
  both.enrich([b, rev]);
  assert.deepEqual([b.extra, rev.extra], [{ owner: 'src' }, { owner: 'dst' }]);
  // The stores keep what the file added: the names in columns of their own, the rest in `rest`.
  const cols = flowColumns('collect');
  const back = rowToRecord(cols, Object.fromEntries(cols.map((c) => [c.name, c.get(r)])));
  assert.deepEqual([back.srcSubnetName, back.dstSubnetName, back.srcSubnetTags, back.dstSubnetTags, back.srcVlan, back.extra], ['atlanta_guest_wifi', 'lab-v6', 'wifi,dhcp', 'lab', 1001, r.extra]);
});

test('ipaddr-metadata: entries for exporters (contexts) name the exporter of flow and counter records; an end\'s record-level field wins over the exporter\'s', () => {
  const e = enricherOf(`
192.0.2.0/24:
  contexts: [exporter]
  name: edge routers
  tags: [edge]
  metadata:
    .site.id: fra1
    owner: netops
192.0.2.7:
  contexts: [exporter, endpoint]
  name: edge-7
  metadata:
    .type: x
10.0.0.0/8:
  metadata:
    owner: desktop
`.replace('    .type: x\n', '    .rack: r1\n'));
  const a = Object.assign(flow('10.1.1.1', '8.8.8.8'), { exporterIp: '192.0.2.1' });
  const b = Object.assign(flow('8.8.8.8', '9.9.9.9'), { exporterIp: '192.0.2.1' });
  const c = Object.assign(new FlowRecord(), { kind: 'counter' as const, exporterIp: '192.0.2.7' });
  const d = Object.assign(flow('192.0.2.7', '8.8.8.8'), { exporterIp: '198.51.100.1' });
  e.enrich([a, b, c, d]);
  assert.deepEqual([a.exporterSubnetName, a.exporterSubnetTags, a.extra], ['edge routers', 'edge', { 'flow.export.site.id': 'fra1', owner: 'desktop' }]);
  assert.deepEqual([b.exporterSubnetName, b.extra], ['edge routers', { 'flow.export.site.id': 'fra1', owner: 'netops' }]);
  assert.deepEqual([c.exporterSubnetName, c.exporterSubnetTags, c.extra], ['edge-7', 'edge', { 'flow.export.site.id': 'fra1', 'flow.export.rack': 'r1', owner: 'netops' }]);
  assert.deepEqual([d.exporterSubnetName, d.srcSubnetName, d.extra], ['', 'edge-7', { 'flow.src.rack': 'r1' }], 'an exporter entry names no flow end: only the entry for both does');
  const view = { ecs: true, timestampSource: 'collect' as const };
  const ecs = JSON.parse(encodeRecord(c, view)) as Record<string, unknown>;
  assert.deepEqual([ecs['observer.subnet.name'], ecs['observer.subnet.tags'], ecs['observer.site.id'], ecs['observer.rack'], ecs['owner']], ['edge-7', ['edge'], 'fra1', 'r1', 'netops']);
  assert.deepEqual(ecs, toDocument(c, view));
  const codex = JSON.parse(encodeRecord(a, { ecs: false, timestampSource: 'collect' })) as Record<string, unknown>;
  assert.deepEqual([codex['flow.export.ip.subnet.name'], codex['flow.export.ip.subnet.tags'], codex['flow.export.site.id']], ['edge routers', ['edge'], 'fra1']);
  const back = new FlowRecord();
  restApply(back, restJson(c, 0));
  assert.deepEqual([back.exporterSubnetName, back.exporterSubnetTags], ['edge-7', 'edge']);
});

test('ipaddr-metadata: the Elasticsearch/OpenSearch template maps no text field as a date by its look (a value `2024-01-01` stays keyword)', () => {
  for (const flavor of ['elasticsearch', 'opensearch'] as const) {
    const t = buildTemplate(flavor, 'ufc-codex', 'ufc-codex*', 'codex');
    assert.equal((t.body.template.mappings as Record<string, unknown>)['date_detection'], false, flavor);
  }
});

test('ipaddr-metadata: an end made internal stays out of the RiskIQ output; a registry-private end stays out whatever the file says', () => {
  const e = enricherOf('8.8.8.0/24: { internal: true }\n10.0.0.0/8: { internal: false }\n');
  const a = flow('8.8.8.8', '1.1.1.1');
  const b = flow('10.0.0.1', '1.1.1.1');
  assert.equal(projectRecord(a)!.src_ip, '8.8.8.8', 'public before the file says otherwise');
  e.enrich([a, b]);
  assert.deepEqual([a.srcLocality, b.srcLocality], ['private', 'public']);
  const pa = projectRecord(a)!;
  const pb = projectRecord(b)!;
  assert.deepEqual([pa.src_ip, pa.dst_ip, pb.src_ip, pb.dst_ip], [null, '1.1.1.1', null, '1.1.1.1']);
});

test('ipaddr-metadata: `internal: false` does not make an address of EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS sendable: the RiskIQ output checks those ranges itself', async () => {
  const dir = tempDir('ufc-ipmeta-riq-');
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '5.5.5.0/24',
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg==',
  });
  const locality = new LocalityEnricher(config.EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS);
  const e = enricherOf('5.5.5.0/24: { internal: false }\n6.6.6.0/24: { internal: false }\n');
  const recs = [['5.5.5.5', '1.1.1.1'], ['6.6.6.6', '1.1.1.1']].map(([src, dst]) => Object.assign(new FlowRecord(), { srcIp: src!, dstIp: dst!, proto: 6, srcPort: 40000, dstPort: 443, startTs: 1, endTs: 2 }));
  locality.enrich(recs);
  assert.deepEqual(recs.map((r) => r.srcLocality), ['private', 'public']);
  e.enrich(recs);
  assert.deepEqual(recs.map((r) => r.srcLocality), ['public', 'public'], 'the file wins for flow.locality');
  const audit = join(dir, 'audit.ndjson');
  const out = createRiskiqOutput(config, dir, audit);
  await out.start();
  out.write(recs);
  await out.flush();
  await out.close();
  const rows = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { src_ip: string | null; dst_ip: string | null });
  assert.deepEqual(rows.map((r) => [r.src_ip, r.dst_ip]), [[null, '1.1.1.1'], ['6.6.6.6', '1.1.1.1']]);
});

test('ipaddr-metadata: the path is required when enabled and checked at start-up; a bad file fails start-up naming the option and entry, with decode workers too', async () => {
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true' } }).errors, [
    'EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH="": required when EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE=true; the file of what you know about your addresses',
  ]);
  const missing = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: '/nonexistent/ipaddrs.yml' } });
  assert.ok(missing.errors.some((e) => e.startsWith('EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH="/nonexistent/ipaddrs.yml"')), missing.errors.join('\n'));
  const drop = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: '/nonexistent/ipaddrs.yml', EF_OUTPUT_FILE_DROP_FIELDS: 'site.id' } });
  assert.ok(drop.warnings.some((w) => w.includes('site.id names no field') && w.includes('unless the address metadata file adds it')), drop.warnings.join('\n'));
  const path = join(tempDir('ufc-ipmeta-'), 'ipaddrs.yml');
  writeFileSync(path, '192.0.2.0/24:\n  vlan: 5000\n');
  for (const workers of ['0', '1']) {
    const c = new Collector(testConfig({ EF_FLOW_SERVER_WORKERS: workers, EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: path }));
    await assert.rejects(c.start(), /EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: .*ipaddrs\.yml: 192\.0\.2\.0\/24: vlan is a VLAN ID/, `${workers} workers`);
    await c.stop();
  }
});

test('a running collector applies the address metadata file to a NetFlow v5 exporter\'s flows: decode worker and main thread alike, and the embedded store keeps it', async () => {
  const packet = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const path = join(tempDir('ufc-ipmeta-'), 'ipaddrs.yml');
  async function run(workers: string, store: boolean): Promise<{ docs: Record<string, unknown>[]; stored: Record<string, unknown>[]; exporters: ExporterView[]; files: UserFileStatus[] }> {
    const dir = tempDir('ufc-ipmeta-run-');
    const c = new Collector(testConfig({
      EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: workers,
      EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'f.ndjson'), EF_OUTPUT_DUCKDB_ENABLE: String(store),
      EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: path,
    }));
    await c.start();
    const [port] = await c.listen();
    assert.equal(c.pool?.size ?? 0, Number(workers));
    await sendFrom('127.0.0.1', port!, packet);
    await until(() => c.pipeline.stats.totals().records >= 30);
    await c.flush();
    const now = Date.now();
    const stored = store ? (await flowQueryFrom(c.outputs)!.search({ from: now - 3_600_000, to: now + 60_000, limit: 100 })).rows : [];
    // The Exporters page: the workers answer when synced, as /api/exporters does.
    await c.pool?.sync();
    const exporters = exportersView(c);
    // The Integrations page: the file's status, from the workers' reports (once a second) when they load it.
    await until(() => c.fileStatuses().length > 0);
    const files = c.fileStatuses();
    await c.stop();
    return { docs: readFileSync(join(dir, 'f.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), stored, exporters, files };
  }
  writeFileSync(path, '');
  const plain = await run('0', false);
  assert.equal(plain.docs.length, 30);
  const sources = [...new Set(plain.docs.map((d) => d['flow.src.ip.addr'] as string))].sort();
  assert.ok(sources.length >= 2, sources.join(', '));
  const named = sources[0]!;
  // One source named, internal and tagged; every other address of its /16 gets a site.
  const net16 = named.split('.').slice(0, 2).join('.') + '.0.0/16';
  // The datagrams come from 127.0.0.1: an entry for exporters names it.
  writeFileSync(path, `${net16}:\n  metadata:\n    .site.id: hq\n${named}:\n  name: "named host"\n  internal: false\n  tags: [a, b]\n  metadata:\n    owner: ops\n127.0.0.0/8:\n  contexts: [exporter]\n  name: lab router\n  metadata:\n    .region: lab\n`);
  const in16 = (ip: unknown): boolean => typeof ip === 'string' && ip.startsWith(net16.split('.').slice(0, 2).join('.') + '.');
  for (const workers of ['1', '0']) {
    const { docs, stored, exporters, files } = await run(workers, workers === '0');
    assert.equal(docs.length, 30);
    assert.deepEqual(files.map((f) => [f.what, f.option, f.path, f.entries, f.error, typeof f.loadedAt]), [['address metadata', 'EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH', path, 3, null, 'number']], `${workers} workers: the file's status`);
    assert.deepEqual(exporters.map((e) => [e.exporter, e.network, e.host]), [['127.0.0.1', 'lab router', '']], `${workers} workers: the Exporters page`);
    let seen = 0;
    for (const d of docs) {
      const src = d['flow.src.ip.addr'];
      assert.equal(d['flow.src.ip.subnet.name'], src === named ? 'named host' : undefined, `${workers} workers: ${String(src)}`);
      assert.deepEqual(d['flow.src.ip.subnet.tags'], src === named ? ['a', 'b'] : undefined);
      if (src === named) assert.equal(d['flow.src.ip.locality'], 'public');
      assert.equal(d['flow.src.site.id'], in16(src) ? 'hq' : undefined);
      assert.equal(d['flow.dst.site.id'], in16(d['flow.dst.ip.addr']) ? 'hq' : undefined);
      assert.equal(d['owner'], src === named || d['flow.dst.ip.addr'] === named ? 'ops' : undefined);
      assert.deepEqual([d['flow.export.ip.subnet.name'], d['flow.export.region']], ['lab router', 'lab']);
      if (src === named) seen++;
    }
    assert.ok(seen > 0);
    if (workers === '0') {
      assert.equal(stored.length, 30);
      const fromStore = stored.filter((d) => d['flow.src.ip.addr'] === named);
      assert.equal(fromStore.length, seen);
      for (const d of fromStore) assert.deepEqual([d['flow.src.ip.subnet.name'], d['flow.src.ip.subnet.tags'], d['owner'], d['flow.export.ip.subnet.name']], ['named host', ['a', 'b'], 'ops', 'lab router']);
    }
  }
});

test('ipaddr-metadata: a changed file is parsed on a thread of its own and answers as the same file parsed here; a bad one keeps the table in use, naming the entry; the thread that enriches goes on meanwhile', async () => {
  const dir = tempDir('ufc-ipmeta-reload-');
  const path = join(dir, 'ipaddrs.yml');
  writeFileSync(path, '10.0.0.0/8: { name: first }\n');
  const e = new AddressMetadataEnricher(path, 15);
  await e.start();
  try {
    // 5,000 entries with names, tags, VLANs, fields and overlaps, for both families and exporters.
    const rnd = mulberry32(5);
    let text = '';
    for (let i = 0; i < 5000; i++) {
      const a = `10.${(i >> 8) & 255}.${i & 255}.0/${24 + (i % 5)}`;
      text += `'${a}': { name: "n${i % 97}", tags: [t${i % 7}], vlan: ${1 + (i % 4000)}, metadata: { .site: s${i % 13} }${i % 11 === 0 ? ', contexts: [endpoint, exporter]' : ''} }\n`;
      if (i % 50 === 0) text += `'2001:db8:${i.toString(16)}::/48': { name: "six${i}", internal: true }\n`;
    }
    text += "'10.0.0.0/12': { name: wide, tags: [big] }\n";
    writeFileSync(path, text);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const t0 = Date.now();
    await e.reload();
    const took = Date.now() - t0;
    clearInterval(ticker);
    assert.equal(e.fileStatus().error, null);
    assert.equal(e.fileStatus().entries, 5101);
    assert.ok(ticks >= Math.min(10, took / 20), `this thread ran ${ticks} timer ticks in ${took} ms of parsing`);
    // The same answers as the file parsed on this thread.
    const here = enricherOf(text);
    for (let i = 0; i < 3000; i++) {
      const ip = i % 5 === 0 ? `2001:db8:${Math.floor(rnd() * 5000).toString(16)}::${i}` : `10.${Math.floor(rnd() * 24)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
      assert.deepEqual(e.lookup(ip), here.lookup(ip), ip);
      assert.deepEqual(e.lookupExporter(ip), here.lookupExporter(ip), ip);
    }
    // A bad file: the table stays, the status names the entry.
    writeFileSync(path, text + "'10.9.9.9': { vlan: lots }\n");
    await e.reload();
    assert.match(e.fileStatus().error ?? '', /10\.9\.9\.9: vlan is a VLAN ID/);
    assert.equal(e.fileStatus().entries, 5101);
    assert.equal(e.lookup('10.0.1.1')?.name, here.lookup('10.0.1.1')?.name);
  } finally {
    await e.stop();
  }
});

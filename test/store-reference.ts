/**
 * An independent answer key for the store tests: the query module's questions computed in plain
 * JS straight from FlowRecords (no SQL, no code from src/store; CIDRs via node:net BlockList).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { BlockList, isIPv6 } from 'node:net';
import { join } from 'node:path';
import { toDocument } from '../src/record/fields.js';
import { TOP_FIELDS, type FlowQuery } from '../src/store/query.js';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';
import { tempDir } from './helpers/collect.js';

export interface Row { key: string | number; bytes: number; packets: number; flows: number }

const client = (r: FlowRecord): [string, number, string] => (r.orientation === Orientation.DstIsClient ? [r.dstIp, r.dstPort, r.dstThreatName] : [r.srcIp, r.srcPort, r.srcThreatName]);
const server = (r: FlowRecord): [string, number, string, string] => (r.orientation === Orientation.DstIsClient ? [r.srcIp, r.srcPort, r.srcThreatName, r.srcLocality] : [r.dstIp, r.dstPort, r.dstThreatName, r.dstLocality]);
const names = (s: string): string[] => [...new Set(s.split(',').filter((x) => x !== ''))];

/** Keys of one record for a top-N field (several for threat names, none when absent). */
export function keysOf(field: string, r: FlowRecord): (string | number)[] {
  switch (field) {
    case 'flow.src.ip.addr': return r.srcIp === '' ? [] : [r.srcIp];
    case 'flow.dst.ip.addr': return r.dstIp === '' ? [] : [r.dstIp];
    case 'flow.client.ip.addr': return client(r)[0] === '' ? [] : [client(r)[0]];
    case 'flow.server.ip.addr': return server(r)[0] === '' ? [] : [server(r)[0]];
    case 'flow.src.l4.port.id': return [r.srcPort];
    case 'flow.dst.l4.port.id': return [r.dstPort];
    case 'flow.server.l4.port.id': return [server(r)[1]];
    case 'l4.proto.id': return [r.proto];
    case 'flow.src.as.asn': return r.srcAs === 0 ? [] : [r.srcAs];
    case 'flow.dst.as.asn': return r.dstAs === 0 ? [] : [r.dstAs];
    case 'flow.src.geo.country.name': return r.srcCountry === '' ? [] : [r.srcCountry];
    case 'flow.dst.geo.country.name': return r.dstCountry === '' ? [] : [r.dstCountry];
    case 'sec.threat.name': return names(r.srcThreatName + ',' + r.dstThreatName);
    case 'flow.src.sec.threat.name': return names(r.srcThreatName);
    case 'flow.dst.sec.threat.name': return names(r.dstThreatName);
    case 'sec.threat.feed.name': return names(r.srcThreatFeed + ',' + r.dstThreatFeed);
    case 'flow.export.ip.addr': return r.exporterIp === '' ? [] : [r.exporterIp];
    case 'flow.src.ip.subnet.name': return r.srcSubnetName === '' ? [] : [r.srcSubnetName];
    case 'flow.dst.ip.subnet.name': return r.dstSubnetName === '' ? [] : [r.dstSubnetName];
    case 'flow.src.ip.subnet.tags': return names(r.srcSubnetTags);
    case 'flow.dst.ip.subnet.tags': return names(r.dstSubnetTags);
    default: throw new Error(`reference has no field ${field}`);
  }
}

export interface RefFilter { ip?: string; srcIp?: string; dstIp?: string; port?: number; srcPort?: number; dstPort?: number; proto?: number; exporter?: string; ifIndex?: number; threat?: boolean; net?: string; tag?: string }

interface Cidr { bl: BlockList; v6: boolean; mapped: boolean }

/** ::ffff:0:0/96: IPv4-mapped addresses (RFC 4291 section 2.5.5.2), which records write as ::ffff:a.b.c.d. */
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

function cidrList(text: string): Cidr {
  const bl = new BlockList();
  const [a, len] = text.split('/');
  const v6 = isIPv6(a!);
  if (len === undefined) bl.addAddress(a!, v6 ? 'ipv6' : 'ipv4');
  else bl.addSubnet(a!, Number(len), v6 ? 'ipv6' : 'ipv4');
  return { bl, v6, mapped: v6 && (len === undefined || Number(len) >= 96) && MAPPED.check(a!, 'ipv6') };
}

/**
 * An IPv4-mapped address is its IPv4 address: an IPv4 CIDR matches both, and so does an IPv6 CIDR
 * inside ::ffff:0:0/96. Other IPv6 CIDRs match IPv6 text only (BlockList would match IPv4 against
 * ::/0 too), and IPv4 CIDRs no other IPv6 address.
 */
function inList(c: Cidr, ip: string): boolean {
  if (ip === '') return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? (isIPv6(ip) ? null : ip);
  if (c.v6 && !c.mapped) return isIPv6(ip) && c.bl.check(ip, 'ipv6');
  if (v4 === null) return false;
  return c.v6 ? c.bl.check('::ffff:' + v4, 'ipv6') : c.bl.check(v4, 'ipv4');
}

export function matches(r: FlowRecord, from: number, to: number, f: RefFilter = {}): boolean {
  if (r.kind !== 'flow' || r.collectTs < from || r.collectTs >= to) return false;
  if (f.ip !== undefined) { const bl = cidrList(f.ip); if (!inList(bl, r.srcIp) && !inList(bl, r.dstIp)) return false; }
  if (f.srcIp !== undefined && !inList(cidrList(f.srcIp), r.srcIp)) return false;
  if (f.dstIp !== undefined && !inList(cidrList(f.dstIp), r.dstIp)) return false;
  if (f.port !== undefined && r.srcPort !== f.port && r.dstPort !== f.port) return false;
  if (f.srcPort !== undefined && r.srcPort !== f.srcPort) return false;
  if (f.dstPort !== undefined && r.dstPort !== f.dstPort) return false;
  if (f.proto !== undefined && r.proto !== f.proto) return false;
  if (f.exporter !== undefined && r.exporterIp !== f.exporter) return false;
  if (f.ifIndex !== undefined && r.inIf !== f.ifIndex && r.outIf !== f.ifIndex) return false;
  if (f.threat === true && r.srcThreatName === '' && r.dstThreatName === '') return false;
  if (f.net !== undefined && r.srcSubnetName !== f.net && r.dstSubnetName !== f.net) return false;
  if (f.tag !== undefined && !r.srcSubnetTags.split(',').includes(f.tag) && !r.dstSubnetTags.split(',').includes(f.tag)) return false;
  return true;
}

function sortRows(rows: Row[], metric: 'bytes' | 'packets' | 'flows'): Row[] {
  return rows.sort((a, b) => b[metric] - a[metric] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function topN(recs: readonly FlowRecord[], field: string, metric: 'bytes' | 'packets' | 'flows', from: number, to: number, limit: number, f?: RefFilter): Row[] {
  const m = new Map<string | number, Row>();
  for (const r of recs) {
    if (!matches(r, from, to, f)) continue;
    for (const k of keysOf(field, r)) {
      let row = m.get(k);
      if (row === undefined) m.set(k, (row = { key: k, bytes: 0, packets: 0, flows: 0 }));
      row.bytes += r.bytes;
      row.packets += r.packets;
      row.flows++;
    }
  }
  return sortRows([...m.values()], metric).slice(0, limit);
}

export function series(recs: readonly FlowRecord[], from: number, to: number, step: number, f?: RefFilter): { ts: number; bytes: number; packets: number; flows: number }[] {
  const out: { ts: number; bytes: number; packets: number; flows: number }[] = [];
  const first = Math.floor(from / step) * step;
  for (let t = first; t < to; t += step) out.push({ ts: t, bytes: 0, packets: 0, flows: 0 });
  for (const r of recs) {
    if (!matches(r, from, to, f)) continue;
    const p = out[Math.floor(r.collectTs / step) - first / step]!;
    p.bytes += r.bytes;
    p.packets += r.packets;
    p.flows++;
  }
  return out;
}

export function search(recs: readonly FlowRecord[], from: number, to: number, f?: RefFilter): FlowRecord[] {
  return recs.filter((r) => matches(r, from, to, f)).sort((a, b) => b.collectTs - a.collectTs);
}

export interface ConversationRow { client: string; server: string; port: number; proto: number; bytes: number; packets: number; flows: number }

/** Client, server, server port and protocol of each flow with both addresses, summed; the busiest first by `metric`, ties by key. */
export function conversations(recs: readonly FlowRecord[], from: number, to: number, metric: 'bytes' | 'packets' | 'flows', limit: number, f?: RefFilter): ConversationRow[] {
  const m = new Map<string, ConversationRow>();
  for (const r of recs) {
    if (!matches(r, from, to, f) || r.srcIp === '' || r.dstIp === '') continue;
    const [c] = client(r);
    const [s, serverPort] = server(r);
    const port = r.proto === 1 || r.proto === 58 ? 0 : serverPort;
    const key = JSON.stringify([c, s, port, r.proto]);
    let row = m.get(key);
    if (row === undefined) m.set(key, (row = { client: c, server: s, port, proto: r.proto, bytes: 0, packets: 0, flows: 0 }));
    row.bytes += r.bytes; row.packets += r.packets; row.flows++;
  }
  const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...m.values()].sort((a, b) => b[metric] - a[metric] || cmp(a.client, b.client) || cmp(a.server, b.server) || a.port - b.port || a.proto - b.proto).slice(0, limit);
}

export interface PeerRow { ip: string; flows: number; bytes: number; packets: number; peers: number; threatNames: string[]; network: string }

/** The greatest non-empty network name among an end's flows ('' when none), as the stores pick one. */
const greatest = (names: Set<string>): string => [...names].filter((n) => n !== '').sort().pop() ?? '';

export function atRiskServers(recs: readonly FlowRecord[], from: number, to: number): PeerRow[] {
  const m = new Map<string, PeerRow & { set: Set<string>; names: Set<string>; nets: Set<string> }>();
  for (const r of recs) {
    if (!matches(r, from, to)) continue;
    const [cip, , cthreat] = client(r);
    const [sip, , sthreat, sloc] = server(r);
    if (cthreat === '' || sthreat !== '' || (sloc !== 'private' && sloc !== '')) continue;
    let row = m.get(sip);
    if (row === undefined) m.set(sip, (row = { ip: sip, flows: 0, bytes: 0, packets: 0, peers: 0, threatNames: [], network: '', set: new Set(), names: new Set(), nets: new Set() }));
    row.flows++; row.bytes += r.bytes; row.packets += r.packets; row.set.add(cip);
    row.nets.add(r.orientation === Orientation.DstIsClient ? r.srcSubnetName : r.dstSubnetName);
    for (const n of names(cthreat)) row.names.add(n);
  }
  return [...m.values()].map((x) => ({ ip: x.ip, flows: x.flows, bytes: x.bytes, packets: x.packets, peers: x.set.size, threatNames: [...x.names].sort(), network: greatest(x.nets) }))
    .sort((a, b) => b.flows - a.flows || (a.ip < b.ip ? -1 : 1));
}

export function highRiskClients(recs: readonly FlowRecord[], from: number, to: number): PeerRow[] {
  const m = new Map<string, PeerRow & { set: Set<string>; names: Set<string>; nets: Set<string> }>();
  for (const r of recs) {
    if (!matches(r, from, to)) continue;
    const [cip, , cthreat] = client(r);
    const [sip] = server(r);
    if (cthreat === '') continue;
    let row = m.get(cip);
    if (row === undefined) m.set(cip, (row = { ip: cip, flows: 0, bytes: 0, packets: 0, peers: 0, threatNames: [], network: '', set: new Set(), names: new Set(), nets: new Set() }));
    row.flows++; row.bytes += r.bytes; row.packets += r.packets; row.set.add(sip);
    row.nets.add(r.orientation === Orientation.DstIsClient ? r.dstSubnetName : r.srcSubnetName);
    for (const n of names(cthreat)) row.names.add(n);
  }
  return [...m.values()].map((x) => ({ ip: x.ip, flows: x.flows, bytes: x.bytes, packets: x.packets, peers: x.set.size, threatNames: [...x.names].sort(), network: greatest(x.nets) }))
    .sort((a, b) => b.flows - a.flows || (a.ip < b.ip ? -1 : 1));
}

export function exporters(recs: readonly FlowRecord[], from: number, to: number): { exporter: string; flows: number; bytes: number; packets: number; firstSeen: number; lastSeen: number }[] {
  const m = new Map<string, { exporter: string; flows: number; bytes: number; packets: number; firstSeen: number; lastSeen: number }>();
  for (const r of recs) {
    if (!matches(r, from, to)) continue;
    let e = m.get(r.exporterIp);
    if (e === undefined) m.set(r.exporterIp, (e = { exporter: r.exporterIp, flows: 0, bytes: 0, packets: 0, firstSeen: Infinity, lastSeen: -Infinity }));
    e.flows++; e.bytes += r.bytes; e.packets += r.packets;
    e.firstSeen = Math.min(e.firstSeen, r.collectTs); e.lastSeen = Math.max(e.lastSeen, r.collectTs);
  }
  return [...m.values()].sort((a, b) => b.flows - a.flows || (a.exporter < b.exporter ? -1 : 1));
}

export interface IfRow { exporter: string; ifIndex: number; name: string; inBytes: number; inPackets: number; inFlows: number; outBytes: number; outPackets: number; outFlows: number }

/**
 * Per exporter interface: a flow counts in on its input interface and out on its output one. Its
 * name is the newest non-empty one flows in range gave it as their input interface, else as their
 * output interface.
 */
export function interfaces(recs: readonly FlowRecord[], from: number, to: number, f?: RefFilter): IfRow[] {
  const m = new Map<string, IfRow & { inAt: number; outAt: number; outName: string }>();
  const at = (exporter: string, ifIndex: number): IfRow & { inAt: number; outAt: number; outName: string } => {
    let x = m.get(`${exporter}|${ifIndex}`);
    if (x === undefined) m.set(`${exporter}|${ifIndex}`, (x = { exporter, ifIndex, name: '', inBytes: 0, inPackets: 0, inFlows: 0, outBytes: 0, outPackets: 0, outFlows: 0, inAt: -Infinity, outAt: -Infinity, outName: '' }));
    return x;
  };
  for (const r of recs) {
    if (!matches(r, from, to, f)) continue;
    const i = at(r.exporterIp, r.inIf), o = at(r.exporterIp, r.outIf);
    i.inBytes += r.bytes; i.inPackets += r.packets; i.inFlows++;
    o.outBytes += r.bytes; o.outPackets += r.packets; o.outFlows++;
    if (r.inIfName !== '' && r.collectTs > i.inAt) { i.inAt = r.collectTs; i.name = r.inIfName; }
    if (r.outIfName !== '' && r.collectTs > o.outAt) { o.outAt = r.collectTs; o.outName = r.outIfName; }
  }
  const total = (x: IfRow): number => x.inBytes + x.outBytes;
  return [...m.values()]
    .map(({ inAt: _i, outAt: _o, outName, ...x }) => ({ ...x, name: x.name !== '' ? x.name : outName }))
    .sort((a, b) => total(b) - total(a) || (a.exporter !== b.exporter ? (a.exporter < b.exporter ? -1 : 1) : a.ifIndex - b.ifIndex));
}

/**
 * Interface names (from options data) through a store: flows naming their interfaces, one renamed
 * later, one named only as an output interface, one never named, a name with quotes and non-ASCII
 * text, and a look-alike key inside another value. The Interfaces summary names each by its newest
 * name, and search gives the names back. Both stores use it.
 */
export async function checkInterfaceNames(out: { write(r: FlowRecord[]): void; flush(): Promise<void>; flowQuery(): FlowQuery | null }): Promise<void> {
  const now = Date.now();
  const exporter = '192.0.2.78';
  const flow = (ago: number, inIf: number, inName: string, outIf: number, outName: string): FlowRecord => {
    const r = new FlowRecord();
    r.collectTs = now - ago; r.exporterIp = exporter; r.exportType = 'ipfix'; r.exportVersion = 10;
    r.srcIp = '10.1.0.1'; r.dstIp = '10.1.0.2'; r.ipVersion = 4; r.proto = 6; r.bytes = 1000 - ago; r.packets = 1;
    r.inIf = inIf; r.inIfName = inName; r.outIf = outIf; r.outIfName = outName;
    return r;
  };
  const recs = [
    flow(50, 1, 'Gi0/0', 2, 'Gi0/1'),
    flow(40, 1, 'Gi0/0 "uplink" \u00fc', 2, ''),
    flow(30, 3, '', 1, 'Gi0/0 (old name, as output)'),
    flow(20, 5, '', 3, ''),
    flow(10, 4, '', 5, 'Te1/1 \u{1F600}'),
  ];
  recs[3]!.setExtra('vendor.note', '"inIfName":"not a name"');
  out.write(recs);
  await out.flush();
  const q = out.flowQuery()!;
  const got = await q.interfaces({ from: now - 100, to: now, filter: { exporter }, limit: 100 });
  assert.deepEqual(got, interfaces(recs, now - 100, now, { exporter }));
  assert.deepEqual(Object.fromEntries(got.map((x) => [x.ifIndex, x.name])), { 1: 'Gi0/0 "uplink" \u00fc', 2: 'Gi0/1', 3: '', 4: '', 5: 'Te1/1 \u{1F600}' });
  const docs = (await q.search({ from: now - 100, to: now, filter: { exporter }, limit: 10 })).rows;
  const newest = docs.find((d) => d['flow.in.netif.index'] === 4)!;
  assert.deepEqual([newest['flow.in.netif.name'], newest['flow.out.netif.name']], [undefined, 'Te1/1 \u{1F600}']);
}

/**
 * Synthetic flows for the hourly summaries, spread evenly over [from, to): every overview field
 * with a few repeating values (empty and zero ones too), from one exporter. The generator's state
 * carries over between calls of one maker.
 */
export function rollupMaker(seed: number): (from: number, to: number, n: number) => FlowRecord[] {
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  return (from, to, n) => Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.collectTs = from + Math.floor(((to - from) * i) / n);
    r.exporterIp = '192.0.2.8'; r.ipVersion = 4;
    r.srcIp = `10.0.${rnd(4)}.${rnd(40)}`; r.dstIp = rnd(9) === 0 ? '' : `198.51.100.${rnd(30)}`;
    r.proto = [6, 17, 1][rnd(3)]!; r.srcPort = 1024 + rnd(5); r.dstPort = [53, 80, 443][rnd(3)]!;
    r.orientation = rnd(2) + 1;
    r.bytes = 40 + rnd(100_000); r.packets = 1 + rnd(90);
    r.srcCountry = ['', 'France', 'Japan'][rnd(3)]!; r.dstCountry = ['Chile', 'Kenya', ''][rnd(3)]!;
    r.srcAs = [0, 64500, 64501][rnd(3)]!; r.srcAsOrg = r.srcAs === 0 ? '' : `Org ${r.srcAs}`;
    r.dstAs = [64510, 0][rnd(2)]!; r.dstAsOrg = r.dstAs === 0 ? '' : `Net ${r.dstAs}`;
    r.srcSubnetName = ['', 'office', 'lab'][rnd(3)]!; r.dstSubnetName = ['dmz', '', 'office'][rnd(3)]!;
    return r;
  });
}

/** The overview's top lists (every field and metric) and its series at three steps over `ranges`, against the reference. */
export async function checkOverviewLists(q: FlowQuery, recs: readonly FlowRecord[], ranges: [number, number][], what: string, origin: number): Promise<void> {
  for (const [from, to] of ranges) {
    for (const field of ['flow.src.ip.addr', 'flow.dst.ip.addr', 'flow.server.l4.port.id', 'l4.proto.id', 'flow.src.geo.country.name', 'flow.dst.geo.country.name', 'flow.src.as.asn', 'flow.dst.as.asn', 'flow.src.ip.subnet.name', 'flow.dst.ip.subnet.name'] as const) {
      for (const metric of ['bytes', 'packets', 'flows'] as const) {
        const got = await q.topN({ from, to, field, metric, limit: 1000 });
        assert.deepEqual(got.map(({ key, bytes, packets, flows }) => ({ key, bytes, packets, flows })), topN(recs, field, metric, from, to, 1000), `${what}: topN ${field} by ${metric} over [${from - origin}, ${to - origin})`);
        if (field === 'flow.src.as.asn') assert.deepEqual(got.map((r) => r.label), got.map((r) => `Org ${r.key}`), `${what}: AS labels`);
      }
    }
    for (const step of [60_000, 900_000, 3_600_000]) {
      const aligned = Math.floor(from / step) * step;
      assert.deepEqual(await q.series({ from: aligned, to, stepMs: step }), series(recs, aligned, to, step), `${what}: series step ${step} over [${aligned - origin}, ${to - origin})`);
    }
  }
}

/** Synthetic enriched records for the threat views (the captures carry no threat names). */
export function threatMix(now: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  const bad = ['198.51.100.7', '198.51.100.8', '203.0.113.9'];
  const ours = ['10.1.0.5', '10.1.0.6', '10.1.0.7', '10.1.0.8'];
  for (let i = 0; i < 600; i++) {
    const r = new FlowRecord();
    r.collectTs = now - 60_000 + i * 50;
    r.exporterIp = i % 2 ? '192.0.2.1' : '192.0.2.2';
    r.exportType = 'ipfix'; r.exportVersion = 10; r.ipVersion = 4; r.proto = 6;
    r.bytes = 100 + i * 3; r.packets = 1 + (i % 7);
    const inbound = i % 3 !== 0;
    const outside = i % 5 === 0 ? '192.0.2.200' : bad[i % bad.length]!;
    const inside = ours[i % ours.length]!;
    // Inbound: the outside end is the client; outbound: ours is. Orientation varies by which end is source.
    if (i % 2 === 0) {
      r.srcIp = inbound ? outside : inside; r.dstIp = inbound ? inside : outside;
      r.srcPort = 40000 + i; r.dstPort = inbound ? 22 : 443;
      r.orientation = Orientation.SrcIsClient;
    } else {
      r.dstIp = inbound ? outside : inside; r.srcIp = inbound ? inside : outside;
      r.dstPort = 40000 + i; r.srcPort = inbound ? 22 : 443;
      r.orientation = Orientation.DstIsClient;
    }
    for (const [ip, set] of [[r.srcIp, 'src'], [r.dstIp, 'dst']] as const) {
      const local = ip.startsWith('10.') ? 'private' : 'public';
      const threat = bad.includes(ip) ? (ip === '203.0.113.9' ? 'scanner' : 'botnet,c2') : '';
      if (set === 'src') { r.srcLocality = local; r.srcThreatName = threat; r.srcThreatFeed = threat === '' ? '' : 'riskiq'; }
      else { r.dstLocality = local; r.dstThreatName = threat; r.dstThreatFeed = threat === '' ? '' : 'riskiq'; }
    }
    r.srcCountry = r.srcLocality === 'public' ? 'Netherlands' : '';
    r.dstCountry = r.dstLocality === 'public' ? 'Netherlands' : '';
    r.srcAs = r.srcLocality === 'public' ? 64496 : 0; r.srcAsOrg = r.srcAs ? 'Example "Net"' : '';
    // Networks as an address metadata file names them: two of ours, one left out, and one listed address.
    const net = (ip: string): string => ({ '10.1.0.5': 'servers', '10.1.0.6': 'servers', '10.1.0.7': 'desktops', '203.0.113.9': 'scanners' } as Record<string, string>)[ip] ?? '';
    r.srcSubnetName = net(r.srcIp); r.dstSubnetName = net(r.dstIp);
    if (i % 50 === 0) r.setExtra('vendor.tag', `t${i}`);
    out.push(r);
  }
  return out;
}

/**
 * Names for the replayed captures' ends, by an address metadata file (netMetadataEnv): the halves
 * of the IPv4 space and of the IPv6 one, one with a quote and a non-ASCII letter (JSON escapes).
 * 192.0.0.0/2 is left unnamed, so some ends carry no name.
 */
export const NET_METADATA: Record<string, string> = {
  '0.0.0.0-127.255.255.255': 'low half',
  '128.0.0.0/2': 'Büro "B"',
  '::/1': 'six',
};

/**
 * The same networks' tags: one tag on two networks, one that another begins with ('lan' and
 * 'lan2': a tag filter matches whole tags), quotes and a non-ASCII letter.
 */
export const NET_TAGS: Record<string, string[]> = {
  '0.0.0.0-127.255.255.255': ['lan', 'shared'],
  '128.0.0.0/2': ['lan2', 'Tür "7"', 'shared'],
  '::/1': ['lan'],
};

/**
 * Reference for an interface's counter rates: its counter records in time order, and between each
 * two the growth of ifHCIn/OutOctets (bits per second) and of the in unicast, multicast and broadcast
 * packets, over the time between them. (The captures have no restart nor wrap.)
 */
export function counterRatesRef(records: readonly FlowRecord[], exporter: string, ifIndex: number, from: number, to: number) {
  const mine = records.filter((r) => r.kind === 'counter' && r.exporterIp === exporter && r.inIf === ifIndex && r.collectTs >= from && r.collectTs < to)
    .sort((a, b) => a.collectTs - b.collectTs);
  const v = (r: FlowRecord, name: string): number => Number(r.extra?.[`sflow.counter.${name}`]);
  const points: { ts: number; inBps: number; outBps: number; inPps: number }[] = [];
  let inOctets = 0, outOctets = 0;
  for (let i = 1; i < mine.length; i++) {
    const a = mine[i - 1]!, b = mine[i]!;
    const s = (b.collectTs - a.collectTs) / 1000;
    const dIn = v(b, 'if_in_octets') - v(a, 'if_in_octets'), dOut = v(b, 'if_out_octets') - v(a, 'if_out_octets');
    const pk = ['if_in_ucast_pkts', 'if_in_multicast_pkts', 'if_in_broadcast_pkts'].reduce((t, n) => t + v(b, n) - v(a, n), 0);
    points.push({ ts: b.collectTs, inBps: (dIn * 8) / s, outBps: (dOut * 8) / s, inPps: pk / s });
    inOctets += dIn;
    outOctets += dOut;
  }
  return { samples: mine.length, points, inOctets, outOctets, speed: mine.length > 0 ? v(mine[mine.length - 1]!, 'if_speed') : undefined };
}

/** Environment entries that turn the address metadata enricher on with NET_METADATA (its file in a temp dir). */
export function netMetadataEnv(): Record<string, string> {
  const path = join(tempDir(), 'net-metadata.yml');
  writeFileSync(path, Object.entries(NET_METADATA).map(([k, name]) => `'${k}':\n  name: ${JSON.stringify(name)}\n  tags: ${JSON.stringify(NET_TAGS[k])}\n`).join(''));
  return { EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: path };
}

const view = { ecs: false, timestampSource: 'collect' as const };
const docKey = (d: Record<string, unknown>): string => JSON.stringify(d);

/** Asks a store every kind of question about `records` (already stored) and checks each answer against the reference. */
export async function checkAllQueries(q: FlowQuery, records: readonly FlowRecord[]): Promise<void> {
  const ref = { topN, series, search, exporters, interfaces };
  const flows = records.filter((r) => r.kind === 'flow');
  assert.ok(flows.length >= 100, `captures gave ${flows.length} flow records`);
  assert.ok(records.length > flows.length, 'sFlow counter records are in the mix (and excluded from flow queries)');
  const from = Math.min(...records.map((r) => r.collectTs));
  const to = Math.max(...records.map((r) => r.collectTs)) + 1;

  // Top-N for every field and metric, against the reference (limit high enough for ties not to cut).
  for (const field of TOP_FIELDS) {
    for (const metric of ['bytes', 'packets', 'flows'] as const) {
      const got = (await q.topN({ from, to, field, metric, limit: 1000 })).map(({ key, bytes, packets, flows: f }) => ({ key, bytes, packets, flows: f }));
      assert.deepEqual(got, ref.topN(records, field, metric, from, to, 1000), `topN ${field} by ${metric}`);
    }
  }
  const top3 = await q.topN({ from, to, field: 'flow.dst.l4.port.id', metric: 'bytes', limit: 3 });
  assert.deepEqual(top3.map((r) => r.key), ref.topN(records, 'flow.dst.l4.port.id', 'bytes', from, to, 3).map((r) => r.key));
  const protos = await q.topN({ from, to, field: 'l4.proto.id', metric: 'flows' });
  assert.ok(protos.some((p) => p.label === 'tcp' || p.label === 'udp'), 'protocol rows carry their keyword');

  // Time series over the whole span (captures are years apart) and over two minutes at 1 s.
  const wide = Math.ceil((to - from) / 500);
  assert.deepEqual(await q.series({ from, to, stepMs: wide }), ref.series(records, from, to, wide), `series step ${wide}`);
  const mid = flows[Math.floor(flows.length / 3)]!.collectTs;
  const narrow = ref.series(records, mid - 60_000, mid + 60_000, 1000);
  assert.ok(narrow.some((p) => p.flows > 0));
  assert.deepEqual(await q.series({ from: mid - 60_000, to: mid + 60_000, stepMs: 1000 }), narrow);
  const busiestProto = protos[0]!.key as number;
  assert.deepEqual(await q.series({ from, to, stepMs: wide, filter: { proto: busiestProto } }), ref.series(records, from, to, wide, { proto: busiestProto }));

  // Search: filters taken from the data, answers compared document by document.
  const sample = flows[Math.floor(flows.length / 2)]!;
  const v4 = flows.find((r) => r.ipVersion === 4)!;
  const v6 = flows.find((r) => r.ipVersion === 6);
  const filters: RefFilter[] = [
    {},
    { ip: v4.srcIp },
    { ip: v4.dstIp.split('.').slice(0, 3).join('.') + '.0/24' },
    { srcIp: v4.srcIp.split('.').slice(0, 2).join('.') + '.0.0/16', proto: v4.proto },
    { port: sample.dstPort },
    { srcPort: sample.srcPort, dstPort: sample.dstPort },
    { exporter: sample.exporterIp },
    { exporter: sample.exporterIp, ifIndex: sample.outIf },
    { ifIndex: sample.inIf },
    { exporter: sample.exporterIp, proto: sample.proto, ip: '0.0.0.0/0' },
  ];
  if (v6 !== undefined) filters.push({ ip: v6.srcIp }, { ip: v6.srcIp + '/64' }, { dstIp: v6.dstIp + '/32' });
  // Networks named by NET_METADATA (the replay's address metadata file), each on either end.
  const nets = [...new Set(flows.flatMap((r) => [r.srcSubnetName, r.dstSubnetName]))].filter((n) => n !== '').sort();
  assert.deepEqual(nets, Object.values(NET_METADATA).sort(), 'the address metadata file named ends of every network');
  for (const net of nets) filters.push({ net }, { net, proto: sample.proto });
  // Their tags, each on either end (whole tags: 'lan' is not 'lan2').
  const tags = [...new Set(flows.flatMap((r) => [...r.srcSubnetTags.split(','), ...r.dstSubnetTags.split(',')]))].filter((t) => t !== '').sort();
  assert.deepEqual(tags, [...new Set(Object.values(NET_TAGS).flat())].sort(), 'the address metadata file tagged ends of every network');
  for (const tag of tags) filters.push({ tag }, { tag, proto: sample.proto });
  for (const f of filters) {
    const want = ref.search(records, from, to, f);
    assert.ok(want.length > 0, `filter ${JSON.stringify(f)} matches something`);
    const got = await q.search({ from, to, filter: f, limit: 1000 });
    assert.equal(got.total, want.length, `total for ${JSON.stringify(f)}`);
    assert.equal(await q.count({ from, to, filter: f }), want.length, `count for ${JSON.stringify(f)}`);
    const page = want.length <= 1000 ? want : null;
    if (page !== null) {
      const wantDocs = page.map((r) => docKey(toDocument(r, view))).sort();
      assert.deepEqual(got.rows.map(docKey).sort(), wantDocs, `documents for ${JSON.stringify(f)}`);
    }
    for (let i = 1; i < got.rows.length; i++) assert.ok((got.rows[i - 1]!['@timestamp'] as number) >= (got.rows[i]!['@timestamp'] as number), 'newest first');
  }
  // Paging: two pages are the first rows of the full list, in order, without overlap.
  const all = await q.search({ from, to, limit: 20 });
  const p1 = await q.search({ from, to, limit: 10, offset: 0 });
  const p2 = await q.search({ from, to, limit: 10, offset: 10 });
  assert.deepEqual([...p1.rows, ...p2.rows], all.rows);
  assert.equal(p1.total, flows.length);

  // Conversations, busiest first by each metric, whole and filtered, and cut at a limit.
  for (const metric of ['bytes', 'packets', 'flows'] as const) {
    assert.deepEqual(await q.conversations({ from, to, metric, limit: 1000 }), conversations(records, from, to, metric, 1000), `conversations by ${metric}`);
  }
  const convs = conversations(records, from, to, 'bytes', 1000);
  assert.ok(convs.length > 20 && convs.some((c) => c.client.includes(':')), 'conversations over IPv4 and IPv6');
  assert.deepEqual(await q.conversations({ from, to, limit: 5 }), convs.slice(0, 5));
  for (const f of [{ proto: 17 }, { exporter: sample.exporterIp }, { ip: v4.srcIp }]) {
    assert.deepEqual(await q.conversations({ from, to, filter: f, limit: 1000 }), conversations(records, from, to, 'bytes', 1000, f), `conversations of ${JSON.stringify(f)}`);
  }

  // Each sFlow interface's own counters as rates between its samples, against the records' values.
  const polled = [...new Set(records.filter((r) => r.kind === 'counter').map((r) => `${r.exporterIp} ${r.inIf}`))];
  assert.ok(polled.length >= 2, 'counter samples of several interfaces in the captures');
  for (const key of polled) {
    const [exporter, ifText] = key.split(' ');
    const want = counterRatesRef(records, exporter!, Number(ifText), from, to);
    assert.ok(want.points.length >= 2, `${key}: several intervals`);
    const got = await q.interfaceCounters({ from, to, exporter: exporter!, ifIndex: Number(ifText) });
    const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);
    assert.deepEqual(got.points.map((p) => [p.ts, round(p.inBps), round(p.outBps), round(p.inPps)]), want.points.map((p) => [p.ts, round(p.inBps), round(p.outBps), round(p.inPps)]), key);
    assert.deepEqual([got.samples, got.totals.inOctets, got.totals.outOctets, got.latest?.speed], [want.samples, want.inOctets, want.outOctets, want.speed], key);
  }
  assert.equal((await q.interfaceCounters({ from, to, exporter: polled[0]!.split(' ')[0]!, ifIndex: 999_999 })).samples, 0, 'an interface never polled');

  // Per-exporter summary.
  const ex = await q.exporters({ from, to });
  assert.deepEqual(ex.map(({ exporter, flows: f, bytes, packets, firstSeen, lastSeen }) => ({ exporter, flows: f, bytes, packets, firstSeen, lastSeen })), ref.exporters(records, from, to));
  assert.ok(ex.length >= 3, 'several exporters in the captures');
  const anyEx = ex.find((e) => e.exportType === 'ipfix');
  assert.ok(anyEx !== undefined && anyEx.exportVersion === 10);

  // Per exporter interface, whole and filtered, and cut at a limit.
  const ifs = ref.interfaces(records, from, to);
  assert.ok(ifs.length >= 4 && ifs.some((x) => x.ifIndex > 0 && x.inFlows > 0 && x.outFlows > 0), 'interfaces with traffic both ways');
  assert.deepEqual(await q.interfaces({ from, to, limit: 10_000 }), ifs);
  assert.deepEqual(await q.interfaces({ from, to, limit: 3 }), ifs.slice(0, 3));
  assert.deepEqual(await q.interfaces({ from, to, filter: { exporter: sample.exporterIp }, limit: 10_000 }), ref.interfaces(records, from, to, { exporter: sample.exporterIp }));
  // One interface's flows: itself first, and the interfaces its flows came in on or went out by.
  const ifFilter = { exporter: sample.exporterIp, ifIndex: sample.inIf };
  assert.deepEqual(await q.interfaces({ from, to, filter: ifFilter, limit: 10_000 }), ref.interfaces(records, from, to, ifFilter));
  assert.deepEqual(await q.interfaces({ from, to, filter: { proto: 17 }, limit: 10_000 }), ref.interfaces(records, from, to, { proto: 17 }));

  // The oldest flow, over everything and from inside the data (counter records are not flows).
  const flowTimes = flows.map((r) => r.collectTs).sort((a, b) => a - b);
  assert.equal(await q.oldest({ from: 1, to }), flowTimes[0]);
  const later = flowTimes[Math.floor(flowTimes.length / 2)]!;
  assert.equal(await q.oldest({ from: later, to }), later);
  assert.equal(await q.oldest({ from: 1, to: flowTimes[0]! }), null, 'none before the first');

  // An empty range answers zeros, not an error.
  assert.equal((await q.search({ from: 1, to: 2 })).total, 0);
}

/** The threat views over `recs` (from threatMix(now), already stored), against the reference. */
export async function checkThreatViews(q: FlowQuery, recs: readonly FlowRecord[], now: number): Promise<void> {
  const ref = { topN, search, atRiskServers, highRiskClients };
  const from = now - 3_600_000, to = now + 1;
  const tf = await q.threatFlows({ from, to, limit: 1000 });
  const want = ref.search(recs, from, to, { threat: true });
  assert.equal(tf.total, want.length);
  assert.ok(tf.total > 0 && tf.total < recs.length);
  assert.deepEqual(tf.rows.map(docKey).sort(), want.map((r) => docKey(toDocument(r, view))).sort());
  const names = await q.topN({ from, to, field: 'sec.threat.name', metric: 'flows' });
  assert.deepEqual(names.map(({ key, flows }) => ({ key, flows })), ref.topN(recs, 'sec.threat.name', 'flows', from, to, 10).map(({ key, flows }) => ({ key, flows })));
  assert.deepEqual(new Set(names.map((n) => n.key)), new Set(['botnet', 'c2', 'scanner']));

  const ars = await q.atRiskServers({ from, to, limit: 100 });
  assert.deepEqual(ars.map((s) => ({ ip: s.ip, flows: s.flows, bytes: s.bytes, packets: s.packets, peers: s.clients, threatNames: s.threatNames, network: s.network })), ref.atRiskServers(recs, from, to));
  assert.ok(ars.length > 0 && ars.every((s) => s.ip.startsWith('10.')), 'at-risk servers are ours');
  assert.deepEqual(new Set(ars.map((s) => s.network)), new Set(['servers', 'desktops', '']), 'with their networks');
  const hrc = await q.highRiskClients({ from, to, limit: 100 });
  assert.deepEqual(hrc.map((c) => ({ ip: c.ip, flows: c.flows, bytes: c.bytes, packets: c.packets, peers: c.servers, threatNames: c.threatNames, network: c.network })), ref.highRiskClients(recs, from, to));
  assert.ok(hrc.length >= 2);
  const asn = await q.topN({ from, to, field: 'flow.src.as.asn', metric: 'bytes' });
  assert.equal(asn[0]!.label, 'Example "Net"', 'AS rows carry the organisation');
}

/** Values wider than their columns: a port read from a long field, a counter at 2^64, an ifIndex past 32 bits. */
export function wideRecord(now: number, exporter: string): FlowRecord {
  const r = new FlowRecord();
  r.collectTs = now - 3; r.exporterIp = exporter; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 6;
  r.srcPort = 70_000; r.bytes = 2 ** 64; r.packets = 2 ** 63; r.inIf = 2 ** 32 + 5; r.tos = 300;
  return r;
}

/**
 * Writes a wide record (wideRecord) and an ordinary one through `out`, then checks both came back,
 * the wide one at its columns' bounds, with 5 values clamped and no failed send. Both stores use it.
 */
export async function checkWideValues(out: { write(r: FlowRecord[]): void; flush(): Promise<void>; flowQuery(): FlowQuery | null; counters(): Record<string, number> }): Promise<void> {
  const now = Date.now();
  const good = new FlowRecord();
  good.collectTs = now - 2; good.exporterIp = '192.0.2.66'; good.srcIp = '10.0.0.3'; good.dstIp = '10.0.0.4'; good.ipVersion = 4; good.proto = 17; good.bytes = 10; good.packets = 1;
  out.write([wideRecord(now, '192.0.2.66'), good]);
  await out.flush();
  const found = await out.flowQuery()!.search({ from: now - 10, to: now, filter: { exporter: '192.0.2.66' } });
  assert.equal(found.total, 2);
  const wide = found.rows.find((d) => (d['flow.bytes'] as number) > 1e18)!;
  assert.deepEqual([wide['flow.src.l4.port.id'], wide['flow.bytes'], wide['flow.packets'], wide['flow.in.netif.index'], wide['ip.tos']], [65535, 9223372036854774784, 9223372036854774784, 4294967295, 255]);
  assert.equal(out.counters().values_clamped, 5);
  assert.equal(out.counters().failures, 0);
  await checkEdgesAlike(out, now);
}

/**
 * Address and CIDR filters over IPv4 and IPv6 in every textual form the records carry, each answer
 * from the reference: exact addresses, aligned and unaligned IPv4 prefixes (whole octets compare as
 * text in SQL, the rest by one octet's number), prefixes shorter than an octet, and IPv6 ones
 * including IPv4 tails; IPv4 filters match IPv4-mapped ends and IPv4-mapped filters plain IPv4 ones.
 * Both stores use it.
 */
export async function checkIpSearch(out: { write(r: FlowRecord[]): void; flush(): Promise<void>; flowQuery(): FlowQuery | null }): Promise<void> {
  const now = Date.now();
  const addrs = ['::', '::1', '1::', 'fe80::1:2', '2001:db8::', '2001:db8::ffff', '2001:db8:0:1::5', '2001:db8:1:2:3:4:5:6', 'ff02::fb', '2001:db9::1',
    // IPv6 with an IPv4 tail, as the decoder writes IPv4-mapped addresses; ::ffff:abcd is not one, and
    // other addresses are written in hex (64:ff9b::198.51.100.1 as 64:ff9b::c633:6401).
    '::ffff:10.0.0.1', '::ffff:192.0.2.255', '::ffff:128.0.0.1', '::ffff:0.0.0.0', '::ffff:abcd', '64:ff9b::c633:6401',
    // IPv6 filters compare this text (RFC 5952, as decode/ip.ts writes it), so addresses whose '::'
    // falls inside a prefix, before it, or past it with the prefix's zeros written out, and ones
    // that start like a prefix's text but are outside it: 2001::5:a:b:c is 2001:0:0:0:5:.., not in
    // 2001:0:0:5::/64; 2001:db8::5:6:7:8 is in 2001:db8::/64, not /80; 0:0:1::1 and ::2:3:4:5:6:7 are
    // in ::/32 and not ::/48.
    '2001:db8::fffe', '2001:db8:0:0:1::', '2001:db8::5:6:7:8', '2001:db8:aaaa::1', '2001:db8:aaaa:1::1', '2001:db8:aaab::1',
    '2001::5:a:b:c', '2001::5:1:2:3:4', '2001:0:0:5::1', '2001:0:5::1', '2002::1', '2002:c000:201::1', '2003::2002:1',
    '0:0:1::1', '::2:3:4:5:6:7', '0:1::', '::1:0:0:0:1', '2606:4700:5::5', '2606:4700:5::6',
    // 2001:db8::7a:0:0:1 has 7a fourth between its colons, as 2001:db8:0:7a::1 (in 2001:db8:0:70::/60) has.
    '2001:db8:ab00::1', '2001:db8:0:7a::1', '2001:db8:0:80::1', '2001:db8::7a:0:0:1', 'fe80::1',
    '0.0.0.0', '10.0.0.1', '10.0.0.255', '10.0.1.0', '10.0.2.0', '10.1.0.1', '100.0.0.1', '1.0.0.10', '192.168.255.255', '192.168.127.1',
    '255.255.255.255', '11.0.0.0', '127.0.0.1', '128.0.0.1',
    // Past a prefix of 12, 20 or 28 bits but within its whole octets (10., 10.0., 10.0.0.): only a test
    // of the next octet's number tells them from the addresses inside.
    '10.20.0.1', '10.0.16.1', '10.0.0.16', '10.0.0.200'];
  const recs: FlowRecord[] = [];
  addrs.forEach((a, i) => {
    const r = new FlowRecord();
    r.collectTs = now - i; r.exporterIp = '192.0.2.9'; r.srcIp = a; r.dstIp = a.includes(':') ? '2001:db8::abcd' : '10.9.9.9';
    r.ipVersion = a.includes(':') ? 6 : 4; r.proto = 17; r.bytes = 10 + i; r.packets = 1;
    recs.push(r);
  });
  out.write(recs);
  await out.flush();
  const q = out.flowQuery()!;
  const cidrs = ['::/0', '::/128', '::1', '1::/16', 'fe80::/10', '2001:db8::/32', '2001:db8::/48', '2001:db8:0:1::/64', '2001:db8::ffff/128', '2001:db8:1:2:3:4:5:6',
    'ff00::/8', '2001:db8::/31', '::ffff:0:0/96', '::ffff:10.0.0.0/104', '::ffff:10.0.0.1', '::ffff:a00:1', '::ffff:192.0.2.0/120', '64:ff9b::/96',
    '::ffff:0:0/95', '::ffff:0:0/97', '::ffff:10.0.0.0/103', '::ffff:10.0.0.0/110', '::ffff:10.0.0.0/112', '::ffff:abcd', '::ffff:abcd/128',
    // An IPv6 address in any spelling finds its one stored text.
    '2001:DB8::FFFF', '2001:0db8:0000:0000:0000:0000:0000:ffff', '2001:db8:0:0:0:0:0:ffff', '2001:db8::0:ffff',
    '0:0:0:0:0:0:0:1', '::0:1', '2606:4700:5:0:0:0:0:5', '2606:4700:0005::0005', '2001:db8:0:0:1:0:0:0', '::FFFF:ABCD', '64:ff9b::198.51.100.1',
    // Prefixes: their groups read off the text, ending in zeros the '::' may take, or neither.
    '2001::/16', '2002::/16', '2001:db8::/32', '2001:db8:aaaa::/48', '2001:db8:aaaa::/47', '2001:db8::/64', '2001:db8::/80', '2001:db8::/33',
    '2001:0:0:5::/64', '2001:0:5::/48', '2001:0:5::/64', '2001::/32', '2001::/48', '::/16', '::/32', '::/48', '::/64', '::/80', '0:1::/32',
    '2001:db8::fffe/127', '2001:db8::ffff/127', '2001:db8::4/126', '2606:4700:5::/48', '2606:4700:5::/64', '2606:4700:5::4/126', '2000::/3', '2001:db8:aaaa:1::/64',
    '2001:db8:aa00::/40', '2001:db8:0:70::/60', '2001:db8:0:0:70::/76', '8000::/1', '::/1', 'fe00::/9', '2001:db8:aaaa::/63', '2001:db8::/33', '2001:db8::/49', '::/17', '0:8000::/17',
    '0.0.0.0/0', '10.0.0.0/24', '10.0.0.0/8', '10.0.0.0/16', '192.168.0.0/16', '255.255.255.255/32', '10.0.0.1', '1.0.0.1', '10.0.0.25', '10.0.0.1/32',
    '10.0.1.0/31', '10.0.0.128/25', '10.0.0.0/23', '10.0.0.0/15', '10.0.0.0/12', '192.168.128.0/17', '192.168.0.0/17', '11.0.0.0/7', '0.0.0.0/1',
    '128.0.0.0/1', '96.0.0.0/3', '10.0.2.0/23', '10.0.0.0/9', '100.0.0.0/6', '10.16.0.0/12', '10.0.0.0/20', '10.0.16.0/20',
    '10.0.0.0/28', '10.0.0.16/28', '10.0.0.192/28'];
  for (const c of cidrs) {
    const want = search(recs, now - 1000, now + 1, { srcIp: c });
    const got = await q.search({ from: now - 1000, to: now + 1, filter: { srcIp: c } });
    assert.equal(got.total, want.length, `srcIp ${c}`);
    assert.deepEqual(got.rows.map((d) => d['flow.src.ip.addr']).sort(), want.map((r) => r.srcIp).sort(), `srcIp ${c}`);
    const either = await q.search({ from: now - 1000, to: now + 1, filter: { ip: c } });
    assert.equal(either.total, search(recs, now - 1000, now + 1, { ip: c }).length, `ip ${c}`);
  }
  // The exporter filter finds an exporter by any text of its address: stored exporters are in RFC 5952
  // form, IPv4-mapped ones as IPv4.
  const v6 = new FlowRecord();
  v6.collectTs = now - 500; v6.exporterIp = '2001:db8::7'; v6.srcIp = '10.0.0.1'; v6.dstIp = '10.0.0.2'; v6.ipVersion = 4; v6.proto = 6; v6.bytes = 1; v6.packets = 1;
  // A link-local exporter, stored with its datagrams' zone as Node gives it.
  const zoned = Object.assign(new FlowRecord(), v6, { exporterIp: 'fe80::1%eth0' });
  out.write([v6, zoned]);
  await out.flush();
  for (const [text, want] of [['2001:db8::7', 1], ['2001:DB8::7', 1], ['2001:0db8:0:0:0:0:0:0007', 1], [' 2001:db8::0:7 ', 1], ['2001:db8::8', 0],
    ['192.0.2.9', addrs.length], ['::ffff:192.0.2.9', addrs.length], ['::FFFF:c000:209', addrs.length], ['FE80:0::1%eth0', 1], ['fe80::1', 0], ['::ffff:192.0.2.9%eth0', addrs.length]] as const) {
    assert.equal((await q.search({ from: now - 1000, to: now + 1, filter: { exporter: text } })).total, want, `exporter ${text}`);
  }
}

/**
 * Pages of a search read from the newest part of the range when it holds them (query.ts): over rows
 * spread evenly, rows mostly old with a few recent ones (the window comes up short), and a recent
 * burst, every page equals the same slice of the whole list, and the totals are the reference's.
 * Both stores use it.
 */
export async function checkSearchPages(out: { write(r: FlowRecord[]): void; flush(): Promise<void>; flowQuery(): FlowQuery | null }): Promise<void> {
  const now = Date.now();
  const H = 3_600_000;
  const shapes: Record<string, (i: number, n: number) => number> = {
    '192.0.2.101': (i, n) => now - 10 * H + Math.floor((10 * H * i) / n),
    '192.0.2.102': (i, n) => (i < n - 3 ? now - 10 * H + i * 1000 : now - 1000 * (n - i)),
    '192.0.2.103': (i, n) => (i < 50 ? now - 10 * H + i * 60_000 : now - 60_000 + Math.floor((60_000 * (i - 50)) / (n - 50))),
  };
  const recs: FlowRecord[] = [];
  for (const [exporter, at] of Object.entries(shapes)) {
    for (let i = 0; i < 600; i++) {
      const r = new FlowRecord();
      // Some rows share a time: the order's other keys decide between them.
      r.collectTs = at(i, 600) - (i % 3 === 0 ? 0 : 1); r.exporterIp = exporter; r.srcIp = `10.1.${i % 7}.${i % 200}`; r.dstIp = '10.2.0.1';
      r.ipVersion = 4; r.proto = 6; r.srcPort = 1000 + (i % 13); r.dstPort = 443; r.bytes = 100 + i; r.packets = 1;
      recs.push(r);
    }
  }
  out.write(recs);
  await out.flush();
  const q = out.flowQuery()!;
  const range = { from: now - 11 * H, to: now + 1 };
  for (const exporter of Object.keys(shapes)) {
    const filter = { exporter };
    const all = await q.search({ ...range, filter, limit: 1000 });
    assert.equal(all.total, search(recs, range.from, range.to, filter).length, `${exporter}: total`);
    assert.equal(all.rows.length, 600);
    for (const [offset, limit] of [[0, 10], [0, 50], [10, 10], [590, 10], [595, 10], [600, 10], [37, 100], [500, 100]] as const) {
      const got = await q.search({ ...range, filter, limit, offset });
      assert.equal(got.total, 600);
      assert.deepEqual(got.rows.map(docKey), all.rows.slice(offset, offset + limit).map(docKey), `${exporter}: page at ${offset}, ${limit}`);
    }
  }
}

/**
 * Where the two stores could part (each answer worked out by hand): sums of counters near 2^63 (a
 * ClickHouse sum of UInt64 wraps past 2^64), a flow with no source address among rows of the same
 * time and exporter (NULL sorts last in DuckDB, '' first in ClickHouse), and a peer with no address
 * (not a peer). Both stores use it.
 */
async function checkEdgesAlike(out: { write(r: FlowRecord[]): void; flush(): Promise<void>; flowQuery(): FlowQuery | null }, now: number): Promise<void> {
  const at = now - 5;
  const make = (o: Partial<FlowRecord>): FlowRecord => Object.assign(new FlowRecord(), { collectTs: at, exporterIp: '192.0.2.67', ipVersion: 4, proto: 47, bytes: 2 ** 63 - 1024, packets: 1, ...o });
  out.write([
    make({ srcIp: '10.9.0.1', dstIp: '10.9.0.9' }),
    make({ srcIp: '', dstIp: '10.9.0.9' }),
    make({ srcIp: '198.51.100.66', dstIp: '10.9.0.2', srcThreatName: 'c2', orientation: Orientation.SrcIsClient }),
    make({ srcIp: '198.51.100.66', dstIp: '', srcThreatName: 'c2', orientation: Orientation.SrcIsClient, proto: 46, bytes: 1 }),
  ]);
  await out.flush();
  const q = out.flowQuery()!;
  const range = { from: at, to: at + 1 };
  const [top] = await q.topN({ ...range, field: 'l4.proto.id', metric: 'bytes', filter: { proto: 47 } });
  assert.equal(top!.bytes, 3 * (2 ** 63 - 1024), 'three counters near 2^63 sum past 2^64 without wrapping');
  const [point] = (await q.series({ ...range, stepMs: 1000, filter: { proto: 47 } })).filter((x) => x.flows > 0);
  assert.equal(point!.bytes, 3 * (2 ** 63 - 1024));
  const page = await q.search({ ...range, filter: { exporter: '192.0.2.67', proto: 47 }, limit: 3 });
  assert.deepEqual(page.rows.map((d) => d['flow.src.ip.addr'] ?? ''), ['', '10.9.0.1', '198.51.100.66'], 'no source address first, in both stores');
  const clients = await q.highRiskClients({ ...range, limit: 10 });
  assert.deepEqual(clients.map((c) => [c.ip, c.flows, c.servers]), [['198.51.100.66', 2, 1]], 'a flow with no destination address adds no peer');
}

/**
 * An export is one view of the store: rows written while it is being read (newer than every row,
 * inside its range) neither repeat rows at a page boundary nor push others out. Both stores use it.
 */
export async function checkExportSnapshot(out: { write(r: FlowRecord[]): void; flush(): Promise<void>; flowQuery(): FlowQuery | null }, exporter: string): Promise<void> {
  const base = Date.now() - 600_000;
  const make = (from: number, n: number) => Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.collectTs = base + from + i; r.exporterIp = exporter; r.srcIp = '10.1.0.1'; r.dstIp = '10.1.0.2'; r.ipVersion = 4; r.proto = 6;
    r.bytes = from + i; r.packets = 1;
    return r;
  });
  const N = 12_000;
  out.write(make(0, N));
  await out.flush();
  const seen: number[] = [];
  let pieces = 0;
  await out.flowQuery()!.exportSearch({ from: base, to: base + 3_600_000, filter: { exporter }, limit: 100_000 }, async (docs) => {
    for (const d of docs) seen.push(d['flow.bytes'] as number);
    if (pieces++ < 3) {
      out.write(make(N + pieces * 1000, 1000));
      await out.flush();
    }
    return true;
  });
  assert.ok(pieces > 1, `read in ${pieces} pieces: the rows written between them must not show`);
  assert.equal(new Set(seen).size, seen.length, 'no row twice');
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), 'exactly the rows there when the export began');
}

/**
 * An independent answer key for the store tests: the query module's questions computed in plain
 * JS straight from FlowRecords (no SQL, no code from src/store; CIDRs via node:net BlockList).
 */
import { BlockList, isIPv6 } from 'node:net';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';

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
    case 'flow.export.ip.addr': return r.exporterIp === '' ? [] : [r.exporterIp];
    default: throw new Error(`reference has no field ${field}`);
  }
}

export interface RefFilter { ip?: string; srcIp?: string; dstIp?: string; port?: number; srcPort?: number; dstPort?: number; proto?: number; exporter?: string; threat?: boolean }

interface Cidr { bl: BlockList; v6: boolean }

function cidrList(text: string): Cidr {
  const bl = new BlockList();
  const [a, len] = text.split('/');
  const v6 = isIPv6(a!);
  if (len === undefined) bl.addAddress(a!, v6 ? 'ipv6' : 'ipv4');
  else bl.addSubnet(a!, Number(len), v6 ? 'ipv6' : 'ipv4');
  return { bl, v6 };
}

/** A CIDR matches addresses of its own family only (BlockList would match IPv4 against ::/0 via ::ffff:0:0/96). */
function inList(c: Cidr, ip: string): boolean {
  if (ip === '' || isIPv6(ip) !== c.v6) return false;
  return c.bl.check(ip, c.v6 ? 'ipv6' : 'ipv4');
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
  if (f.threat === true && r.srcThreatName === '' && r.dstThreatName === '') return false;
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

export interface PeerRow { ip: string; flows: number; bytes: number; packets: number; peers: number; threatNames: string[] }

export function atRiskServers(recs: readonly FlowRecord[], from: number, to: number): PeerRow[] {
  const m = new Map<string, PeerRow & { set: Set<string>; names: Set<string> }>();
  for (const r of recs) {
    if (!matches(r, from, to)) continue;
    const [cip, , cthreat] = client(r);
    const [sip, , sthreat, sloc] = server(r);
    if (cthreat === '' || sthreat !== '' || (sloc !== 'private' && sloc !== '')) continue;
    let row = m.get(sip);
    if (row === undefined) m.set(sip, (row = { ip: sip, flows: 0, bytes: 0, packets: 0, peers: 0, threatNames: [], set: new Set(), names: new Set() }));
    row.flows++; row.bytes += r.bytes; row.packets += r.packets; row.set.add(cip);
    for (const n of names(cthreat)) row.names.add(n);
  }
  return [...m.values()].map((x) => ({ ip: x.ip, flows: x.flows, bytes: x.bytes, packets: x.packets, peers: x.set.size, threatNames: [...x.names].sort() }))
    .sort((a, b) => b.flows - a.flows || (a.ip < b.ip ? -1 : 1));
}

export function highRiskClients(recs: readonly FlowRecord[], from: number, to: number): PeerRow[] {
  const m = new Map<string, PeerRow & { set: Set<string>; names: Set<string> }>();
  for (const r of recs) {
    if (!matches(r, from, to)) continue;
    const [cip, , cthreat] = client(r);
    const [sip] = server(r);
    if (cthreat === '') continue;
    let row = m.get(cip);
    if (row === undefined) m.set(cip, (row = { ip: cip, flows: 0, bytes: 0, packets: 0, peers: 0, threatNames: [], set: new Set(), names: new Set() }));
    row.flows++; row.bytes += r.bytes; row.packets += r.packets; row.set.add(sip);
    for (const n of names(cthreat)) row.names.add(n);
  }
  return [...m.values()].map((x) => ({ ip: x.ip, flows: x.flows, bytes: x.bytes, packets: x.packets, peers: x.set.size, threatNames: [...x.names].sort() }))
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
    if (i % 50 === 0) r.setExtra('vendor.tag', `t${i}`);
    out.push(r);
  }
  return out;
}

/**
 * The flat flow row the pages and the CSV export use, taken from a stored record's CODEX document
 * (the NDJSON export writes the documents themselves).
 */
export interface FlowRow {
  ts: number;
  /** First and last packet; null when the exporter gave no flow times (a v5 exporter without a clock). */
  start: number | null;
  end: number | null;
  exporter: string;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  proto: number;
  protoName: string;
  bytes: number;
  packets: number;
  /** Null where the document leaves them out: for a protocol other than TCP (6). */
  tcpFlags: number | null;
  srcCountry: string;
  dstCountry: string;
  srcThreat: string[];
  dstThreat: string[];
  srcFeed: string[];
  dstFeed: string[];
  communityId: string;
  /**
   * Input and output interface (ifIndex; null when the exporter sent none, as the document leaves it
   * out) and the exporter's names for them ('' unknown).
   */
  inIf: number | null;
  outIf: number | null;
  inIfName: string;
  outIfName: string;
  /** Host names by reverse DNS ('' none). */
  srcHost: string;
  dstHost: string;
  /** The exporter's host name by reverse DNS ('' none). */
  exporterHost: string;
  /** Network names and tags from the user's address metadata file ('' / none). */
  srcNet: string;
  dstNet: string;
  srcNetTags: string[];
  dstNetTags: string[];
}

const n = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);
/**
 * A number the document leaves out when unknown (flow times, TCP flags of another protocol, an
 * interface the exporter did not send): null, an empty CSV cell, as the NDJSON export has no value.
 * Not 0: a spreadsheet reads a time of 0 as 1970-01-01, and 0 would be flags and an ifIndex never sent.
 */
const known = (v: unknown): number | null => (v === undefined || v === null || v === '' ? null : n(v));
const s = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v !== '' ? v.split(',') : []);

export function flowRow(d: Record<string, unknown>): FlowRow {
  return {
    ts: n(d['@timestamp']),
    start: known(d['flow.start.timestamp']),
    end: known(d['flow.end.timestamp']),
    exporter: s(d['flow.export.ip.addr']),
    srcIp: s(d['flow.src.ip.addr']),
    srcPort: n(d['flow.src.l4.port.id']),
    dstIp: s(d['flow.dst.ip.addr']),
    dstPort: n(d['flow.dst.l4.port.id']),
    proto: n(d['l4.proto.id']),
    protoName: s(d['l4.proto.name']),
    bytes: n(d['flow.bytes']),
    packets: n(d['flow.packets']),
    tcpFlags: known(d['tcp.flags']),
    srcCountry: s(d['flow.src.geo.country.name']),
    dstCountry: s(d['flow.dst.geo.country.name']),
    srcThreat: list(d['flow.src.sec.threat.name']),
    dstThreat: list(d['flow.dst.sec.threat.name']),
    srcFeed: list(d['flow.src.sec.threat.feed.name']),
    dstFeed: list(d['flow.dst.sec.threat.feed.name']),
    communityId: s(d['flow.community.id']),
    inIf: known(d['flow.in.netif.index']),
    outIf: known(d['flow.out.netif.index']),
    inIfName: s(d['flow.in.netif.name']),
    outIfName: s(d['flow.out.netif.name']),
    srcHost: s(d['flow.src.host.name']),
    dstHost: s(d['flow.dst.host.name']),
    exporterHost: s(d['flow.export.host.name']),
    srcNet: s(d['flow.src.ip.subnet.name']),
    dstNet: s(d['flow.dst.ip.subnet.name']),
    srcNetTags: list(d['flow.src.ip.subnet.tags']),
    dstNetTags: list(d['flow.dst.ip.subnet.tags']),
  };
}

/** CSV header, in CODEX names so a spreadsheet and the NDJSON export agree. */
export const CSV_COLUMNS = [
  '@timestamp', 'flow.start.timestamp', 'flow.end.timestamp', 'flow.export.ip.addr', 'flow.src.ip.addr', 'flow.src.l4.port.id',
  'flow.dst.ip.addr', 'flow.dst.l4.port.id', 'l4.proto.id', 'l4.proto.name', 'flow.bytes', 'flow.packets', 'tcp.flags',
  'flow.src.geo.country.name', 'flow.dst.geo.country.name', 'flow.src.sec.threat.name', 'flow.dst.sec.threat.name',
  'flow.src.sec.threat.feed.name', 'flow.dst.sec.threat.feed.name', 'flow.community.id',
  // Added later: at the end, so scripts reading the earlier columns by position keep working.
  'flow.in.netif.index', 'flow.out.netif.index', 'flow.in.netif.name', 'flow.out.netif.name',
  'flow.src.host.name', 'flow.dst.host.name',
  'flow.src.ip.subnet.name', 'flow.dst.ip.subnet.name', 'flow.export.host.name',
] as const;

/**
 * RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so spreadsheets do not run it as a formula. An unknown value is an empty cell.
 * A number of 2^53 or more is written with all its digits: String() gives a counter held at the int64
 * bound (9223372036854774784, as the store holds it) as 9223372036854775000, 216 more to an exact reader.
 */
function cell(v: string | number | null): string {
  if (v === null) return '';
  let t = typeof v === 'number' && Math.abs(v) >= 2 ** 53 && Number.isFinite(v) ? BigInt(v).toString() : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(t)) t = `'${t}`;
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

export function toCsvRow(r: FlowRow): string {
  return [
    r.ts, r.start, r.end, r.exporter, r.srcIp, r.srcPort, r.dstIp, r.dstPort, r.proto, r.protoName, r.bytes, r.packets, r.tcpFlags,
    r.srcCountry, r.dstCountry, r.srcThreat.join(';'), r.dstThreat.join(';'), r.srcFeed.join(';'), r.dstFeed.join(';'), r.communityId,
    r.inIf, r.outIf, r.inIfName, r.outIfName, r.srcHost, r.dstHost, r.srcNet, r.dstNet, r.exporterHost,
  ].map(cell).join(',');
}

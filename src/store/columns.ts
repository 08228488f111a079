/**
 * The flow table's columns, defined once for both stores (DuckDB and ClickHouse): the core fields
 * (the ones queries filter and group by) get typed columns; the rest of the record (fields that
 * are usually unset or only displayed, and `extra`, the unmapped information elements) goes into
 * one JSON column, `rest`. Fewer columns because each costs DuckDB time per appended row whether
 * set or not (measured: 60 columns append at half the rate of 36). Column names are internal; the
 * query API answers with the public CODEX names of fields.ts by rebuilding a FlowRecord from a row
 * (`rowToRecord`).
 *
 * Absent values: numbers keep the record's own "unknown" value (0, or -1 where FlowRecord says so);
 * strings are NULL in DuckDB (no native call per empty cell) and '' in ClickHouse (its convention:
 * Nullable columns cost an extra file per column).
 */
import { FlowRecord, MAX_I64, MAX_TIME_MS, type ExportType, type Locality, type RecordKind } from '../record/flow-record.js';
import { pickTimestamp, type TimestampSource } from '../record/fields.js';

/** `enum`: a string from a short fixed list (DuckDB stores it as ENUM: one byte, no string copy per row). */
export type ColKind = 'u8' | 'u16' | 'u32' | 'i16' | 'i64' | 'f64' | 'str' | 'enum';

export interface Column {
  name: string;
  kind: ColKind;
  /** The allowed values of an `enum` column. */
  values?: readonly string[];
  /** Reads the value from a record; strings return '' when absent, f64 NaN when absent. */
  get(r: FlowRecord): number | string;
  /** Writes a stored value back into a record (for search results). */
  set(r: FlowRecord, v: number | string): void;
  /**
   * The `rest` JSON key (a FlowRecord property) under which versions before this column kept its
   * value: a store that adds the column to an older table fills it from there for the rows before.
   */
  fromRest?: string;
}

/**
 * The latest time (epoch ms) a row's `ts` may carry: ClickHouse partitions by day, and its dates wrap
 * to 1970 from 2106-02-07 00:00 UTC (such a row was dropped by the next retention pass). Both stores
 * clamp to it, so they hold the same rows.
 */
export const MAX_TS_MS = MAX_TIME_MS;
/** Re-exported for the stores, which clamp int64 columns to it. */
export { MAX_I64 };
const INT_RANGE: Record<'u8' | 'u16' | 'u32' | 'i16' | 'i64', readonly [number, number]> = {
  u8: [0, 0xff], u16: [0, 0xffff], u32: [0, 0xffffffff], i16: [-0x8000, 0x7fff], i64: [0, MAX_I64],
};

/**
 * `v` as a whole number inside an integer column's range: below it (or NaN) the lowest value, above
 * it the highest. Both stores encode integers through it, so a value too wide for its column (a
 * 64-bit counter at 2^64, a port read from an 8-octet field) is stored at the bound in both, alike,
 * instead of failing the whole batch (and every retry of it) or wrapping around.
 */
export function clampInt(kind: 'u8' | 'u16' | 'u32' | 'i16' | 'i64', v: number): number {
  const range = INT_RANGE[kind];
  if (!(v > range[0])) return range[0];
  if (v >= range[1]) return range[1];
  return Math.trunc(v);
}

const n = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && v !== '' ? Number(v) : 0);
/** A text value as the drivers return it; NULL (DuckDB's absent string) is ''. */
export const textOf = (v: unknown): string => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/**
 * Ordered for the appender; `ts` first. `ts` is @timestamp per the output's _TIMESTAMP_SOURCE,
 * so time-range queries and retention use the time the user chose.
 */
export function flowColumns(tsSource: TimestampSource): Column[] {
  const pick = (r: FlowRecord): number => {
    const ts = pickTimestamp(r, tsSource);
    return ts > MAX_TS_MS ? MAX_TS_MS : ts;
  };
  return [
    // ts is also the collect time unless the rest says otherwise (collectTs there when it differs).
    { name: 'ts', kind: 'i64', get: pick, set: (r, v) => (r.collectTs = n(v)) },
    { name: 'export_ts', kind: 'i64', get: (r) => r.exportTs, set: (r, v) => (r.exportTs = n(v)) },
    { name: 'start_ts', kind: 'i64', get: (r) => r.startTs, set: (r, v) => (r.startTs = n(v)) },
    { name: 'end_ts', kind: 'i64', get: (r) => r.endTs, set: (r, v) => (r.endTs = n(v)) },
    { name: 'kind', kind: 'enum', values: ['flow', 'counter'], get: (r) => r.kind, set: (r, v) => (r.kind = (textOf(v) || 'flow') as RecordKind) },
    { name: 'exporter', kind: 'str', get: (r) => r.exporterIp, set: (r, v) => (r.exporterIp = textOf(v)) },
    { name: 'export_version', kind: 'u16', get: (r) => r.exportVersion, set: (r, v) => (r.exportVersion = n(v)) },
    { name: 'export_type', kind: 'enum', values: ['netflow', 'ipfix', 'sflow'], get: (r) => r.exportType, set: (r, v) => (r.exportType = textOf(v) as ExportType) },
    { name: 'ip_version', kind: 'u8', get: (r) => r.ipVersion, set: (r, v) => (r.ipVersion = n(v)) },
    { name: 'src_ip', kind: 'str', get: (r) => r.srcIp, set: (r, v) => (r.srcIp = textOf(v)) },
    { name: 'dst_ip', kind: 'str', get: (r) => r.dstIp, set: (r, v) => (r.dstIp = textOf(v)) },
    { name: 'src_port', kind: 'u16', get: (r) => r.srcPort, set: (r, v) => (r.srcPort = n(v)) },
    { name: 'dst_port', kind: 'u16', get: (r) => r.dstPort, set: (r, v) => (r.dstPort = n(v)) },
    { name: 'proto', kind: 'u8', get: (r) => r.proto, set: (r, v) => (r.proto = n(v)) },
    { name: 'bytes', kind: 'i64', get: (r) => r.bytes, set: (r, v) => (r.bytes = n(v)) },
    { name: 'packets', kind: 'i64', get: (r) => r.packets, set: (r, v) => (r.packets = n(v)) },
    { name: 'sampling_rate', kind: 'u32', get: (r) => r.samplingRate, set: (r, v) => (r.samplingRate = n(v)) },
    { name: 'tcp_flags', kind: 'u16', get: (r) => r.tcpFlags, set: (r, v) => (r.tcpFlags = n(v)) },
    { name: 'tos', kind: 'u8', get: (r) => r.tos, set: (r, v) => (r.tos = n(v)) },
    { name: 'src_mask', kind: 'u8', get: (r) => r.srcMask, set: (r, v) => (r.srcMask = n(v)) },
    { name: 'dst_mask', kind: 'u8', get: (r) => r.dstMask, set: (r, v) => (r.dstMask = n(v)) },
    { name: 'next_hop', kind: 'str', get: (r) => r.nextHop, set: (r, v) => (r.nextHop = textOf(v)) },
    { name: 'in_if', kind: 'u32', get: (r) => r.inIf, set: (r, v) => (r.inIf = n(v)) },
    { name: 'out_if', kind: 'u32', get: (r) => r.outIf, set: (r, v) => (r.outIf = n(v)) },
    { name: 'src_as', kind: 'u32', get: (r) => r.srcAs, set: (r, v) => (r.srcAs = n(v)) },
    { name: 'dst_as', kind: 'u32', get: (r) => r.dstAs, set: (r, v) => (r.dstAs = n(v)) },
    { name: 'community_id', kind: 'str', get: (r) => r.communityId, set: (r, v) => (r.communityId = textOf(v)) },
    { name: 'src_locality', kind: 'enum', values: ['private', 'public'], get: (r) => r.srcLocality, set: (r, v) => (r.srcLocality = textOf(v) as Locality) },
    { name: 'dst_locality', kind: 'enum', values: ['private', 'public'], get: (r) => r.dstLocality, set: (r, v) => (r.dstLocality = textOf(v) as Locality) },
    { name: 'orientation', kind: 'u8', get: (r) => r.orientation, set: (r, v) => (r.orientation = n(v)) },
    { name: 'src_country', kind: 'str', get: (r) => r.srcCountry, set: (r, v) => (r.srcCountry = textOf(v)) },
    { name: 'src_city', kind: 'str', get: (r) => r.srcCity, set: (r, v) => (r.srcCity = textOf(v)) },
    { name: 'src_as_org', kind: 'str', get: (r) => r.srcAsOrg, set: (r, v) => (r.srcAsOrg = textOf(v)) },
    { name: 'dst_country', kind: 'str', get: (r) => r.dstCountry, set: (r, v) => (r.dstCountry = textOf(v)) },
    { name: 'dst_city', kind: 'str', get: (r) => r.dstCity, set: (r, v) => (r.dstCity = textOf(v)) },
    { name: 'dst_as_org', kind: 'str', get: (r) => r.dstAsOrg, set: (r, v) => (r.dstAsOrg = textOf(v)) },
    { name: 'src_threat_name', kind: 'str', get: (r) => r.srcThreatName, set: (r, v) => (r.srcThreatName = textOf(v)) },
    { name: 'src_threat_feed', kind: 'str', get: (r) => r.srcThreatFeed, set: (r, v) => (r.srcThreatFeed = textOf(v)) },
    { name: 'dst_threat_name', kind: 'str', get: (r) => r.dstThreatName, set: (r, v) => (r.dstThreatName = textOf(v)) },
    { name: 'dst_threat_feed', kind: 'str', get: (r) => r.dstThreatFeed, set: (r, v) => (r.dstThreatFeed = textOf(v)) },
    { name: 'rest', kind: 'str', get: (r) => restJson(r, pick(r)), set: (r, v) => restApply(r, textOf(v)) },
    // Added after `rest` (so older tables only gain columns at the end), and set back only when
    // present: rows written before them carry the names in `rest`, applied just above.
    { name: 'src_net', kind: 'str', get: (r) => r.srcSubnetName, set: (r, v) => setIfPresent(r, 'srcSubnetName', v), fromRest: 'srcSubnetName' },
    { name: 'dst_net', kind: 'str', get: (r) => r.dstSubnetName, set: (r, v) => setIfPresent(r, 'dstSubnetName', v), fromRest: 'dstSubnetName' },
  ];
}

function setIfPresent(r: FlowRecord, key: 'srcSubnetName' | 'dstSubnetName', v: number | string): void {
  const text = textOf(v);
  if (text !== '') r[key] = text;
}

/**
 * The rest of a record as JSON, by FlowRecord property name; only values that differ from the
 * record's defaults (so a plain NetFlow v5 record writes nothing). Built by concatenation:
 * this runs per record.
 */
export function restJson(r: FlowRecord, ts: number): string {
  let o = '';
  if (r.collectTs !== ts) o += ',"collectTs":' + r.collectTs;
  if (r.observationDomain !== 0) o += ',"observationDomain":' + r.observationDomain;
  if (r.sequence !== 0) o += ',"sequence":' + r.sequence;
  if (r.icmpType !== 0) o += ',"icmpType":' + r.icmpType;
  if (r.icmpCode !== 0) o += ',"icmpCode":' + r.icmpCode;
  if (r.srcVlan !== 0) o += ',"srcVlan":' + r.srcVlan;
  if (r.dstVlan !== 0) o += ',"dstVlan":' + r.dstVlan;
  if (r.srcMac !== '') o += ',"srcMac":' + JSON.stringify(r.srcMac);
  if (r.dstMac !== '') o += ',"dstMac":' + JSON.stringify(r.dstMac);
  if (r.direction !== -1) o += ',"direction":' + r.direction;
  if (r.application !== '') o += ',"application":' + JSON.stringify(r.application);
  if (r.inIfName !== '') o += ',"inIfName":' + JSON.stringify(r.inIfName);
  if (r.outIfName !== '') o += ',"outIfName":' + JSON.stringify(r.outIfName);
  if (r.srcHost !== '') o += ',"srcHost":' + JSON.stringify(r.srcHost);
  if (r.dstHost !== '') o += ',"dstHost":' + JSON.stringify(r.dstHost);
  if (r.exporterHost !== '') o += ',"exporterHost":' + JSON.stringify(r.exporterHost);
  if (r.srcSubnetTags !== '') o += ',"srcSubnetTags":' + JSON.stringify(r.srcSubnetTags);
  if (r.dstSubnetTags !== '') o += ',"dstSubnetTags":' + JSON.stringify(r.dstSubnetTags);
  if (r.exporterSubnetName !== '') o += ',"exporterSubnetName":' + JSON.stringify(r.exporterSubnetName);
  if (r.exporterSubnetTags !== '') o += ',"exporterSubnetTags":' + JSON.stringify(r.exporterSubnetTags);
  if (r.endReason !== -1) o += ',"endReason":' + r.endReason;
  if (r.srcCountryIso !== '') o += ',"srcCountryIso":' + JSON.stringify(r.srcCountryIso);
  if (r.dstCountryIso !== '') o += ',"dstCountryIso":' + JSON.stringify(r.dstCountryIso);
  if (!Number.isNaN(r.srcLat)) o += ',"srcLat":' + r.srcLat + ',"srcLon":' + r.srcLon;
  if (!Number.isNaN(r.dstLat)) o += ',"dstLat":' + r.dstLat + ',"dstLon":' + r.dstLon;
  if (r.extra !== null) o += ',"extra":' + JSON.stringify(r.extra);
  return o === '' ? '' : '{' + o.slice(1) + '}';
}

const REST_KEYS = new Set([
  'collectTs', 'observationDomain', 'sequence', 'icmpType', 'icmpCode',
  'srcVlan', 'dstVlan', 'srcMac', 'dstMac', 'direction', 'application', 'inIfName', 'outIfName', 'srcHost', 'dstHost', 'exporterHost', 'endReason', 'srcCountryIso', 'dstCountryIso',
  // The subnet names have columns of their own now; rows from before keep them here.
  'srcSubnetName', 'dstSubnetName', 'srcSubnetTags', 'dstSubnetTags', 'exporterSubnetName', 'exporterSubnetTags',
  'srcLat', 'srcLon', 'dstLat', 'dstLon',
]);

/** Applies a `rest` JSON value back onto a record (only the known keys). */
export function restApply(r: FlowRecord, text: string): void {
  if (text === '') return;
  const o = JSON.parse(text) as Record<string, unknown>;
  const rec = r as unknown as Record<string, unknown>;
  for (const k in o) if (REST_KEYS.has(k)) rec[k] = o[k];
  if (o.extra !== null && typeof o.extra === 'object') r.extra = o.extra as Record<string, string | number | boolean>;
}

/** Rebuilds a record from a row keyed by column name (values as the driver returns them). */
export function rowToRecord(cols: readonly Column[], row: Record<string, unknown>): FlowRecord {
  const r = new FlowRecord();
  for (const c of cols) {
    const v = row[c.name];
    if (v === undefined) continue;
    c.set(r, v as number | string);
  }
  return r;
}

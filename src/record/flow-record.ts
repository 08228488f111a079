/**
 * The one record shape every decoder fills and every enricher and output reads.
 *
 * A class with every property initialised in the constructor keeps V8's hidden class stable
 * (monomorphic property access on the hot path). Addresses are kept as strings in their canonical
 * textual form (dotted quad for IPv4, RFC 5952 for IPv6) because every consumer (JSON, stores,
 * Community ID, blocklist lookups) needs either the string or cheap bytes from it.
 *
 * Field names as users see them (CODEX and ECS) live in `fields.ts`, defined once.
 */
export type RecordKind = 'flow' | 'counter';
export type ExportType = 'netflow' | 'ipfix' | 'sflow' | '';
export type Locality = 'private' | 'public' | '';

/** Orientation: which end initiated the flow. */
export enum Orientation {
  Unknown = 0,
  SrcIsClient = 1,
  DstIsClient = 2,
}

/**
 * The largest double below 2^63: the highest count a signed 64-bit column or an Elasticsearch long
 * takes from a number exactly. Decoders hold counters to it; the stores clamp every int64 column to it.
 */
export const MAX_I64 = 9_223_372_036_854_774_784;

/**
 * The latest time (epoch ms) a record carries: 2106-02-06T23:59:59.999Z. ClickHouse's DateTime ends
 * near there (its dates already wrap from 2106-02-07 00:00 UTC), and every time an exporter can send
 * in 32 unsigned seconds is below it. Decoders take a later time (an all-ones "unset" value,
 * nanoseconds sent as milliseconds) as absent, the encoders omit one, the stores clamp to it.
 */
export const MAX_TIME_MS = 4_294_943_999_999;

/** Whether `t` is a time a record can carry: after 1970 and not after MAX_TIME_MS (NaN is not). */
export function timeInRange(t: number): boolean {
  return t > 0 && t <= MAX_TIME_MS;
}

export class FlowRecord {
  kind: RecordKind = 'flow';

  // Times, epoch milliseconds (0 = unknown).
  collectTs = 0;
  exportTs = 0;
  startTs = 0;
  endTs = 0;

  // Exporter.
  exporterIp = '';
  exportVersion = 0;
  exportType: ExportType = '';
  /** NetFlow v9 source ID, IPFIX observation domain ID, sFlow sub-agent ID. */
  observationDomain = 0;
  /** sFlow / IPFIX / v9 sequence number of the carrying packet. */
  sequence = 0;

  // The tuple as exported.
  ipVersion = 0;
  srcIp = '';
  dstIp = '';
  srcPort = 0;
  dstPort = 0;
  proto = 0;
  icmpType = 0;
  icmpCode = 0;

  // Counters after sampling scale-up; samplingRate is the rate applied (0 = none known).
  bytes = 0;
  packets = 0;
  samplingRate = 0;

  tcpFlags = 0;
  tos = 0;
  inIf = 0;
  outIf = 0;
  /** Names of inIf / outIf: the exporter's options data (IE 82, else 83), or the user's interface file; '' unknown. */
  inIfName = '';
  outIfName = '';
  srcAs = 0;
  dstAs = 0;
  srcMask = 0;
  dstMask = 0;
  nextHop = '';
  srcVlan = 0;
  dstVlan = 0;
  srcMac = '';
  dstMac = '';
  /** 0 ingress, 1 egress, -1 unknown (IE 61 flowDirection). */
  direction = -1;
  /** Application name or ID where the exporter names it (NBAR, App-ID, ...). */
  application = '';
  /** Why the flow ended (IE 136), -1 unknown. */
  endReason = -1;

  // Enrichment: locality.
  srcLocality: Locality = '';
  dstLocality: Locality = '';

  // Enrichment: Community ID v1 ('' when disabled or not computable).
  communityId = '';

  // Enrichment: reverse DNS ('' when off, not yet answered, or no name).
  srcHost = '';
  dstHost = '';
  exporterHost = '';

  // Enrichment: the user's address metadata (EF_PROCESSOR_ENRICH_IPADDR_METADATA_*): subnet names,
  // and tags joined by ',' ('' when none).
  srcSubnetName = '';
  dstSubnetName = '';
  srcSubnetTags = '';
  dstSubnetTags = '';
  exporterSubnetName = '';
  exporterSubnetTags = '';

  // Enrichment: client/server orientation.
  orientation: Orientation = Orientation.Unknown;

  // Enrichment: GeoIP / ASN ('' / 0 when unknown).
  srcCountry = '';
  srcCountryIso = '';
  srcCity = '';
  srcLat = NaN;
  srcLon = NaN;
  srcAsOrg = '';
  dstCountry = '';
  dstCountryIso = '';
  dstCity = '';
  dstLat = NaN;
  dstLon = NaN;
  dstAsOrg = '';

  // Enrichment: threat intelligence. Names are joined with ',' when several feeds match one end
  // (see fields.ts, which exposes them as arrays).
  srcThreatName = '';
  srcThreatFeed = '';
  dstThreatName = '';
  dstThreatFeed = '';

  /**
   * Counter-sample values (sFlow counters) and information elements with no mapping to the
   * fields above, under a stable raw name (e.g. `ie.99999.12`, `cisco.nbar.app_id`).
   * null until something is put there, so the common case allocates nothing.
   */
  extra: Record<string, string | number | boolean> | null = null;

  /**
   * Internal (not in fields.ts, never serialised): srcIp / dstIp as a uint32 when the decoder read
   * an IPv4 address, else -1. Enrichers use it instead of re-parsing the text the decoder has just
   * formatted; whoever sets srcIp / dstIp to anything else must set these to -1 (or leave them at
   * -1 and the text is parsed).
   */
  srcIp4 = -1;
  dstIp4 = -1;

  setExtra(key: string, value: string | number | boolean): void {
    if (this.extra === null) this.extra = {};
    this.extra[key] = value;
  }
}

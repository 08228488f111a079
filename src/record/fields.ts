/**
 * The record's public field names, defined once. Outputs, the schema doc (docs/schema.md) and the
 * ECS view are all derived from this table.
 */
import { FlowRecord, MAX_TIME_MS, Orientation, timeInRange } from './flow-record.js';
import { protoName } from './names.js';
import { tcpFlagTags } from './names.js';
import { portName } from './names.js';
import { dropMatcher, fieldDropped } from './drop-fields.js';
import { FIXED_EXTRA_NAMES } from '../decode/extra-names.js';

export type FieldType = 'date' | 'ip' | 'long' | 'integer' | 'keyword' | 'keyword[]' | 'double' | 'geo_point';

export interface FieldDef {
  /** CODEX name (flat dotted key). */
  codex: string;
  /** ECS name, or null when ECS has no counterpart and the CODEX name is kept. */
  ecs: string | null;
  type: FieldType;
  unit?: string;
  description: string;
  /**
   * The value as a JavaScript expression over the record `r` (undefined when absent). It may use `cs`
   * (true when the source is the client, false when the destination is, undefined when unknown) and
   * the helpers in FIELD_HELPERS. One expression serves both `get` and the compiled JSON encoder
   * (json.ts), so the field's logic is written once.
   */
  expr: string;
  /**
   * For the JSON encoder (json.ts): one or two expressions over `r` whose values (numbers or strings)
   * together fully determine this field's value, so the field's JSON text can be kept per key instead
   * of being built record by record. Only where `expr` is costly to evaluate and format (an array,
   * decimal text of doubles).
   */
  memoBy?: [string] | [string, string];
  /**
   * Where the ECS view holds another value than CODEX (beyond dates, which are ISO 8601 strings
   * there): `expr` over the CODEX value `v` gives the ECS one, of type `type`; `doc` says so in
   * docs/schema.md. ECS types some ids as keywords and writes MACs its own way.
   */
  ecsValue?: { type: FieldType; expr: string; doc: string };
}

export interface CompiledFieldDef extends FieldDef {
  /** Returns undefined when the field is absent from this record. */
  get(r: FlowRecord): string | number | string[] | undefined;
  /** The ECS value from the CODEX one (ecsValue.expr); the identity where the field has none. */
  toEcs(v: string | number | string[]): string | number | string[];
}

/** ECS types these ids as keywords: the number's decimal text. */
const ECS_KEYWORD_ID = { type: 'keyword', expr: "'' + v", doc: 'keyword (decimal text)' } as const;
/** ECS writes a MAC as six upper-case hexadecimal pairs joined by hyphens. */
const ECS_MAC = { type: 'keyword', expr: "v.toUpperCase().replace(/:/g, '-')", doc: 'keyword, `AA-BB-CC-DD-EE-FF`' } as const;

/** Orientation as used by `cs` in field expressions. */
export function clientIsSource(r: FlowRecord): boolean | undefined {
  return r.orientation === Orientation.SrcIsClient ? true : r.orientation === Orientation.DstIsClient ? false : undefined;
}

/**
 * A ','-joined list of threat names or feeds as its parts: each trimmed, empty ones left out (a
 * list's name `botnet, mirai` reads as `botnet` and `mirai`, not ` mirai`).
 */
function splitNames(v: string): string[] {
  const out: string[] = [];
  for (const part of v.split(',')) {
    const t = part.trim();
    if (t !== '') out.push(t);
  }
  return out;
}

/** Functions field expressions may call. */
export const FIELD_HELPERS = {
  str: (v: string): string | undefined => (v === '' ? undefined : v),
  pos: (v: number): number | undefined => (v > 0 ? v : undefined),
  // A time outside the records' range is omitted (as an ECS date it would not even format).
  ms: (v: number): number | undefined => (timeInRange(v) ? v : undefined),
  /** An ECS date: ISO 8601, held to the records' range (toISOString throws past year 275760). */
  iso: (v: number): string => new Date(v > 0 ? (v < MAX_TIME_MS ? v : MAX_TIME_MS) : 0).toISOString(),
  list: (v: string): string[] | undefined => (v === '' ? undefined : splitNames(v)),
  joinThreat(a: string, b: string): string[] | undefined {
    if (a === '' && b === '') return undefined;
    const out: string[] = [];
    for (const part of splitNames(a + ',' + b)) if (!out.includes(part)) out.push(part);
    return out;
  },
  protoName,
  tcpFlagTags,
  portName,
};
export const HELPER_NAMES = Object.keys(FIELD_HELPERS);
const HELPER_VALUES = Object.values(FIELD_HELPERS);

function compileGetters(defs: FieldDef[]): CompiledFieldDef[] {
  return defs.map((d) => {
    // Field expressions are our own source text (this file), never user input.
    const fn = new Function(...HELPER_NAMES, `return function get(r) { const cs = r.orientation === 1 ? true : r.orientation === 2 ? false : undefined; return (${d.expr}); };`)(...HELPER_VALUES) as CompiledFieldDef['get'];
    const toEcs = d.ecsValue === undefined ? (v: string | number | string[]) => v : (new Function(`return function toEcs(v) { return (${d.ecsValue.expr}); };`)() as CompiledFieldDef['toEcs']);
    return { ...d, get: fn, toEcs };
  });
}

export const FIELDS: readonly CompiledFieldDef[] = compileGetters([
  { codex: '@timestamp', ecs: '@timestamp', type: 'date', unit: 'ms', description: 'Record time, per the output\'s _TIMESTAMP_SOURCE (collect by default).',
    expr: 'ms(r.collectTs)' },
  { codex: 'flow.collect.timestamp', ecs: 'event.created', type: 'date', unit: 'ms', description: 'When the collector received the carrying datagram.',
    expr: 'ms(r.collectTs)' },
  { codex: 'flow.export.timestamp', ecs: null, type: 'date', unit: 'ms', description: 'Export time from the packet header.',
    expr: 'ms(r.exportTs)' },
  { codex: 'flow.start.timestamp', ecs: 'event.start', type: 'date', unit: 'ms', description: 'First packet of the flow.',
    expr: 'ms(r.startTs)' },
  { codex: 'flow.end.timestamp', ecs: 'event.end', type: 'date', unit: 'ms', description: 'Last packet of the flow.',
    expr: 'ms(r.endTs)' },
  { codex: 'flow.duration', ecs: 'event.duration', type: 'long', unit: 'ms (ECS: ns)', description: 'End minus start.',
    expr: 'r.startTs > 0 && r.endTs >= r.startTs ? r.endTs - r.startTs : undefined', ecsValue: { type: 'long', expr: 'v * 1000000', doc: 'ns' } },
  { codex: 'flow.record.type', ecs: 'event.kind', type: 'keyword', description: '`flow` for flow records, `counter` for sFlow counter samples.',
    expr: 'r.kind', ecsValue: { type: 'keyword', expr: "v === 'counter' ? 'metric' : 'event'", doc: 'keyword `event` (flows) or `metric` (counter samples)' } },
  { codex: 'flow.export.ip.addr', ecs: 'observer.ip', type: 'ip', description: 'Exporter address (UDP source, or the sFlow agent address); an IPv4 address sent IPv4-mapped (::ffff:a.b.c.d) is written as IPv4.',
    expr: 'str(r.exporterIp)' },
  { codex: 'flow.export.version.ver', ecs: null, type: 'integer', description: 'Export protocol version: 1, 5, 7, 9, 10 (IPFIX) or 5 (sFlow).',
    expr: 'pos(r.exportVersion)' },
  { codex: 'flow.export.type', ecs: 'observer.type', type: 'keyword', description: '`netflow`, `ipfix` or `sflow`.',
    expr: 'str(r.exportType)' },
  { codex: 'flow.export.host.name', ecs: 'observer.hostname', type: 'keyword', description: 'Exporter host name by reverse DNS (EF_PROCESSOR_ENRICH_IPADDR_DNS_ENABLE; as flow.src.host.name).',
    expr: 'str(r.exporterHost)' },
  { codex: 'flow.export.ip.subnet.name', ecs: 'observer.subnet.name', type: 'keyword', description: 'Name of the exporter\'s network, from the address metadata file\'s entries for exporters (`contexts: [exporter]`).',
    expr: 'str(r.exporterSubnetName)' },
  { codex: 'flow.export.ip.subnet.tags', ecs: 'observer.subnet.tags', type: 'keyword[]', description: 'Tags of the exporter\'s network, from the address metadata file (as flow.export.ip.subnet.name).',
    expr: 'list(r.exporterSubnetTags)' },
  { codex: 'flow.export.domain.id', ecs: null, type: 'long', description: 'NetFlow v9 source ID, IPFIX observation domain ID or sFlow sub-agent ID.',
    expr: 'pos(r.observationDomain)' },
  { codex: 'ip.version', ecs: 'network.type', type: 'integer', description: 'IP version of the flow, 4 or 6.',
    expr: 'pos(r.ipVersion)', ecsValue: { type: 'keyword', expr: "v === 6 ? 'ipv6' : 'ipv4'", doc: 'keyword `ipv4`/`ipv6`' } },
  { codex: 'flow.src.ip.addr', ecs: 'source.ip', type: 'ip', description: 'Source address as exported.',
    expr: 'str(r.srcIp)' },
  { codex: 'flow.dst.ip.addr', ecs: 'destination.ip', type: 'ip', description: 'Destination address as exported.',
    expr: 'str(r.dstIp)' },
  { codex: 'flow.src.l4.port.id', ecs: 'source.port', type: 'integer', description: 'Source port (0 when the protocol has none).',
    expr: "r.srcIp === '' ? undefined : r.srcPort" },
  { codex: 'flow.dst.l4.port.id', ecs: 'destination.port', type: 'integer', description: 'Destination port (0 when the protocol has none).',
    expr: "r.dstIp === '' ? undefined : r.dstPort" },
  { codex: 'flow.src.l4.port.name', ecs: null, type: 'keyword', description: 'IANA service name of the source port (TCP, UDP, SCTP, DCCP, UDP-Lite; ports 1-49151).',
    expr: "r.srcIp === '' ? undefined : str(portName(r.proto, r.srcPort))" },
  { codex: 'flow.dst.l4.port.name', ecs: null, type: 'keyword', description: 'IANA service name of the destination port.',
    expr: "r.dstIp === '' ? undefined : str(portName(r.proto, r.dstPort))" },
  { codex: 'flow.client.ip.addr', ecs: 'client.ip', type: 'ip', description: 'The end that initiated the flow (EF_PROCESSOR_EXPAND_CLISRV).',
    expr: 'cs === undefined ? undefined : cs ? r.srcIp : r.dstIp' },
  { codex: 'flow.client.l4.port.id', ecs: 'client.port', type: 'integer', description: 'Client port.',
    expr: 'cs === undefined ? undefined : cs ? r.srcPort : r.dstPort' },
  { codex: 'flow.server.ip.addr', ecs: 'server.ip', type: 'ip', description: 'The end that answered the flow.',
    expr: 'cs === undefined ? undefined : cs ? r.dstIp : r.srcIp' },
  { codex: 'flow.server.l4.port.id', ecs: 'server.port', type: 'integer', description: 'Server port.',
    expr: 'cs === undefined ? undefined : cs ? r.dstPort : r.srcPort' },
  { codex: 'flow.server.l4.port.name', ecs: null, type: 'keyword', description: 'IANA service name of the server port.',
    expr: 'cs === undefined ? undefined : str(portName(r.proto, cs ? r.dstPort : r.srcPort))' },
  { codex: 'l4.proto.id', ecs: 'network.iana_number', type: 'integer', description: 'IANA protocol number.',
    expr: "r.srcIp === '' && r.proto === 0 ? undefined : r.proto", ecsValue: ECS_KEYWORD_ID },
  { codex: 'l4.proto.name', ecs: 'network.transport', type: 'keyword', description: 'IANA protocol keyword, lower case (tcp, udp, icmp, ...).',
    expr: "r.srcIp === '' && r.proto === 0 ? undefined : protoName(r.proto)" },
  { codex: 'icmp.type.id', ecs: 'icmp.type', type: 'integer', description: 'ICMP/ICMPv6 type (protocols 1 and 58 only).',
    expr: 'r.proto === 1 || r.proto === 58 ? r.icmpType : undefined' },
  { codex: 'icmp.code.id', ecs: 'icmp.code', type: 'integer', description: 'ICMP/ICMPv6 code (protocols 1 and 58 only).',
    expr: 'r.proto === 1 || r.proto === 58 ? r.icmpCode : undefined' },
  { codex: 'flow.bytes', ecs: 'network.bytes', type: 'long', unit: 'bytes', description: 'Octets (ingress counter, else egress: NetFlow v9 OUT_BYTES / IPFIX postOctetDeltaCount), scaled up by the sampling rate.',
    expr: "r.kind === 'flow' ? r.bytes : undefined" },
  { codex: 'flow.packets', ecs: 'network.packets', type: 'long', unit: 'packets', description: 'Packets (ingress counter, else egress: OUT_PKTS / postPacketDeltaCount), scaled up by the sampling rate.',
    expr: "r.kind === 'flow' ? r.packets : undefined" },
  { codex: 'flow.sampling.rate', ecs: null, type: 'long', description: 'Sampling rate (1 in N; 1 is every packet) the exporter stated, or the user-defined one, applied to bytes and packets; absent when none is known.',
    expr: 'pos(r.samplingRate)' },
  { codex: 'tcp.flags', ecs: 'tcp.flags', type: 'integer', description: 'Cumulative TCP flags as an integer (protocol 6 only).',
    expr: 'r.proto === 6 ? r.tcpFlags : undefined' },
  { codex: 'tcp.flags.tags', ecs: 'tcp.flags.tags', type: 'keyword[]', description: 'TCP flag names: FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS.',
    expr: 'r.proto === 6 && r.tcpFlags !== 0 ? tcpFlagTags(r.tcpFlags) : undefined', memoBy: ['r.proto === 6 ? r.tcpFlags : 0'] },
  { codex: 'ip.tos', ecs: null, type: 'integer', description: 'IP type of service byte.',
    expr: 'pos(r.tos)' },
  { codex: 'ip.dscp.id', ecs: null, type: 'integer', description: 'DSCP code point (TOS >> 2).',
    expr: 'pos(r.tos >> 2)' },
  { codex: 'flow.in.netif.index', ecs: 'observer.ingress.interface.id', type: 'long', description: 'Input interface ifIndex.',
    expr: 'pos(r.inIf)', ecsValue: ECS_KEYWORD_ID },
  { codex: 'flow.out.netif.index', ecs: 'observer.egress.interface.id', type: 'long', description: 'Output interface ifIndex.',
    expr: 'pos(r.outIf)', ecsValue: ECS_KEYWORD_ID },
  { codex: 'flow.in.netif.name', ecs: 'observer.ingress.interface.name', type: 'keyword', description: "Input interface's name, from the exporter's options data (NetFlow v9 / IPFIX interfaceName, IE 82, else interfaceDescription, IE 83), or from the user's interface file (EF_PROCESSOR_ENRICH_NETIF_METADATA_*), which wins.",
    expr: 'str(r.inIfName)' },
  { codex: 'flow.out.netif.name', ecs: 'observer.egress.interface.name', type: 'keyword', description: "Output interface's name, from the exporter's options data or the user's interface file (as flow.in.netif.name).",
    expr: 'str(r.outIfName)' },
  { codex: 'flow.direction.name', ecs: 'network.direction', type: 'keyword', description: 'ingress or egress, where the exporter says (IE 61).',
    expr: "r.direction === 0 ? 'ingress' : r.direction === 1 ? 'egress' : undefined" },
  { codex: 'flow.src.as.asn', ecs: 'source.as.number', type: 'long', description: 'Source AS, as exported or from the ASN database.',
    expr: 'pos(r.srcAs)' },
  { codex: 'flow.dst.as.asn', ecs: 'destination.as.number', type: 'long', description: 'Destination AS, as exported or from the ASN database.',
    expr: 'pos(r.dstAs)' },
  { codex: 'flow.src.as.org', ecs: 'source.as.organization.name', type: 'keyword', description: 'Source AS organisation (ASN database).',
    expr: 'str(r.srcAsOrg)' },
  { codex: 'flow.dst.as.org', ecs: 'destination.as.organization.name', type: 'keyword', description: 'Destination AS organisation (ASN database).',
    expr: 'str(r.dstAsOrg)' },
  { codex: 'flow.src.host.name', ecs: 'source.domain', type: 'keyword', description: 'Source host name by reverse DNS (EF_PROCESSOR_ENRICH_IPADDR_DNS_ENABLE; an address\'s first flows may go out before the answer).',
    expr: 'str(r.srcHost)' },
  { codex: 'flow.dst.host.name', ecs: 'destination.domain', type: 'keyword', description: 'Destination host name by reverse DNS (as flow.src.host.name).',
    expr: 'str(r.dstHost)' },
  { codex: 'flow.client.host.name', ecs: 'client.domain', type: 'keyword', description: 'Client host name by reverse DNS (as flow.src.host.name).',
    expr: 'cs === undefined ? undefined : str(cs ? r.srcHost : r.dstHost)' },
  { codex: 'flow.server.host.name', ecs: 'server.domain', type: 'keyword', description: 'Server host name by reverse DNS (as flow.src.host.name).',
    expr: 'cs === undefined ? undefined : str(cs ? r.dstHost : r.srcHost)' },
  { codex: 'flow.src.ip.mask', ecs: null, type: 'integer', description: 'Source prefix length.',
    expr: 'pos(r.srcMask)' },
  { codex: 'flow.dst.ip.mask', ecs: null, type: 'integer', description: 'Destination prefix length.',
    expr: 'pos(r.dstMask)' },
  { codex: 'flow.next_hop.ip.addr', ecs: null, type: 'ip', description: 'Next-hop address: the IP next hop, else the BGP next hop (the record\'s own address family first).',
    expr: 'str(r.nextHop)' },
  { codex: 'flow.src.vlan.id', ecs: 'network.vlan.id', type: 'integer', description: 'Source VLAN, as exported, else the source address\'s `vlan` in the address metadata file.',
    expr: 'pos(r.srcVlan)', ecsValue: ECS_KEYWORD_ID },
  { codex: 'flow.dst.vlan.id', ecs: null, type: 'integer', description: 'Destination VLAN, as exported, else the destination address\'s `vlan` in the address metadata file.',
    expr: 'pos(r.dstVlan)' },
  { codex: 'flow.src.mac.addr', ecs: 'source.mac', type: 'keyword', description: 'Source MAC address.',
    expr: 'str(r.srcMac)', ecsValue: ECS_MAC },
  { codex: 'flow.dst.mac.addr', ecs: 'destination.mac', type: 'keyword', description: 'Destination MAC address.',
    expr: 'str(r.dstMac)', ecsValue: ECS_MAC },
  { codex: 'app.name', ecs: 'network.application', type: 'keyword', description: 'Application as named by the exporter (NBAR, App-ID, ...).',
    expr: 'str(r.application)' },
  { codex: 'flow.end.reason', ecs: null, type: 'integer', description: 'flowEndReason (IPFIX IE 136).',
    expr: 'r.endReason >= 0 ? r.endReason : undefined' },
  { codex: 'flow.community.id', ecs: 'network.community_id', type: 'keyword', description: 'Community ID v1 (EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE, _SEED).',
    expr: 'str(r.communityId)' },
  { codex: 'flow.src.ip.locality', ecs: 'source.locality', type: 'keyword', description: '`private` or `public`, by the IANA special-purpose registries and EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS, unless the address metadata file says `internal` (true: private, false: public).',
    expr: 'str(r.srcLocality)' },
  { codex: 'flow.dst.ip.locality', ecs: 'destination.locality', type: 'keyword', description: '`private` or `public`.',
    expr: 'str(r.dstLocality)' },
  { codex: 'flow.locality', ecs: 'network.locality', type: 'keyword', description: '`public` when either end is public, else `private`.',
    expr: "r.srcLocality === '' && r.dstLocality === '' ? undefined : r.srcLocality === 'public' || r.dstLocality === 'public' ? 'public' : 'private'" },
  { codex: 'flow.src.ip.subnet.name', ecs: 'source.subnet.name', type: 'keyword', description: 'Name of the source address\'s network, from the user\'s address metadata file (EF_PROCESSOR_ENRICH_IPADDR_METADATA_*).',
    expr: 'str(r.srcSubnetName)' },
  { codex: 'flow.src.ip.subnet.tags', ecs: 'source.subnet.tags', type: 'keyword[]', description: 'Tags of the source address\'s network, from the address metadata file.',
    expr: 'list(r.srcSubnetTags)', memoBy: ['r.srcSubnetTags'] },
  { codex: 'flow.dst.ip.subnet.name', ecs: 'destination.subnet.name', type: 'keyword', description: 'Name of the destination address\'s network, from the address metadata file.',
    expr: 'str(r.dstSubnetName)' },
  { codex: 'flow.dst.ip.subnet.tags', ecs: 'destination.subnet.tags', type: 'keyword[]', description: 'Tags of the destination address\'s network, from the address metadata file.',
    expr: 'list(r.dstSubnetTags)', memoBy: ['r.dstSubnetTags'] },
  { codex: 'flow.src.geo.country.name', ecs: 'source.geo.country_name', type: 'keyword', description: 'Source country (GeoIP).',
    expr: 'str(r.srcCountry)' },
  { codex: 'flow.src.geo.country.iso_code', ecs: 'source.geo.country_iso_code', type: 'keyword', description: 'Source ISO 3166 country code.',
    expr: 'str(r.srcCountryIso)' },
  { codex: 'flow.src.geo.city.name', ecs: 'source.geo.city_name', type: 'keyword', description: 'Source city.',
    expr: 'str(r.srcCity)' },
  { codex: 'flow.src.geo.loc.coord', ecs: 'source.geo.location', type: 'geo_point', description: 'Source location as "lat,lon".',
    expr: 'Number.isNaN(r.srcLat) ? undefined : `${r.srcLat},${r.srcLon}`', memoBy: ['r.srcLat', 'r.srcLon'] },
  { codex: 'flow.dst.geo.country.name', ecs: 'destination.geo.country_name', type: 'keyword', description: 'Destination country (GeoIP).',
    expr: 'str(r.dstCountry)' },
  { codex: 'flow.dst.geo.country.iso_code', ecs: 'destination.geo.country_iso_code', type: 'keyword', description: 'Destination ISO 3166 country code.',
    expr: 'str(r.dstCountryIso)' },
  { codex: 'flow.dst.geo.city.name', ecs: 'destination.geo.city_name', type: 'keyword', description: 'Destination city.',
    expr: 'str(r.dstCity)' },
  { codex: 'flow.dst.geo.loc.coord', ecs: 'destination.geo.location', type: 'geo_point', description: 'Destination location as "lat,lon".',
    expr: 'Number.isNaN(r.dstLat) ? undefined : `${r.dstLat},${r.dstLon}`', memoBy: ['r.dstLat', 'r.dstLon'] },
  { codex: 'flow.src.sec.threat.name', ecs: 'source.threat.name', type: 'keyword[]', description: 'Threat names of the source address (`blocklist` when the list gives none).',
    expr: 'list(r.srcThreatName)' },
  { codex: 'flow.src.sec.threat.feed.name', ecs: 'source.threat.feed.name', type: 'keyword[]', description: 'Feeds listing the source address (`riskiq`, ...).',
    expr: 'list(r.srcThreatFeed)' },
  { codex: 'flow.dst.sec.threat.name', ecs: 'destination.threat.name', type: 'keyword[]', description: 'Threat names of the destination address.',
    expr: 'list(r.dstThreatName)' },
  { codex: 'flow.dst.sec.threat.feed.name', ecs: 'destination.threat.feed.name', type: 'keyword[]', description: 'Feeds listing the destination address.',
    expr: 'list(r.dstThreatFeed)' },
  { codex: 'flow.client.sec.threat.name', ecs: 'client.threat.name', type: 'keyword[]', description: 'Threat names of the client end.',
    expr: 'cs === undefined ? undefined : list(cs ? r.srcThreatName : r.dstThreatName)' },
  { codex: 'flow.client.sec.threat.feed.name', ecs: 'client.threat.feed.name', type: 'keyword[]', description: 'Feeds listing the client end.',
    expr: 'cs === undefined ? undefined : list(cs ? r.srcThreatFeed : r.dstThreatFeed)' },
  { codex: 'flow.server.sec.threat.name', ecs: 'server.threat.name', type: 'keyword[]', description: 'Threat names of the server end.',
    expr: 'cs === undefined ? undefined : list(cs ? r.dstThreatName : r.srcThreatName)' },
  { codex: 'flow.server.sec.threat.feed.name', ecs: 'server.threat.feed.name', type: 'keyword[]', description: 'Feeds listing the server end.',
    expr: 'cs === undefined ? undefined : list(cs ? r.dstThreatFeed : r.srcThreatFeed)' },
  { codex: 'sec.threat.name', ecs: 'threat.indicator.name', type: 'keyword[]', description: 'All threat names on either end.',
    expr: 'joinThreat(r.srcThreatName, r.dstThreatName)' },
  { codex: 'sec.threat.feed.name', ecs: 'threat.feed.name', type: 'keyword[]', description: 'All feeds matching either end.',
    expr: 'joinThreat(r.srcThreatFeed, r.dstThreatFeed)' },
]);

export type TimestampSource = 'collect' | 'start' | 'end' | 'export';

export interface ViewOptions {
  ecs: boolean;
  timestampSource: TimestampSource;
  /** EF_OUTPUT_*_DROP_FIELDS: names and `prefix*` left out (see drop-fields.ts); none when absent. */
  drop?: readonly string[];
}

/** Whether two outputs write the same text for a record (so one encoding serves both). */
export function sameView(a: ViewOptions, b: ViewOptions): boolean {
  return a.ecs === b.ecs && a.timestampSource === b.timestampSource && (a.drop ?? []).join(',') === (b.drop ?? []).join(',');
}

/** @timestamp per the output's _TIMESTAMP_SOURCE: the chosen time when a record has it, else the collect time. */
export function pickTimestamp(r: FlowRecord, src: TimestampSource): number {
  const t = src === 'start' ? r.startTs : src === 'end' ? r.endTs : src === 'export' ? r.exportTs : r.collectTs;
  return timeInRange(t) ? t : r.collectTs;
}

/**
 * The record as a flat object of public names. Dates stay epoch ms in CODEX; ECS dates are ISO
 * strings and ECS durations nanoseconds, as ECS defines them.
 */
export function toDocument(r: FlowRecord, opts: ViewOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const drop = dropMatcher(opts.drop);
  for (let i = 0; i < FIELDS.length; i++) {
    const f = FIELDS[i]!;
    if (drop !== null && fieldDropped(f, drop)) continue;
    let v = f.codex === '@timestamp' ? pickTimestamp(r, opts.timestampSource) : f.get(r);
    if (v === undefined) continue;
    if (opts.ecs) {
      if (f.type === 'date' && typeof v === 'number') v = FIELD_HELPERS.iso(v);
      else v = f.toEcs(v);
      out[f.ecs ?? f.codex] = v;
    } else {
      out[f.codex] = v;
    }
  }
  if (r.extra !== null) {
    for (const k in r.extra) {
      const name = opts.ecs ? ecsExtraName(k) : k;
      if (drop === null || !extraDropped(k, name, drop)) out[name] = r.extra[k];
    }
  }
  return out;
}

/** Extras a decoder fills under `flow.src.` / `flow.dst.` / `flow.export.` keep that name in both views. */
const DECODER_END_EXTRAS: ReadonlySet<string> = new Set(FIXED_EXTRA_NAMES.filter((n) => n.startsWith('flow.src.') || n.startsWith('flow.dst.') || n.startsWith('flow.export.')));

/**
 * An extra's name in the ECS view: the fields the address metadata file puts under a flow end or the
 * exporter (`flow.src.site.id`, `flow.export.site.id`, see enrich/ipaddr-metadata.ts) go under that
 * end's or the exporter's ECS object (`source.site.id`, `observer.site.id`), as their other fields do.
 * Every other extra keeps its name.
 */
export function ecsExtraName(k: string): string {
  if (k.charCodeAt(0) !== 102 /* f */ || !k.startsWith('flow.') || DECODER_END_EXTRAS.has(k)) return k;
  if (k.startsWith('flow.src.')) return 'source.' + k.slice(9);
  if (k.startsWith('flow.dst.')) return 'destination.' + k.slice(9);
  if (k.startsWith('flow.export.')) return 'observer.' + k.slice(12);
  return k;
}

/**
 * Whether an output's drop list leaves an extra out: by the name the view writes or, for a field under a
 * flow end or the exporter, by its name in the other view too (as schema fields are matched by either name).
 */
export function extraDropped(k: string, written: string, drop: (name: string) => boolean): boolean {
  if (drop(written)) return true;
  const other = written === k ? ecsExtraName(k) : k;
  return other !== written && drop(other);
}

/**
 * docs/schema.md, generated from the field table (fields.ts), the client/server rules and the
 * locality tables, so the document cannot drift from the code (test/schema-doc.test.ts).
 * `npm run docs` (scripts/gen-schema.ts) rewrites it.
 */
import { CLIENT_SERVER_RULES } from '../enrich/client-server.js';
import { IPV4_SPECIAL, IPV6_SPECIAL, type SpecialEntry } from '../enrich/locality.js';
import { FIELDS, type FieldDef } from './fields.js';

/** The value type in the ECS view, where it differs from CODEX (see toDocument). */
function ecsType(f: FieldDef): string {
  if (f.type === 'date') return 'ISO 8601 string';
  return f.ecsValue?.doc ?? f.type;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function localityTable(entries: readonly SpecialEntry[]): string {
  let s = '| Range | Registry name | Reference | Locality | Note |\n|---|---|---|---|---|\n';
  for (const e of entries) {
    const loc = e.kind === 'embedded-ipv4' ? 'by the embedded IPv4 address' : e.kind;
    s += `| \`${e.cidr}\` | ${cell(e.name)} | ${e.rfc} | ${loc} | ${cell(e.note ?? '')} |\n`;
  }
  return s;
}

export function schemaMarkdown(): string {
  const out: string[] = [];
  out.push(`# Record schema

<!-- Generated from src/record/fields.ts by scripts/gen-schema.ts (\`npm run docs\`); do not edit. -->

Every decoder (NetFlow v1/v5/v7/v9, IPFIX, sFlow v5) fills one record shape; enrichers add to it;
every output writes the same fields. Field names are **CODEX** names by default. An output with
\`EF_OUTPUT_<NAME>_ECS_ENABLE=true\` writes **ECS** (Elastic Common Schema) names instead: in the ECS view
dates are ISO 8601 strings, \`event.duration\` is in nanoseconds, \`network.type\` is \`ipv4\`/\`ipv6\`,
\`event.kind\` is \`event\` or \`metric\`, the ids ECS types as keywords (\`network.iana_number\`,
\`network.vlan.id\`, the interface ids) are their decimal text, MACs are written \`AA-BB-CC-DD-EE-FF\`, and
a field without an ECS counterpart keeps its CODEX name (so do the export time and protocol version,
whose nearest ECS names, \`event.ingested\` and \`observer.version\`, mean something else). A field is left out of a record when it has
no value (for example ports of port-less protocols are 0, but GeoIP fields of a private address are absent).

sFlow counter samples are records too (\`flow.record.type\` = \`counter\`); their counter values are
listed in [schema-counters.md](schema-counters.md). Information elements with no field below keep a stable
raw name: their IANA or vendor name (\`ipfix.interfaceName\`, \`netscaler.connectionId\`), or \`ie.<enterprise>.<id>\`
for one in no registry the collector knows (\`ie.0.<id>\` for IANA's). Those are read by their length in the template,
so each keeps one JSON type: 1, 2, 4 or 8 octets a number (8 octets past 2^53 its decimal text), variable-length and
other lengths text (hex unless printable). A record keeps at most 128 of them (a template's first 128); the rest are
skipped and counted as \`template: unmapped fields past 128 skipped\` in the exporter's decoding counters.

Enrichers run in this order: user-defined sampling rate, locality, Community ID, client/server,
GeoIP/ASN, threat intelligence. Names (protocol, ports, TCP flags) are added when a record is written.
How each enricher decides is in [enrichment.md](enrichment.md).

Start and end times come from whichever form the exporter sends: router uptime (NetFlow v1/v5/v7/v9,
IPFIX \`flowStart/EndSysUpTime\`; read across the 32-bit uptime's wrap every 49.7 days), absolute
seconds, milliseconds or NTP time (IPFIX; NTP seconds below 1970's are era 1, from 2036 on),
microseconds before the export (IPFIX deltas) or a duration with one end. An absolute element that is 0
is "not set". A time no record can carry (before 1970, or after 2106-02-06T23:59:59.999Z, such as an
all-ones "unset" value or nanoseconds sent as milliseconds) is replaced by the record's other end, else
by the export time; a record with no time takes the export time, and an end before its start is set to
the start. Each such change is counted by its \`time: ...\` reason in the decoder's counters.
@timestamp is the time the output's \`_TIMESTAMP_SOURCE\` names when the record has it, else the collect time.

An IPFIX biflow (RFC 5103), and a Cisco ASA (NSEL) record's responder counters, become two records: the forward
one as sent, then one for the reverse direction, with \`flow.biflow_direction\` = \`reverse\`, when that direction has
bytes or packets. The reverse record takes each reverse element the exporter sends for one of its fields (octets,
packets, TCP flags, ToS, VLANs, MACs, interfaces, AS numbers, prefix lengths, next hop, ICMP type and code, flow
direction, end reason). What is not sent is the forward record's with its ends swapped (addresses, ports, interfaces,
VLANs, MACs, AS numbers, prefix lengths), or the same (times, protocol, ToS, ICMP type and code, flow direction, end
reason, application); TCP flags and next hop not sent are left empty. With no reverse record, those reverse elements
stay on the forward record under their raw names (\`ipfix.reverseIpClassOfService\`). YAF sends its TCP flags as
\`yaf.initialTCPFlags\` (the first packet) and \`yaf.unionTCPFlags\` (the rest), and their reverse forms: with no
tcpControlBits (IE 6) for a direction, their union is that direction's \`tcp.flags\`.

## Fields

| CODEX name | ECS name | Type | Unit | Meaning |
|---|---|---|---|---|`);
  for (const f of FIELDS) {
    const ecs = f.ecs === null ? '—' : `\`${f.ecs}\``;
    const type = f.ecs !== null && ecsType(f) !== f.type ? `${f.type} (ECS: ${ecsType(f)})` : f.type;
    out.push(`| \`${f.codex}\` | ${ecs} | ${type} | ${cell(f.unit ?? '')} | ${cell(f.description)} |`);
  }
  out.push(`
## Client and server (\`flow.client.*\`, \`flow.server.*\`)

With \`EF_PROCESSOR_EXPAND_CLISRV=true\` (the default) each flow record is oriented by these rules,
the first that decides wins:
`);
  CLIENT_SERVER_RULES.forEach((r, i) => out.push(`${i + 1}. ${r}`));
  out.push(`
## Locality (\`flow.src.ip.locality\`, \`flow.dst.ip.locality\`, \`flow.locality\`)

An address is \`private\` when the IANA special-purpose address registries say it is not globally
reachable, and \`public\` otherwise; the most specific matching entry decides. Ranges listed in
\`EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS\` are private as well (an IPv4-mapped IPv6 address also
honours the IPv4 ranges there). \`flow.locality\` is \`public\` when either end is public.

### IPv4

${localityTable(IPV4_SPECIAL)}
### IPv6

${localityTable(IPV6_SPECIAL)}`);
  return out.join('\n');
}

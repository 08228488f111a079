import { opt } from '../spec.js';
import { isCidrOrIp, isNameServer } from '../validate.js';

const G = 'Enrichment';
const GEO = 'Enrichment: GeoIP and ASN';
const SR = 'Enrichment: sampling rate';
const NI = 'Enrichment: interface names';
const DNS = 'Enrichment: DNS names';
const AM = 'Enrichment: address metadata';

export const ENRICH_OPTIONS = {
  EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE: opt.bool(G, true, 'Add the Community ID v1 flow hash (flow.community.id).'),
  EF_PROCESSOR_ENRICH_COMMUNITYID_SEED: opt.int(G, 0, 'Community ID seed.', { min: 0, max: 65535 }),
  EF_PROCESSOR_EXPAND_CLISRV: opt.bool(G, true, 'Add flow.client.* and flow.server.* by working out which end initiated the flow.'),
  EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: opt.list(G, '', 'Extra address ranges to treat as private (besides the IANA special-purpose registries).', { test: isCidrOrIp, allowed: 'IP addresses or CIDRs' }),
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: opt.bool(GEO, false, 'Add GeoIP fields from an MMDB file.'),
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH: opt.str(GEO, '', 'GeoIP2/GeoLite2 City or Country MMDB. Empty: the DB-IP City Lite database installed with the collector (CC BY 4.0).', 'a file path'),
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_VALUES: opt.list(GEO, 'city,country,country_code,location', 'Which GeoIP values to add.', { test: (s) => ['city', 'country', 'country_code', 'location'].includes(s), allowed: 'city, country, country_code, location' }),
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_LANG: opt.str(GEO, 'en', 'Language of GeoIP names: a name the database has in it, else English (the bundled DB-IP Lite database has English names only; its country names are translated by the runtime, its city names stay English).', 'a language code in the database (en, de, fr, ...)'),
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: opt.bool(GEO, false, 'Add AS number and organisation from an ASN database.'),
  EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH: opt.str(GEO, '', 'GeoLite2 ASN MMDB. Empty: the ip-location-db ASN ranges installed with the collector.', 'a file path'),
  EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: opt.bool(SR, false, 'Override sampling rates from a user-defined file.'),
  EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: opt.str(SR, '', 'YAML file of exporter address (optionally `address/ifindex`) to sampling rate.', 'a file path'),
  EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_REFRESH_RATE: opt.int(SR, 15, 'Minutes between re-reads of the sampling-rate file.', { min: 1, max: 10080 }),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_ENABLE: opt.bool(DNS, false, 'Add host names of flow addresses by reverse DNS (flow.src.host.name, flow.dst.host.name). Lookups never hold a record back: an address\'s first flows go out before its answer.'),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP: opt.list(DNS, '', 'Name servers to ask, as ip or ip:port ([ipv6]:port). Empty: the system\'s (/etc/resolv.conf).', { test: isNameServer, allowed: 'IP addresses, optionally with :port' }),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_TIMEOUT: opt.int(DNS, 3000, 'Milliseconds to wait for each name server before a lookup counts as failed (tried again after a minute); the resolver checks its timers about once a second, so a lookup may take up to a second more.', { min: 1, max: 60000 }),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_RESOLVE_PRIVATE: opt.bool(DNS, true, 'Look up private addresses (flow.*.ip.locality private).'),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_RESOLVE_PUBLIC: opt.bool(DNS, true, 'Look up public addresses.'),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_CACHE_SIZE: opt.int(DNS, 262144, 'Answers kept (per decode worker), in two halves: when the newer half is full, the older half goes.', { min: 1, max: 8388608 }),
  EF_PROCESSOR_ENRICH_IPADDR_DNS_CACHE_TTL: opt.int(DNS, 3600, 'Seconds an answer (a name, or none) is kept before the address is asked again.', { min: 1, max: 2592000 }),
  EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: opt.bool(AM, false, 'Add what a user-defined file says about addresses, CIDRs and ranges: internal or not (flow.*.ip.locality), subnet name and tags (flow.*.ip.subnet.*), VLAN, and fields of your own.'),
  EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: opt.str(AM, '', 'YAML file of address, CIDR or range `first-last` to `internal`, `name`, `vlan`, `tags` and `metadata`; see docs/enrichment.md.', 'a file path'),
  EF_PROCESSOR_ENRICH_IPADDR_METADATA_REFRESH_RATE: opt.int(AM, 15, 'Minutes between re-reads of the address metadata file (an unchanged file is not parsed again).', { min: 1, max: 10080 }),
  EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: opt.bool(NI, false, 'Name interfaces from a user-defined file (flow.in.netif.name, flow.out.netif.name); a name there wins over one from options data.'),
  EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: opt.str(NI, '', 'YAML file of exporter address, then interface index, to `ifName` (else `ifDescr`); see docs/enrichment.md.', 'a file path'),
  EF_PROCESSOR_ENRICH_NETIF_METADATA_REFRESH_RATE: opt.int(NI, 15, 'Minutes between re-reads of the interface file (an unchanged file is not parsed again).', { min: 1, max: 10080 }),
};

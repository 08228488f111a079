/**
 * The enricher chain, in the order ARCHITECTURE.md fixes: sampling (and interface names), locality (and the
 * user's address metadata), Community ID,
 * client/server, names, GeoIP/ASN, threat intelligence. Each is added when configured.
 */
import type { Config } from '../config/schema.js';
import type { Enricher } from '../pipeline/types.js';
import { RiskiqThreatEnricher } from './riskiq-threat.js';
import { ThreatFeedsEnricher } from './threat-feeds.js';
import { MsGraphReputationEnricher } from '../threat/reputation/enricher.js';
import { UserSamplingEnricher } from './sampling-userdef.js';
import { NetifNamesEnricher } from './netif-userdef.js';
import { DnsEnricher } from './dns.js';
import { AddressMetadataEnricher } from './ipaddr-metadata.js';
import { LocalityEnricher } from './locality.js';
import { CommunityIdEnricher } from './community-id.js';
import { ClientServerEnricher } from './client-server.js';
import { GeoIpEnricher } from './geoip.js';
import { AsnEnricher } from './asn.js';
import { createFactsCache } from './address-facts.js';

export interface EnricherContext {
  config: Config;
  dataDir: string;
  /** Building a decode worker's chain: threat enrichers are lookup-only copies (placement 'replica'), 'main' ones are left out. */
  worker?: boolean;
}

export function createEnrichers(ctx: EnricherContext): Enricher[] {
  const chain: Enricher[] = [];
  const c = ctx.config;
  if (c.EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE) chain.push(new UserSamplingEnricher(c.EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH, c.EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_REFRESH_RATE));
  if (c.EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE) chain.push(new NetifNamesEnricher(c.EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH, c.EF_PROCESSOR_ENRICH_NETIF_METADATA_REFRESH_RATE));
  // Locality always runs: GeoIP/ASN, the RiskIQ output and flow.locality depend on it.
  chain.push(new LocalityEnricher(c.EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS));
  // The user's address metadata right after: its `internal` overrides the locality everything later reads.
  if (c.EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE) chain.push(new AddressMetadataEnricher(c.EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH, c.EF_PROCESSOR_ENRICH_IPADDR_METADATA_REFRESH_RATE));
  if (c.EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE) chain.push(new CommunityIdEnricher(c.EF_PROCESSOR_ENRICH_COMMUNITYID_SEED));
  if (c.EF_PROCESSOR_EXPAND_CLISRV) chain.push(new ClientServerEnricher());
  // Names (protocol, ports, TCP flags, IP version) are computed at serialization (fields.ts).
  const facts = createFactsCache(); // one address cache for GeoIP and ASN
  if (c.EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE) {
    chain.push(new GeoIpEnricher({ path: c.EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH, values: c.EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_VALUES, lang: c.EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_LANG }, facts));
  }
  if (c.EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE) chain.push(new AsnEnricher(c.EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH, facts));
  if (c.EF_PROCESSOR_ENRICH_IPADDR_DNS_ENABLE) {
    chain.push(new DnsEnricher({
      servers: c.EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP, timeoutMs: c.EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_TIMEOUT,
      resolvePrivate: c.EF_PROCESSOR_ENRICH_IPADDR_DNS_RESOLVE_PRIVATE, resolvePublic: c.EF_PROCESSOR_ENRICH_IPADDR_DNS_RESOLVE_PUBLIC,
      cacheSize: c.EF_PROCESSOR_ENRICH_IPADDR_DNS_CACHE_SIZE, ttlS: c.EF_PROCESSOR_ENRICH_IPADDR_DNS_CACHE_TTL,
    }));
  }
  // ---- enrichers of other areas follow here ----
  // Threat intelligence last: it reads the final addresses and orientation.
  if (ctx.config.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE) chain.push(new RiskiqThreatEnricher({ config: ctx.config, dataDir: ctx.dataDir, replica: ctx.worker }));
  // Public threat lists after RiskIQ: they append to the names it set.
  if (c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE) chain.push(new ThreatFeedsEnricher({ config: c, dataDir: ctx.dataDir, replica: ctx.worker }));
  if (c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE && ctx.worker !== true) chain.push(new MsGraphReputationEnricher(c));
  return chain;
}

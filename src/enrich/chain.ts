/**
 * The enricher chain, in the order ARCHITECTURE.md fixes: sampling, locality, Community ID,
 * client/server, names, GeoIP/ASN, threat intelligence. Each is added when configured.
 */
import type { Config } from '../config/schema.js';
import type { Enricher } from '../pipeline/types.js';
import { RiskiqThreatEnricher } from './riskiq-threat.js';

export interface EnricherContext {
  config: Config;
  dataDir: string;
}

export function createEnrichers(ctx: EnricherContext): Enricher[] {
  const chain: Enricher[] = [];
  // Threat intelligence last: it reads the final addresses and orientation.
  if (ctx.config.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE) chain.push(new RiskiqThreatEnricher({ config: ctx.config, dataDir: ctx.dataDir }));
  return chain;
}

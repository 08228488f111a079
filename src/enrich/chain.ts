/**
 * The enricher chain, in the order ARCHITECTURE.md fixes: sampling, locality, Community ID,
 * client/server, names, GeoIP/ASN, threat intelligence. Each is added when configured.
 */
import type { Config } from '../config/schema.js';
import type { Enricher } from '../pipeline/types.js';

export interface EnricherContext {
  config: Config;
  dataDir: string;
}

export function createEnrichers(_ctx: EnricherContext): Enricher[] {
  const chain: Enricher[] = [];
  return chain;
}

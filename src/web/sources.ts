/**
 * What the web server reads from the running collector. The Collector satisfies this structurally;
 * tests can hand in a smaller object.
 */
import type { Config } from '../config/schema.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Decoder, Enricher, Output, Protocol } from '../pipeline/types.js';

export interface WebSources {
  readonly config: Config;
  readonly pipeline: Pipeline;
  readonly decoders: ReadonlyMap<Protocol, Decoder>;
  readonly enrichers: readonly Enricher[];
  readonly outputs: readonly Output[];
}

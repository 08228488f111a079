/** The decoder for each protocol, per EF_PROCESSOR_DECODE_*_ENABLE. */
import type { Config } from '../config/schema.js';
import type { Decoder, Protocol } from '../pipeline/types.js';
import { NetflowV5Decoder } from './netflow-legacy/v5.js';

export interface DecoderContext {
  config: Config;
  /** Directory for decoder state that survives restarts (template cache). */
  stateDir: string;
}

export function createDecoders(ctx: DecoderContext): Map<Protocol, Decoder> {
  const c = ctx.config;
  const m = new Map<Protocol, Decoder>();
  if (c.EF_PROCESSOR_DECODE_NETFLOW5_ENABLE) m.set('netflow5', new NetflowV5Decoder());
  return m;
}

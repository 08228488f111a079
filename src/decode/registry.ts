/** The decoder for each protocol, per EF_PROCESSOR_DECODE_*_ENABLE. */
import type { Config } from '../config/schema.js';
import type { Decoder, Protocol } from '../pipeline/types.js';
import { NetflowV1Decoder } from './netflow-legacy/v1.js';
import { NetflowV5Decoder } from './netflow-legacy/v5.js';
import { NetflowV7Decoder } from './netflow-legacy/v7.js';
import { SflowDecoder } from './sflow/datagram.js';
import { Netflow9Decoder } from './netflow9/decoder.js';
import { IpfixDecoder } from './ipfix/decoder.js';

export interface DecoderContext {
  config: Config;
  /** Directory for decoder state that survives restarts (template cache). */
  stateDir: string;
  /** The data dir: at start, templates are read from each of its caches (see TemplateDecoderOptions). */
  dataDir?: string;
  /** The exporters these decoders decode (a worker's share); default all. */
  owns?: (exporter: string) => boolean;
}

export function createDecoders(ctx: DecoderContext): Map<Protocol, Decoder> {
  const c = ctx.config;
  const m = new Map<Protocol, Decoder>();
  if (c.EF_PROCESSOR_DECODE_NETFLOW1_ENABLE) m.set('netflow1', new NetflowV1Decoder());
  if (c.EF_PROCESSOR_DECODE_NETFLOW5_ENABLE) m.set('netflow5', new NetflowV5Decoder());
  if (c.EF_PROCESSOR_DECODE_NETFLOW7_ENABLE) m.set('netflow7', new NetflowV7Decoder());
  const tpl = {
    templateLifetimeS: c.EF_PROCESSOR_DECODE_TEMPLATE_LIFETIME,
    pendingMax: c.EF_PROCESSOR_DECODE_PENDING_MAX,
    pendingTimeoutS: c.EF_PROCESSOR_DECODE_PENDING_TIMEOUT,
    stateDir: ctx.stateDir,
    dataDir: ctx.dataDir,
    owns: ctx.owns,
  };
  if (c.EF_PROCESSOR_DECODE_NETFLOW9_ENABLE) m.set('netflow9', new Netflow9Decoder(tpl));
  if (c.EF_PROCESSOR_DECODE_IPFIX_ENABLE) m.set('ipfix', new IpfixDecoder(tpl));
  if (c.EF_PROCESSOR_DECODE_SFLOW5_ENABLE) {
    m.set('sflow5', new SflowDecoder({ flows: c.EF_PROCESSOR_DECODE_SFLOW_FLOWS_ENABLE, counters: c.EF_PROCESSOR_DECODE_SFLOW_COUNTERS_ENABLE }));
  }
  return m;
}

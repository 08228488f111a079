import { opt } from '../spec.js';

const G = 'Decoders';

export const DECODE_OPTIONS = {
  EF_PROCESSOR_DECODE_NETFLOW1_ENABLE: opt.bool(G, true, 'Decode NetFlow v1.'),
  EF_PROCESSOR_DECODE_NETFLOW5_ENABLE: opt.bool(G, true, 'Decode NetFlow v5.'),
  EF_PROCESSOR_DECODE_NETFLOW7_ENABLE: opt.bool(G, true, 'Decode NetFlow v7.'),
  EF_PROCESSOR_DECODE_NETFLOW9_ENABLE: opt.bool(G, true, 'Decode NetFlow v9.'),
  EF_PROCESSOR_DECODE_IPFIX_ENABLE: opt.bool(G, true, 'Decode IPFIX.'),
  EF_PROCESSOR_DECODE_SFLOW5_ENABLE: opt.bool(G, true, 'Decode sFlow v5.'),
  EF_PROCESSOR_DECODE_SFLOW_FLOWS_ENABLE: opt.bool(G, true, 'Emit records for sFlow flow samples.'),
  EF_PROCESSOR_DECODE_SFLOW_COUNTERS_ENABLE: opt.bool(G, true, 'Emit records for sFlow counter samples (record type `counter`).'),
  EF_PROCESSOR_DECODE_TEMPLATE_LIFETIME: opt.int(G, 86400, 'Seconds a NetFlow v9/IPFIX template stays usable without being refreshed by its exporter.', { min: 60 }),
  EF_PROCESSOR_DECODE_PENDING_MAX: opt.int(G, 1024, 'Data sets held per exporter while their template has not arrived yet.', { min: 0, max: 1000000 }),
  EF_PROCESSOR_DECODE_PENDING_TIMEOUT: opt.int(G, 60, 'Seconds a data set waits for its template before it is dropped (and counted).', { min: 1 }),
};

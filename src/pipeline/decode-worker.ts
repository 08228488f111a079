/**
 * A decode worker thread: receives batches of datagrams from the main thread, decodes them with its
 * own exporter state (every datagram of one exporter goes to the same worker, so templates and
 * sequence stay consistent) and runs the enricher chain: its own instances of the 'worker'
 * enrichers, lookup-only copies of the 'replica' ones (threat lists, kept current by the main
 * thread). For outputs that only need text it encodes the NDJSON here and sends the bytes; records
 * go back packed only when an output (or a 'main' enricher) needs them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { secretValues } from '../config/load.js';
import { createDecoders } from '../decode/registry.js';
import { createEnrichers } from '../enrich/chain.js';
import { createLogger, setLogger } from '../log/logger.js';
import { registerSecrets } from '../log/redact.js';
import type { FlowRecord } from '../record/flow-record.js';
import { Pipeline } from './pipeline.js';
import { packRecords } from './record-transfer.js';
import { toNdjsonBuffer } from '../record/json.js';
import type { ViewOptions } from '../record/fields.js';
import type { Output } from './types.js';
import type { DatagramBatch, EncodedPart, ToMain, ToWorker } from './worker-protocol.js';

/** What the main thread needs back: NDJSON in `views` (one per distinct view of its text outputs), and records when `needRecords`. */
export interface DecodeWorkerData {
  config: Config;
  index: number;
  dataDir: string;
  views: ViewOptions[];
  needRecords: boolean;
}

const { config, index, dataDir, views, needRecords } = workerData as DecodeWorkerData;
registerSecrets(secretValues(config));
setLogger(createLogger({ level: config.EF_LOGGER_LEVEL, encoding: config.EF_LOGGER_ENCODING }));

/** Collects what the pipeline emits while one message is handled. */
class Collect implements Output {
  readonly name = 'to-main';
  pending: FlowRecord[] = [];
  async start(): Promise<void> {}
  write(batch: readonly FlowRecord[]): void {
    for (let i = 0; i < batch.length; i++) this.pending.push(batch[i]!);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  counters(): Record<string, number> {
    return {};
  }
}

const port = parentPort!;
const collect = new Collect();
// Template caches per worker: exporters are spread by address hash, so each worker persists its own.
const decoders = createDecoders({ config, stateDir: join(dataDir, `worker-${index}`) });
const enrichers = createEnrichers({ config, dataDir, worker: true }).filter((e) => e.placement !== 'main');
const pipeline = new Pipeline(decoders, enrichers, [collect]);

function post(msg: ToMain, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

/**
 * Buffers of earlier EncodedParts, handed back once written: reusing them keeps the NDJSON off new
 * external allocations, which made both threads' garbage collectors run several times as often.
 */
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 64;

function handle(b: DatagramBatch): void {
  const data = Buffer.from(b.data);
  for (let i = 0; i < b.count; i++) {
    const off = b.offsets[i]!;
    pipeline.handle(data.subarray(off, off + b.lengths[i]!), { exporterIp: b.addresses[i]!, exporterPort: b.ports[i]!, receivedAt: b.receivedAt[i]! });
  }
  const pending = collect.pending;
  if (pending.length === 0) {
    post({ type: 'records', records: null, encoded: [], handled: b.count });
    return;
  }
  collect.pending = [];
  const transfer: ArrayBuffer[] = [];
  const encoded: EncodedPart[] = [];
  for (let v = 0; v < views.length; v++) {
    const spare = spares.pop();
    const bytes = toNdjsonBuffer(pending, views[v]!, 0, pending.length, spare === undefined ? null : Buffer.from(spare));
    encoded.push({ view: v, data: bytes.buffer as ArrayBuffer, length: bytes.length, records: pending.length });
    transfer.push(bytes.buffer as ArrayBuffer);
  }
  const packed = needRecords ? packRecords(pending) : null;
  if (packed !== null) transfer.push(packed.nums.buffer as ArrayBuffer);
  post({ type: 'records', records: packed, encoded, handled: b.count }, transfer);
}

async function main(): Promise<void> {
  for (const e of enrichers) await e.start?.();
  const statsTimer = setInterval(() => post({ type: 'stats', exporters: pipeline.stats.snapshot() }), 1000);
  statsTimer.unref();
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'datagrams') handle(msg.batch);
    else if (msg.type === 'recycle') {
      if (spares.length < MAX_SPARES) spares.push(msg.data);
    } else if (msg.type === 'replica') enrichers.find((e) => e.name === msg.name)?.applyReplicaState?.(msg.state);
    else if (msg.type === 'sync') post({ type: 'synced', id: msg.id, exporters: pipeline.stats.snapshot(), decoders: describe() });
    else if (msg.type === 'close') {
      clearInterval(statsTimer);
      void (async () => {
        for (const d of decoders.values()) await d.close?.();
        for (const e of enrichers) await e.stop?.();
        post({ type: 'closed', exporters: pipeline.stats.snapshot() });
        port.close();
      })();
    }
  });
  post({ type: 'ready' });
}

function describe(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, d] of decoders) if (d.describe) out[p] = d.describe();
  return out;
}

void main();

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
import { getHeapStatistics } from 'node:v8';
import type { Config } from '../config/schema.js';
import { secretValues } from '../config/load.js';
import { workerOf } from './exporter-shard.js';
import { createDecoders } from '../decode/registry.js';
import { createEnrichers } from '../enrich/chain.js';
import { createLogger, log, setLogger } from '../log/logger.js';
import { registerSecrets } from '../log/redact.js';
import type { FlowRecord } from '../record/flow-record.js';
import { Pipeline } from './pipeline.js';
import { packRecords } from './record-transfer.js';
import { encoderFor, LINES_PER_WRITE, ndjsonLines, toNdjsonBuffer } from '../record/json.js';
import { TextRingWriter, type TextRingShared } from './text-ring.js';
import { reniceThisThread } from './thread-priority.js';
import { TurnQueue } from './turn-queue.js';
import { exporterLabels } from './exporter-labels.js';
import type { ViewOptions } from '../record/fields.js';
import type { Output } from './types.js';
import { enricherCounters, fileStatuses, type DatagramBatch, type EncodedPart, type ThreadHeap, type ToMain, type ToWorker } from './worker-protocol.js';

/** What the main thread needs back: NDJSON in `views` (one per distinct view of its text outputs), and records when `needRecords`. */
export interface DecodeWorkerData {
  config: Config;
  index: number;
  /** Decode workers in the pool. */
  workers: number;
  dataDir: string;
  views: ViewOptions[];
  needRecords: boolean;
  /** Shared memory for the first view's NDJSON (text-ring.ts); null when there is no view. */
  textRing: TextRingShared | null;
  /** Started in place of a worker that stopped (Enricher.start: a file that no longer loads does not keep it down). */
  successor: boolean;
}

const { config, index, workers, dataDir, views, needRecords, textRing, successor } = workerData as DecodeWorkerData;
registerSecrets(secretValues(config));
setLogger(createLogger({ level: config.EF_LOGGER_LEVEL, encoding: config.EF_LOGGER_ENCODING }));

/**
 * What the pipeline emits while one message is handled, made ready for the main thread: each
 * datagram's records are encoded the moment they arrive, into the text ring (text-ring.ts), so they
 * die young as on a single thread (encoding a whole message's records at its end kept ~1,600 alive
 * through several scavenges and made the worker ~25% slower). Records are kept only when the main
 * thread needs them, and a view's records go to a buffer of their own once its ring is full.
 */
class ForMain implements Output {
  readonly name = 'to-main';
  /** Records for the main thread (needRecords). */
  records: FlowRecord[] = [];
  /** Per view: records to encode at the end into a buffer of their own (views past the first, ring full). */
  private overflow: FlowRecord[][] = views.map(() => []);
  private readonly ring: TextRingWriter | null;
  private readonly encoders = views.map((v) => encoderFor(v));

  constructor(shared: TextRingShared | null) {
    this.ring = shared === null ? null : new TextRingWriter(shared);
  }

  async start(): Promise<void> {}

  write(batch: readonly FlowRecord[]): void {
    const n = batch.length;
    if (needRecords) for (let i = 0; i < n; i++) this.records.push(batch[i]!);
    for (let v = 0; v < views.length; v++) {
      let i = 0;
      const overflow = this.overflow[v]!;
      if (v === 0 && this.ring !== null && overflow.length === 0) {
        const enc = this.encoders[0]!;
        while (i < n) {
          const end = Math.min(n, i + LINES_PER_WRITE);
          if (!this.ring.write(ndjsonLines(enc, batch, i, end), end - i)) break;
          i = end;
        }
      }
      for (; i < n; i++) overflow.push(batch[i]!);
    }
  }

  /** Everything since the last call, in order: ring ranges, then each view's own buffer. */
  take(encoded: EncodedPart[], transfer: ArrayBuffer[]): void {
    if (this.ring !== null) for (const part of this.ring.takeParts()) encoded.push({ view: 0, records: part.records, ring: part, data: null, length: part.length });
    for (let v = 0; v < views.length; v++) {
      const rest = this.overflow[v]!;
      if (rest.length === 0) continue;
      const bytes = toNdjsonBuffer(rest, views[v]!);
      encoded.push({ view: v, records: rest.length, ring: null, data: bytes.buffer as ArrayBuffer, length: bytes.length });
      transfer.push(bytes.buffer as ArrayBuffer);
      this.overflow[v] = [];
    }
  }

  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  counters(): Record<string, number> {
    return {};
  }
}

const port = parentPort!;
const toMain = new ForMain(textRing);
// Template caches per worker: exporters are spread by address hash, so each worker persists its own,
// and at start takes its exporters' templates from every cache in the data dir (the number of
// workers may have changed since they were saved).
const decoders = createDecoders({ config, stateDir: join(dataDir, `worker-${index}`), dataDir, owns: (exporter) => workerOf(exporter, workers) === index });
const enrichers = createEnrichers({ config, dataDir, worker: true }).filter((e) => e.placement !== 'main');
const pipeline = new Pipeline(decoders, enrichers, [toMain]);

function post(msg: ToMain, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function handle(b: DatagramBatch): void {
  const data = Buffer.from(b.data);
  for (let i = 0; i < b.count; i++) {
    const off = b.offsets[i]!;
    pipeline.handle(data.subarray(off, off + b.lengths[i]!), { exporterIp: b.addresses[i]!, exporterPort: b.ports[i]!, receivedAt: b.receivedAt[i]! });
  }
  const transfer: ArrayBuffer[] = [];
  const encoded: EncodedPart[] = [];
  toMain.take(encoded, transfer);
  let packed = null;
  if (toMain.records.length > 0) {
    packed = packRecords(toMain.records);
    toMain.records = [];
    transfer.push(packed.nums.buffer as ArrayBuffer);
  }
  post({ type: 'records', records: packed, encoded, handled: b.count }, transfer);
}

async function main(): Promise<void> {
  // Below the receive and main threads (EF_FLOW_SERVER_WORKERS_NICE, thread-priority.ts says why).
  if (config.EF_FLOW_SERVER_WORKERS_NICE > 0 && reniceThisThread(config.EF_FLOW_SERVER_WORKERS_NICE) === null) {
    log.debug(`decode worker ${index}: could not lower its priority (EF_FLOW_SERVER_WORKERS_NICE)`);
  }
  for (const e of enrichers) await e.start?.({ successor });
  // The exporters' counts since the last report (takeReport): nothing for those that sent nothing.
  const report = (): void => post({ type: 'stats', exporters: pipeline.stats.takeReport(), heap: heapNow(), enrichers: enricherCounters(enrichers), files: fileStatuses(enrichers) });
  // The first report before 'ready': the files' statuses (and the heap) are there once the pool has started.
  report();
  const statsTimer = setInterval(report, 1000);
  statsTimer.unref();
  // One message a turn (turn-queue.ts): the stats report and the template saves go on under a backlog.
  const inbox = new TurnQueue<ToWorker>((msg) => {
    if (msg.type === 'datagrams') handle(msg.batch);
    else if (msg.type === 'replica') enrichers.find((e) => e.name === msg.name)?.applyReplicaState?.(msg.state);
    else if (msg.type === 'sync') {
      post({ type: 'synced', id: msg.id, exporters: pipeline.stats.takeReport(), decoders: describe(), labels: exporterLabels(enrichers, pipeline.stats.exporters()) });
    }
    else if (msg.type === 'close') {
      clearInterval(statsTimer);
      void (async () => {
        // Through the pipeline: what the decoders still hold is counted in the report below.
        await pipeline.close();
        for (const e of enrichers) await e.stop?.();
        post({ type: 'closed', exporters: pipeline.stats.takeReport() });
        port.close();
      })();
    }
  });
  port.on('message', (msg: ToWorker) => inbox.push(msg));
  post({ type: 'ready' });
}

function heapNow(): ThreadHeap {
  const h = getHeapStatistics();
  return { used: h.used_heap_size, total: h.total_heap_size, external: h.external_memory };
}

function describe(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, d] of decoders) if (d.describe) out[p] = d.describe();
  return out;
}

void main();

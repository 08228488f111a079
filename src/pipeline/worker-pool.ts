/**
 * Spreads decoding, enrichment and encoding over worker threads. The main thread keeps the sockets,
 * the downloads of the threat lists (workers get copies) and the outputs; each datagram goes to the
 * worker chosen by its exporter address, so one exporter's datagrams stay in order and its templates
 * live in one place. Datagrams cross in batches inside one transferred buffer (no copy on the way
 * in); what comes back is NDJSON bytes for text outputs (transferred, no copy) and packed records
 * only for outputs that need records.
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import type { FlowRecord } from '../record/flow-record.js';
import type { ViewOptions } from '../record/fields.js';
import { log } from '../log/logger.js';
import type { ExporterStats } from './exporter-stats.js';
import { unpackRecords } from './record-transfer.js';
import { BATCH_DATAGRAMS, BATCH_WAIT_MS, DatagramStaging as Staging, STAGING_BYTES } from './datagram-staging.js';
import type { ThreadHeap, ToMain, ToWorker } from './worker-protocol.js';
import type { DecodeWorkerData } from './decode-worker.js';
import type { Enricher } from './types.js';
import { createTextRing, TextRingReader } from './text-ring.js';

/** Datagrams a worker may have queued before new ones for it are dropped (and counted). */
const MAX_BACKLOG = 100_000;

function workerUrl(): URL {
  // decode-worker.ts under tsx (tests), decode-worker.js once built.
  return new URL(`./decode-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

/** FNV-1a over the address text: cheap, and stable across restarts. */
function hashAddress(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface WorkerPoolOptions {
  workers: number;
  config: Config;
  dataDir: string;
  stats: ExporterStats;
  /** Views the workers encode NDJSON in; `onEncoded` gets each message's bytes per view. */
  views: ViewOptions[];
  /** `release` lets the worker reuse the bytes' memory: call it once they are written (or dropped). */
  onEncoded: (view: number, bytes: Buffer, records: number, release: () => void) => void;
  /** Whether records come back (packed) at all; `onRecords` gets them. */
  needRecords: boolean;
  onRecords: (records: FlowRecord[]) => void;
  /** Main-thread instances of the 'replica' enrichers: their state is copied to every worker, now and after each change. */
  replicas: Enricher[];
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly staging: Staging[] = [];
  private readonly backlog: number[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private syncId = 0;
  private readonly waiters = new Map<number, { left: number; resolve: () => void }>();
  private decoderInfo: Record<string, unknown>[] = [];
  private readonly heap: (ThreadHeap | null)[] = [];
  private readonly n: number;
  private readonly stats: ExporterStats;
  private readonly rings: (TextRingReader | null)[] = [];

  constructor(private readonly o: WorkerPoolOptions) {
    this.n = o.workers;
    this.stats = o.stats;
  }

  get size(): number {
    return this.n;
  }

  async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.n; i++) {
      const entry = workerUrl();
      const fromSources = entry.pathname.endsWith('.ts');
      const textRing = this.o.views.length > 0 ? createTextRing() : null;
      this.rings.push(textRing === null ? null : new TextRingReader(textRing));
      const w = new Worker(fromSources ? new URL('./ts-worker-shim.mjs', import.meta.url) : entry, {
        // A larger young generation than a worker's default: records and their JSON text die young,
        // and with the default the worker spent ~2x longer in scavenges (measured in bench/pipeline.ts).
        resourceLimits: { maxYoungGenerationSizeMb: 64 },
        workerData: { config: this.o.config, index: i, dataDir: this.o.dataDir, views: this.o.views, needRecords: this.o.needRecords, textRing, __entry: entry.href } satisfies DecodeWorkerData & { __entry: string },
      });
      this.workers.push(w);
      this.staging.push(new Staging());
      this.backlog.push(0);
      this.decoderInfo.push({});
      this.heap.push(null);
      ready.push(new Promise((resolve, reject) => {
        w.once('error', reject);
        w.on('message', (m: ToMain) => {
          if (m.type === 'ready') resolve();
          this.onMessage(i, m);
        });
      }));
      w.on('error', (err) => log.error(`decode worker ${i} failed: ${err.message}`));
      // A worker that is gone has no heap to report.
      w.on('exit', () => (this.heap[i] = null));
    }
    await Promise.all(ready);
    // Lists already loaded reach every worker before its first datagram (messages keep their order).
    for (const e of this.o.replicas) {
      this.sendReplica(e);
      e.onReplicaChange?.(() => this.sendReplica(e));
    }
    log.info(`decoding on ${this.n} worker thread${this.n === 1 ? '' : 's'}`);
  }

  private onMessage(i: number, m: ToMain): void {
    switch (m.type) {
      case 'records':
        this.backlog[i]! -= m.handled;
        for (const part of m.encoded) {
          const ring = this.rings[i]!;
          const rp = part.ring;
          if (rp !== null) this.o.onEncoded(part.view, ring.bytes(rp), part.records, () => ring.release(rp));
          else this.o.onEncoded(part.view, Buffer.from(part.data!, 0, part.length), part.records, () => {});
        }
        if (m.records !== null) this.o.onRecords(unpackRecords(m.records));
        break;
      case 'stats':
        this.stats.absorb(i, m.exporters);
        this.heap[i] = m.heap;
        break;
      case 'synced': {
        this.stats.absorb(i, m.exporters);
        this.decoderInfo[i] = m.decoders;
        const w = this.waiters.get(m.id);
        if (w && --w.left === 0) {
          this.waiters.delete(m.id);
          w.resolve();
        }
        break;
      }
      case 'closed':
        this.stats.absorb(i, m.exporters);
        break;
      default:
        break;
    }
  }

  /** Copies a replica enricher's current state to every worker (structured clone: each gets its own). */
  private sendReplica(e: Enricher): void {
    const state = e.replicaState?.() ?? null;
    if (state === null) return;
    for (const w of this.workers) w.postMessage({ type: 'replica', name: e.name, state } satisfies ToWorker);
  }

  dispatch(buf: Buffer, address: string, port: number, receivedAt: number): void {
    const i = this.n === 1 ? 0 : hashAddress(address) % this.n;
    if (this.backlog[i]! >= MAX_BACKLOG || buf.length > STAGING_BYTES) {
      this.stats.error(address, buf.length > STAGING_BYTES ? 'datagram too large' : 'dropped: decode backlog full', receivedAt);
      return;
    }
    const s = this.staging[i]!;
    if (!s.fits(buf.length)) this.send(i);
    s.add(buf, address, port, receivedAt);
    if (s.count >= BATCH_DATAGRAMS) this.send(i);
    else if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flushAll(), BATCH_WAIT_MS);
  }

  private send(i: number): void {
    const s = this.staging[i]!;
    if (s.count === 0) return;
    const batch = s.take();
    this.backlog[i]! += batch.count;
    const msg: ToWorker = { type: 'datagrams', batch };
    this.workers[i]!.postMessage(msg, [batch.data, batch.offsets.buffer, batch.lengths.buffer, batch.ports.buffer, batch.receivedAt.buffer] as ArrayBuffer[]);
  }

  private flushAll(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (let i = 0; i < this.n; i++) this.send(i);
  }

  /** Resolves once every datagram dispatched so far has been decoded and its records handed on. */
  async sync(): Promise<void> {
    this.flushAll();
    const id = ++this.syncId;
    await new Promise<void>((resolve) => {
      this.waiters.set(id, { left: this.n, resolve });
      for (const w of this.workers) w.postMessage({ type: 'sync', id } satisfies ToWorker);
    });
  }

  /** What each worker's decoders report (templates, sampling), as of the last sync. */
  decoders(): Record<string, unknown>[] {
    return this.decoderInfo;
  }

  /** Each worker's heap as of its last report (once a second; null before the first). */
  heaps(): readonly (ThreadHeap | null)[] {
    return this.heap;
  }

  async close(): Promise<void> {
    await this.sync();
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      w.on('exit', () => resolve());
      w.postMessage({ type: 'close' } satisfies ToWorker);
    })));
    this.workers.length = 0;
  }
}

/**
 * Spreads decoding, enrichment and encoding over worker threads. The main thread keeps the sockets,
 * the downloads of the threat lists (workers get copies) and the outputs; each datagram goes to the
 * worker chosen by its exporter address, so one exporter's datagrams stay in order and its templates
 * live in one place. Datagrams cross in batches inside one transferred buffer (no copy on the way
 * in); what comes back is NDJSON bytes for text outputs (transferred, no copy) and packed records
 * only for outputs that need records.
 */
import type { Worker } from 'node:worker_threads';
import { workerOf } from './exporter-shard.js';
import type { Config } from '../config/schema.js';
import type { FlowRecord } from '../record/flow-record.js';
import type { ViewOptions } from '../record/fields.js';
import { log } from '../log/logger.js';
import type { ExporterStats } from './exporter-stats.js';
import { unpackRecords } from './record-transfer.js';
import { mergeExporterLabels } from './exporter-labels.js';
import type { ExporterLabel, UserFileStatus } from './types.js';
import { moduleWorker } from './module-worker.js';
import { BATCH_DATAGRAMS, BATCH_WAIT_MS, DatagramStaging as Staging, STAGING_BYTES } from './datagram-staging.js';
import { addEnricherCounters, mergeFileStatuses, type EnricherCounters, type ThreadHeap, type ToMain, type ToWorker } from './worker-protocol.js';
import type { DecodeWorkerData } from './decode-worker.js';
import type { Enricher } from './types.js';
import { createTextRing, TextRingReader } from './text-ring.js';
import { QUICK_STOP_MS, RESTART_PAUSE_MS, stoppedQuickly } from './restart-pause.js';
import { TurnQueue } from './turn-queue.js';

/** Datagrams a worker may have queued before new ones for it are dropped (and counted). */
const MAX_BACKLOG = 100_000;
/**
 * The same bound in bytes: 100,000 datagrams of an exporter's usual 1.4 KB are 140 MB, but of 64 KB
 * (the UDP maximum, which IPFIX allows) they would be 6.4 GB.
 */
const MAX_BACKLOG_BYTES = 256 * 1024 * 1024;


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

/** Quick stops in a row after which syncs (flushes, stop) no longer wait for a worker's successor. */
const GIVE_UP_WAITING_AFTER = 3;

export class WorkerPool {
  private readonly workers: (Worker | null)[] = [];
  private readonly staging: Staging[] = [];
  private readonly backlog: number[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private syncId = 0;
  /** Each sync in progress: the workers that have not answered yet. */
  private readonly waiters = new Map<number, { left: Set<number>; resolve: () => void }>();
  private decoderInfo: Record<string, unknown>[] = [];
  /** Each worker's exporter labels (exporter-labels.ts), as of the last sync. */
  private labelInfo: Record<string, ExporterLabel>[] = [];
  private readonly heap: (ThreadHeap | null)[] = [];
  /** Each worker's enricher counters as it last reported them, and the sum of those of workers that are gone. */
  private readonly enricherTotals: (EnricherCounters | null)[] = [];
  /** Each worker's user files, as of its last report. */
  private readonly files: UserFileStatus[][] = [];
  /** Why each worker last failed (its 'error' event), until its exit is handled. */
  private readonly lastFailure: (string | null)[] = [];
  private readonly retiredEnricherTotals: EnricherCounters = {};
  private readonly n: number;
  private readonly stats: ExporterStats;
  private readonly startedAt: number[] = [];
  /** Per worker: quick stops (restart-pause.ts) in a row. */
  private readonly quickFails: number[] = [];
  private readonly restartTimer: (NodeJS.Timeout | null)[] = [];
  /** Per worker: the exporter of each datagram of each batch sent and not yet answered, oldest first. */
  private readonly inFlight: { addresses: string[]; bytes: number }[][] = [];
  /** Bytes of the datagrams each worker has queued (beside `backlog`, their count). */
  private readonly backlogBytes: number[] = [];
  private closing = false;
  /**
   * Workers that stopped on their own (a crash; each is replaced), and the datagrams lost with them:
   * those they had queued, and those that came for them while no successor ran and did not fit.
   */
  restarts = 0;
  lostDatagrams = 0;

  constructor(private readonly o: WorkerPoolOptions) {
    this.n = o.workers;
    this.stats = o.stats;
  }

  get size(): number {
    return this.n;
  }

  /** Messages from the workers (mostly decoded batches) the main thread has yet to take. */
  get resultsWaiting(): number {
    return this.inbox.size;
  }

  async start(): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < this.n; i++) {
      this.staging.push(new Staging());
      this.backlog.push(0);
      this.backlogBytes.push(0);
      this.decoderInfo.push({});
      this.labelInfo.push({});
      this.heap.push(null);
      this.enricherTotals.push(null);
      this.files.push([]);
      this.lastFailure.push(null);
      this.workers.push(null);
      this.startedAt.push(0);
      this.quickFails.push(0);
      this.restartTimer.push(null);
      this.inFlight.push([]);
      ready.push(this.spawn(i, false));
    }
    await Promise.all(ready);
    // Lists already loaded reach every worker before its first datagram (messages keep their order).
    for (const e of this.o.replicas) {
      this.sendReplica(e);
      e.onReplicaChange?.(() => this.sendReplica(e));
    }
    log.info(`decoding on ${this.n} worker thread${this.n === 1 ? '' : 's'}`);
  }

  /** Starts worker `i` (`successor`: again, after a crash); resolves once it is ready for datagrams. */
  private spawn(i: number, successor: boolean): Promise<void> {
    const textRing = this.o.views.length > 0 ? createTextRing() : null;
    // This worker's own reader: bytes still being written when it stops are released to it, not to a successor.
    const ring = textRing === null ? null : new TextRingReader(textRing);
    // decode-worker.ts under tsx (tests), decode-worker.js once built.
    const w = moduleWorker(import.meta.url, './decode-worker', {
      // A larger young generation than a worker's default: records and their JSON text die young,
      // and with the default the worker spent ~2x longer in scavenges (measured in bench/pipeline.ts).
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
      workerData: { config: this.o.config, index: i, workers: this.n, dataDir: this.o.dataDir, views: this.o.views, needRecords: this.o.needRecords, textRing, successor } satisfies DecodeWorkerData,
    });
    this.workers[i] = w;
    this.startedAt[i] = Date.now();
    const ready = new Promise<void>((resolve, reject) => {
      w.once('error', reject);
      w.on('message', (m: ToMain) => {
        if (m.type === 'ready') resolve();
        this.inbox.push({ i, w, ring, m, code: 0 });
      });
    });
    w.on('error', (err) => {
      this.lastFailure[i] = err.message.split('\n')[0]!;
      log.error(`decode worker ${i} failed: ${err.message}`);
    });
    // Through the same queue as its messages: its last reports are taken before it is retired.
    w.on('exit', (code) => this.inbox.push({ i, w, ring, m: null, code }));
    return ready;
  }

  /**
   * Worker `i` has stopped. Unless the pool is closing, it crashed: the datagrams it had queued are
   * lost (counted), and a new worker takes its place (its exporters' templates come back from its
   * state file, or with their next template packets). Syncs in progress wait for the new worker.
   */
  private exited(i: number, w: Worker, code: number): void {
    if (this.workers[i] !== w) return;
    // A worker that is gone has no heap to report; its counters so far stay (its successor starts at
    // 0), its caches went with it.
    this.heap[i] = null;
    if (this.enricherTotals[i] !== null) addEnricherCounters(this.retiredEnricherTotals, this.enricherTotals[i]!, false);
    this.enricherTotals[i] = null;
    // Its files' statuses say it stopped, until a successor reports its own: one that cannot load a
    // file (edited into a bad state, then the worker restarted) never does, and must not read as fine.
    const why = this.lastFailure[i] ?? `exit code ${code}`;
    this.lastFailure[i] = null;
    this.files[i] = this.files[i]!.map((s) => ({ ...s, error: `the decode worker reading it stopped (${why}); a new one reads it again` }));
    this.workers[i] = null;
    if (this.closing) {
      this.forget(i);
      return;
    }
    // What it reported (once a second) is counted; its successor's reports add to it.
    // What it had queued is lost, counted against each datagram's exporter.
    let lost = 0;
    const now = Date.now();
    for (const { addresses } of this.inFlight[i]!) {
      for (const a of addresses) this.stats.error(a, 'lost: decode worker stopped', now);
      lost += addresses.length;
    }
    this.inFlight[i] = [];
    this.backlog[i] = 0;
    this.backlogBytes[i] = 0;
    this.lostDatagrams += lost;
    this.restarts++;
    const quick = stoppedQuickly(this.startedAt[i]!);
    this.quickFails[i] = quick ? this.quickFails[i]! + 1 : 0;
    const pause = quick ? RESTART_PAUSE_MS : 0;
    log.error(`decode worker ${i} stopped (exit code ${code}): ${lost} datagram${lost === 1 ? '' : 's'} it had queued are lost; starting a new one${pause > 0 ? ` in ${pause} ms` : ''}`);
    if (this.quickFails[i]! >= GIVE_UP_WAITING_AFTER) {
      // One that cannot run (a state file it cannot load, a bug on its first datagram) is still
      // restarted, but flushes, the API and a stop no longer wait for it. Every such stop releases
      // them: a sync made while a successor was starting waits for that successor, which may die too.
      if (this.quickFails[i] === GIVE_UP_WAITING_AFTER) log.error(`decode worker ${i} stopped ${GIVE_UP_WAITING_AFTER} times within ${QUICK_STOP_MS / 1000} s of starting: flushes no longer wait for it until one runs longer`);
      this.forget(i);
    }
    this.restartTimer[i] = setTimeout(() => this.restart(i), pause);
  }

  /** Starts worker `i`'s successor: the threat lists first, then the held datagrams and the syncs waiting for it. */
  private restart(i: number): void {
    this.restartTimer[i] = null;
    if (this.closing || this.workers[i] !== null) return;
    try {
      this.spawn(i, true).then(() => log.info(`decode worker ${i} restarted`), () => undefined);
    } catch (err) {
      log.error(`decode worker ${i}: could not start a new one (${(err as Error).message}); next try in ${RESTART_PAUSE_MS} ms`);
      this.restartTimer[i] = setTimeout(() => this.restart(i), RESTART_PAUSE_MS);
      return;
    }
    // Messages keep their order: the copies of the threat lists reach it before any datagram.
    for (const e of this.o.replicas) this.sendReplicaTo(e, i);
    this.send(i);
    for (const [id, waiter] of this.waiters) if (waiter.left.has(i)) this.workers[i]!.postMessage({ type: 'sync', id } satisfies ToWorker);
  }

  /** Syncs in progress stop waiting for worker `i` (stopped while the pool closes). */
  private forget(i: number): void {
    for (const [id, waiter] of this.waiters) {
      if (waiter.left.delete(i) && waiter.left.size === 0) {
        this.waiters.delete(id);
        waiter.resolve();
      }
    }
  }

  /**
   * The workers' messages and exits, one a turn (turn-queue.ts): a burst of results (records to
   * unpack for the stores) no longer holds the main thread's web API, metrics and output timers
   * until it is all handled.
   */
  private readonly inbox = new TurnQueue<{ i: number; w: Worker; ring: TextRingReader | null; m: ToMain | null; code: number }>((x) => {
    if (x.m === null) this.exited(x.i, x.w, x.code);
    else this.onMessage(x.i, x.m, x.ring);
  });

  private onMessage(i: number, m: ToMain, ring: TextRingReader | null): void {
    switch (m.type) {
      case 'records':
        // One answer per batch, in order (decode-worker.ts).
        this.backlogBytes[i] = Math.max(0, this.backlogBytes[i]! - (this.inFlight[i]!.shift()?.bytes ?? 0));
        this.backlog[i] = Math.max(0, this.backlog[i]! - m.handled);
        for (const part of m.encoded) {
          const rp = part.ring;
          if (rp !== null) this.o.onEncoded(part.view, ring!.bytes(rp), part.records, () => ring!.release(rp));
          else this.o.onEncoded(part.view, Buffer.from(part.data!, 0, part.length), part.records, () => {});
        }
        if (m.records !== null) this.o.onRecords(unpackRecords(m.records));
        break;
      case 'stats':
        this.stats.absorb(m.exporters);
        this.heap[i] = m.heap;
        this.enricherTotals[i] = m.enrichers;
        this.files[i] = m.files;
        break;
      case 'synced': {
        this.stats.absorb(m.exporters);
        this.decoderInfo[i] = m.decoders;
        this.labelInfo[i] = m.labels;
        const w = this.waiters.get(m.id);
        if (w && w.left.delete(i) && w.left.size === 0) {
          this.waiters.delete(m.id);
          w.resolve();
        }
        break;
      }
      case 'closed':
        this.stats.absorb(m.exporters);
        break;
      default:
        break;
    }
  }

  /** Copies a replica enricher's current state to every worker (structured clone: each gets its own). */
  private sendReplica(e: Enricher): void {
    const state = e.replicaState?.() ?? null;
    for (let i = 0; i < this.n; i++) this.sendReplicaTo(e, i, state);
  }

  /** To worker `i` alone (a crashed one's successor); `state` when already taken for all of them. */
  private sendReplicaTo(e: Enricher, i: number, state = e.replicaState?.() ?? null): void {
    const w = this.workers[i];
    if (w !== null && state !== null) w.postMessage({ type: 'replica', name: e.name, state } satisfies ToWorker);
  }

  dispatch(buf: Buffer, address: string, port: number, receivedAt: number): void {
    const i = workerOf(address, this.n);
    if (this.backlog[i]! >= MAX_BACKLOG || this.backlogBytes[i]! >= MAX_BACKLOG_BYTES || buf.length > STAGING_BYTES) {
      this.stats.error(address, buf.length > STAGING_BYTES ? 'datagram too large' : 'dropped: decode backlog full', receivedAt);
      return;
    }
    const s = this.staging[i]!;
    if (!s.fits(buf.length)) {
      if (this.workers[i] === null) {
        // Held for a crashed worker's successor until the staging is full; past that, lost.
        this.lostDatagrams++;
        this.stats.error(address, 'dropped: decode worker restarting', receivedAt);
        return;
      }
      this.send(i);
    }
    s.add(buf, address, port, receivedAt);
    if (s.count >= BATCH_DATAGRAMS) this.send(i);
    else if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flushAll(), BATCH_WAIT_MS);
  }

  private send(i: number): void {
    const s = this.staging[i]!;
    const w = this.workers[i];
    if (s.count === 0) return;
    // Between a crash and its successor the datagrams stay staged (dispatch() drops what does not fit).
    if (w === null) return;
    const batch = s.take();
    this.backlog[i]! += batch.count;
    this.backlogBytes[i]! += batch.data.byteLength;
    this.inFlight[i]!.push({ addresses: batch.addresses, bytes: batch.data.byteLength });
    const msg: ToWorker = { type: 'datagrams', batch };
    w!.postMessage(msg, [batch.data, batch.offsets.buffer, batch.lengths.buffer, batch.ports.buffer, batch.receivedAt.buffer] as ArrayBuffer[]);
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
      // A worker being replaced (null) gets the sync once its successor starts (exited()); while
      // the pool closes it is not waited for.
      const left = new Set<number>();
      this.workers.forEach((w, i) => {
        if (w !== null) w.postMessage({ type: 'sync', id } satisfies ToWorker);
        if (w !== null || (!this.closing && this.quickFails[i]! < GIVE_UP_WAITING_AFTER)) left.add(i);
      });
      if (left.size === 0) resolve();
      else this.waiters.set(id, { left, resolve });
    });
  }

  /** What each worker's decoders report (templates, sampling), as of the last sync. */
  decoders(): Record<string, unknown>[] {
    return this.decoderInfo;
  }

  /** What the workers' enrichers call their exporters, as of the last sync. */
  exporterLabels(): Record<string, ExporterLabel> {
    const out: Record<string, ExporterLabel> = {};
    for (const l of this.labelInfo) mergeExporterLabels(out, l);
    return out;
  }

  /** How the workers' user files last loaded, one status per file (mergeFileStatuses). */
  fileStatuses(): UserFileStatus[] {
    return mergeFileStatuses(this.files);
  }

  /** The workers' enricher counters, summed (as of their last reports, once a second), those of replaced workers included (not their levels). */
  enricherCounters(): EnricherCounters {
    const sum: EnricherCounters = {};
    addEnricherCounters(sum, this.retiredEnricherTotals);
    for (const t of this.enricherTotals) if (t !== null) addEnricherCounters(sum, t);
    return sum;
  }

  /** Each worker's heap as of its last report (once a second; null before the first). */
  heaps(): readonly (ThreadHeap | null)[] {
    return this.heap;
  }

  async close(): Promise<void> {
    this.closing = true;
    // A worker still being replaced is not started again: nothing is left to wait for from it.
    const now = Date.now();
    this.workers.forEach((w, i) => {
      if (this.restartTimer[i] !== null) clearTimeout(this.restartTimer[i]!);
      if (w !== null) return;
      // Held for a successor that will not start now: lost, counted per exporter and logged.
      const held = this.staging[i]!.take();
      for (const a of held.addresses) this.stats.error(a, 'lost: decode worker restarting at stop', now);
      this.lostDatagrams += held.count;
      if (held.count > 0) log.error(`decode worker ${i} was restarting when the collector stopped: ${held.count} datagram${held.count === 1 ? '' : 's'} held for it are lost`);
      this.forget(i);
    });
    await this.sync();
    await Promise.all(this.workers.map((w) => w === null ? undefined : new Promise<void>((resolve) => {
      w.on('exit', () => resolve());
      w.postMessage({ type: 'close' } satisfies ToWorker);
    })));
    // Their last messages ('closed' with the final counts) are handled before the pool is closed.
    await this.inbox.idle();
    this.workers.length = 0;
  }
}

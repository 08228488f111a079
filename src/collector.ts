/**
 * Wires the stages from configuration: decoders, enricher chain, outputs, and the UDP input or a
 * pcap replay feeding them.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { isConfigFileError } from './config/file-error.js';
import type { Config } from './config/schema.js';
import { createDecoders } from './decode/registry.js';
import { createEnrichers } from './enrich/chain.js';
import { UdpInput } from './input/udp.js';
import { openCapture } from './input/capture-file.js';
import { CaptureReader, readUdpDatagrams, type CaptureCounts, type UdpDatagram } from './input/pcap.js';
import { log } from './log/logger.js';
import { createOutputs } from './output/registry.js';
import { Pipeline } from './pipeline/pipeline.js';
import { WorkerPool } from './pipeline/worker-pool.js';
import { addEnricherCounters, enricherCounters, fileStatuses, type EnricherCounters, type ThreadHeap } from './pipeline/worker-protocol.js';
import type { Decoder, Enricher, Output, Protocol, UserFileStatus } from './pipeline/types.js';
import { sameView, type ViewOptions } from './record/fields.js';
import { WebServer } from './web/server.js';
import { makeDir } from './make-dir.js';
import { within } from './within.js';

export interface CollectorParts {
  decoders?: Map<Protocol, Decoder>;
  enrichers?: Enricher[];
  outputs?: Output[];
}

/**
 * EF_FLOW_SERVER_WORKERS as a count. `auto`: one worker when every output takes NDJSON text from the
 * workers (the file output; no record then crosses a thread) and there is a core to spare, else none
 * (records would be packed and unpacked between threads, which costs more than it saves: Sizing in
 * docs/operations.md). A 'main' enricher makes every output take records, so it means none too.
 */
export function decodeWorkers(setting: string, outputs: readonly Output[], enrichers: readonly Enricher[], cores: number): number {
  const s = setting.trim();
  if (s !== 'auto' && s !== '') return Number(s);
  const textOnly = outputs.length > 0 && outputs.every((o) => o.encodedView !== undefined && o.writeEncoded !== undefined);
  return textOnly && cores >= 2 && !enrichers.some((e) => e.placement === 'main') ? 1 : 0;
}

/** The longest a failed start-up spends stopping what it had started. */
const STOP_AFTER_FAILED_START_MS = 5000;
/**
 * `replayFile` lets the outputs catch up after this many records: well under their default memory
 * queues (the smallest: ClickHouse with a spill, two batches of 50,000; records past it go to the
 * spill), so none drops for lack of room. Queues set smaller may still drop; the replay says so.
 */
const REPLAY_WAIT_RECORDS = 10_000;

/** What `replayFile` read and fed. */
export interface ReplayCounts extends CaptureCounts {
  /** UDP datagrams fed to the pipeline. */
  datagrams: number;
  /** UDP datagrams to other ports than those asked for. */
  otherPorts: number;
  /** Datagrams fed, by destination port. */
  byPort: Record<number, number>;
}

/** A capture that could not be read to its end (missing, not a capture, damaged); `counts`: what was read and fed before. */
export class ReplayError extends Error {
  constructor(message: string, readonly counts: ReplayCounts, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Start-up failed; the reason is logged already. */
export class StartupError extends Error {}

export class Collector {
  readonly dataDir: string;
  readonly decoders: Map<Protocol, Decoder>;
  readonly enrichers: Enricher[];
  readonly outputs: Output[];
  readonly pipeline: Pipeline;
  private udp: UdpInput | null = null;
  /** Decode workers (workers > 0), from listen() to stop(). */
  pool: WorkerPool | null = null;
  /** Decode worker threads listen() starts: EF_FLOW_SERVER_WORKERS with `auto` resolved (decodeWorkers). */
  readonly workers: number;
  /** The web UI, API and /metrics server (EF_WEBUI_ENABLE), running from listen() to stop(). */
  web: WebServer | null = null;

  /** `parts` replaces stages built from config (tests inject outputs that capture records). */
  constructor(readonly config: Config, parts: CollectorParts = {}) {
    this.dataDir = resolve(config.EF_DATA_DIR);
    makeDir(this.dataDir);
    this.decoders = parts.decoders ?? createDecoders({ config, stateDir: this.dataDir, dataDir: this.dataDir });
    this.enrichers = parts.enrichers ?? createEnrichers({ config, dataDir: this.dataDir });
    this.outputs = parts.outputs ?? createOutputs({ config, dataDir: this.dataDir });
    this.pipeline = new Pipeline(this.decoders, this.enrichers, this.outputs);
    this.workers = decodeWorkers(config.EF_FLOW_SERVER_WORKERS, this.outputs, this.enrichers, availableParallelism());
  }

  /**
   * Loads enrichers and opens outputs. `mode` 'listen' with decode workers (EF_FLOW_SERVER_WORKERS)
   * leaves the 'worker' enrichers unloaded here: each worker loads its own, and this thread never
   * enriches. 'replay' decodes on this thread whatever the setting.
   */
  async start(mode: 'listen' | 'replay' = 'listen'): Promise<void> {
    const onWorkers = mode === 'listen' && this.workers > 0;
    // A replay's held data ages by the capture's times alone (Pipeline.timedSweeps).
    if (mode === 'replay') this.pipeline.timedSweeps = false;
    const started: Array<() => Promise<void> | void> = [];
    // Every enricher's file is tried, so that one start-up lists every file that will not load, as
    // `ufc config` does, rather than one per restart. Once one has failed the others are only checked
    // (their files parsed, nothing downloaded or started) and the outputs are not opened.
    const problems: Error[] = [];
    for (const e of this.enrichers) {
      try {
        if (problems.length > 0 || (onWorkers && e.placement !== 'replica' && e.placement !== 'main')) {
          await e.check?.();
          continue;
        }
        await e.start?.();
        if (e.stop !== undefined) started.push(() => e.stop!());
      } catch (err) {
        problems.push(err as Error);
      }
    }
    if (problems.length === 0) {
      try {
        for (const o of this.outputs) {
          await o.start();
          started.push(() => o.close());
        }
      } catch (err) {
        problems.push(err as Error);
      }
    }
    if (problems.length > 0) {
      // Said first: stopping may take a while (an output flushes what it replayed from its spill).
      for (const p of problems) log.error(`start-up failed: ${p.message}`);
      // What did start is stopped again (its timers, sockets and files) so that the process can end,
      // for at most STOP_AFTER_FAILED_START_MS in all; a failure while stopping must not hide the first one.
      const stopping = (async () => {
        for (const stop of started.reverse()) await Promise.resolve().then(stop).catch((e: unknown) => log.warn(`stopping after a failed start-up: ${(e as Error).message}`));
      })();
      await within(stopping, STOP_AFTER_FAILED_START_MS);
      // A file that will not load is mended by its user, not by a restart (exit code 2): when one is
      // among the problems, a restart cannot succeed whatever the others are.
      const cause = problems.find((p) => isConfigFileError(p)) ?? problems[0]!;
      throw new StartupError(problems.map((p) => p.message).join('; '), { cause });
    }
    if (this.outputs.length === 0) log.warn('no output is enabled: records are decoded and counted, then discarded');
  }

  async listen(): Promise<number[]> {
    const c = this.config;
    let onDatagram = (buf: Buffer, address: string, port: number, receivedAt: number): void =>
      this.pipeline.handle(buf, { exporterIp: address, exporterPort: port, receivedAt });
    if (this.workers > 0 && this.pool === null) {
      this.pool = this.createPool();
      await this.pool.start();
      const pool = this.pool;
      onDatagram = (buf, address, port, receivedAt) => pool.dispatch(buf, address, port, receivedAt);
    }
    this.udp = new UdpInput(
      { ip: c.EF_FLOW_SERVER_UDP_IP, ports: c.EF_FLOW_SERVER_UDP_PORT.map(Number), readBufferBytes: c.EF_FLOW_SERVER_UDP_READ_BUFFER_MAX_SIZE, receiveThreadBytes: c.EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE,
        receivePriority: c.EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY, cores: availableParallelism() },
      onDatagram,
    );
    await this.udp.start();
    // The web server belongs to a running collector, not to `ufc replay` (which starts but never listens).
    if (c.EF_WEBUI_ENABLE && this.web === null) {
      this.web = new WebServer(this, {
        ip: c.EF_WEBUI_IP, port: c.EF_WEBUI_PORT, allowedHosts: c.EF_WEBUI_ALLOWED_HOSTS,
        auth: { user: c.EF_WEBUI_AUTH_USERNAME, password: c.EF_WEBUI_AUTH_PASSWORD },
        ...(c.EF_WEBUI_TLS_ENABLE ? { tls: { certPath: c.EF_WEBUI_TLS_CERT_FILEPATH, keyPath: c.EF_WEBUI_TLS_KEY_FILEPATH } } : {}),
      });
      await this.web.start();
      this.web.setReady(true);
    }
    return this.udp.boundPorts();
  }

  /**
   * Workers decode, run every enricher but the 'main' ones, and encode NDJSON for the outputs that
   * only need text (file, ...), so for those no record crosses back. Records come back only for
   * outputs that need them, after the 'main' enrichers; with a 'main' enricher configured every
   * output takes records, since the text must include what it adds.
   */
  private createPool(): WorkerPool {
    const mainEnrichers = this.enrichers.filter((e) => e.placement === 'main');
    const textOutputs = mainEnrichers.length > 0 ? [] : this.outputs.filter((o) => o.encodedView !== undefined && o.writeEncoded !== undefined);
    const recordOutputs = this.outputs.filter((o) => !textOutputs.includes(o));
    const views: ViewOptions[] = [];
    const byView: Output[][] = [];
    for (const o of textOutputs) {
      const v = o.encodedView!;
      let i = views.findIndex((x) => sameView(x, v));
      if (i < 0) {
        i = views.push({ ecs: v.ecs, timestampSource: v.timestampSource, ...(v.drop !== undefined ? { drop: [...v.drop] } : {}) }) - 1;
        byView.push([]);
      }
      byView[i]!.push(o);
    }
    const mainStage = new Pipeline(new Map(), mainEnrichers, recordOutputs);
    return new WorkerPool({
      workers: this.workers,
      config: this.config,
      dataDir: this.dataDir,
      stats: this.pipeline.stats,
      views,
      onEncoded: (view, bytes, records, release) => {
        const outputs = byView[view]!;
        // The buffer goes back to its worker once every output of the view is done with it.
        let left = outputs.length;
        const done = (): void => {
          if (--left === 0) release();
        };
        for (const o of outputs) o.writeEncoded!(bytes, records, done);
      },
      needRecords: recordOutputs.length > 0,
      onRecords: (records) => mainStage.emit(records),
      replicas: this.enrichers.filter((e) => e.placement === 'replica'),
    });
  }

  /** Datagrams dropped after the socket because the pipeline was behind (the receive thread's bounded queue). */
  receiveDropped(): number {
    return this.udp?.dropped ?? 0;
  }

  /** Times the UDP receive thread stopped on its own (each time it is started again). */
  receiveRestarts(): number {
    return this.udp?.restarts ?? 0;
  }

  /** Whether the UDP receive thread got real-time scheduling (false while there is none). */
  receiveRealtime(): boolean {
    return this.udp?.receiveScheduling?.realtime === true;
  }

  /** Each enricher's counters (counters()), summed over this thread and the decode workers. */
  enricherCounters(): EnricherCounters {
    const sum = enricherCounters(this.enrichers);
    if (this.pool) addEnricherCounters(sum, this.pool.enricherCounters());
    return sum;
  }

  /** How the enrichers' files of the user's last loaded: the decode workers' copies when they run them. */
  fileStatuses(): UserFileStatus[] {
    return this.pool ? this.pool.fileStatuses() : fileStatuses(this.enrichers);
  }

  /** Each decode worker's V8 heap as of its last report (empty without workers). */
  workerHeaps(): readonly (ThreadHeap | null)[] {
    return this.pool?.heaps() ?? [];
  }

  /** Messages from the decode workers waiting for the main thread (0 without workers). */
  workerResultsWaiting(): number {
    return this.pool?.resultsWaiting ?? 0;
  }

  /** Times a decode worker stopped on its own (each is replaced), and the datagrams lost with them. */
  workerRestarts(): { restarts: number; lostDatagrams: number } {
    return { restarts: this.pool?.restarts ?? 0, lostDatagrams: this.pool?.lostDatagrams ?? 0 };
  }

  /** Feeds every UDP payload of a capture held in memory through the pipeline, as if received from its source. */
  replay(file: Buffer): number {
    const datagrams = readUdpDatagrams(file);
    for (const dg of datagrams) this.replayDatagram(dg);
    return datagrams.length;
  }

  /**
   * Streams a capture file through the pipeline, in pieces, so its size is not bounded by memory.
   * Only datagrams to `ports` are used (all with null). Every REPLAY_WAIT_RECORDS records it waits
   * for the outputs to send what they hold: a capture is read far faster than a store or a server
   * takes it, and what does not fit in an output's queue would be dropped there. A gzip-compressed
   * file is decompressed on the way. When the file cannot be read to its end, every whole packet
   * before the damage is still fed, and the ReplayError thrown says what was.
   *
   * Once `stop` is aborted (a stop signal to `ufc replay`) no further piece is read and the outputs
   * are no longer waited for (the caller's stop() flushes them, within its bound); the piece in hand
   * is still fed, so every packet counted as read was replayed. The rest of the file is not counted:
   * neither its last, cut record (trailingBytes) nor its open reassemblies (fragmentsIncomplete).
   */
  async replayFile(path: string, ports: ReadonlySet<number> | null, stop?: AbortSignal): Promise<ReplayCounts> {
    const held: UdpDatagram[] = [];
    const reader = new CaptureReader((dg) => held.push(dg));
    const counts = { datagrams: 0, otherPorts: 0, byPort: {} as Record<number, number> };
    let waitedAt = this.pipeline.stats.totals().records;
    let onStop = (): void => {};
    const stopped = new Promise<void>((resolve) => (onStop = resolve));
    stop?.addEventListener('abort', onStop, { once: true });
    // A call, not a field read: TypeScript would take `aborted` as fixed across the awaits.
    const isStopped = (): boolean => stop?.aborted === true;
    if (isStopped()) onStop();
    /** Waits for the outputs to send what they hold, or for `stop`, whichever comes first. */
    const catchUp = async (): Promise<void> => {
      if (isStopped()) return;
      const flushed = this.flush();
      // Its failure after a stop is stop()'s to meet; before, it is thrown here as it always was.
      flushed.catch(() => {});
      await Promise.race([flushed, stopped]);
    };
    const feed = async (): Promise<void> => {
      for (let i = 0; i < held.length; i++) {
        const dg = held[i]!;
        if (ports !== null && !ports.has(dg.dstPort)) {
          counts.otherPorts++;
          continue;
        }
        this.replayDatagram(dg);
        counts.datagrams++;
        counts.byPort[dg.dstPort] = (counts.byPort[dg.dstPort] ?? 0) + 1;
        if (counts.datagrams % 64 === 0) {
          const records = this.pipeline.stats.totals().records;
          if (records - waitedAt >= REPLAY_WAIT_RECORDS) {
            await catchUp();
            waitedAt = records;
          }
        }
      }
      held.length = 0;
    };
    try {
      if (!isStopped()) {
        // Leaving the loop early closes the file.
        for await (const chunk of await openCapture(path)) {
          try {
            reader.push(chunk);
          } finally {
            // Also when the piece holds damage: the packets before it were read and are fed.
            await feed();
          }
          if (isStopped()) break;
        }
      }
      if (!isStopped()) reader.end();
    } catch (err) {
      // A cut gzip stream fails in the reading, not in push: what the reader holds is counted here.
      reader.abandon();
      throw new ReplayError((err as Error).message, { ...counts, ...reader.counts }, { cause: err });
    } finally {
      stop?.removeEventListener('abort', onStop);
    }
    return { ...counts, ...reader.counts };
  }

  private replayDatagram(dg: UdpDatagram): void {
    this.pipeline.handle(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: Math.floor(dg.ts) });
  }

  /** Each output's records given up so far (queue full, retries exhausted, ...), for those that gave any up. */
  outputDrops(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.outputs) {
      let n = 0;
      for (const [k, v] of Object.entries(o.counters())) if (k.startsWith('dropped') || k === 'spill_dropped') n += v;
      if (n > 0) out[o.name] = n;
    }
    return out;
  }

  /** Data sets the decoders hold for a template that has not arrived (decoded if it does). */
  heldForTemplates(): number {
    let n = 0;
    for (const d of this.decoders.values()) {
      const p = d.describe?.()['pending'];
      if (typeof p === 'number') n += p;
    }
    return n;
  }

  async flush(): Promise<void> {
    await this.pool?.sync();
    await Promise.all(this.outputs.map((o) => o.flush()));
  }

  async stop(): Promise<void> {
    await this.web?.stop();
    this.web = null;
    await this.udp?.stop();
    this.udp = null;
    // Workers finish what they were given (and persist their templates) before the outputs close.
    await this.pool?.close();
    this.pool = null;
    await Promise.all(this.outputs.map((o) => o.close()));
    // Closes the decoders (templates saved) and counts the data they still held for a template.
    await this.pipeline.close();
    for (const e of this.enrichers) await e.stop?.();
  }
}

/**
 * Datagram in, records out: sniff, decode with the exporter's state, run the enricher chain once
 * per datagram's batch, hand the batch to every output (each queues and batches on its own, so a
 * slow output never stalls decoding).
 */
import { FlowRecord } from '../record/flow-record.js';
import { log } from '../log/logger.js';
import { ExporterStats } from './exporter-stats.js';
import { sniffProtocol } from './sniff.js';
import { DecodeError, type Decoder, type Enricher, type Output, type PacketContext, type Protocol } from './types.js';

/** How often the decoders' time-driven upkeep runs (Decoder.sweep). */
const SWEEP_EVERY_MS = 1000;

export class Pipeline {
  readonly stats = new ExporterStats();
  private lastInternalErrorLog = 0;
  /** Where a decoder's released records are taken, ahead of the datagram's own (handle()). */
  private readonly released: FlowRecord[] = [];
  /** Whether a decoder has time-driven upkeep; false too once closed (no timer is started again). */
  private sweeping: boolean;
  /**
   * Whether the sweeps also run on a timer, on the datagrams' clock moved on by wall time (a live
   * collector). False for a replay: it pauses while its outputs catch up, and a template a moment
   * later in the capture must still find its data held; its sweeps come with its datagrams.
   */
  timedSweeps = true;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** The time of the latest datagram handled, and whether one came since the last sweep. */
  private lastReceivedAt = 0;
  private heard = false;
  /** The datagrams' time at a wall-clock time (sweepClock()); before any datagram, the wall clock. */
  private clockData = 0;
  private clockWall = 0;

  constructor(
    private readonly decoders: ReadonlyMap<Protocol, Decoder>,
    private readonly enrichers: readonly Enricher[],
    private readonly outputs: readonly Output[],
  ) {
    this.sweeping = [...decoders.values()].some((d) => d.sweep !== undefined);
  }

  handle(buf: Buffer, ctx: PacketContext): void {
    this.lastReceivedAt = ctx.receivedAt;
    this.heard = true;
    // Started by the first datagram: a pipeline that is never fed (tests, the main thread's stage
    // behind decode workers) has no timer.
    if (this.sweeping && this.timedSweeps && this.sweepTimer === null) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
      this.sweepTimer.unref();
    }
    const protocol = sniffProtocol(buf);
    if (protocol === null) {
      this.stats.packet(ctx.exporterIp, null, buf.length, 0, ctx.receivedAt);
      this.stats.error(ctx.exporterIp, 'unknown protocol', ctx.receivedAt);
      return;
    }
    const decoder = this.decoders.get(protocol);
    if (decoder === undefined) {
      this.stats.packet(ctx.exporterIp, protocol, buf.length, 0, ctx.receivedAt);
      this.stats.error(ctx.exporterIp, `${protocol} disabled`, ctx.receivedAt);
      return;
    }
    let batch: FlowRecord[] = [];
    let failed: unknown = null;
    try {
      decoder.decode(buf, ctx, batch);
    } catch (err) {
      failed = err;
    }
    // Data held for a template that this datagram carried is released into the same batch, ahead of
    // this datagram's own records: it came first (one exporter's records stay in order).
    if (decoder.drainReleased) {
      // Into one array kept for it: nearly every datagram releases nothing.
      const released = this.released;
      decoder.drainReleased(released);
      if (released.length > 0) {
        batch = released.concat(batch);
        released.length = 0;
      }
    }
    // Counted first: a datagram with records gives its address an entry of its own (exporter-stats.ts),
    // which its errors then go to.
    this.stats.packet(ctx.exporterIp, protocol, buf.length, batch.length, ctx.receivedAt);
    if (failed instanceof DecodeError) this.stats.error(ctx.exporterIp, `${protocol}: ${failed.reason}`, ctx.receivedAt);
    else if (failed !== null) this.internalError(ctx, protocol, failed);
    this.countLosses(protocol, decoder, ctx.receivedAt, true);
    if (batch.length > 0) this.emit(batch);
  }

  /**
   * What the decoder lost or learnt of sequence numbers since it was last asked, counted per exporter at
   * `now`; `heard`: on a datagram (a sweep's losses do not make a silent exporter seen again).
   */
  private countLosses(protocol: Protocol, decoder: Decoder, now: number, heard: boolean): void {
    const losses = decoder.takeLosses?.() ?? null;
    if (losses !== null) for (const [exporter, m] of losses) for (const [reason, n] of m) this.stats.error(exporter, `${protocol}: ${reason}`, now, n, heard);
    const gaps = decoder.takeSequenceGaps?.() ?? null;
    if (gaps !== null) for (const [exporter, c] of gaps) this.stats.sequence(exporter, c, now, heard);
  }

  /**
   * The datagrams' clock at wall-clock `wall`: the time of the latest datagram, moved on by the wall
   * time since the sweep that first saw it when sweeps are timed (live: about the wall clock). A
   * replay's (timedSweeps false) is the latest datagram's time alone: its held data and templates age
   * by the capture's own times, as they do when its datagrams sweep (finish()).
   */
  private sweepClock(wall: number): number {
    if (this.heard) {
      this.heard = false;
      this.clockData = this.lastReceivedAt;
      this.clockWall = wall;
    }
    return this.timedSweeps ? this.clockData + (wall - this.clockWall) : this.clockData;
  }

  /**
   * The decoders' time-driven upkeep (Decoder.sweep), every second from the first datagram on: held
   * data whose template never came expires, and is counted, when no datagram of its protocol follows.
   */
  sweep(wall = Date.now()): void {
    const now = this.sweepClock(wall);
    for (const [protocol, d] of this.decoders) {
      if (d.sweep === undefined) continue;
      try {
        d.sweep(now);
      } catch (err) {
        this.internalError(null, `${protocol} sweep`, err);
      }
      this.countLosses(protocol, d, now, false);
    }
  }

  /**
   * Stops the sweeps and closes the decoders (their templates saved); what they still held, and what
   * expired since the last sweep, is counted before the caller reads the counts.
   */
  async close(): Promise<void> {
    this.sweeping = false;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.sweep();
    const now = this.sweepClock(Date.now());
    for (const [protocol, d] of this.decoders) {
      await d.close?.();
      this.countLosses(protocol, d, now, false);
    }
  }

  /** Runs enrichers and fans out; also used for records produced outside `handle`. */
  emit(batch: FlowRecord[]): void {
    for (let i = 0; i < this.enrichers.length; i++) {
      try {
        this.enrichers[i]!.enrich(batch);
      } catch (err) {
        this.internalError(null, this.enrichers[i]!.name, err);
      }
    }
    // An output that throws on a batch (a bug) must not take the process or the other outputs with it.
    for (let i = 0; i < this.outputs.length; i++) {
      try {
        this.outputs[i]!.write(batch);
      } catch (err) {
        this.internalError(null, `output ${this.outputs[i]!.name}`, err);
      }
    }
  }

  private internalError(ctx: PacketContext | null, where: string, err: unknown): void {
    if (ctx !== null) this.stats.error(ctx.exporterIp, `${where}: internal error`, ctx.receivedAt);
    const now = Date.now();
    // At most one line a minute: a bug triggered by every packet must not flood the log.
    if (now - this.lastInternalErrorLog > 60_000) {
      this.lastInternalErrorLog = now;
      log.error(`internal error in ${where}: ${(err as Error).message}`, { stack: (err as Error).stack });
    }
  }
}

/**
 * EF_OUTPUT_RISKIQ_*: the public side of each flow, encrypted with the customer key, to the RiskIQ
 * receiver (or, with EF_OUTPUT_RISKIQ_AUDIT_PATH, as JSON lines to a local file).
 *
 * `write` does all per-record work synchronously and allocation-light: each record is projected
 * (projection.ts) straight into the plaintext of the frame being filled; a full frame, or a partial
 * one whose deadline passed, is sealed (frame.ts) and queued. The queue is bounded in records
 * (EF_OUTPUT_RISKIQ_QUEUE_SIZE): when it is full a record is dropped and counted before any work is
 * done on it, so an absent, slow or refusing receiver never slows decoding nor grows memory.
 *
 * Counters (counters()): frames_sent, records_sent, bytes_sent (frame bytes, without the TCP
 * length prefix); records_skipped_private, records_skipped_counter; dropped_queue_full,
 * dropped_send_error, dropped_shutdown, dropped_seal_error; queued_records (waiting) and
 * inflight_records (with the socket, not yet confirmed); plus the transport's connect counters.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { log } from '../../log/logger.js';
import type { Output } from '../../pipeline/types.js';
import type { FlowRecord } from '../../record/flow-record.js';
import { decodeRow, ROW_LEN, rowsPerFrame, sealFrame, uuidToBytes } from './frame.js';
import { NonceSequence, STATE_FILE } from './nonce.js';
import { Projected, projectInto } from './projection.js';
import { LocalityEnricher } from '../../enrich/locality.js';
import { AuditTransport, TcpTransport, type BackoffOptions, type Transport, UdpTransport } from './transport.js';
import { hostPort } from '../../host-port.js';

export interface RiskiqOutputOptions extends BackoffOptions {
  host: string;
  port: number;
  customerUuid: string;
  /** The AES key, 16, 24 or 32 bytes. */
  key: Buffer;
  transport: 'udp' | 'tcp';
  /** Largest frame, bytes (EF_OUTPUT_RISKIQ_MAX_DATAGRAM_SIZE). */
  maxFrameBytes: number;
  /** ms a partly filled frame waits (EF_OUTPUT_RISKIQ_BATCH_DEADLINE). */
  deadlineMs: number;
  /** Records held at most (EF_OUTPUT_RISKIQ_QUEUE_SIZE). */
  queueSize: number;
  /** When not '', rows go to this file as JSON lines instead of the network. */
  auditPath: string;
  /** Where the nonce high-water mark is kept (nonce.ts); unused in audit mode. */
  nonceStatePath: string;
  /** How long flush() waits for a connected receiver to take the queue, ms. */
  flushTimeoutMs?: number;
  /** Replaces the socket or audit file (tests observe frames in memory this way). */
  customTransport?: Transport;
  /** EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: never sent, whatever a record's locality says (projection.ts). */
  privateCidrs?: readonly string[];
}

const DROP_REPORT_MS = 60_000;

interface QueuedFrame {
  data: Buffer;
  rows: number;
}

export class RiskiqOutput implements Output {
  readonly name = 'riskiq';
  private readonly perFrame: number;
  private readonly rows: Buffer;
  private readonly uuid: Buffer;
  private readonly key: KeyObject;
  private readonly transport: Transport;
  private readonly audit: boolean;
  private nonces: NonceSequence | null = null;
  /** Rows in the frame being filled. */
  private n = 0;
  private readonly queue: QueuedFrame[] = [];
  private queueHead = 0;
  /** Rows in `queue`, not yet handed to the transport. */
  private queuedRows = 0;
  /** Frames handed to the transport and not yet confirmed, and their rows. */
  private inFlight = 0;
  private inFlightRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];
  private started = false;
  private readonly c = {
    frames_sent: 0, records_sent: 0, bytes_sent: 0,
    records_skipped_private: 0, records_skipped_counter: 0,
    dropped_queue_full: 0, dropped_send_error: 0, dropped_shutdown: 0, dropped_seal_error: 0,
  };
  private lastSealErrorLog = 0;
  /** The registries and the user's private ranges: an end either calls private is never sent. */
  private readonly privateRanges: LocalityEnricher;
  private dropReport: NodeJS.Timeout | null = null;
  private droppedReported = 0;

  constructor(private readonly o: RiskiqOutputOptions) {
    this.privateRanges = new LocalityEnricher(o.privateCidrs ?? []);
    this.perFrame = rowsPerFrame(o.maxFrameBytes);
    this.rows = Buffer.alloc(this.perFrame * ROW_LEN);
    this.uuid = uuidToBytes(o.customerUuid);
    this.key = createSecretKey(o.key);
    this.audit = o.auditPath !== '';
    this.transport = o.customTransport
      ?? (this.audit ? new AuditTransport(o.auditPath)
        : o.transport === 'tcp' ? new TcpTransport(o.host, o.port, o)
          : new UdpTransport(o.host, o.port, o));
    this.transport.onReady = () => this.pump();
  }

  /** Rows per frame, from EF_OUTPUT_RISKIQ_MAX_DATAGRAM_SIZE. */
  get rowsPerFrame(): number {
    return this.perFrame;
  }

  async start(): Promise<void> {
    // Reserve nonces before anything is sent: a data dir we cannot write must stop start-up,
    // not risk a repeated nonce after the next restart.
    if (!this.audit) this.nonces = new NonceSequence(this.o.nonceStatePath);
    await this.transport.start();
    this.started = true;
    // Drops are counted per record but reported at most once a minute, and only when there were any.
    this.dropReport = setInterval(() => this.reportDrops(), DROP_REPORT_MS);
    this.dropReport.unref?.();
    if (this.audit) log.info(`RiskIQ output: audit mode, writing the rows that would be sent to ${this.o.auditPath}; nothing is sent`);
    else log.info(`RiskIQ output: sending to ${hostPort(this.o.host, this.o.port)} over ${this.o.transport}, ${this.perFrame} records per frame`);
  }

  write(batch: readonly FlowRecord[]): void {
    const queueSize = this.o.queueSize;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (this.queuedRows + this.n >= queueSize) {
        // Nothing is projected past this point (that is what keeps a full queue cheap), so a flow
        // record counts as dropped even if it would have been skipped as private.
        if (r.kind !== 'flow') this.c.records_skipped_counter++;
        else this.c.dropped_queue_full++;
        continue;
      }
      const res = projectInto(r, this.rows, this.n * ROW_LEN, this.privateRanges);
      if (res === Projected.Row) {
        if (++this.n === this.perFrame) this.seal();
      } else if (res === Projected.SkippedPrivate) this.c.records_skipped_private++;
      else this.c.records_skipped_counter++;
    }
    if (this.n > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.seal();
      }, this.o.deadlineMs);
      this.timer.unref?.();
    }
  }

  /** Turns the rows being filled into a queued frame and tries to send. */
  private seal(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const n = this.n;
    if (n === 0) return;
    this.n = 0;
    let data: Buffer;
    try {
      data = this.audit ? this.auditLines(n) : sealFrame(this.key, this.uuid, this.nonces!.take(), this.rows, n);
    } catch (err) {
      // Only a nonce state that cannot be written gets here; the rows are lost, loudly.
      this.c.dropped_seal_error += n;
      const now = Date.now();
      if (now - this.lastSealErrorLog > 10_000) {
        this.lastSealErrorLog = now;
        log.error(`RiskIQ output: cannot seal a frame: ${(err as Error).message}`);
      }
      return;
    }
    this.queue.push({ data, rows: n });
    this.queuedRows += n;
    this.pump();
  }

  /** The audit file gets exactly the plaintext rows a frame would carry, decoded as the receiver does. */
  private auditLines(n: number): Buffer {
    let s = '';
    for (let i = 0; i < n; i++) s += JSON.stringify(decodeRow(this.rows, i * ROW_LEN)) + '\n';
    return Buffer.from(s);
  }

  private pump(): void {
    if (!this.started) return;
    while (this.queueHead < this.queue.length && this.transport.canSend()) {
      const f = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as unknown as QueuedFrame;
      this.queuedRows -= f.rows;
      this.inFlight++;
      this.inFlightRows += f.rows;
      this.transport.send(f.data, (err) => {
        this.inFlight--;
        this.inFlightRows -= f.rows;
        if (err) this.c.dropped_send_error += f.rows;
        else {
          this.c.frames_sent++;
          this.c.records_sent += f.rows;
          this.c.bytes_sent += f.data.length;
        }
        this.wake();
      });
    }
    // Compact now and then rather than shift() per frame.
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.wake();
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private pending(): number {
    return this.queue.length - this.queueHead + this.inFlight;
  }

  /**
   * Seals the partial frame and waits until everything queued has reached the socket or file, or
   * the receiver is down (nothing can move until it returns), or the flush timeout passes.
   */
  async flush(): Promise<void> {
    this.seal();
    const deadline = Date.now() + (this.o.flushTimeoutMs ?? 5000);
    while (this.pending() > 0 && Date.now() < deadline) {
      if (this.inFlight === 0 && this.transport.isDown()) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        t.unref?.();
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.pump();
    }
  }

  /** What was dropped since the last report: once a minute, and at stop (the counters go with the process). */
  private reportDrops(atStop = false): void {
    const c = this.c;
    const dropped = c.dropped_queue_full + c.dropped_send_error + c.dropped_shutdown + c.dropped_seal_error;
    if (dropped === this.droppedReported) return;
    const n = dropped - this.droppedReported;
    log.warn(atStop ? `RiskIQ output: stopped with ${n} records dropped since the last report (${c.dropped_shutdown} of them still queued at stop, ${this.transport.stopCause()})` : `RiskIQ output: ${n} records dropped in the last minute`, {
      dropped_queue_full: c.dropped_queue_full, dropped_send_error: c.dropped_send_error, dropped_shutdown: c.dropped_shutdown, dropped_seal_error: c.dropped_seal_error, queued_records: this.queuedRows + this.n,
    });
    this.droppedReported = dropped;
  }

  async close(): Promise<void> {
    if (this.dropReport !== null) clearInterval(this.dropReport);
    this.dropReport = null;
    await this.flush();
    const left = this.queuedRows + this.n;
    if (left > 0) this.c.dropped_shutdown += left;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedRows = 0;
    this.n = 0;
    this.reportDrops(true);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.transport.close();
    this.nonces?.release();
  }

  counters(): Record<string, number> {
    return { ...this.c, queued_records: this.queuedRows + this.n, inflight_records: this.inFlightRows, ...this.transport.counters() };
  }
}


/** The output as EF_OUTPUT_RISKIQ_* configure it; `auditPath` already resolved against the data dir. */
export function createRiskiqOutput(c: Config, dataDir: string, auditPath: string): RiskiqOutput {
  return new RiskiqOutput({
    host: c.EF_OUTPUT_RISKIQ_HOST,
    port: c.EF_OUTPUT_RISKIQ_PORT,
    customerUuid: c.EF_OUTPUT_RISKIQ_CUSTOMER_UUID.trim(),
    key: Buffer.from(c.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY.trim(), 'base64'),
    transport: c.EF_OUTPUT_RISKIQ_TRANSPORT,
    maxFrameBytes: c.EF_OUTPUT_RISKIQ_MAX_DATAGRAM_SIZE,
    deadlineMs: c.EF_OUTPUT_RISKIQ_BATCH_DEADLINE,
    queueSize: c.EF_OUTPUT_RISKIQ_QUEUE_SIZE,
    auditPath,
    nonceStatePath: join(dataDir, STATE_FILE),
    privateCidrs: c.EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS,
  });
}

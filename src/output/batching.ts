/**
 * The queue every output sits behind: bounded (records beyond it are dropped and counted, so a slow
 * or absent target can never grow memory or stall decoding), batched by size and deadline, and
 * retried with capped exponential backoff when a send fails.
 */
import type { FlowRecord } from '../record/flow-record.js';
import type { Output } from '../pipeline/types.js';
import { log } from '../log/logger.js';

export interface BatchingOptions {
  /** Records per send. */
  batchMax: number;
  /** Milliseconds a partial batch waits. */
  deadlineMs: number;
  /** Records held at most. */
  queueMax: number;
  /** Give up on a batch after this many failed sends (0: retry for ever). */
  maxRetries?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 30_000;

export abstract class BatchingOutput implements Output {
  abstract readonly name: string;
  protected readonly c: Record<string, number> = { queued: 0, sent: 0, batches: 0, failures: 0, dropped_queue_full: 0, dropped_retries: 0 };
  private chunks: (readonly FlowRecord[])[] = [];
  private chunkOffset = 0;
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private backoff = 0;
  private closing = false;
  private lastErrorLog = 0;

  constructor(protected readonly opts: BatchingOptions) {}

  /** Sends one batch; throws to have it retried. */
  protected abstract send(batch: FlowRecord[]): Promise<void>;

  async start(): Promise<void> {}

  write(batch: readonly FlowRecord[]): void {
    if (batch.length === 0) return;
    if (this.queued + batch.length > this.opts.queueMax) {
      this.c.dropped_queue_full! += batch.length;
      return;
    }
    this.chunks.push(batch);
    this.queued += batch.length;
    this.c.queued = this.queued;
    if (this.queued >= this.opts.batchMax) this.kick();
    else if (this.timer === null && this.pumping === null) {
      this.timer = setTimeout(() => this.kick(), this.opts.deadlineMs);
      this.timer.unref?.();
    }
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pumping === null) this.pumping = this.pump().finally(() => (this.pumping = null));
  }

  private take(max: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    while (out.length < max && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const n = Math.min(max - out.length, chunk.length - this.chunkOffset);
      for (let i = 0; i < n; i++) out.push(chunk[this.chunkOffset + i]!);
      this.chunkOffset += n;
      if (this.chunkOffset === chunk.length) {
        this.chunks.shift();
        this.chunkOffset = 0;
      }
    }
    this.queued -= out.length;
    this.c.queued = this.queued;
    return out;
  }

  private async pump(): Promise<void> {
    while (this.queued > 0) {
      const batch = this.take(this.opts.batchMax);
      let attempts = 0;
      for (;;) {
        try {
          await this.send(batch);
          this.c.sent! += batch.length;
          this.c.batches!++;
          this.backoff = 0;
          break;
        } catch (err) {
          attempts++;
          this.c.failures!++;
          this.logFailure(err);
          const max = this.opts.maxRetries ?? 0;
          if ((max > 0 && attempts >= max) || this.closing) {
            this.c.dropped_retries! += batch.length;
            break;
          }
          this.backoff = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoff * 2));
          await new Promise((r) => setTimeout(r, this.backoff));
        }
      }
      // Let a partial batch wait for its deadline unless we are flushing.
      if (this.queued > 0 && this.queued < this.opts.batchMax && !this.flushing) {
        this.timer = setTimeout(() => this.kick(), this.opts.deadlineMs);
        this.timer.unref?.();
        return;
      }
    }
  }

  private flushing = false;

  async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queued > 0 || this.pumping !== null) {
        this.kick();
        await this.pumping;
      }
    } finally {
      this.flushing = false;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  counters(): Record<string, number> {
    return { ...this.c };
  }

  private logFailure(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 10_000) return;
    this.lastErrorLog = now;
    log.warn(`${this.name} output: send failed, will retry: ${(err as Error).message}`);
  }
}

/**
 * The queue behind the byte-oriented outputs (file, stdout): records are encoded to NDJSON the
 * moment they arrive and only the bytes wait, in large off-heap slabs, for the writer.
 *
 * Why not BatchingOutput: that queue holds the record objects until the batch's deadline, so under
 * load every queued record (~60 properties plus strings) survives young-generation collections and
 * is copied and then promoted; the collector spent more time in GC than in decoding. Encoding at
 * write() lets each record die in the scavenge right after its datagram, and a backlog costs its
 * NDJSON size outside the JS heap instead of several times that inside it.
 *
 * Same policy as BatchingOutput without spill: bounded (records beyond `queueMax` are dropped and
 * counted, so a slow disk never grows memory or stalls decoding), a partial slab waits at most
 * `deadlineMs`, failed writes are retried with capped exponential backoff, order is kept.
 *
 * A stop counts by lines: of a send it gave up on, the lines its writes took are `sent`, the lines of
 * a write that had not returned are `unconfirmed_at_stop` (they may yet reach the file), the rest
 * `dropped_retries`.
 */
import type { FlowRecord } from '../../record/flow-record.js';
import type { ViewOptions } from '../../record/fields.js';
import { encoderFor, LINES_PER_WRITE, ndjsonLines } from '../../record/json.js';
import type { Output } from '../../pipeline/types.js';
import { log } from '../../log/logger.js';
import { CLOSE_FLUSH_MS, CLOSE_SEND_MS } from '../close-deadline.js';
import { within } from '../../within.js';

export interface NdjsonQueueOptions {
  view: ViewOptions;
  /** Bytes in a slab: a full slab is handed to the writer at once. */
  slabBytes: number;
  /** Milliseconds a partial slab waits. */
  deadlineMs: number;
  /** Records held (encoded) at most. */
  queueMax: number;
}

interface Slab {
  buf: Buffer;
  /** Bytes used. */
  len: number;
  records: number;
  /** Bytes lent by a decode worker (writeEncoded): handed back once written, never reused here. */
  done?: () => void;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 30_000;
const LOG_EVERY_MS = 10_000;
const FREE_SLABS = 4;

export abstract class NdjsonQueue implements Output {
  abstract readonly name: string;
  protected readonly c: Record<string, number> = { queued: 0, sent: 0, batches: 0, failures: 0, dropped_queue_full: 0, dropped_retries: 0, unconfirmed_at_stop: 0 };
  private readonly encode: (r: FlowRecord) => string;
  private cur: Slab | null = null;
  private readonly ready: Slab[] = [];
  /** Written slabs kept for reuse, so a steady stream allocates no new memory. */
  private readonly free: Buffer[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private backoff = 0;
  private closing = false;
  /** The chunks of the send under way and their records, for the count if the stop gives it up. */
  private inFlight: { chunks: Buffer[]; records: number } | null = null;
  /** When a stop stops waiting: a subclass's own closing (a file handle) ends by then too. */
  protected stopBy = Infinity;
  private lastErrorLog = 0;
  /** Set when close() stopped waiting for a write: its outcome no longer counts. */
  private abandoned = false;
  /** Ends the retry pause early (close). */
  private wake: (() => void) | null = null;

  constructor(protected readonly q: NdjsonQueueOptions) {
    this.encode = encoderFor(q.view);
  }

  /**
   * Writes the chunks (each whole lines), in order; throws to have them retried (from where it got
   * to, which it keeps itself). Once `stopping`, it starts no new write and returns what it wrote.
   * Resolves with the bytes of `chunks` written, `bytes` unless it stopped.
   */
  protected abstract send(chunks: Buffer[], bytes: number): Promise<number>;

  /**
   * Of `chunks`, the send under way (or the one that just failed): bytes known to be written, and
   * bytes after them in a write that has not returned.
   */
  protected abstract sendState(chunks: Buffer[]): { written: number; writing: number };

  /** Set from the flush deadline of a stop on: a send starts no new write. */
  protected get stopping(): boolean {
    return this.closing;
  }

  async start(): Promise<void> {}

  write(batch: readonly FlowRecord[]): void {
    const n = batch.length;
    if (n === 0) return;
    if (this.closing) {
      this.c.dropped_retries! += n;
      return;
    }
    if (this.queued + n > this.q.queueMax) {
      this.c.dropped_queue_full! += n;
      return;
    }
    const enc = this.encode;
    let s = this.cur;
    // LINES_PER_WRITE lines are joined and converted in one buf.write (json.ts says why).
    for (let i = 0; i < n; ) {
      const from = i;
      const end = Math.min(n, i + LINES_PER_WRITE);
      const text = ndjsonLines(enc, batch, i, end);
      i = end;
      // A UTF-8 byte is at most 3 per UTF-16 unit; start a new slab before anything could be cut.
      const need = text.length * 3;
      if (s === null || s.len + need > s.buf.length) {
        if (s !== null) this.seal();
        const reuse = need <= this.q.slabBytes ? this.free.pop() : undefined;
        s = this.cur = { buf: reuse ?? Buffer.allocUnsafeSlow(Math.max(this.q.slabBytes, need)), len: 0, records: 0 };
      }
      s.len += s.buf.write(text, s.len, 'utf8');
      s.records += end - from;
    }
    this.queued += n;
    this.c.queued = this.queued;
    if (this.ready.length > 0) this.kick();
    else if (this.timer === null && this.pumping === null) {
      this.timer = setTimeout(() => this.kick(), this.q.deadlineMs);
      this.timer.unref?.();
    }
  }

  /** The view decode workers encode in for this output (see Output.encodedView). */
  get encodedView(): ViewOptions {
    return this.q.view;
  }

  /** Lines a decode worker encoded: queued as they are, as one slab of their own (no copy). */
  writeEncoded(bytes: Buffer, records: number, done: () => void): void {
    if (this.closing) {
      this.c.dropped_retries! += records;
      done();
      return;
    }
    if (records === 0 || this.queued + records > this.q.queueMax) {
      this.c.dropped_queue_full! += records;
      done();
      return;
    }
    this.seal();
    this.ready.push({ buf: bytes, len: bytes.length, records, done });
    this.queued += records;
    this.c.queued = this.queued;
    this.kick();
  }

  private seal(): void {
    const s = this.cur;
    if (s !== null && s.records > 0) this.ready.push(s);
    this.cur = null;
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pumping === null && !this.closing) {
      // A deadline (or flush) sends what the partial slab holds; later records start a new slab.
      if (this.ready.length === 0) this.seal();
      this.pumping = this.pump().finally(() => {
        this.pumping = null;
      });
    }
  }

  private async pump(): Promise<void> {
    // Once closing, what is ready is left to close() to count.
    while (this.ready.length > 0 && !this.closing) {
      // Everything ready goes in one write: fewer syscalls when the writer fell behind.
      const slabs = this.ready.splice(0, this.ready.length);
      let records = 0;
      let bytes = 0;
      const chunks: Buffer[] = [];
      for (const s of slabs) {
        records += s.records;
        bytes += s.len;
        chunks.push(s.buf.subarray(0, s.len));
      }
      this.inFlight = { chunks, records };
      for (;;) {
        try {
          const wrote = await this.send(chunks, bytes);
          if (this.abandoned) return;
          this.backoff = 0;
          if (wrote < bytes) {
            // The stop came between two writes.
            this.stopped(chunks, records, wrote);
            break;
          }
          this.c.sent! += records;
          this.c.batches!++;
          break;
        } catch (err) {
          if (this.abandoned) return;
          this.c.failures!++;
          this.logFailure(err);
          if (this.closing) {
            this.stopped(chunks, records, this.sendState(chunks).written);
            break;
          }
          await this.sleep();
        }
      }
      this.inFlight = null;
      this.queued -= records;
      this.c.queued = this.queued;
      for (const s of slabs) {
        if (s.done !== undefined) s.done();
        else if (s.buf.length === this.q.slabBytes && this.free.length < FREE_SLABS) this.free.push(s.buf);
      }
    }
    // Records that arrived while writing wait for their own deadline.
    if (this.cur !== null && this.cur.records > 0 && this.timer === null && !this.closing) {
      this.timer = setTimeout(() => this.kick(), this.q.deadlineMs);
      this.timer.unref?.();
    }
  }

  /** Counts a send a stop ended with `written` bytes of its chunks written: their whole lines are sent, the rest dropped. */
  private stopped(chunks: Buffer[], records: number, written: number): void {
    const n = linesIn(chunks, 0, written);
    this.c.sent! += n;
    this.c.dropped_retries! += records - n;
  }

  private sleep(): Promise<void> {
    this.backoff = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoff * 2));
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.backoff);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).then(() => {
      this.wake = null;
    });
  }

  /** Writes everything queued. */
  async flush(): Promise<void> {
    for (;;) {
      // Once closing, nothing more is written (close() counts what is left).
      if (this.closing) return;
      if (this.pumping !== null) await this.pumping;
      else if (this.ready.length > 0 || (this.cur !== null && this.cur.records > 0)) {
        this.seal();
        this.kick();
      } else return;
    }
  }

  /**
   * Writes what is queued, for at most `flushMs` (close-deadline.ts); what the writer cannot take
   * by then (a full disk, a slow one) is counted in `dropped_retries` and logged, and the stop goes on.
   */
  async close(flushMs = CLOSE_FLUSH_MS): Promise<void> {
    const droppedBefore = this.c.dropped_retries!;
    await within(this.flush(), flushMs);
    this.closing = true;
    this.stopBy = Date.now() + CLOSE_SEND_MS;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // A pump in its retry pause ends, counting what it had written of its slabs.
    this.wake?.();
    // The send under way starts no new write; the one under way (a slow disk, a hung NFS server, a
    // FIFO nobody reads) does not hold the stop past CLOSE_SEND_MS either.
    let unconfirmed = 0;
    if (this.pumping !== null && !(await within(this.pumping, CLOSE_SEND_MS))) {
      this.abandoned = true;
      const f = this.inFlight;
      if (f !== null) {
        // What the writes that returned took is in the file; what the one still under way holds
        // may get there after the process has gone, or not: it is not counted as lost.
        const { written, writing } = this.sendState(f.chunks);
        const sent = linesIn(f.chunks, 0, written);
        unconfirmed = Math.min(f.records - sent, linesIn(f.chunks, written, written + writing));
        this.c.sent! += sent;
        this.c.unconfirmed_at_stop! += unconfirmed;
        this.queued -= sent + unconfirmed;
      }
    }
    this.seal();
    for (const s of this.ready.splice(0, this.ready.length)) s.done?.();
    // Everything else not written: what was ready, and what the given-up send had not begun.
    const left = this.queued;
    this.queued = 0;
    this.c.queued = 0;
    this.c.dropped_retries! += left;
    const dropped = this.c.dropped_retries! - droppedBefore;
    const said: string[] = [];
    if (dropped > 0) said.push(`${dropped} records not written (the file did not take them within ${flushMs / 1000} s: slow or failing)`);
    if (unconfirmed > 0) said.push(`${unconfirmed} records in a write that had not returned ${CLOSE_SEND_MS / 1000} s later (they may be in the file: unconfirmed_at_stop)`);
    if (said.length > 0) log.error(`${this.name} output: stopped with ${said.join(' and ')}`);
  }

  counters(): Record<string, number> {
    return { ...this.c };
  }

  /** Where the writes go, for the failure line (e.g. ` to /var/lib/ufc/flows.ndjson (EF_OUTPUT_FILE_PATH)`). */
  protected target(): string {
    return '';
  }

  private logFailure(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < LOG_EVERY_MS) return;
    this.lastErrorLog = now;
    log.warn(`${this.name} output: write${this.target()} failed, will retry: ${(err as Error).message}`);
  }
}

/** Line ends (whole records) among bytes [from, to) of `chunks`. */
export function linesIn(chunks: Buffer[], from: number, to: number): number {
  let n = 0;
  let base = 0;
  for (const c of chunks) {
    const end = base + c.length;
    if (end > from && base < to) {
      const stop = Math.min(c.length, to - base);
      for (let i = c.indexOf(10, Math.max(0, from - base)); i >= 0 && i < stop; i = c.indexOf(10, i + 1)) n++;
    }
    base = end;
    if (base >= to) break;
  }
  return n;
}

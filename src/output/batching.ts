/**
 * The queue every output sits behind: bounded, batched by size and deadline, and retried with
 * capped exponential backoff when a send fails.
 *
 * Without `spill`, records beyond the memory queue are dropped and counted, so a slow or absent
 * target can never grow memory or stall decoding (stdout, file, DuckDB and RiskIQ rely on this).
 *
 * With `spill` (the network outputs), nothing is dropped short of the disk cap: batches that do not
 * fit the memory queue, and every batch while the target is failing, are appended to an on-disk
 * segment log (spill/segment-log.ts). Order is kept by one rule: memory only ever holds records
 * older than anything on disk. New records go to memory only while the disk is empty; when a send
 * from memory fails, that batch and the rest of memory are put *before* the disk's contents; the
 * pump sends memory first, then the disk oldest first, and only when the disk is drained do new
 * records go to memory again. Spilled segments survive a restart and are replayed first.
 *
 * When the spill fails a write (a full disk), the output falls back to the memory-only policy and
 * its bound (queueMaxWithoutSpill) until a write is tried again: what the disk did not take waits in
 * memory, in `held` when it is newer than what is on disk, and is appended to the disk first once it
 * takes writes again. While the disk cannot be read either (its lock cannot be read, see
 * segment-log.ts), `held` is sent ahead of it: order gives way, so that records are not dropped at
 * the memory bound while the target takes them.
 */
import type { FlowRecord } from '../record/flow-record.js';
import type { Output } from '../pipeline/types.js';
import { log } from '../log/logger.js';
import { SpillAppendError, SpillLog } from './spill/segment-log.js';
import { LockHeldError } from './pid-lock.js';
import { CLOSE_FLUSH_MS, CLOSE_SEND_MS } from './close-deadline.js';
import { within } from '../within.js';

export interface BatchingOptions {
  /** Records per send. */
  batchMax: number;
  /** Milliseconds a partial batch waits. */
  deadlineMs: number;
  /** Records held in memory at most. */
  queueMax: number;
  /** With `spill`: records held in memory at most while the spill directory cannot be used (default queueMax). */
  queueMaxWithoutSpill?: number;
  /** Give up on a batch after this many failed sends (0: retry for ever). Ignored with spill. */
  maxRetries?: number;
  /** Spill to disk instead of dropping: segment directory and disk cap in bytes. */
  spill?: { dir: string; maxBytes: number };
}

/**
 * Thrown by send() when part of a batch was accepted: only `remaining` (in their original order) is
 * retried or spilled, so the accepted part is not sent twice.
 */
export class PartialSendError extends Error {
  constructor(readonly remaining: FlowRecord[], cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 30_000;
const LOG_EVERY_MS = 10_000;
/** How often a spill directory that could not be opened is tried again. */
const SPILL_RETRY_MS = 30_000;
/**
 * How often the spill is written to again after a write failed (a full disk). Shorter than the open's
 * retry: a failed write costs little, and at a high rate the memory queue that meanwhile takes the
 * records, past which they are dropped, fills in seconds.
 */
const SPILL_WRITE_RETRY_MS = 5_000;
/** How soon a spill that would not be read (its lock could not be checked) is read again. */
const DISK_READ_RETRY_MS = 1_000;

export abstract class BatchingOutput implements Output {
  abstract readonly name: string;
  // inflight: records of the send in progress, or of the batch waiting to be sent again without a spill
  // (a target that hangs or fails holds them here, not in queued or the spill).
  protected readonly c: Record<string, number> = { queued: 0, inflight: 0, sent: 0, batches: 0, failures: 0, dropped_queue_full: 0, dropped_retries: 0 };
  private chunks: (readonly FlowRecord[])[] = [];
  private chunkOffset = 0;
  private queued = 0;
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private backoff = 0;
  private closing = false;
  /** Flushes under way: a count, as two may overlap (a replay's catch-up left running beside close's). */
  private flushing = 0;
  private lastErrorLog = 0;
  private lastSpillErrorLog = 0;
  /** The spill's drops already logged (reportSpillDrops), at the cap and with damaged segments, and when last. */
  private spillDropsLogged = 0;
  private spillDamagedLogged = 0;
  private lastSpillDropLog = 0;
  /** Opened on first use; null without spill or while the directory cannot be opened. */
  private disk: SpillLog | null = null;
  /** While the spill directory cannot be opened: when to try again (0: not failing). */
  private diskRetryAt = 0;
  /** After a write to the spill failed: when to write to it again (0: not failing). */
  private spillWriteRetryAt = 0;
  /** The spill's directory was locked by another process after it was emptied or made again (logged once). */
  private spillLockLost = false;
  /**
   * Records newer than everything on disk that the spill could not take: sent after the disk is
   * drained, and appended to it (before anything newer) once it takes writes again. Kept apart from
   * `chunks`, which only ever holds records older than the disk's.
   */
  private held: (readonly FlowRecord[])[] = [];
  private heldCount = 0;
  /** The last send failed: new records go straight to disk until one succeeds. */
  private failing = false;
  private waiters: (() => void)[] = [];
  /** The pump waits to read the disk again (its lock could not be read): a held record wakes it. */
  private waitingForDisk = false;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(protected readonly opts: BatchingOptions) {
    if (opts.spill !== undefined) {
      Object.assign(this.c, { spilled: 0, spill_replayed: 0, spill_dropped: 0, spill_dropped_damaged: 0, spill_corrupt: 0, spill_recovered: 0, spill_pending: 0, spill_bytes: 0, spill_errors: 0 });
    }
  }

  /** Sends one batch; throws to have it retried. */
  protected abstract send(batch: FlowRecord[]): Promise<void>;

  /** Records of the send in progress that the target refused for good (counted by the subclass, not in `sent`). */
  private refusedInSend = 0;
  /** The send in progress when its batch came from memory (a batch from the spill stays on disk until committed). */
  private sendingFromMemory: FlowRecord[] | null = null;
  /**
   * A batch from memory being sent or waiting to be sent again: neither delivered nor on disk (the
   * spill refused it, or there is none), so flush() is not done while it is there.
   */
  private memoryInFlight: FlowRecord[] | null = null;
  /** Set when close() stopped waiting for a send: whatever it ends with is no longer this queue's business. */
  private abandoned = false;

  /** Called by send() for records the target refused for good: they are done with, but not `sent`. */
  protected refused(n: number): void {
    this.refusedInSend += n;
  }

  /**
   * Subclasses that override start() call this last: it opens the spill and replays what an earlier
   * run left there. A spill another process holds (a second collector on this EF_DATA_DIR) is a
   * start-up error: both would send everything in it.
   */
  async start(): Promise<void> {
    const d = this.spillLog(true);
    this.reportSpillDrops();
    if (d !== null && d.pendingRecords > 0) this.kick();
  }

  write(batch: readonly FlowRecord[]): void {
    if (batch.length === 0) return;
    const d = this.opts.spill === undefined ? null : this.spillLog();
    const writable = d !== null && this.spillWritable();
    // A spill that cannot be opened or written leaves the memory-only policy, with its bound.
    let max = this.opts.spill !== undefined && !writable ? (this.opts.queueMaxWithoutSpill ?? this.opts.queueMax) : this.opts.queueMax;
    let rest = batch;
    if (writable && (this.queued + batch.length > max || this.failing || d.pendingRecords > 0 || this.heldCount > 0)) {
      rest = this.appendToDisk(d, batch);
      this.reportSpillDrops();
      this.kick();
      if (rest.length === 0) return;
      max = this.opts.queueMaxWithoutSpill ?? this.opts.queueMax;
    }
    if (this.queued + this.heldCount + rest.length > max) {
      this.c.dropped_queue_full! += rest.length;
      return;
    }
    if (d !== null && (this.heldCount > 0 || d.pendingRecords > 0)) {
      // Newer than what is on disk: it goes after it, not with the older records in `chunks`.
      this.held.push(rest);
      this.heldCount += rest.length;
      this.c.queued = this.queued + this.heldCount;
      // A pump waiting for an unreadable disk sends them now, not a second later.
      if (this.waitingForDisk) this.wake?.();
      this.kick();
      return;
    }
    this.chunks.push(rest);
    this.queued += rest.length;
    this.c.queued = this.queued + this.heldCount;
    if (this.queued >= this.opts.batchMax) this.kick();
    else if (this.timer === null && this.pumping === null) {
      this.timer = setTimeout(() => this.kick(), this.opts.deadlineMs);
      this.timer.unref?.();
    }
  }

  /** Whether to write to the spill: it has not failed a write, or it is time to try again. */
  private spillWritable(): boolean {
    return this.spillWriteRetryAt === 0 || Date.now() >= this.spillWriteRetryAt;
  }

  /**
   * Appends what the spill could not take earlier (older), then `batch`; returns the part of `batch`
   * not on disk (empty when all of it is). Held records the disk does not take stay held.
   */
  private appendToDisk(d: SpillLog, batch: readonly FlowRecord[]): readonly FlowRecord[] {
    while (this.held.length > 0) {
      const h = this.held[0]!;
      const taken = this.tryAppend(d, h);
      this.heldCount -= taken;
      this.c.queued = this.queued + this.heldCount;
      if (taken < h.length) {
        this.held[0] = h.slice(taken);
        return batch;
      }
      this.held.shift();
    }
    const taken = this.tryAppend(d, batch);
    return taken === 0 ? batch : batch.slice(taken);
  }

  /** Appends `records` to the spill; how many it took (a write failing part-way takes the first ones). */
  private tryAppend(d: SpillLog, records: readonly FlowRecord[]): number {
    try {
      d.append(records);
    } catch (err) {
      this.spillWriteFailed(err);
      return err instanceof SpillAppendError ? err.taken : 0;
    }
    this.spillWriteWorks();
    return records.length;
  }

  private spillWriteFailed(err: unknown): void {
    const max = this.opts.queueMaxWithoutSpill ?? this.opts.queueMax;
    const cause = err instanceof SpillAppendError ? err.cause : err;
    if (cause instanceof LockHeldError) {
      // The directory was emptied or made again and another process locked it first (segment-log.ts
      // leaves it to that process): as a spill that cannot be opened, not a failed write.
      if (!this.spillLockLost) log.error(`${this.name} output: cannot use spill directory ${this.opts.spill!.dir} any more, records beyond the memory queue (${max}) will be dropped until it can be (tried again every ${SPILL_RETRY_MS / 1000} s): ${(cause as Error).message}`);
      this.spillLockLost = true;
      this.spillWriteRetryAt = Date.now() + SPILL_RETRY_MS;
      return;
    }
    this.c.spill_errors!++;
    this.spillWriteRetryAt = Date.now() + SPILL_WRITE_RETRY_MS;
    this.logSpillError(err, `records kept in memory (up to ${max}; dropped past it, counted in dropped_queue_full), written to it again in ${SPILL_WRITE_RETRY_MS / 1000} s`);
  }

  private spillWriteWorks(): void {
    if (this.spillWriteRetryAt === 0) return;
    this.spillWriteRetryAt = 0;
    this.spillLockLost = false;
    log.info(`${this.name} output: spill directory ${this.opts.spill!.dir} takes writes again`);
  }

  /** The spill, opened on first use; `atStart`: a directory another process holds is thrown, not waited out. */
  private spillLog(atStart = false): SpillLog | null {
    const s = this.opts.spill;
    if (s === undefined) return null;
    if (this.disk === null) {
      const now = Date.now();
      if (now < this.diskRetryAt) return null;
      try {
        this.disk = new SpillLog({ dir: s.dir, maxBytes: s.maxBytes, entryRecords: Math.min(1000, this.opts.batchMax) });
      } catch (err) {
        if (atStart && err instanceof LockHeldError) throw err;
        // Without a usable directory the output still works, with the memory-only policy, and the
        // directory is tried again (its permissions or its disk may be put right meanwhile).
        if (this.diskRetryAt === 0) log.error(`${this.name} output: cannot open spill directory ${s.dir}, records beyond the memory queue will be dropped until it can be (tried again every ${SPILL_RETRY_MS / 1000} s; EF_DATA_DIR sets where it is): ${(err as Error).message}`);
        this.diskRetryAt = now + SPILL_RETRY_MS;
        return null;
      }
      if (this.diskRetryAt !== 0) log.info(`${this.name} output: spill directory ${s.dir} can be used again`);
      this.diskRetryAt = 0;
    }
    return this.disk;
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pumping === null && !this.closing) {
      this.pumping = this.pump().finally(() => {
        this.pumping = null;
        this.notify();
      });
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
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
    this.c.queued = this.queued + this.heldCount;
    return out;
  }

  /** The oldest `max` held records. */
  private takeHeld(max: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    while (out.length < max && this.held.length > 0) {
      const h = this.held[0]!;
      const n = Math.min(max - out.length, h.length);
      for (let i = 0; i < n; i++) out.push(h[i]!);
      if (n === h.length) this.held.shift();
      else this.held[0] = h.slice(n);
    }
    this.heldCount -= out.length;
    this.c.queued = this.queued + this.heldCount;
    return out;
  }

  /** Everything still in memory, oldest first, and the memory queue emptied. */
  private takeAll(): (readonly FlowRecord[])[] {
    const out = this.chunks;
    if (out.length > 0 && this.chunkOffset > 0) out[0] = out[0]!.slice(this.chunkOffset);
    this.chunks = [];
    this.chunkOffset = 0;
    this.queued = 0;
    this.c.queued = this.heldCount;
    return out;
  }

  private async pump(): Promise<void> {
    for (;;) {
      const d = this.disk;
      let batch: FlowRecord[];
      let fromDisk = false;
      // Memory, the disk, then what the disk could not take: oldest first. A batch taken from `held`
      // is then the oldest record there is, so a failed send treats it as one from memory (unless
      // the disk could not be read, below: order is then given up rather than the records).
      if (this.queued > 0) batch = this.take(this.opts.batchMax);
      else if (d !== null && d.pendingRecords > 0 && !this.closing) {
        batch = d.peek(this.opts.batchMax);
        // Reading drops what it finds damaged or gone.
        this.reportSpillDrops();
        if (batch.length === 0) {
          if (d.pendingRecords === 0) return;
          // Records on disk it would not read: its lock could not be read or taken again (a full
          // disk, too many open files; segment-log.ts keeps them for when it can). The disk then
          // refuses writes too, so new records are held in memory: they are sent meanwhile, ahead
          // of the older ones on disk (those go once it can be read), not kept back behind records
          // that cannot be read, where they would pile up past the memory bound and be dropped.
          if (this.heldCount > 0) batch = this.takeHeld(this.opts.batchMax);
          else {
            // Read again a second later, or as soon as a record is held, the pump waiting
            // (returning, a flush would start it again at once, without end on promises alone).
            // A flush returns meanwhile once nothing is in memory: the rest is on disk.
            this.failing = true;
            this.notify();
            this.waitingForDisk = true;
            try {
              await this.pause(DISK_READ_RETRY_MS);
            } finally {
              this.waitingForDisk = false;
            }
            if (this.closing) return;
            continue;
          }
        } else fromDisk = true;
      } else if (this.heldCount > 0 && !this.closing) batch = this.takeHeld(this.opts.batchMax);
      else return;
      if (!(await this.deliver(batch, fromDisk))) return;
      // Let a partial batch wait for its deadline unless we are flushing or the disk waits behind it.
      if (this.queued > 0 && this.queued < this.opts.batchMax && this.flushing === 0 && (d === null || d.pendingRecords === 0) && this.heldCount === 0) {
        this.timer = setTimeout(() => this.kick(), this.opts.deadlineMs);
        this.timer.unref?.();
        return;
      }
    }
  }

  /** Sends one batch, retrying; false when the pump should stop. */
  private async deliver(batch: FlowRecord[], fromDisk: boolean): Promise<boolean> {
    try {
      return await this.deliverWithRetries(batch, fromDisk);
    } finally {
      this.memoryInFlight = null;
    }
  }

  private async deliverWithRetries(batch: FlowRecord[], fromDisk: boolean): Promise<boolean> {
    let attempts = 0;
    for (;;) {
      if (batch.length === 0) return true;
      this.refusedInSend = 0;
      this.sendingFromMemory = fromDisk ? null : batch;
      this.memoryInFlight = fromDisk ? null : batch;
      this.c.inflight = batch.length;
      let failure: unknown = null;
      try {
        await this.send(batch);
      } catch (err) {
        failure = err;
      }
      this.c.inflight = 0;
      this.sendingFromMemory = null;
      // Given up on by close() (kept or counted there): the spill may be closed already.
      if (this.abandoned) return false;
      if (failure === null) {
        if (fromDisk) this.commitDisk();
        this.c.sent! += batch.length - this.refusedInSend;
        this.c.batches!++;
        this.backoff = 0;
        this.failing = false;
        this.notify();
        return true;
      }
      if (failure instanceof PartialSendError && failure.remaining.length < batch.length) {
        // The accepted part is done (and off the disk); what remains is retried like a batch from memory.
        this.c.sent! += batch.length - failure.remaining.length - this.refusedInSend;
        if (fromDisk) this.commitDisk();
        fromDisk = false;
        batch = failure.remaining;
        if (batch.length === 0) return true;
      }
      attempts++;
      this.c.failures!++;
      this.logFailure(failure);
      if (this.spillLog() !== null && this.toDisk(batch, fromDisk)) {
        this.memoryInFlight = null;
        this.failing = true;
        this.notify();
        if (this.closing) return false;
        await this.sleep();
        // The pump goes on with the oldest records, which are now on disk.
        return !this.closing;
      }
      const max = this.opts.maxRetries ?? 0;
      if ((max > 0 && attempts >= max) || this.closing) {
        this.c.dropped_retries! += batch.length;
        return true;
      }
      this.notify();
      // Waiting to be sent again: still in flight (counted nowhere else meanwhile), and not on disk
      // (the rest of a batch from disk too).
      this.c.inflight = batch.length;
      this.memoryInFlight = batch;
      await this.sleep();
    }
  }

  /**
   * Marks the batch read from the spill as delivered. Its cursor failing to save (a full disk) does not
   * make the delivery a failure: the batch is off the read position either way, and only a restart
   * before the next successful save would send it again.
   */
  private commitDisk(): void {
    try {
      this.disk!.commit();
    } catch (err) {
      this.c.spill_cursor_errors = (this.c.spill_cursor_errors ?? 0) + 1;
      this.logSpillError(err, 'delivered records may be sent again after a restart');
    }
  }

  /**
   * After a failed send: makes sure the batch (and all older records) are on disk, first in line,
   * and what the disk could not take earlier after it, when the disk takes writes.
   */
  private toDisk(batch: FlowRecord[], fromDisk: boolean): boolean {
    const d = this.disk!;
    if (fromDisk) {
      d.rewind();
      if (this.heldCount > 0 && this.spillWritable()) this.appendToDisk(d, []);
      return true;
    }
    // The spill failed a write a moment ago: the batch is retried from memory until it is time to
    // write again, as without a spill. At a stop it gets the last try at the disk that close() gives
    // the held records (which are newer) before them: it is not retried after.
    if (!this.spillWritable() && !this.closing) return false;
    const memory = this.takeAll();
    try {
      d.prepend([batch, ...memory]);
    } catch (err) {
      // Nothing went to disk (prepend is all or nothing): the rest of memory goes back where it
      // was, and the batch is retried from memory (or dropped and counted, as without a spill).
      this.chunks = memory;
      for (const c of memory) this.queued += c.length;
      this.c.queued = this.queued + this.heldCount;
      this.spillWriteFailed(err);
      return false;
    }
    this.spillWriteWorks();
    if (this.heldCount > 0) this.appendToDisk(d, []);
    this.reportSpillDrops();
    return true;
  }

  private sleep(): Promise<void> {
    this.backoff = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoff * 2));
    return this.pause(this.backoff);
  }

  /** Waits `ms`, or until close() wakes it. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    }).then(() => {
      this.wake = null;
      this.sleepTimer = null;
    });
  }

  /**
   * Sends everything queued. With spill, returns once everything is delivered or, while the target
   * is failing, safely on disk (it is delivered when the target is back). A batch the spill did not
   * take (a full disk) is neither: it is waited for until it is delivered or written to disk at a
   * later try (close() bounds the wait).
   */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      for (;;) {
        const onDisk = this.disk?.pendingRecords ?? 0;
        if (this.queued === 0 && this.heldCount === 0 && onDisk === 0 && this.pumping === null) return;
        if (this.failing && this.queued === 0 && this.heldCount === 0 && this.memoryInFlight === null) return;
        if (this.closing) return;
        const progressed = new Promise<void>((r) => this.waiters.push(r));
        this.kick();
        await progressed;
      }
    } finally {
      this.flushing--;
    }
  }

  /**
   * Delivers what is queued, for at most `flushMs` (close-deadline.ts); with a spill, what the
   * target does not take by then stays on disk for the next start. Without one it is counted in
   * `dropped_retries` and logged.
   */
  async close(flushMs = CLOSE_FLUSH_MS): Promise<void> {
    const droppedBefore = this.c.dropped_retries!;
    await within(this.flush(), flushMs);
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.sleepTimer !== null) clearTimeout(this.sleepTimer);
    this.wake?.();
    // A send that neither finishes nor fails in time (a slow server, or one that accepted and stays
    // silent): its records may or may not arrive.
    let inFlight: FlowRecord[] | null = null;
    if (this.pumping !== null && !(await within(this.pumping, CLOSE_SEND_MS))) {
      this.abandoned = true;
      inFlight = this.sendingFromMemory;
    }
    const left = [...(inFlight === null ? [] : [inFlight]), ...this.takeAll()];
    const newer = this.held;
    this.held = [];
    this.heldCount = 0;
    this.c.queued = 0;
    // The send given up on is no longer in flight: it is kept or counted below with the rest.
    if (this.abandoned) this.c.inflight = 0;
    let n = 0;
    for (const chunk of left) n += chunk.length;
    for (const chunk of newer) n += chunk.length;
    // With a spill, what memory still holds goes to disk, before what is there (it is older), for
    // the next start; the batch given up in flight too, so it arrives at least once. What the disk
    // could not take earlier is newer than what is on it: after it.
    let kept = 0;
    let capped = 0;
    let written = 0;
    const d = n > 0 && this.opts.spill !== undefined ? this.spillLog() : null;
    if (d !== null) {
      // The cap's drops only: segments found removed meanwhile (prepend() checks the lock, and may
      // give them up) held older records, not these.
      const cappedBefore = d.c.dropped - d.c.damaged;
      try {
        d.prepend(left);
        for (const chunk of left) written += chunk.length;
        for (const chunk of newer) {
          written += this.tryAppend(d, chunk);
          if (this.spillWriteRetryAt !== 0) break;
        }
      } catch (err) {
        this.logSpillError(err, 'records dropped at stop');
      }
      // Past the cap the oldest records go first, and these are the oldest: what the cap took
      // (counted in spill_dropped, logged below) is theirs first.
      capped = Math.min(written, d.c.dropped - d.c.damaged - cappedBefore);
      kept = written - capped;
    }
    this.c.dropped_retries! += n - written;
    if (kept > 0) log.warn(`${this.name} output: stopped with ${kept} records the target did not take within ${flushMs / 1000} s (slow or failing) kept in the spill directory ${this.opts.spill!.dir} for the next start`);
    // Records spilled before the stop wait there too (the target was away): said, so the stop's lines account for them.
    const earlier = (this.disk?.pendingRecords ?? 0) - kept;
    if (earlier > 0) log.warn(`${this.name} output: ${earlier} records spilled while the target was away wait in the spill directory ${this.opts.spill!.dir} for the next start`);
    this.reportSpillDrops(true);
    const dropped = this.c.dropped_retries! - droppedBefore;
    if (dropped > 0) log.error(`${this.name} output: stopped with ${dropped} records not delivered (the target did not take them within ${flushMs / 1000} s: slow or failing)`);
    this.disk?.close();
    this.syncSpillCounters();
  }

  counters(): Record<string, number> {
    this.syncSpillCounters();
    return { ...this.c };
  }

  private syncSpillCounters(): void {
    const d = this.disk;
    if (d === null) return;
    this.c.spilled = d.c.spilled;
    this.c.spill_replayed = d.c.replayed;
    this.c.spill_dropped = d.c.dropped;
    this.c.spill_dropped_damaged = d.c.damaged;
    this.c.spill_corrupt = d.c.corrupt;
    this.c.spill_recovered = d.c.recovered;
    this.c.spill_pending = d.pendingRecords;
    this.c.spill_bytes = d.bytes;
  }

  private logFailure(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < LOG_EVERY_MS) return;
    this.lastErrorLog = now;
    const where = this.disk !== null && this.spillWritable() ? 'spilling to disk and retrying' : 'will retry';
    log.warn(`${this.name} output: send failed, ${where}: ${(err as Error).message}`);
  }

  /**
   * Logs the records the spill dropped since the last such line (at most every LOG_EVERY_MS unless
   * `now`), at its cap and with damaged, unreadable or removed segments apart: the cap takes the
   * oldest first, and without these lines an outage that outlasts it loses them with only a counter
   * to say so.
   */
  private reportSpillDrops(now = false): void {
    const d = this.disk;
    if (d === null) return;
    const capped = d.c.dropped - d.c.damaged;
    const n = capped - this.spillDropsLogged;
    const damaged = d.c.damaged - this.spillDamagedLogged;
    const t = Date.now();
    if ((n <= 0 && damaged <= 0) || (!now && t - this.lastSpillDropLog < LOG_EVERY_MS)) return;
    this.lastSpillDropLog = t;
    this.spillDropsLogged = capped;
    this.spillDamagedLogged = d.c.damaged;
    if (n > 0) log.error(`${this.name} output: ${n} records dropped, the oldest first: the spill directory ${this.opts.spill!.dir} reached its cap of ${this.opts.spill!.maxBytes} bytes (the output's _SPILL_MAX_BYTES) while the target was away`);
    if (damaged > 0) log.error(`${this.name} output: ${damaged} records dropped from the spill directory ${this.opts.spill!.dir}: their segments were damaged, unreadable or removed (the spill's warnings name them)`);
  }

  private logSpillError(err: unknown, outcome: string): void {
    const now = Date.now();
    if (now - this.lastSpillErrorLog < LOG_EVERY_MS) return;
    this.lastSpillErrorLog = now;
    log.error(`${this.name} output: cannot write to the spill directory ${this.opts.spill!.dir} (EF_DATA_DIR; its size is capped by the output's _SPILL_MAX_BYTES), ${outcome}: ${(err as Error).message}`);
  }
}

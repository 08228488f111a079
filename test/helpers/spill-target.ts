/**
 * A batching output with a disk spill, as the spill tests drive it: a target that can be taken down,
 * records numbered in order (so order and gaps show), the options they share, and a disk that fills up.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { FlowRecord } from '../../src/record/flow-record.js';
import { BatchingOutput, PartialSendError, type BatchingOptions } from '../../src/output/batching.js';
import type { SpillLog } from '../../src/output/spill/segment-log.js';

/**
 * A target that can be taken down, or made to take only the first `partial` records of its next batch
 * (it is down after that); keeps what it accepted.
 */
export class FakeTarget extends BatchingOutput {
  readonly name = 'fake';
  down = false;
  partial = 0;
  readonly got: FlowRecord[] = [];
  constructor(opts: BatchingOptions) {
    super(opts);
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.partial > 0) {
      const n = this.partial;
      this.partial = 0;
      this.down = true;
      for (const r of batch.slice(0, n)) this.got.push(r);
      throw new PartialSendError(batch.slice(n), new Error('connection reset after a partial bulk (test)'));
    }
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:1 (test)');
    for (const r of batch) this.got.push(r);
  }
}

/**
 * Batches of 10 (one spill entry each), 10 records in memory before the disk, 50 when the disk cannot
 * be used. A cap of `maxBytes` on the spill: 1 MiB, far above what a test writes, unless it says.
 */
export const opts = (dir: string, maxBytes = 1 << 20): BatchingOptions => ({ batchMax: 10, deadlineMs: 5, queueMax: 10, queueMaxWithoutSpill: 50, spill: { dir, maxBytes } });

/** `n` bare records numbered `from` on, for a SpillLog used directly. */
export function numbered(n: number, from = 0): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.sequence = from + i;
    return r;
  });
}

/** The sequence numbers of everything `log` still delivers, read `max` at a time and committed as an output does. */
export function drain(log: SpillLog, max = 50): number[] {
  const seqs: number[] = [];
  for (let guard = 0; guard < 100_000 && log.pendingRecords > 0; guard++) {
    const got = log.peek(max);
    if (got.length === 0) break;
    for (const r of got) seqs.push(r.sequence);
    log.commit();
  }
  return seqs;
}

/** Records numbered on from `next.n`, one exporter, so order and gaps show in the sequence. */
export function records(next: { n: number }, count: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < count; i++) {
    const r = new FlowRecord();
    r.exporterIp = '192.0.2.1';
    r.sequence = next.n++;
    r.bytes = 1000;
    out.push(r);
  }
  return out;
}

export function sequences(got: readonly FlowRecord[]): number[] {
  return got.map((r) => r.sequence);
}

/** Polls `cond` every 10 ms; throws naming `what` if it does not hold within `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Takes the target down and writes the next 10 records; resolves once the failed send has moved them
 * to disk, in a segment of their own.
 */
export async function firstBatchOnDisk(t: FakeTarget, next: { n: number }): Promise<void> {
  t.down = true;
  t.write(records(next, 10));
  await until(() => t.counters().spill_pending === 10, 5000, 'the failed batch on disk');
}

/** Moves the clock `ms` on for what runs in `f` (the spill's retries wait on it). */
export function later<T>(ms: number, f: () => T): T {
  const now = Date.now;
  Date.now = () => now() + ms;
  try {
    return f();
  } finally {
    Date.now = now;
  }
}

/**
 * A disk that takes `bytes` more bytes of file writes (descriptors past stdio), a last write cut short
 * included, and then fails them with ENOSPC, as a full one does. 0: full; Infinity: room again.
 */
export class FullDisk {
  private readonly real = fs.writeSync;
  bytes = Infinity;
  constructor() {
    const real = this.real;
    fs.writeSync = ((fd: number, buf: NodeJS.ArrayBufferView, off?: number, len?: number, pos?: number | null) => {
      if (fd <= 2 || this.bytes === Infinity) return real(fd, buf, off, len, pos);
      const want = len ?? buf.byteLength - (off ?? 0);
      if (this.bytes <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      const n = real(fd, buf, off, Math.min(want, this.bytes), pos);
      this.bytes -= n;
      return n;
    }) as typeof fs.writeSync;
    syncBuiltinESMExports();
  }
  restore(): void {
    fs.writeSync = this.real;
    syncBuiltinESMExports();
  }
}

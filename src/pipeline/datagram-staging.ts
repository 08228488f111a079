/**
 * Datagrams gathered for another thread: payloads back to back in one buffer with offsets,
 * lengths, source ports, receive times and addresses beside them, taken as one DatagramBatch.
 * Shared by the receive thread and the decode-worker pool.
 */
import type { DatagramBatch } from './worker-protocol.js';

export const STAGING_BYTES = 1 << 20;
export const STAGING_DATAGRAMS = 1024;
/**
 * Datagrams gathered before a batch is sent at once, and (decode-worker pool) the longest a smaller
 * batch waits, in ms; the receive thread also sends what it has when a turn of its event loop ends.
 * Sending every few datagrams on their own woke the workers thousands of times a second: at 40,000
 * packets/s from 8 exporters that lost 40-50% of the datagrams. 128 a batch lost 0-5%; 32 lost as
 * few (bench:peers, 2 workers at nice 5, six runs each) and cost ~15% less CPU per record: a batch's
 * NDJSON (about 1 MB at 32) is still in the caches when the main thread writes it, where at 128
 * (4 MB) the kernel's copy into the page cache took three times the system time.
 */
export const BATCH_DATAGRAMS = 32;
export const BATCH_WAIT_MS = 1;

export class DatagramStaging {
  readonly data = new Uint8Array(STAGING_BYTES);
  used = 0;
  count = 0;
  readonly offsets = new Int32Array(STAGING_DATAGRAMS);
  readonly lengths = new Int32Array(STAGING_DATAGRAMS);
  readonly ports = new Uint16Array(STAGING_DATAGRAMS);
  readonly receivedAt = new Float64Array(STAGING_DATAGRAMS);
  addresses: string[] = [];

  fits(n: number): boolean {
    return this.count < STAGING_DATAGRAMS && this.used + n <= STAGING_BYTES;
  }

  add(buf: Buffer, address: string, port: number, ts: number): void {
    this.data.set(buf, this.used);
    this.offsets[this.count] = this.used;
    this.lengths[this.count] = buf.length;
    this.ports[this.count] = port;
    this.receivedAt[this.count] = ts;
    this.addresses.push(address);
    this.used += buf.length;
    this.count++;
  }

  /**
   * The batch as exact-size copies, to be transferred; the staging arrays stay for reuse. Handing
   * over the 1 MB staging buffer itself meant allocating (and zeroing) a new one per message, which
   * at one message per event-loop turn cost more than everything else the thread did.
   */
  take(): DatagramBatch {
    const n = this.count;
    const b: DatagramBatch = {
      count: n, data: this.data.slice(0, this.used).buffer as ArrayBuffer, offsets: this.offsets.slice(0, n), lengths: this.lengths.slice(0, n),
      ports: this.ports.slice(0, n), receivedAt: this.receivedAt.slice(0, n), addresses: this.addresses,
    };
    this.addresses = [];
    this.used = 0;
    this.count = 0;
    return b;
  }
}

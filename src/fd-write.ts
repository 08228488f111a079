/**
 * Writing to a descriptor directly, for what must survive a failed write (a full disk): through a
 * stream such a failure is an 'error' event, and the stream is dead after it.
 */
import { fstatSync, writeSync } from 'node:fs';

/** Whether `fd` is a regular file (not a pipe, socket or terminal, which stay with their streams). */
export function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes `buf` from byte `from` on, at file position `pos` (null: the descriptor's own position). A write
 * may take only part of what it is given (a nearly full disk): the rest is written by the next, and
 * `wrote` hears of each part, so a failure part-way (thrown) leaves the caller knowing how far it got.
 */
export function writeAll(fd: number, buf: Buffer, from = 0, pos: number | null = null, wrote?: (n: number) => void): void {
  for (let off = from; off < buf.length;) {
    const n = writeSync(fd, buf, off, buf.length - off, pos === null ? null : pos + off - from);
    if (n <= 0) throw new Error(`write took ${n} of ${buf.length - off} bytes`);
    off += n;
    wrote?.(n);
  }
}

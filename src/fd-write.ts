/**
 * Writing to a descriptor directly, for what must survive a failed write (a full disk): through a
 * stream such a failure is an 'error' event, and the stream is dead after it.
 */
import { fstatSync, ftruncateSync, readSync, writeSync } from 'node:fs';

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

/**
 * Cuts the file open as `fd` (readable, and regular) back to its last line end when it ends inside a
 * line: a write a full disk cut short, with no retry after it (a stop, a crash). The next line
 * appended would be glued to the cut one. Returns the bytes cut.
 */
export function cutToLineEnd(fd: number): number {
  const size = fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(65536);
  let cut = -1;
  for (let end = size; end > 0 && cut < 0; end -= buf.length) {
    const from = Math.max(0, end - buf.length);
    const n = readSync(fd, buf, 0, end - from, from);
    if (end === size && buf[n - 1] === 10) return 0;
    const nl = buf.subarray(0, n).lastIndexOf(10);
    if (nl >= 0) cut = from + nl + 1;
    else if (from === 0) cut = 0;
  }
  if (cut < 0) return 0;
  ftruncateSync(fd, cut);
  return size - cut;
}

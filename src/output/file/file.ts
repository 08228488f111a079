/**
 * EF_OUTPUT_FILE_*: NDJSON appended to a file, rotated by size: `flows.ndjson` becomes
 * `flows.ndjson.1`, older ones shift up, and at most EF_OUTPUT_FILE_MAX_FILES rotated files are kept.
 * A file moved or deleted under it (logrotate, rm) is made again at the path; one cut shorter
 * (logrotate's copytruncate) has its size read again. One that cannot be renamed (a single-file bind
 * mount) is written past the size, its rotated files left alone.
 */
import { closeSync, existsSync, openSync, renameSync, rmSync, type BigIntStats } from 'node:fs';
import { log } from '../../log/logger.js';
import { cutToLineEnd } from '../../fd-write.js';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ViewOptions } from '../../record/fields.js';
import { NdjsonQueue } from './ndjson-queue.js';
import { makeDir } from '../../make-dir.js';
import { within } from '../../within.js';

/**
 * Bytes in one write at most. A stop waits for the write under way (3 s at most) and counts what the
 * writes that returned took: a write the size of the whole backlog (90 MB into a slow disk or a FIFO)
 * would outlast that wait and leave every record in it unknown. 1 MiB is the slab size, what a
 * steady stream writes anyway.
 */
const WRITE_MAX = 1 << 20;

/**
 * How often, while writing, the path is compared with the file open. Looked at when there is
 * something to write, not on a timer: a file nobody writes to needs no new one.
 */
const LOOK_EVERY_MS = 1000;

/**
 * After a rotation that could not move the file, how long it is written past the size before the
 * next try. Trying at every write would cost each one the slow path, to fail the same way.
 */
const ROTATE_AGAIN_MS = 60_000;

/** How often a rotation that keeps failing is logged again. */
const ROTATE_LOG_EVERY_MS = 600_000;

export interface FileOutputOptions {
  path: string;
  /** Bytes before rotation; 0 never rotates. */
  maxBytes: number;
  maxFiles: number;
  view: ViewOptions;
}

export class FileOutput extends NdjsonQueue {
  readonly name = 'file';
  private fh: FileHandle | null = null;
  private size = 0;
  /** A regular file: a FIFO or a device (/dev/null) is neither rotated nor followed. */
  private regular = true;
  /** When the path was last compared with the file open (follow()). */
  private looked = 0;
  /**
   * The chunks of a send that failed part-way (a full disk writes some and then refuses) and how
   * many of their bytes are already in the file: the queue retries the same chunks, and the retry
   * goes on from there, so no line is written twice and the cut line is completed.
   */
  private progress: { of: Buffer[]; bytes: number } | null = null;
  /** Bytes in the write under way (0 between writes): what a stop that stops waiting does not know about. */
  private writing = 0;
  /** Until when no rotation is tried (the last one could not move the file): the file grows past the size. */
  private rotateAgainAt = 0;
  /** Rotations that failed in a row, and when that was last logged. */
  private rotateFailed = 0;
  private rotateLogged = 0;

  constructor(private readonly o: FileOutputOptions) {
    super({ view: o.view, slabBytes: 1 << 20, deadlineMs: 500, queueMax: 500_000 });
  }

  protected override target(): string {
    return ` to ${this.o.path} (EF_OUTPUT_FILE_PATH)`;
  }

  override async start(): Promise<void> {
    this.keepLeftover();
    await this.openFile();
  }

  private async openFile(): Promise<void> {
    // Also after start: a directory deleted while running (rm -r) is made again with the file.
    makeDir(dirname(this.o.path));
    // Not while a write is being resumed: its cut line is about to be completed.
    if (this.progress === null) endOnWholeLine(this.o.path);
    this.fh = await open(this.o.path, 'a');
    const st = await this.fh.stat();
    this.size = st.size;
    this.regular = st.isFile();
    this.looked = Date.now();
  }

  /**
   * Whether the path still names the file open, looked at (`now`, or once LOOK_EVERY_MS) between
   * two writes that end on a line end. Deleted or moved away (rm, mv, logrotate's default `create`
   * mode): the writes would go on into a file nobody sees (a deleted one never frees its space, a
   * moved one would be renamed again by the next rotation), so the file is made again at the path.
   * Cut shorter (logrotate's `copytruncate`): the size is read again, or rotation would come early.
   * Resolves true when either happened (the room left changed).
   */
  private async follow(now: boolean): Promise<boolean> {
    if (!this.regular || this.fh === null || (!now && Date.now() - this.looked < LOOK_EVERY_MS)) return false;
    this.looked = Date.now();
    // bigint: an inode number of XFS or btrfs may not fit a double.
    const held = await this.fh.stat({ bigint: true });
    let named: BigIntStats | null;
    try {
      named = await stat(this.o.path, { bigint: true });
    } catch (err) {
      // Another error (the directory not readable) says nothing of the file, and a new one would fail too.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      named = null;
    }
    if (named !== null && named.ino === held.ino && named.dev === held.dev) {
      if (Number(held.size) >= this.size) return false;
      this.size = Number(held.size);
      return true;
    }
    const what =
      named !== null
        ? 'is another file now (moved away and made again, as by logrotate)'
        : existsSync(dirname(this.o.path))
          ? 'was deleted or moved away: made again'
          : 'was deleted with its directory: both made again';
    const fh = this.fh;
    this.fh = null;
    await fh.close();
    await this.openFile();
    // Once made: a failure to make it is the write failure the queue logs and retries.
    log.info(`file output: ${this.o.path} ${what}; written to from here on`, { old_file_bytes: Number(held.size) });
    return true;
  }

  /** Where a rotation moves the file first. */
  private get aside(): string {
    return `${this.o.path}.rotating`;
  }

  /**
   * Renames the file to `.1`, the older ones up, and opens a new one. The file is moved aside first:
   * one that cannot be renamed (EBUSY from a single-file bind mount such as `docker -v
   * ./flows.ndjson:/data/flows.ndjson`, EPERM for an immutable or append-only file) then leaves every
   * rotated file where it was. Removing the oldest and shifting first lost one at each retry.
   * Resolves false when the file stays: it is written past the size until the next try.
   */
  private async rotate(): Promise<boolean> {
    const path = this.o.path;
    try {
      this.keepLeftover();
      renameSync(path, this.aside);
    } catch (err) {
      this.rotationFailed(err);
      return false;
    }
    try {
      rmSync(`${path}.${this.o.maxFiles}`, { force: true });
      for (let i = this.o.maxFiles - 1; i >= 1; i--) {
        try {
          renameSync(`${path}.${i}`, `${path}.${i + 1}`);
        } catch (err) {
          // ENOENT: that generation does not exist yet. Another error stops the shift before the
          // next rename would overwrite the file that did not move.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      renameSync(this.aside, `${path}.1`);
    } catch (err) {
      // Put back, still open: a shift stopped part-way leaves a gap, no rotated file lost.
      renameSync(this.aside, path);
      this.rotationFailed(err);
      return false;
    }
    if (this.rotateFailed > 0) log.info(`file output: ${path} rotated again, after ${this.rotateFailed} tries that failed`);
    this.rotateFailed = 0;
    this.rotateLogged = 0;
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
    await this.openFile();
    return true;
  }

  private rotationFailed(err: unknown): void {
    const now = Date.now();
    this.rotateAgainAt = now + ROTATE_AGAIN_MS;
    this.rotateFailed++;
    if (now - this.rotateLogged < ROTATE_LOG_EVERY_MS) return;
    this.rotateLogged = now;
    log.warn(
      `file output: cannot rotate ${this.o.path} (EF_OUTPUT_FILE_MAX_SIZE ${this.o.maxBytes}): ${(err as Error).message}; ` +
        `the rotated files are left as they were and the file is written past the size, rotation tried again every ${ROTATE_AGAIN_MS / 1000} s. ` +
        'A file that cannot be renamed (a single-file bind mount, an immutable or append-only file): mount its directory instead, or set EF_OUTPUT_FILE_MAX_SIZE=0',
      { bytes: this.size, tries_failed: this.rotateFailed },
    );
  }

  /**
   * A file left at the aside name by a rotation cut short (the process killed in it, or the file
   * not put back) is the whole file of that time: never overwritten by the next rotation. It is the
   * file again when the path has none, or else kept under a name of its own.
   */
  private keepLeftover(): void {
    if (!existsSync(this.aside)) return;
    const to = existsSync(this.o.path) ? `${this.aside}-${Date.now()}` : this.o.path;
    renameSync(this.aside, to);
    log.warn(`file output: ${this.aside} was left by a rotation cut short; renamed to ${to}`);
  }

  protected override sendState(chunks: Buffer[]): { written: number; writing: number } {
    return this.progress?.of === chunks ? { written: this.progress.bytes, writing: this.writing } : { written: 0, writing: 0 };
  }

  /** Writes whole lines, rotating between records so no file grows past the size (unless one record alone does). */
  protected async send(chunks: Buffer[], bytes: number): Promise<number> {
    if (this.fh === null) await this.openFile();
    const done = this.progress?.of === chunks ? this.progress.bytes : 0;
    // Not when resuming a cut line: it is finished in the file it began in.
    if (done === 0) await this.follow(false);
    this.progress = { of: chunks, bytes: done };
    if (this.o.maxBytes === 0 || !this.regular || this.size + (bytes - done) <= this.o.maxBytes || Date.now() < this.rotateAgainAt) {
      // The common case: no rotation due, gathered writes and no copy.
      await this.writeAll(skip(chunks, done), done === 0);
    } else {
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
      let from = done;
      // Not once stopping: with no room left and no rotation then, the loop would go round for ever
      // without awaiting anything (the stop's timers could not fire).
      while (from < data.length && !this.stopping) {
        let to = data.length;
        if (this.o.maxBytes > 0 && this.size + (to - from) > this.o.maxBytes && Date.now() >= this.rotateAgainAt) {
          // Cut at the last line end that fits; a file that is still empty takes at least one line.
          // (A line cut by an earlier failed write is finished first: it ends at the next newline.)
          const room = this.o.maxBytes - this.size;
          to = room > 0 ? data.lastIndexOf(10, from + room - 1) + 1 : from;
          if (to <= from) to = this.size === 0 || (from > 0 && data[from - 1] !== 10) ? data.indexOf(10, from) + 1 : from;
        }
        while (from < to) {
          if (this.stopping) return this.progress.bytes;
          const n = pieceEnd(data, from, to) - from;
          this.writing = n;
          const { bytesWritten } = await this.fh!.write(data, from, n).finally(() => (this.writing = 0));
          this.wrote(bytesWritten);
          from += bytesWritten;
        }
        // Rotation (always on a line end) looks first: a file moved away or cut shorter has room again.
        // A rotation that fails leaves the rest to be written past the size (rotateAgainAt).
        if (from < data.length && !this.stopping && !(await this.follow(true))) await this.rotate();
      }
    }
    const wrote = this.progress.bytes;
    if (wrote === bytes) this.progress = null;
    return wrote;
  }

  private wrote(n: number): void {
    this.size += n;
    this.progress!.bytes += n;
  }

  /**
   * Writes the chunks, WRITE_MAX bytes at a time, until done or stopping. writev may write less than
   * asked (a signal, a full disk): the rest is written, not lost.
   */
  private async writeAll(chunks: Buffer[], onLineEnd: boolean): Promise<void> {
    let rest = chunks;
    let lineEnd = onLineEnd;
    while (rest.length > 0 && !this.stopping) {
      if (lineEnd) await this.follow(false);
      const piece: Buffer[] = [];
      let n = 0;
      for (const c of rest) {
        if (n + c.length <= WRITE_MAX) {
          piece.push(c);
          n += c.length;
          continue;
        }
        // A chunk that does not fit whole: the lines of it that do (the first line, when none came before).
        const end = n === 0 ? pieceEnd(c, 0, c.length) : c.lastIndexOf(10, WRITE_MAX - n - 1) + 1;
        if (end > 0) piece.push(c.subarray(0, end));
        n += end;
        break;
      }
      this.writing = n;
      let { bytesWritten } = await this.fh!.writev(piece).finally(() => (this.writing = 0));
      this.wrote(bytesWritten);
      // A piece ends on a line end; one written short may not.
      lineEnd = bytesWritten === n;
      let i = 0;
      while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
      rest = rest.slice(i);
      if (rest.length > 0 && bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
    }
  }

  override async close(flushMs?: number): Promise<void> {
    await super.close(flushMs);
    const fh = this.fh;
    this.fh = null;
    if (fh === null) return;
    // Closing waits for a write under way (a hung NFS server, a FIFO nobody reads): the stop does
    // not, past its own bound; the descriptor is closed once that write returns, or with the process.
    const closing = fh.close();
    closing.catch(() => {});
    const closed = this.writing === 0 && (await within(closing, Math.max(50, this.stopBy - Date.now())));
    // A stop that gave up part-way through a write (the disk stayed full) leaves no cut line. Not
    // while a write is under way: it may still add to that line, and the file may not answer.
    if (closed && this.progress !== null) endOnWholeLine(this.o.path);
  }
}

/**
 * Where a write of `data` from `from` (up to `to`) ends: after the last line end within WRITE_MAX
 * bytes, so that a stop between two writes leaves whole lines (the reader of a FIFO cannot be cut
 * back); a line longer than that is written whole.
 */
function pieceEnd(data: Buffer, from: number, to: number): number {
  if (to - from <= WRITE_MAX) return to;
  const nl = data.lastIndexOf(10, from + WRITE_MAX - 1);
  if (nl >= from) return nl + 1;
  const first = data.indexOf(10, from);
  return first < 0 || first >= to ? to : first + 1;
}

/** `chunks` without their first `n` bytes. */
function skip(chunks: Buffer[], n: number): Buffer[] {
  if (n === 0) return chunks;
  const out: Buffer[] = [];
  let left = n;
  for (const c of chunks) {
    if (left >= c.length) left -= c.length;
    else {
      out.push(left > 0 ? c.subarray(left) : c);
      left = 0;
    }
  }
  return out;
}

/**
 * Cuts the file back to its last line end, when it ends inside a line: a write a full disk cut
 * short, with no retry after it (a stop, a crash). The next line appended would be glued to it.
 */
function endOnWholeLine(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return; // Not there yet: nothing to cut.
  }
  let cut: number;
  try {
    cut = cutToLineEnd(fd);
  } finally {
    closeSync(fd);
  }
  if (cut > 0) log.warn(`file output: ${path} ended inside a line (a write cut short); cut back ${cut} bytes to the last whole line`);
}

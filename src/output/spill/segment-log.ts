/**
 * The on-disk spill behind a network output: an append-only log of record batches in numbered
 * segment files, read back oldest first.
 *
 * Segment file (`<16-digit id>.seg`), all integers big-endian:
 *   magic "UFCSPIL1" (8 bytes) | u32 n | n bytes of JSON {"keys": [...]} (the FlowRecord property
 *   names rows are written with, see record-codec.ts) | entries...
 * Entry:
 *   u32 payload length | u32 record count | u32 CRC-32 of the payload | payload (record-codec.ts)
 *
 * Only the newest segment this process created is appended to; segments found at start are read
 * only, so a torn last entry from a crash is simply where that segment ends. The read position of
 * the oldest segment is kept in `cursor.json` (rewritten, atomically, after each delivered batch)
 * so a restart resumes after what was already delivered: at most the batch in flight at a crash is
 * delivered twice. Past `maxBytes` whole segments are dropped oldest first and every record in
 * them counted; the segment being delivered is never dropped under the sender.
 *
 * A directory emptied or removed while in use (by hand, a clean-up job) is made again, and locked
 * again, before the next segment is created: the records that went with it are counted as lost
 * (`damaged`), not the cap's. If another process has locked it meanwhile, it is left to that process.
 * The lock is also read again before an append, a read and a commit, at most once a second. A
 * clean-up job that removes only the lock (`find -mtime +7 -delete` takes the old lock file and keeps
 * the newer segments) lets another process lock the directory; until this one's first use more than a
 * second after it last found the lock its own, it still appends, reads, writes cursor.json and removes
 * delivered segments there: records both read then are delivered twice, and either's cursor.json may
 * be written over. From that use on it touches nothing there while the other holds the lock. Once it
 * takes the lock back (the holder gone, or one it could not read), it reads the directory again as at
 * start, each segment from the further of cursor.json's position and its own: what the other process
 * delivered is not delivered again.
 *
 * One process uses a spill directory at a time (`spill.lock` in it, see pid-lock.ts), from open to
 * close(): two collectors on one EF_DATA_DIR would each replay every segment (every record delivered
 * twice), keep their own cursor.json and append to the same segment files.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../../record/flow-record.js';
import { log } from '../../log/logger.js';
import { crc32 } from './crc32.js';
import { encodeRecords, RECORD_KEYS, RecordDecoder } from './record-codec.js';
import { makeDir } from '../../make-dir.js';
import { writeAll } from '../../fd-write.js';
import { LockHeldError, takePidLock, type PidLock } from '../pid-lock.js';

const MAGIC = Buffer.from('UFCSPIL1', 'latin1');
const ENTRY_HEADER = 12;
const SEGMENT_RE = /^(\d{16})\.seg$/;
/** First id in an empty directory; ids below it are left free for prepend(). */
const FIRST_ID = 1_000_000_000_000;
export const LOCK_FILE = 'spill.lock';
/**
 * How often, at most, the lock is read again between new segments: a read of a small file, so once a
 * second costs nothing, and bounds how long two processes may use one directory after its lock went.
 */
const LOCK_CHECK_MS = 1000;

export interface SpillLogOptions {
  dir: string;
  /** Disk the segments may use in total; beyond it the oldest are dropped. */
  maxBytes: number;
  /** Size at which a new segment is started (default: maxBytes / 8, between 64 KiB and 64 MiB). */
  segmentBytes?: number;
  /** Records per entry at most (entries are the unit read back; default 1000). */
  entryRecords?: number;
}

interface Segment {
  id: number;
  path: string;
  /** Bytes of valid data (file header plus complete entries). */
  size: number;
  records: number;
  readOffset: number;
  readRecords: number;
  dataStart: number;
  decoder: RecordDecoder;
  /** Open for appending: only the newest segment created by this process. */
  fd: number | null;
  /**
   * Its file was removed, or its directory is another process's now: never read, written or removed
   * again (a file of that name may be another's). Only the segment being delivered is kept so.
   */
  gone?: boolean;
}

interface InFlight {
  seg: Segment;
  end: number;
  records: number;
}

export interface SpillCounters {
  /** Records written to disk. */
  spilled: number;
  /** Records delivered from disk (committed). */
  replayed: number;
  /** Records dropped: at the disk cap, and those in `damaged`. */
  dropped: number;
  /** Of `dropped`, records not dropped at the cap but lost with a damaged, unreadable or removed segment. */
  damaged: number;
  /** Entries whose checksum or framing failed on read (their segment's rest is dropped and counted in dropped). */
  corrupt: number;
  /** Records found on disk at start. */
  recovered: number;
}

/**
 * append() failed part-way (a full disk, a directory that cannot be made again): the first `taken`
 * records of the batch are on disk (or dropped at the cap and counted), the rest are not.
 */
export class SpillAppendError extends Error {
  constructor(readonly taken: number, cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

export class SpillLog {
  private readonly segs: Segment[] = [];
  private readonly segmentBytes: number;
  private readonly entryRecords: number;
  private totalBytes = 0;
  private pending = 0;
  private inFlight: InFlight | null = null;
  private readonly cursorPath: string;
  /**
   * null after the lock went and could not be taken again (another process locked the directory
   * first, or locking failed): nothing in the directory is read, written or removed until it is
   * (tried again at each use).
   */
  private lock: PidLock | null;
  /** When the lock was last read (checkLock()). */
  private lockCheckedAt = 0;
  /** When a failed check on the read side was last logged (not for every batch). */
  private lockErrorLoggedAt = 0;
  readonly c: SpillCounters = { spilled: 0, replayed: 0, dropped: 0, damaged: 0, corrupt: 0, recovered: 0 };

  constructor(private readonly o: SpillLogOptions) {
    this.segmentBytes = o.segmentBytes ?? Math.min(64 << 20, Math.max(64 << 10, Math.floor(o.maxBytes / 8)));
    this.entryRecords = Math.max(1, o.entryRecords ?? 1000);
    this.cursorPath = join(o.dir, 'cursor.json');
    makeDir(o.dir);
    this.lock = this.takeLock();
    this.lockCheckedAt = Date.now();
    try {
      this.c.recovered = this.recover();
    } catch (err) {
      this.lock.release();
      throw err;
    }
    if (this.pending > 0) log.info(`spill ${this.o.dir}: ${this.pending} records in ${this.segs.length} segments found from an earlier run; replaying them first`);
  }

  private takeLock(): PidLock {
    return takePidLock(join(this.o.dir, LOCK_FILE), {
      what: `spill directory ${this.o.dir}`,
      inUse: 'two collectors (or a collector and a replay) on one spill would each send every record in it; stop the other, or give this one its own EF_DATA_DIR',
    });
  }

  /** Records on disk not yet delivered. */
  get pendingRecords(): number {
    return this.pending;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Appends a batch after everything on disk, entry by entry: a failure part-way (a full disk) throws
   * SpillAppendError saying how many records were taken, so the caller keeps only the rest.
   */
  append(batch: readonly FlowRecord[]): void {
    let i = 0;
    try {
      this.checkLockOften();
      // The segment appended to was removed (with its directory, as a rule): what is written to it
      // now could never be read back. One fstat per batch, not per record.
      const open = this.segs.length > 0 ? this.segs[this.segs.length - 1]! : null;
      if (open !== null && open.fd !== null && fstatSync(open.fd).nlink === 0) this.directoryGone();
      for (; i < batch.length; i += this.entryRecords) {
        const end = Math.min(batch.length, i + this.entryRecords);
        const payload = encodeRecords(batch, i, end);
        if (!this.makeRoom(ENTRY_HEADER + payload.length + this.fileHeader().length)) {
          this.c.dropped += end - i;
          continue;
        }
        let seg = this.segs.length > 0 ? this.segs[this.segs.length - 1]! : null;
        if (seg === null || seg.fd === null || seg.size + ENTRY_HEADER + payload.length > this.segmentBytes) {
          if (seg !== null) this.seal(seg);
          this.checkLock();
          seg = this.create(this.segs.length === 0 ? FIRST_ID : Math.max(...this.segs.map((x) => x.id)) + 1);
          this.segs.push(seg);
        }
        this.writeEntry(seg, payload, end - i);
      }
    } catch (err) {
      throw new SpillAppendError(i, err);
    }
  }

  /**
   * Puts batches before everything on disk: for records that were already in memory (older than
   * the disk's) when the target failed. Written to new segments with lower ids, each no larger than
   * a segment appended to: the cap then drops the oldest of them a segment at a time (one segment
   * holding a whole outage's memory went at once, the newest records with it).
   */
  prepend(batches: readonly (readonly FlowRecord[])[]): void {
    const groups: { payload: Buffer; count: number }[][] = [];
    let group: { payload: Buffer; count: number }[] = [];
    let size = this.fileHeader().length;
    for (const b of batches) {
      for (let i = 0; i < b.length; i += this.entryRecords) {
        const end = Math.min(b.length, i + this.entryRecords);
        const payload = encodeRecords(b, i, end);
        if (group.length > 0 && size + ENTRY_HEADER + payload.length > this.segmentBytes) {
          groups.push(group);
          group = [];
          size = this.fileHeader().length;
        }
        group.push({ payload, count: end - i });
        size += ENTRY_HEADER + payload.length;
      }
    }
    if (group.length > 0) groups.push(group);
    if (groups.length === 0) return;
    this.checkLock();
    const first = this.segs.length > 0 ? Math.min(...this.segs.map((x) => x.id)) - groups.length : FIRST_ID;
    // All or nothing: the caller keeps the records in memory when this throws, so segments cut
    // short (a full disk) must not stay to be replayed beside them, nor their descriptors stay open.
    const made: Segment[] = [];
    try {
      for (let g = 0; g < groups.length; g++) {
        const seg = this.create(first + g);
        made.push(seg);
        for (const e of groups[g]!) this.writeEntry(seg, e.payload, e.count);
        this.seal(seg);
      }
    } catch (err) {
      for (const seg of made) {
        try {
          if (seg.fd !== null) closeSync(seg.fd);
        } catch {
          // closing is best effort; the file goes next
        }
        rmSync(seg.path, { force: true });
        // Taken back by what each made segment added (not by restoring the totals from before: a
        // directory made again meanwhile, see create(), dropped segments for good).
        this.c.spilled -= seg.records;
        this.pending -= seg.records;
        this.totalBytes -= seg.size;
      }
      // A segment whose create() failed removed its own file and added nothing.
      throw err;
    }
    this.segs.unshift(...made);
    // The prepended records are now the oldest; the cap applies to them like to any others.
    this.makeRoom(0);
  }

  /**
   * The oldest undelivered records: whole entries from the oldest segment, up to `max` records
   * (at least one entry). They stay on disk until commit().
   */
  peek(max: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    this.inFlight = null;
    // Before reading: a segment another process has loaded since would be delivered by both. A
    // segment only marked gone (below) is dropped either way, touching no file.
    const ours = this.stillOurs();
    while (this.segs.length > 0 && out.length === 0) {
      const seg = this.segs[0]!;
      let off = seg.readOffset;
      let n = 0;
      let good = out.length;
      let fd: number | null = null;
      if (seg.gone === true) {
        const lost = seg.records - seg.readRecords;
        this.countLost(lost);
        log.warn(`spill ${this.o.dir}: segment ${seg.id} is gone (its file, or the directory, was removed while in use); dropping its remaining ${lost} records`);
        this.dropSegment(0);
        continue;
      }
      // Ours, but the lock could not be checked or taken again: they wait, unread (pendingRecords
      // still counts them), until it can.
      if (!ours) break;
      try {
        fd = openSync(seg.path, 'r');
        const head = Buffer.allocUnsafe(ENTRY_HEADER);
        while (off + ENTRY_HEADER <= seg.size && out.length < max) {
          readExactly(fd, head, off);
          const len = head.readUInt32BE(0);
          const count = head.readUInt32BE(4);
          const sum = head.readUInt32BE(8);
          if (off + ENTRY_HEADER + len > seg.size) throw new SpillCorrupt('entry runs past the segment end');
          const payload = Buffer.allocUnsafe(len);
          readExactly(fd, payload, off + ENTRY_HEADER);
          if (crc32(payload) !== sum) throw new SpillCorrupt('checksum mismatch');
          const before = out.length;
          seg.decoder.decode(payload, out);
          if (out.length - before !== count) throw new SpillCorrupt('record count mismatch');
          off += ENTRY_HEADER + len;
          n += count;
          good = out.length;
        }
      } catch (err) {
        // Entries read before the damage are good and delivered; the next peek() starts at the
        // damaged one and drops the rest of the segment, since its framing can no longer be trusted.
        out.length = good;
        if (n === 0) {
          const lost = seg.records - seg.readRecords;
          this.countLost(lost);
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            log.warn(`spill ${this.o.dir}: segment ${seg.id} is gone (its file, or the directory, was removed while in use); dropping its remaining ${lost} records`);
          } else {
            this.c.corrupt++;
            log.warn(`spill ${this.o.dir}: segment ${seg.id} unreadable at offset ${off} (${(err as Error).message}); dropping its remaining ${lost} records`);
          }
          this.dropSegment(0);
          continue;
        }
      } finally {
        if (fd !== null) closeSync(fd);
      }
      if (n === 0) {
        // Nothing readable left in a sealed segment: remove it.
        if (seg.fd === null) this.dropSegment(0);
        else break;
        continue;
      }
      this.inFlight = { seg, end: off, records: n };
    }
    return out;
  }

  /** The records of the last peek() were delivered: forget them. */
  commit(): void {
    const f = this.inFlight;
    if (f === null) return;
    // Checked while the batch is still in flight: a directory another process holds now gives up
    // our other segments there, and this one is only marked gone, so neither its file nor that
    // process's cursor.json is touched below.
    const ours = this.stillOurs();
    this.inFlight = null;
    let seg = f.seg;
    if (!this.segs.includes(seg)) {
      // The lock was taken again meanwhile and the segments read again from the directory
      // (directoryGone()): the batch is moved past in the copy, unless another process read past its
      // start already (it delivered them too) or removed the file.
      const copy = this.segs.find((s) => s.id === seg.id && s.gone !== true);
      if (copy === undefined || copy.readOffset !== seg.readOffset) {
        this.c.replayed += f.records;
        return;
      }
      seg = copy;
    }
    seg.readOffset = f.end;
    seg.readRecords += f.records;
    this.pending -= f.records;
    this.c.replayed += f.records;
    // A segment not gone while the lock could not be taken again stays listed, delivered or not: its
    // file is removed once the directory is ours again (dropped from the list now, it would be
    // found then and replayed as another process's).
    if (seg.readOffset >= seg.size && (ours || seg.gone === true)) {
      // Fully delivered (even the one still appended to: the next append starts a new segment).
      const i = this.segs.indexOf(seg);
      if (i >= 0) this.removeSegment(i);
    }
    if (ours) this.writeCursor();
  }

  /** The records of the last peek() were not delivered: they stay first in line. */
  rewind(): void {
    this.inFlight = null;
  }

  /** Seals the segments and gives up the directory's lock. */
  close(): void {
    try {
      for (const s of this.segs) this.seal(s);
    } finally {
      this.lock?.release();
    }
  }

  private fileHeaderBuf: Buffer | null = null;

  private fileHeader(): Buffer {
    if (this.fileHeaderBuf === null) {
      const json = Buffer.from(JSON.stringify({ keys: RECORD_KEYS }), 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(json.length, 0);
      this.fileHeaderBuf = Buffer.concat([MAGIC, len, json]);
    }
    return this.fileHeaderBuf;
  }

  /**
   * Before a new segment (once per segment, not per record): the directory must still be ours. A
   * clean-up job that empties it (rm dir/*, find -delete) while no segment is open, or removes and
   * makes it again, takes the lock with it and nothing else notices: a second collector could then
   * lock it and both would replay it.
   */
  private checkLock(): void {
    if (this.lock === null || !this.lock.stillHeld()) this.directoryGone();
    // Only once the lock is known to be ours (directoryGone() throws otherwise): a lock that could
    // not be read is read again at the next use, not a second later.
    this.lockCheckedAt = Date.now();
  }

  /**
   * checkLock() at most once every LOCK_CHECK_MS while the lock is ours; every time while it is not
   * (the caller is then refused, and these calls are as rare as the output's retries). Between new
   * segments nothing else would notice a lock removed alone, the segments kept (`find -mtime +7
   * -delete` takes the old lock, not the newer segments), and another process taking the directory.
   */
  private checkLockOften(): void {
    if (this.lock !== null && Date.now() - this.lockCheckedAt < LOCK_CHECK_MS) return;
    this.checkLock();
  }

  /**
   * checkLockOften() for reads and commits, which must not throw (a delivery is done whatever the
   * directory's state): false when the directory cannot be used now (another process's, or its lock
   * cannot be read or taken again). directoryGone() logs the first; the others are logged here.
   */
  private stillOurs(): boolean {
    try {
      this.checkLockOften();
      return true;
    } catch (err) {
      const now = Date.now();
      if (!(err instanceof LockHeldError) && now - this.lockErrorLoggedAt >= 10_000) {
        this.lockErrorLoggedAt = now;
        log.warn(`spill ${this.o.dir}: not read or trimmed until its lock can be checked or taken again (${(err as Error).message}); its ${this.pending} records stay`);
      }
      return false;
    }
  }

  private create(id: number): Segment {
    const path = join(this.o.dir, `${String(id).padStart(16, '0')}.seg`);
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.directoryGone();
      fd = openSync(path, 'w');
    }
    const h = this.fileHeader();
    try {
      writeAll(fd, h, 0, 0);
    } catch (err) {
      // A full disk: no descriptor and no headerless file left behind.
      closeSync(fd);
      rmSync(path, { force: true });
      throw err;
    }
    this.totalBytes += h.length;
    return { id, path, size: h.length, records: 0, readOffset: h.length, readRecords: 0, dataStart: h.length, decoder: new RecordDecoder(RECORD_KEYS), fd };
  }

  private writeEntry(seg: Segment, payload: Buffer, count: number): void {
    const head = Buffer.allocUnsafe(ENTRY_HEADER);
    head.writeUInt32BE(payload.length, 0);
    head.writeUInt32BE(count, 4);
    head.writeUInt32BE(crc32(payload), 8);
    try {
      writeAll(seg.fd!, head, 0, seg.size);
      writeAll(seg.fd!, payload, 0, seg.size + ENTRY_HEADER);
    } catch (err) {
      // A full disk can take part of an entry: cut it off, so the segment ends where its last whole
      // entry does and the next append (once there is room) follows it with no hole.
      try {
        ftruncateSync(seg.fd!, seg.size);
      } catch {
        // the cut entry then fails its checksum on replay, and the rest of the segment with it
      }
      throw err;
    }
    seg.size += ENTRY_HEADER + payload.length;
    seg.records += count;
    this.totalBytes += ENTRY_HEADER + payload.length;
    this.pending += count;
    this.c.spilled += count;
  }

  /**
   * Files of the directory, or the directory itself, were removed while in use: the segments whose
   * files went are dropped and counted (in `damaged`: the cap did not take them), the directory is
   * made again, and locked again if its lock went too, as at start. The segment being delivered
   * stays, marked gone: its delivery may still be committed, and if not, the next peek() drops it.
   *
   * If another process has locked the directory meanwhile, nothing in it is ours any more (its files
   * may have our segments' names): ours are given up without touching them, nothing is written
   * there, and the lock's error is thrown. The next new segment tries the lock again.
   */
  private directoryGone(): void {
    makeDir(this.o.dir);
    // Dropped before the lock is tried: gone whoever holds the directory now.
    let lost = this.giveUp((s) => !existsSync(s.path) || (s.fd !== null && fstatSync(s.fd).nlink === 0));
    let held: boolean;
    try {
      held = this.lock !== null && this.lock.stillHeld();
    } catch (err) {
      this.countLost(lost);
      throw err;
    }
    if (held) {
      // Only segment files went: the lock is ours and stays in place (taking it again would leave
      // the directory unlocked for a moment).
      this.countLost(lost);
      log.warn(`spill ${this.o.dir}: segment files were removed while in use${lost > 0 ? `; the ${lost} records in them lost` : ''}`);
      return;
    }
    // Said once when it is lost, not at every try after.
    const first = this.lock !== null;
    // No longer ours: release() only forgets it (it removes a lock file only if it names this process).
    this.lock?.release();
    this.lock = null;
    try {
      this.lock = this.takeLock();
    } catch (err) {
      if (!(err instanceof LockHeldError)) {
        // Not known to be another's (a full disk or too many open files while locking, a lock that
        // keeps changing hands): our segments are intact and stay ours, untouched and unread until
        // the lock is taken again at a later use; then they are read on as before.
        this.countLost(lost);
        if (first || lost > 0) log.warn(`spill ${this.o.dir}: its lock, files or the directory itself were removed while in use, and it cannot be locked again (${(err as Error).message}); ${lost > 0 ? `the ${lost} records removed lost; ` : ''}the ${this.pending} records still there wait, and nothing is read or written there until it can be`);
        throw err;
      }
      lost += this.giveUp(() => true);
      this.countLost(lost);
      if (first || lost > 0) log.warn(`spill ${this.o.dir}: its lock, files or the directory itself were removed while in use, and another process has locked it since (${err.message}); ${lost} records given up, and nothing read or written there until it can be locked again`);
      throw err;
    }
    this.countLost(lost);
    // Locked again, as at start. The lock was not ours for a while, and whoever held it (one we could
    // not identify, or one gone since) may have delivered from our segments and removed some: our
    // list and read positions no longer say what is left. It is read again from the directory, as
    // at start, each segment from the further of its cursor.json position and ours (what either
    // process delivered is not delivered again); what it holds of ours is not counted lost nor found.
    const ours = new Map<number, [number, number]>();
    let given = 0;
    for (let i = this.segs.length - 1; i >= 0; i--) {
      const s = this.segs[i]!;
      if (s.gone === true) continue;
      ours.set(s.id, [s.readOffset, s.readRecords]);
      given += s.records - s.readRecords;
      this.seal(s);
      this.pending -= s.records - s.readRecords;
      this.totalBytes -= s.size;
      this.segs.splice(i, 1);
    }
    const found = this.recover(ours);
    this.c.recovered += Math.max(0, found - given);
    // The segment being delivered stays first in line.
    this.segs.sort((a, b) => Number(b.gone === true) - Number(a.gone === true) || a.id - b.id);
    log.warn(`spill ${this.o.dir}: its lock, files or the directory itself were removed while in use; made again and locked again${lost > 0 ? `, the ${lost} records that were in it lost` : ''}; ${found} records found in it read on, from where this process or another had got to`);
  }

  /**
   * Drops the segments `which` picks (their records returned, to be counted as lost), without touching
   * their files: gone, or another process's now. The segment being delivered is only marked gone.
   */
  private giveUp(which: (s: Segment) => boolean): number {
    let lost = 0;
    for (let i = this.segs.length - 1; i >= 0; i--) {
      const s = this.segs[i]!;
      if (s.gone === true || !which(s)) continue;
      // Not appended to again, so this is not done again on the next append.
      this.seal(s);
      s.gone = true;
      if (this.inFlight !== null && s === this.inFlight.seg) continue;
      lost += s.records - s.readRecords;
      this.dropSegment(i);
    }
    return lost;
  }

  private countLost(n: number): void {
    this.c.dropped += n;
    this.c.damaged += n;
  }

  /** Stops appending to a segment; its data is forced to disk so a power cut keeps it too. */
  private seal(seg: Segment): void {
    if (seg.fd === null) return;
    try {
      fsyncSync(seg.fd);
    } finally {
      closeSync(seg.fd);
      seg.fd = null;
    }
  }

  /** Drops oldest segments until `need` more bytes fit under the cap; false if they cannot. */
  private makeRoom(need: number): boolean {
    if (need > this.o.maxBytes) return false;
    while (this.totalBytes + need > this.o.maxBytes) {
      const i = this.segs.findIndex((s) => this.inFlight === null || s !== this.inFlight.seg);
      if (i < 0) return false;
      const s = this.segs[i]!;
      const lost = s.records - s.readRecords;
      this.c.dropped += lost;
      this.dropSegment(i);
    }
    return true;
  }

  private dropSegment(i: number): void {
    const s = this.segs[i]!;
    this.pending -= s.records - s.readRecords;
    this.removeSegment(i);
  }

  private removeSegment(i: number): void {
    const s = this.segs[i]!;
    this.seal(s);
    this.segs.splice(i, 1);
    this.totalBytes -= s.size;
    if (s.gone !== true) rmSync(s.path, { force: true });
  }

  /** Read positions of every partly delivered segment (usually just the oldest). */
  private writeCursor(): void {
    // The directory is another process's now: its cursor.json is not ours to write.
    if (this.lock === null) return;
    const pos: Record<string, [number, number]> = {};
    let any = false;
    for (const s of this.segs) {
      if (s.gone !== true && s.readOffset > s.dataStart) {
        pos[String(s.id)] = [s.readOffset, s.readRecords];
        any = true;
      }
    }
    if (!any) {
      rmSync(this.cursorPath, { force: true });
      return;
    }
    const tmp = `${this.cursorPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(pos));
    renameSync(tmp, this.cursorPath);
  }

  /**
   * Loads the segments in the directory (oldest first) and where reading had got to: at start, those
   * left by an earlier run; with the lock taken again, ours and any another process left, each from
   * the further of cursor.json's position and `ours` (this process's). Returns their records.
   */
  private recover(ours: ReadonlyMap<number, [number, number]> = new Map()): number {
    const before = this.pending;
    const ids: number[] = [];
    for (const name of readdirSync(this.o.dir)) {
      const m = SEGMENT_RE.exec(name);
      if (m !== null) ids.push(Number(m[1]));
    }
    ids.sort((a, b) => a - b);
    let cursor: Record<string, [number, number]> = {};
    try {
      cursor = JSON.parse(readFileSync(this.cursorPath, 'utf8')) as Record<string, [number, number]>;
    } catch {
      cursor = {};
    }
    for (const id of ids) {
      const path = join(this.o.dir, `${String(id).padStart(16, '0')}.seg`);
      const seg = scanSegment(id, path);
      if (seg === null) {
        this.c.corrupt++;
        log.warn(`spill ${this.o.dir}: ${path} is not a spill segment or has a damaged header; removed`);
        rmSync(path, { force: true });
        continue;
      }
      if (seg.trailing > 0 && seg.lost > 0) {
        // Damaged entries, framed well enough to count: dropped and counted.
        this.c.corrupt++;
        this.countLost(seg.lost);
        log.warn(`spill ${this.o.dir}: segment ${id} has a damaged entry; dropping its ${seg.lost} records from there on and replaying the ${seg.records} before`);
      } else if (seg.trailing > 0) {
        // Bytes past the last good entry that do not frame as entries: a write cut short by a
        // crash, or a damaged header. What they held cannot be counted; the entries before replay.
        log.warn(`spill ${this.o.dir}: segment ${id} ends in ${seg.trailing} bytes that are not a whole, intact entry (a write cut short by a crash, or damage); replaying the ${seg.records} records before them`);
      }
      for (const at of [cursor[String(id)], ours.get(id)]) {
        if (Array.isArray(at) && at[0] >= seg.readOffset && at[0] <= seg.size) {
          seg.readOffset = at[0];
          seg.readRecords = Math.min(at[1], seg.records);
        }
      }
      if (seg.readOffset >= seg.size) {
        rmSync(path, { force: true });
        continue;
      }
      this.segs.push(seg);
      this.totalBytes += seg.size;
      this.pending += seg.records - seg.readRecords;
    }
    return this.pending - before;
  }
}

class SpillCorrupt extends Error {}

function readExactly(fd: number, buf: Buffer, pos: number): void {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n === 0) throw new SpillCorrupt('unexpected end of file');
    got += n;
  }
}

/** Reads a segment's header and entry headers (not payloads) to find its size and record count. */
/**
 * Records in the entries from `off` to the end of the file, by their headers, when those headers
 * frame the rest exactly (each fits, ends where the next begins, the last at the end of the file,
 * and counts no more records than its bytes could hold); 0 when they do not, since a damaged length
 * or count would give any number.
 */
function lostAfter(fd: number, off: number, fileSize: number, head: Buffer): number {
  let lost = 0;
  while (off + ENTRY_HEADER <= fileSize) {
    readExactly(fd, head, off);
    const len = head.readUInt32BE(0);
    const count = head.readUInt32BE(4);
    if (off + ENTRY_HEADER + len > fileSize || count > len) return 0;
    lost += count;
    off += ENTRY_HEADER + len;
  }
  return off === fileSize ? lost : 0;
}

function scanSegment(id: number, path: string): (Segment & { trailing: number; lost: number }) | null {
  let fd: number | null = null;
  try {
    const fileSize = statSync(path).size;
    fd = openSync(path, 'r');
    const pre = Buffer.allocUnsafe(MAGIC.length + 4);
    readExactly(fd, pre, 0);
    if (!pre.subarray(0, MAGIC.length).equals(MAGIC)) return null;
    const hlen = pre.readUInt32BE(MAGIC.length);
    if (MAGIC.length + 4 + hlen > fileSize) return null;
    const hjson = Buffer.allocUnsafe(hlen);
    readExactly(fd, hjson, MAGIC.length + 4);
    const header = JSON.parse(hjson.toString('utf8')) as { keys?: unknown };
    if (!Array.isArray(header.keys) || !header.keys.every((k) => typeof k === 'string')) return null;
    const dataStart = MAGIC.length + 4 + hlen;
    let off = dataStart;
    let records = 0;
    const head = Buffer.allocUnsafe(ENTRY_HEADER);
    // The segment ends at the last entry whose payload matches its checksum: a crash mid-write
    // leaves a short last entry, and a damaged header (a length, a count) must count for nothing,
    // since the record counts (pending, recovered, dropped) are summed from these entries.
    while (off + ENTRY_HEADER <= fileSize) {
      readExactly(fd, head, off);
      const len = head.readUInt32BE(0);
      if (off + ENTRY_HEADER + len > fileSize) break;
      const payload = Buffer.allocUnsafe(len);
      readExactly(fd, payload, off + ENTRY_HEADER);
      // The checksum covers the payload only: a count larger than its bytes could hold is damage too.
      if (crc32(payload) !== head.readUInt32BE(8) || head.readUInt32BE(4) > len) break;
      records += head.readUInt32BE(4);
      off += ENTRY_HEADER + len;
    }
    return { id, path, size: off, records, readOffset: dataStart, readRecords: 0, dataStart, decoder: new RecordDecoder(header.keys as string[]), fd: null, trailing: fileSize - off, lost: lostAfter(fd, off, fileSize, head) };
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

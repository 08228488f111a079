/**
 * The last good list of a feed, kept in the data directory so a restart without network still
 * enriches: the response body exactly as received (`<name>.body`, re-parsed at start) and a small
 * `<name>.meta.json` describing it. Writes are atomic (temporary file, fsync, rename), so a crash
 * mid-write leaves the previous good copy in place.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeDir } from '../make-dir.js';

export interface PersistMeta {
  feed: string;
  savedAt: string;
  bytes: number;
  /** The body's SHA-256 (hex); absent in meta files written before it was recorded. */
  sha256?: string;
  entries: number;
  format: string;
  /** The URL as shown (no user:password, a key in the query masked); older versions wrote it whole. */
  source: string;
  /**
   * SHA-256 (hex) of the URL asked, query included, to tell a copy from another URL (the user moved
   * the feed) now that `source` is masked; absent in files written before, whose `source` is whole.
   */
  sourceSha256?: string;
}

/** The last download attempt of a feed, kept so that a restart does not ask the provider again too soon. */
export interface AttemptRecord {
  /** When the attempt began (epoch ms). */
  at: number;
  /** The URL asked as shown (no credentials, no key: as PersistMeta.source), for people reading the file. */
  source: string;
  /** As PersistMeta.sourceSha256: an attempt on a URL the feed no longer uses does not count. */
  sourceSha256?: string;
  /** Failed attempts in a row up to this one; an attempt in progress counts as failed until it succeeds. */
  failures: number;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  makeDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  // The rename itself survives a power loss only once the directory is synced.
  const dir = await open(dirname(path), 'r').catch(() => null);
  if (dir !== null) await dir.sync().catch(() => undefined).finally(() => dir.close());
}

export class ListStore {
  constructor(
    readonly dir: string,
    readonly feed: string,
  ) {}

  get bodyPath(): string {
    return join(this.dir, `${this.feed}.body`);
  }

  get metaPath(): string {
    return join(this.dir, `${this.feed}.meta.json`);
  }

  /**
   * The stored body, or null when there is none yet. Read synchronously: it is a local file read at
   * start. A body whose size or SHA-256 differs from what its meta file recorded is refused (throws):
   * cut short, its last line can read as a far wider CIDR (`203.0.113.0/24` as `203.0.113.0/2`).
   * A crash between the two atomic writes of save() leaves such a pair too; the next download
   * mends it. A meta file that is there but unreadable, empty, not JSON or without a size refuses
   * the body as well: nothing tells a whole body from a cut one. Only a body with no meta file at
   * all (lost, or removed by hand) is used unchecked, as save() writes the body whole before its
   * meta file.
   */
  load(): { body: Buffer; meta: PersistMeta | null } | null {
    let body: Buffer;
    try {
      body = readFileSync(this.bodyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const meta = this.checkedMeta();
    if (meta !== null && meta.bytes !== body.length) {
      throw new Error(`${this.bodyPath} is ${body.length} bytes but ${this.metaPath} says ${meta.bytes}: damaged, not used`);
    }
    if (meta !== null && typeof meta.sha256 === 'string' && meta.sha256 !== sha256(body)) {
      throw new Error(`${this.bodyPath} does not match the SHA-256 in ${this.metaPath}: damaged, not used`);
    }
    return { body, meta };
  }

  /**
   * The meta file, null when there is none; throws, naming the file and the fault, when it is there
   * but cannot vouch for the body (see load()).
   */
  private checkedMeta(): PersistMeta | null {
    let text: string;
    try {
      text = readFileSync(this.metaPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw this.damaged(`cannot be read (${(err as Error).message})`);
    }
    if (text.trim() === '') throw this.damaged('is empty');
    let meta: unknown;
    try {
      meta = JSON.parse(text);
    } catch (err) {
      throw this.damaged(`is not JSON (${(err as Error).message})`);
    }
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw this.damaged('does not hold a JSON object');
    const m = meta as Partial<PersistMeta>;
    // Every version has written the size; the checksum came later, so only a malformed one is a fault.
    if (typeof m.bytes !== 'number' || !Number.isSafeInteger(m.bytes) || m.bytes < 0) throw this.damaged(`has no valid size ("bytes": ${JSON.stringify(m.bytes) ?? 'missing'})`);
    if (m.sha256 !== undefined && (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256))) throw this.damaged('has a malformed "sha256"');
    return meta as PersistMeta;
  }

  private damaged(why: string): Error {
    return new Error(`${this.metaPath} ${why}, so ${this.bodyPath} cannot be checked (it may be cut short): not used; the next download replaces both`);
  }

  get attemptPath(): string {
    return join(this.dir, `${this.feed}.attempt.json`);
  }

  /** The last attempt recorded, or null when there is none or it does not read as one. */
  loadAttempt(): AttemptRecord | null {
    try {
      const a = JSON.parse(readFileSync(this.attemptPath, 'utf8')) as Partial<AttemptRecord>;
      if (typeof a.at !== 'number' || !Number.isFinite(a.at) || typeof a.source !== 'string') return null;
      const failures = typeof a.failures === 'number' && a.failures >= 0 ? Math.floor(a.failures) : 0;
      return { at: a.at, source: a.source, ...(typeof a.sourceSha256 === 'string' ? { sourceSha256: a.sourceSha256 } : {}), failures };
    } catch {
      return null;
    }
  }

  /**
   * Records an attempt before its request goes out, synchronously: a process that crashes during
   * the download has still counted it. No fsync: a record lost to a power cut costs one early
   * request, not a list.
   */
  saveAttempt(a: AttemptRecord): void {
    makeDir(this.dir);
    const tmp = `${this.attemptPath}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(a) + '\n', { mode: 0o600 });
    renameSync(tmp, this.attemptPath);
  }

  /** The meta file alone, or null when there is none or it does not read as one. */
  loadMeta(): PersistMeta | null {
    try {
      const meta = JSON.parse(readFileSync(this.metaPath, 'utf8')) as PersistMeta;
      return meta !== null && typeof meta === 'object' ? meta : null;
    } catch {
      return null;
    }
  }

  /** Replaces the meta file of the stored body (atomically), its size and checksum kept as they are. */
  async rewriteMeta(meta: PersistMeta): Promise<void> {
    await writeFileAtomic(this.metaPath, JSON.stringify(meta, null, 2) + '\n');
  }

  /** Saves `body` and its meta; the size and checksum recorded are the body's own. */
  async save(body: Uint8Array, meta: Omit<PersistMeta, 'bytes' | 'sha256'>): Promise<void> {
    await writeFileAtomic(this.bodyPath, body);
    await writeFileAtomic(this.metaPath, JSON.stringify({ ...meta, bytes: body.length, sha256: sha256(body) }, null, 2) + '\n');
  }
}

function sha256(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

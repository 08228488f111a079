/**
 * The last good list of a feed, kept in the data directory so a restart without network still
 * enriches: the response body exactly as received (`<name>.body`, re-parsed at start) and a small
 * `<name>.meta.json` describing it. Writes are atomic (temporary file, fsync, rename), so a crash
 * mid-write leaves the previous good copy in place.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface PersistMeta {
  feed: string;
  savedAt: string;
  bytes: number;
  entries: number;
  format: string;
  source: string;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
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

  /** The stored body, or null when there is none yet. Read synchronously: it is a local file read at start. */
  load(): { body: Buffer; meta: PersistMeta | null } | null {
    let body: Buffer;
    try {
      body = readFileSync(this.bodyPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let meta: PersistMeta | null = null;
    try {
      meta = JSON.parse(readFileSync(this.metaPath, 'utf8')) as PersistMeta;
    } catch {
      // The meta file only describes; the body is what counts.
    }
    return { body, meta };
  }

  async save(body: Uint8Array, meta: PersistMeta): Promise<void> {
    await writeFileAtomic(this.bodyPath, body);
    await writeFileAtomic(this.metaPath, JSON.stringify(meta, null, 2) + '\n');
  }
}

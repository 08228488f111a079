/**
 * A MaxMind database file of the user's (GeoIP, ASN), opened at start and opened again when it
 * changes: `geoipupdate` replaces the file every week or so, and a collector that runs for months
 * should answer from the new one without a restart. The file is looked at every
 * MMDB_REFRESH_MINUTES (its modification time and size); a changed one is opened whole before it
 * replaces the one in use, so a file that does not open (cut short, another format) leaves the
 * previous database answering, and is tried again at the next look.
 */
import maxmind, { type Reader, type Response } from 'maxmind';
import { ConfigFileError } from '../config/file-error.js';
import { log } from '../log/logger.js';
import type { StartHow, UserFileStatus } from '../pipeline/types.js';
import { FileReads, fileStamp } from './user-file.js';

/** Addresses a database is read at once it opens: one written over in place keeps its old metadata and opens, but its tree does not read. */
const PROBES = ['1.1.1.1', '8.8.8.8', '81.2.69.160', '203.0.113.1'];

/** Opens the MMDB file an option names; a file that is there but is no MMDB database is a configuration error naming the option. */
export async function openMmdb<T extends Response>(option: string, path: string): Promise<Reader<T>> {
  try {
    const reader = await maxmind.open<T>(path, { watchForUpdates: false });
    for (const ip of PROBES) reader.get(ip);
    return reader;
  } catch (err) {
    throw new ConfigFileError(`${option}: ${path} is not a readable MaxMind (MMDB) database: ${(err as Error).message}`, { cause: err });
  }
}

/** Minutes between looks at a database file. */
export const MMDB_REFRESH_MINUTES = 15;

export class MmdbFile<T extends Response> {
  reader: Reader<T> | null = null;
  private readonly reads = new FileReads();
  private timer: NodeJS.Timeout | null = null;

  /** `onChange` runs after a changed file replaced the reader (answers cached from the old one must go). */
  constructor(private readonly option: string, private readonly what: string, readonly path: string, private readonly onChange: () => void) {}

  /**
   * Opens the file (throws a ConfigFileError naming the option), then looks at it every
   * MMDB_REFRESH_MINUTES. A decode worker's successor (`how.successor`) goes on without a database
   * when it does not open, until it does (null here; the failure reported as a re-read's).
   */
  async start(how?: StartHow): Promise<Reader<T> | null> {
    const stamp = await fileStamp(this.path).catch(() => '');
    try {
      this.reader = await openMmdb<T>(this.option, this.path);
      this.reads.loaded(stamp);
    } catch (err) {
      if (how?.successor !== true) throw err;
      this.reads.failed((err as Error).message);
      log.error(`${this.what}: ${this.reads.error}; a restarted decode worker runs without it until the file opens`);
    }
    this.timer = setInterval(() => void this.reload(), MMDB_REFRESH_MINUTES * 60_000);
    this.timer.unref();
    return this.reader;
  }

  /** Opens the file again if it changed; one that does not open keeps the previous database. */
  async reload(): Promise<void> {
    const reader = await this.reads.again(this.path, this.what, 'database', () => openMmdb<T>(this.option, this.path));
    if (reader === undefined) return;
    this.reader = reader;
    this.onChange();
    log.info(`${this.what}: reloaded ${this.path} (${this.describe()})`);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** The database's type and build date, as its metadata says. */
  describe(): string {
    const m = this.reader?.metadata;
    if (m === undefined) return '';
    const built = m.buildEpoch instanceof Date && !Number.isNaN(m.buildEpoch.getTime()) ? `, built ${m.buildEpoch.toISOString().slice(0, 10)}` : '';
    return `${m.databaseType}${built}`;
  }

  status(): UserFileStatus {
    const r = this.reads;
    return {
      what: this.what, option: this.option, path: this.path, entries: null, description: this.describe(),
      loadedAt: r.loadedAt, checkedAt: r.checkedAt, refreshMinutes: MMDB_REFRESH_MINUTES, error: r.error,
    };
  }
}

/**
 * What the enrichers fed by a user's file share (sampling rates, interface names, address metadata): the file is read at
 * start, where a file a restart cannot mend is a configuration error (exit code 2) naming the option;
 * with decode workers the main thread checks it first (each worker loads its own copy); it is read
 * again every refresh interval when it changed (its modification time or size), off the hot path, and
 * a bad re-read keeps the previous table. A good re-read is logged with what the table now holds; one
 * that reads no entries where there were some is a warning, as a file emptied on purpose and one caught
 * halfway through a rewrite (truncated, not yet written) look alike.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigFileError } from '../config/file-error.js';
import { log } from '../log/logger.js';
import type { StartHow, UserFileStatus } from '../pipeline/types.js';

/** A file's modification time and size, to tell whether it changed. */
export async function fileStamp(path: string): Promise<string> {
  const st = await stat(path);
  return `${st.mtimeMs}:${st.size}`;
}

/**
 * What a file read at start and looked at again on a timer knows of its reads: the stamp of the
 * copy in use (a look at an unchanged file reads nothing), when it was read and looked at, and why
 * the last look failed. Shared by the user files below and the MaxMind databases (mmdb-file.ts).
 */
export class FileReads {
  /** The stamp of the copy in use. */
  stamp = '';
  loadedAt: number | null = null;
  checkedAt: number | null = null;
  error: string | null = null;

  /** The file did not load at start (a worker's successor, which goes on without it): `why`, and nothing in use. */
  failed(why: string): void {
    this.stamp = '';
    this.checkedAt = Date.now();
    this.error = why.split('\n')[0]!;
  }

  /** The copy in use was read now, from a file of `stamp`. */
  loaded(stamp: string): void {
    this.stamp = stamp;
    this.loadedAt = this.checkedAt = Date.now();
    this.error = null;
  }

  /**
   * Reads the file again (`read`) if it changed since the copy in use: the new value, or undefined
   * when it did not change or did not read (then `error` says why, the log too, naming `kept`, what
   * stays in use; the next look tries again).
   */
  async again<T>(path: string, what: string, kept: string, read: () => Promise<T>): Promise<T | undefined> {
    this.checkedAt = Date.now();
    try {
      const stamp = await fileStamp(path);
      if (stamp === this.stamp) {
        // The file in use is there again as it was read (moved back, restored with its times).
        this.error = null;
        return undefined;
      }
      const value = await read();
      this.loaded(stamp);
      return value;
    } catch (err) {
      // Named as at start-up: a YAML syntax error, say, does not say which file.
      const msg = (err as Error).message;
      const named = msg.includes(path) ? msg : `${path}: ${msg}`;
      this.error = named.split('\n')[0]!;
      log.warn(`${what}: keeping the previous ${kept}: ${named}`);
      return undefined;
    }
  }
}

export abstract class UserFileEnricher<T, Notes> {
  private timer: NodeJS.Timeout | null = null;
  private readonly reads = new FileReads();

  /**
   * `option`: the path's option name, for errors; `what`: the table's name in log lines.
   * `table`: what enrich() reads until the file is loaded.
   */
  constructor(protected readonly path: string, private readonly option: string, private readonly what: string, private readonly refreshMinutes: number, protected table: T) {}

  /** Parses the file's text; throws naming the bad entry; adds to `notes` what start-up should report. */
  protected abstract parse(text: string, notes?: Notes): T;
  /** Entries of a table, for its status. */
  protected abstract entriesOf(table: T): number;
  /** What a table holds, for the line a re-read logs (`12 entries`). */
  protected holds(table: T): string {
    return `${this.entriesOf(table)} entries`;
  }
  protected abstract newNotes(): Notes;
  /** Logs what start-up loaded. */
  protected abstract report(notes: Notes): void;

  private async load(notes?: Notes): Promise<T> {
    try {
      const stamp = await fileStamp(this.path);
      const table = this.parse(await readFile(this.path, 'utf8'), notes);
      this.reads.loaded(stamp);
      return table;
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0]!;
      throw new ConfigFileError(`${this.option}: ${msg.startsWith(this.path) ? msg : `${this.path}: ${msg}`}`, { cause: err });
    }
  }

  /** With decode workers, each loads its own copy: the main thread checks the file first. */
  async check(): Promise<void> {
    await this.load();
  }

  async start(how?: StartHow): Promise<void> {
    const notes = this.newNotes();
    try {
      this.table = await this.load(notes);
      this.report(notes);
    } catch (err) {
      if (how?.successor !== true) throw err;
      // A worker's successor: the empty table until the file loads (reported, and read at each refresh).
      this.reads.failed((err as Error).message);
      log.error(`${this.what}: ${this.reads.error}; a restarted decode worker runs without the table until the file loads`);
    }
    this.timer = setInterval(() => void this.reload(), this.refreshMinutes * 60_000);
    this.timer.unref();
  }

  /** Reads the file again if it changed; a bad re-read keeps the previous table (and is tried again next time). */
  async reload(): Promise<void> {
    const table = await this.reads.again(this.path, this.what, 'table', () => this.readAgain());
    if (table === undefined) return;
    const had = this.entriesOf(this.table);
    this.table = table;
    if (had > 0 && this.entriesOf(table) === 0) log.warn(`${this.what}: ${this.path} read with no entries: the ${had} in use were dropped (a file caught while being rewritten is read again once it changes)`);
    else log.info(`${this.what}: reloaded ${this.path} (${this.holds(table)})`);
  }

  /** The file read and parsed for a re-read while running (an enricher with large files parses off this thread). */
  protected async readAgain(): Promise<T> {
    return this.parse(await readFile(this.path, 'utf8'));
  }

  fileStatus(): UserFileStatus {
    const r = this.reads;
    return { what: this.what, option: this.option, path: this.path, entries: this.entriesOf(this.table), loadedAt: r.loadedAt, checkedAt: r.checkedAt, refreshMinutes: this.refreshMinutes, error: r.error };
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

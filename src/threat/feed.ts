/**
 * One downloadable threat list, feed-agnostic: download (deadline over the whole body), sniff and
 * parse, build the index in time slices, swap it in whole, persist the body that produced it, and
 * refresh on a schedule with backoff. "Never worse than before": a failed, empty or unreadable
 * response leaves the active index and the stored copy untouched.
 *
 * What is said about each step is the feed's business (the RiskIQ enricher words its log lines as
 * the vendor does), so the steps are reported through `FeedHooks` rather than logged here.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { log } from '../log/logger.js';
import { download, DownloadError, displayUrl, type DownloadOptions } from './download.js';
import { buildHere, buildOnWorker, type BuiltList } from './build.js';
import { ListFormatError } from './formats.js';
import { ListStore, type AttemptRecord, type PersistMeta } from './persist.js';
import type { PrefixIndex } from './prefix-index.js';
import { Refresher, type RefreshPolicy } from './refresher.js';
import { Slicer } from './slicer.js';
import type { FeedParseSpec } from './feeds/parse.js';

export interface FeedInfo {
  /** Entries in the index (IPv4 + IPv6, identical CIDRs counted once). */
  entries: number;
  v4: number;
  v6: number;
  /** Bytes of the body the index came from. */
  bytes: number;
  format: string;
  gzip: boolean;
  /** Entries skipped because they did not parse. */
  bad: number;
  /** Milliseconds from the body in hand to the index active. */
  buildMs: number;
  /** The longest step parsing and indexing ran without yielding to the pipeline (ms, wall and CPU). */
  longestStepMs: number;
  longestStepCpuMs: number;
  /** Where parsing and indexing ran: a worker thread (the default) or the pipeline's thread. */
  builtOn: 'worker' | 'main';
  /** For a list loaded from disk: when it was downloaded. */
  savedAt?: string;
  /** Named feeds: entries dropped for covering private or special-purpose space, and a few of them. */
  dropped?: number;
  droppedSamples?: string[];
}

export interface FeedHooks {
  fetching(url: string): void;
  received(bytes: number): void;
  /** No usable response: connection, header deadline or a non-2xx status. */
  requestFailed(err: DownloadError): void;
  /** The body did not arrive whole (deadline, connection cut). */
  readFailed(cause: string): void;
  /** Some entries did not parse: one call per body. */
  skipped(bad: number, samples: readonly string[]): void;
  populated(info: FeedInfo, from: 'download' | 'disk'): void;
  /** The attempt failed; `active` tells whether an earlier index stays in use. */
  failed(cause: string, active: boolean): void;
  storeFailed(cause: string, op: 'load' | 'save'): void;
  /** A list whose save had failed was saved on a later try. */
  storedLater?(path: string): void;
}

/** How long after a failed save of a downloaded list the next try comes (ThreatFeedOptions.saveRetryMs). */
export const SAVE_RETRY_MS = 5 * 60_000;

/** The save and load hooks every feed logs alike, its lines starting with `prefix`. */
export function storeLogHooks(prefix: string): Pick<FeedHooks, 'storeFailed' | 'storedLater'> {
  return {
    storeFailed: (cause, op) =>
      log.warn(op === 'save'
        ? `${prefix} could not save the DB to the data directory (tried again every ${SAVE_RETRY_MS / 60_000} minutes; a restart meanwhile loads the last one saved, or waits for a download): ${cause}`
        : `${prefix} could not load the saved DB: ${cause}`),
    storedLater: (path) => log.info(`${prefix} saved the DB to ${path} on a later try`),
  };
}

export interface ThreatFeedOptions {
  /** Feed id: the `feed.name` value and the stored file names. */
  feed: string;
  /** Name given to entries the list does not name. */
  defaultName: string;
  url: string;
  /**
   * How the URL reads in log lines, error messages and the stored files (default: without
   * user:password); a feed whose query may carry a key gives maskedUrl, so no key is written.
   */
  showUrl?: (url: string) => string;
  user?: string;
  password?: string;
  timeoutMs: number;
  /** Where the last good body is kept (`<dataDir>/threat`). */
  stateDir: string;
  policy: RefreshPolicy;
  hooks: FeedHooks;
  /** Called with each new index, at the moment it becomes active. */
  onIndex: (index: PrefixIndex) => void;
  sliceMs?: number;
  /** Parse and index on a worker thread (default true); false: on this thread, in time slices. */
  offThread?: boolean;
  /** Named feeds (src/threat/feeds/): the body's format and the private-space filter. */
  parse?: FeedParseSpec;
  /** Extra request headers, e.g. an API key header. */
  headers?: Record<string, string>;
  /** A failed save of a downloaded list is tried again after this long, until it is saved or a newer list replaces it (default 5 minutes). */
  saveRetryMs?: number;
  /** Replaces the single download, e.g. to follow an API's pages; throws DownloadError like download(). */
  fetchBody?: (req: DownloadOptions) => Promise<Buffer>;
  /**
   * Keep each attempt's time and the failures in a row next to the stored list (`<feed>.attempt.json`,
   * storedAttempt()), for a start to wait out the provider's floor (the public feeds).
   */
  recordAttempts?: boolean;
}

export class ThreatFeed {
  private active: PrefixIndex | null = null;
  /** When the last download began (ms since the epoch; 0 before the first), for the web UI. */
  lastAttemptAt = 0;
  /** Why the last download failed, as the error line says it (null after a success); credentials never appear in it. */
  lastFailure: string | null = null;
  private readonly refresher: Refresher;
  private readonly store: ListStore;
  private abort = new AbortController();
  private workerError: string | null = null;
  /** The next try at saving a downloaded list whose save failed (a full disk may have room again). */
  private saveRetry: NodeJS.Timeout | null = null;

  /** The URL as logs and the stored files show it. */
  readonly shownUrl: string;
  /** What the stored files record to tell this URL from another (PersistMeta.sourceSha256). */
  private readonly sourceSha256: string;

  constructor(private readonly o: ThreatFeedOptions) {
    this.refresher = new Refresher(() => this.attempt(), o.policy);
    this.store = new ListStore(o.stateDir, o.feed);
    this.shownUrl = (o.showUrl ?? displayUrl)(o.url);
    this.sourceSha256 = sourceHash(displayUrl(o.url));
  }

  static stateDirOf(dataDir: string): string {
    return join(dataDir, 'threat');
  }

  get index(): PrefixIndex | null {
    return this.active;
  }

  get storedBodyPath(): string {
    return this.store.bodyPath;
  }

  get schedule(): Refresher {
    return this.refresher;
  }

  /** The last attempt kept by `recordAttempts` (also by an earlier process), or null. */
  storedAttempt(): AttemptRecord | null {
    return this.store.loadAttempt();
  }

  /** The meta file of the stored list, or null. */
  storedMeta(): PersistMeta | null {
    return this.store.loadMeta();
  }

  /**
   * Whether a stored meta or attempt record was made for this feed's URL (the user may have moved
   * the feed). A record written before `source` was masked holds the URL whole, without a hash.
   */
  isOwnSource(r: { source?: unknown; sourceSha256?: unknown }): boolean {
    if (typeof r.sourceSha256 === 'string') return r.sourceSha256 === this.sourceSha256;
    return typeof r.source === 'string' && r.source === displayUrl(this.o.url);
  }

  /**
   * Files written before `source` was masked hold the URL whole, a key in its query included. They
   * are written again with the URL as shown and its hash, which still tells this URL from another:
   * an upgrade keeps the stored list and its schedule, and no key stays on disk until the next download.
   */
  private async hideStoredKeys(): Promise<void> {
    const show = this.o.showUrl ?? displayUrl;
    const meta = this.store.loadMeta();
    if (meta !== null && typeof meta.source === 'string' && meta.sourceSha256 === undefined && show(meta.source) !== meta.source) {
      // A failed write leaves the old file, read as before.
      await this.store.rewriteMeta({ ...meta, source: show(meta.source), sourceSha256: sourceHash(meta.source) }).catch(() => undefined);
    }
    const a = this.store.loadAttempt();
    if (a !== null && a.sourceSha256 === undefined && show(a.source) !== a.source) {
      try {
        this.store.saveAttempt({ ...a, source: show(a.source), sourceSha256: sourceHash(a.source) });
      } catch {
        // As above.
      }
    }
  }

  private recordAttempt(at: number, failures: number): void {
    if (this.o.recordAttempts !== true) return;
    try {
      this.store.saveAttempt({ at, source: this.shownUrl, sourceSha256: this.sourceSha256, failures });
    } catch {
      // Without the record a restart may ask once too early; the download itself is not held up.
    }
  }

  /** Activates the stored list, if any. False when there is none or it is unreadable. */
  async loadStored(): Promise<boolean> {
    await this.hideStoredKeys();
    let stored;
    try {
      stored = this.store.load();
    } catch (err) {
      this.o.hooks.storeFailed((err as Error).message, 'load');
      return false;
    }
    if (stored === null) return false;
    const t0 = performance.now();
    // Taken before the build: the body is handed to the build worker, which leaves this copy empty.
    const bytes = stored.body.length;
    try {
      const { built } = await this.build(stored.body);
      if (built.index.size === 0) throw new ListFormatError('no usable entry');
      this.activate(built.index);
      this.o.hooks.populated({ ...infoOf(built, bytes, performance.now() - t0), savedAt: stored.meta?.savedAt }, 'disk');
      return true;
    } catch (err) {
      this.o.hooks.storeFailed(`${this.store.bodyPath}: ${(err as Error).message}`, 'load');
      return false;
    }
  }

  /**
   * Parses and indexes off the pipeline's thread. A worker that cannot run (it crashed, or workers
   * are unavailable) fails this attempt and switches the feed to building here, in time slices.
   */
  private async build(body: Buffer): Promise<{ built: BuiltList; body: Buffer }> {
    if (this.o.offThread !== false && this.workerError === null) {
      try {
        return await buildOnWorker(body, this.o.defaultName, this.o.parse);
      } catch (err) {
        if (err instanceof ListFormatError) throw err;
        this.workerError = (err as Error).message;
        throw new Error(`list build worker failed (later builds run on the main thread): ${this.workerError}`);
      }
    }
    return { built: await buildHere(body, this.o.defaultName, new Slicer(this.o.sliceMs), this.o.parse), body };
  }

  /** Starts the schedule; the first download begins after `firstDelayMs`, in the background. */
  start(firstDelayMs = 0): void {
    this.abort = new AbortController();
    this.refresher.start(firstDelayMs);
  }

  /** Downloads now (joining a download in progress); resolves true when a new index is active. */
  refresh(): Promise<boolean> {
    return this.refresher.runNow();
  }

  stop(): void {
    this.refresher.stop();
    this.abort.abort();
    if (this.saveRetry !== null) clearTimeout(this.saveRetry);
    this.saveRetry = null;
  }

  private activate(index: PrefixIndex): void {
    this.active = index;
    this.o.onIndex(index);
  }

  private async attempt(): Promise<boolean> {
    const { hooks } = this.o;
    const signal = this.abort.signal;
    const fail = (cause: string): false => {
      // Stopping aborts a download in flight; that is no failure worth an error line.
      if (!signal.aborted) {
        this.lastFailure = cause;
        hooks.failed(cause, this.active !== null);
      }
      return false;
    };
    this.lastAttemptAt = Date.now();
    this.recordAttempt(this.lastAttemptAt, this.refresher.consecutiveFailures + 1);
    hooks.fetching(this.shownUrl);
    let body: Buffer;
    try {
      const req = { url: this.o.url, showUrl: this.o.showUrl, user: this.o.user, password: this.o.password, timeoutMs: this.o.timeoutMs, signal, headers: this.o.headers };
      body = this.o.fetchBody !== undefined ? await this.o.fetchBody(req) : await download(req);
    } catch (err) {
      if (!(err instanceof DownloadError)) return fail((err as Error).message);
      if (signal.aborted) return false;
      if (err.retryAfterMs > 0) this.refresher.retryNoSoonerThan(err.retryAfterMs);
      if (err.stage === 'body') hooks.readFailed(err.message);
      else hooks.requestFailed(err);
      return fail(err.message);
    }
    hooks.received(body.length);
    if (body.length === 0) return fail('empty response (0 bytes)');
    const t0 = performance.now();
    let built: BuiltList;
    try {
      ({ built, body } = await this.build(body));
    } catch (err) {
      return fail(err instanceof ListFormatError ? `unreadable response: ${err.message}` : (err as Error).message);
    }
    if (built.bad > 0) hooks.skipped(built.bad, built.badSamples);
    if (built.index.size === 0) return fail(`no usable entry in the response (${built.bad} entries did not parse)`);
    if (signal.aborted) return false;
    this.activate(built.index);
    this.lastFailure = null;
    this.recordAttempt(this.lastAttemptAt, 0);
    const info = infoOf(built, body.length, performance.now() - t0);
    hooks.populated(info, 'download');
    await this.save(body, {
      feed: this.o.feed,
      savedAt: new Date().toISOString(),
      entries: info.entries,
      format: built.gzip ? `${built.format}+gzip` : built.format,
      source: this.shownUrl,
      sourceSha256: this.sourceSha256,
    }, false);
    return true;
  }

  /**
   * Keeps the list for a restart. A failed save is tried again after `saveRetryMs` (the list in
   * memory until then), until it is saved or a newer download's save replaces it: without it a
   * restart loads an older list, or waits for a download.
   */
  private async save(body: Buffer, meta: Parameters<ListStore['save']>[1], retry: boolean): Promise<void> {
    if (this.saveRetry !== null) clearTimeout(this.saveRetry);
    this.saveRetry = null;
    try {
      await this.store.save(body, meta);
      if (retry) this.o.hooks.storedLater?.(this.store.bodyPath);
    } catch (err) {
      if (!retry) this.o.hooks.storeFailed(`${this.store.bodyPath} (EF_DATA_DIR): ${(err as Error).message}`, 'save');
      if (this.abort.signal.aborted) return;
      this.saveRetry = setTimeout(() => void this.save(body, meta, true), this.o.saveRetryMs ?? SAVE_RETRY_MS);
      this.saveRetry.unref();
    }
  }
}

/** SHA-256 (hex) of a URL as the stored files record it. */
function sourceHash(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

function infoOf(b: BuiltList, bytes: number, buildMs: number): FeedInfo {
  const r = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    entries: b.index.size,
    v4: b.index.v4Entries,
    v6: b.index.v6Entries,
    bytes,
    format: b.format,
    gzip: b.gzip,
    bad: b.bad,
    buildMs: Math.round(buildMs),
    builtOn: b.builtOn,
    longestStepMs: r(b.longestStepMs),
    longestStepCpuMs: r(b.longestStepCpuMs),
    dropped: b.dropped,
    droppedSamples: b.droppedSamples,
  };
}

/**
 * One downloadable threat list, feed-agnostic: download (deadline over the whole body), sniff and
 * parse, build the index in time slices, swap it in whole, persist the body that produced it, and
 * refresh on a schedule with backoff. "Never worse than before": a failed, empty or unreadable
 * response leaves the active index and the stored copy untouched.
 *
 * What is said about each step is the feed's business (the RiskIQ enricher words its log lines as
 * the vendor does), so the steps are reported through `FeedHooks` rather than logged here.
 */
import { join } from 'node:path';
import { download, DownloadError, displayUrl } from './download.js';
import { ListFormatError, parseList } from './formats.js';
import { ListStore } from './persist.js';
import { buildPrefixIndex, type PrefixIndex } from './prefix-index.js';
import { Refresher, type RefreshPolicy } from './refresher.js';
import { Slicer } from './slicer.js';

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
  /** For a list loaded from disk: when it was downloaded. */
  savedAt?: string;
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
}

export interface ThreatFeedOptions {
  /** Feed id: the `feed.name` value and the stored file names. */
  feed: string;
  /** Name given to entries the list does not name. */
  defaultName: string;
  url: string;
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
}

export class ThreatFeed {
  private active: PrefixIndex | null = null;
  private readonly refresher: Refresher;
  private readonly store: ListStore;
  private abort = new AbortController();

  constructor(private readonly o: ThreatFeedOptions) {
    this.refresher = new Refresher(() => this.attempt(), o.policy);
    this.store = new ListStore(o.stateDir, o.feed);
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

  /** Activates the stored list, if any. False when there is none or it is unreadable. */
  async loadStored(): Promise<boolean> {
    let stored;
    try {
      stored = this.store.load();
    } catch (err) {
      this.o.hooks.storeFailed((err as Error).message, 'load');
      return false;
    }
    if (stored === null) return false;
    const t0 = performance.now();
    try {
      const slicer = new Slicer(this.o.sliceMs);
      const parsed = await parseList(stored.body, this.o.defaultName, slicer);
      if (parsed.set.count === 0) throw new ListFormatError('no usable entry');
      const index = await buildPrefixIndex(parsed.set, slicer);
      this.activate(index);
      this.o.hooks.populated(
        { ...infoOf(index, stored.body.length, parsed.format, parsed.gzip, parsed.set.bad, performance.now() - t0, slicer), savedAt: stored.meta?.savedAt },
        'disk',
      );
      return true;
    } catch (err) {
      this.o.hooks.storeFailed(`${this.store.bodyPath}: ${(err as Error).message}`, 'load');
      return false;
    }
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
      if (!signal.aborted) hooks.failed(cause, this.active !== null);
      return false;
    };
    hooks.fetching(displayUrl(this.o.url));
    let body: Buffer;
    try {
      body = await download({ url: this.o.url, user: this.o.user, password: this.o.password, timeoutMs: this.o.timeoutMs, signal });
    } catch (err) {
      if (!(err instanceof DownloadError)) return fail((err as Error).message);
      if (signal.aborted) return false;
      if (err.stage === 'body') hooks.readFailed(err.message);
      else hooks.requestFailed(err);
      return fail(err.message);
    }
    hooks.received(body.length);
    if (body.length === 0) return fail('empty response (0 bytes)');
    const t0 = performance.now();
    const slicer = new Slicer(this.o.sliceMs);
    let parsed;
    try {
      parsed = await parseList(body, this.o.defaultName, slicer);
    } catch (err) {
      return fail(err instanceof ListFormatError ? `unreadable response: ${err.message}` : (err as Error).message);
    }
    if (parsed.set.bad > 0) hooks.skipped(parsed.set.bad, parsed.set.badSamples);
    if (parsed.set.count === 0) return fail(`no usable entry in the response (${parsed.set.bad} entries did not parse)`);
    const index = await buildPrefixIndex(parsed.set, slicer);
    if (signal.aborted) return false;
    this.activate(index);
    const info = infoOf(index, body.length, parsed.format, parsed.gzip, parsed.set.bad, performance.now() - t0, slicer);
    hooks.populated(info, 'download');
    try {
      await this.store.save(body, {
        feed: this.o.feed,
        savedAt: new Date().toISOString(),
        bytes: body.length,
        entries: info.entries,
        format: parsed.gzip ? `${parsed.format}+gzip` : parsed.format,
        source: displayUrl(this.o.url),
      });
    } catch (err) {
      hooks.storeFailed((err as Error).message, 'save');
    }
    return true;
  }
}

function infoOf(index: PrefixIndex, bytes: number, format: string, gzip: boolean, bad: number, buildMs: number, slicer: Slicer): FeedInfo {
  const r = (ms: number): number => Math.round(ms * 10) / 10;
  return { entries: index.size, v4: index.v4Entries, v6: index.v6Entries, bytes, format, gzip, bad, buildMs: Math.round(buildMs), longestStepMs: r(slicer.longestMs), longestStepCpuMs: r(slicer.longestCpuMs) };
}

/**
 * Threat feeds enricher: many public (or the user's) lists on the feed-agnostic machinery in
 * src/threat/ (download with a deadline, parse and index on a worker, index swapped whole, last
 * good copy persisted, refresh with backoff), one ThreatFeed per list. Every entry covering private
 * or special-purpose space is dropped at load (src/threat/feeds/private-space.ts), so no feed can
 * mark an internal host. Both ends of every flow are looked up in every active list; names and
 * feed ids are appended to what earlier enrichers (RiskIQ) set, joined with ','.
 *
 * Log lines follow the RiskIQ enricher's wording with the feed's name:
 * `Threat feed spamhaus-drop-v4: Fetching Threat DB from ...`.
 */
import { statSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { log } from '../log/logger.js';
import { registerSecrets } from '../log/redact.js';
import type { Enricher } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';
import { maskedUrl } from '../threat/download.js';
import { storeLogHooks, ThreatFeed, type FeedHooks, type FeedInfo } from '../threat/feed.js';
import { fetchOtxPages } from '../threat/feeds/otx.js';
import { resolveFeeds, type ResolvedFeed } from '../threat/feeds/resolve.js';
import type { UserFeed } from '../threat/feeds/userdef.js';
import { embeddedIPv4, isV4Mapped, parseIPv4, parseIPv6 } from '../threat/ip.js';
import { PrefixIndex, type PrefixIndexParts } from '../threat/prefix-index.js';
import { defaultPolicy, type RefreshPolicy } from '../threat/refresher.js';

/** Keys of enrich()'s scratch that are no IPv4 address. */
const NONE = -1;
const V6 = -2;

export interface ThreatFeedsOptions {
  config: Config;
  dataDir: string;
  /** Tests: feeds instead of reading the YAML file. */
  userFeeds?: UserFeed[];
  retry?: Partial<Pick<RefreshPolicy, 'retryBaseMs' | 'retryCapMs'>>;
  offThread?: boolean;
  /** Download at once in start() (default true); false: first download after one interval (tests drive refreshes). */
  autoRefresh?: boolean;
  /** A decode worker's lookup-only copy: no download, no files; lists come from applyReplicaState. */
  replica?: boolean;
}

/**
 * The refresher's policy for a feed: its interval, and retries that never come sooner than the
 * provider's floor (Spamhaus counts every request against its one-an-hour limit, failed ones too).
 */
export function retryPolicy(d: ResolvedFeed): RefreshPolicy {
  const p = defaultPolicy(d.intervalMin * 60_000);
  const base = Math.max(p.retryBaseMs, d.minIntervalMin * 60_000);
  return { intervalMs: p.intervalMs, retryBaseMs: base, retryCapMs: Math.max(p.retryCapMs, base) };
}

/** When the file was last written (epoch ms), or null. */
function modifiedAt(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** One list and what is known about it, for status(). */
class FeedSlot {
  /** The active index (replaced whole by the feed machinery); null before the first list. */
  index: PrefixIndex | null = null;
  armed = false;
  lastError: string | null = null;
  lastAttempt: number | null = null;
  lastRefresh: number | null = null;
  info: FeedInfo | null = null;
  feed!: ThreatFeed;
  constructor(readonly def: ResolvedFeed) {}
}

export class ThreatFeedsEnricher implements Enricher {
  readonly name = 'threat-feeds';
  /**
   * The lists are downloaded and indexed once per process, on the main thread; decode workers look
   * up in copies, sent at start and after every swap.
   */
  readonly placement = 'replica' as const;
  private readonly replicaListeners: (() => void)[] = [];
  readonly slots: FeedSlot[];

  constructor(private readonly o: ThreatFeedsOptions) {
    const c = o.config;
    registerSecrets([c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY, c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY]);
    const defs = resolveFeeds(c, o.userFeeds);
    // The user's header values, URL user info and query values (resolve.ts says which); the redactor
    // leaves out values under 4 characters, which would blank unrelated text.
    for (const d of defs) registerSecrets(d.secrets);
    this.slots = defs.map((d) => {
      const s = new FeedSlot(d);
      s.feed = new ThreatFeed({
        feed: d.name,
        defaultName: d.defaultName,
        url: d.url,
        // Logs, the status page and the stored files show the URL with query values masked: every
        // one in a URL the user wrote (any may be a key), the key-like ones in a built-in's.
        showUrl: (url) => maskedUrl(url, d.userUrl),
        user: d.user,
        password: d.password,
        headers: d.headers,
        timeoutMs: c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_TIMEOUT * 1000,
        stateDir: ThreatFeed.stateDirOf(o.dataDir),
        policy: { ...retryPolicy(d), ...o.retry },
        hooks: this.hooks(s),
        onIndex: (index) => {
          s.index = index;
          s.armed = index.size > 0;
          for (const l of this.replicaListeners) l();
        },
        offThread: o.offThread,
        parse: { format: d.format, dropPrivate: true, extraPrivate: c.EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS },
        // OTX answers in pages: all of them make the list.
        fetchBody: d.format === 'otx' ? (req) => fetchOtxPages(req) : undefined,
        recordAttempts: true,
      });
      return s;
    });
  }

  /** Loads each feed's last good list from the data directory, then starts the downloads in the background. */
  async start(): Promise<void> {
    if (this.o.replica === true) return;
    for (const s of this.slots) {
      const d = s.def;
      if (d.raisedFromMin !== undefined) log.warn(`Threat feed ${d.name}: refresh interval ${d.raisedFromMin} min is below the provider's limit; using ${d.intervalMin} min`);
      log.info(`Threat feed ${d.name}: ${d.origin} feed, ${d.format} format, every ${d.intervalMin} min from ${s.feed.shownUrl}`);
    }
    await Promise.all(this.slots.map((s) => s.feed.loadStored()));
    const now = Date.now();
    for (const s of this.slots) {
      const every = s.def.intervalMin * 60_000;
      // A stored copy younger than the interval is used until it is due: a restart does not fetch
      // again (Spamhaus would count a restart loop against its one-download-an-hour limit).
      // Without autoRefresh (tests) the schedule still runs, its first download one interval away.
      // A copy from another URL (the user moved the feed) is not "fresh": fetch at once.
      const meta = s.feed.storedMeta();
      const sameSource = meta !== null && s.feed.isOwnSource(meta);
      // A copy dated in the future (saved while the clock was ahead, since set right) counts as due:
      // trusting its date would postpone the next download by the size of the clock's jump.
      const last = s.lastRefresh;
      let due = last === null || !sameSource || !Number.isFinite(last) || last > now ? 0 : Math.min(every, Math.max(0, last + every - now));
      // Nor does a restart ask sooner than the provider's floor after the last attempt, failed ones
      // included, backing off as the running schedule would: a collector restarting in a loop
      // without a good copy would otherwise ask at every start. An attempt dated in the future
      // (clock ahead) or on another URL does not count.
      const tried = s.feed.storedAttempt();
      if (tried !== null && s.feed.isOwnSource(tried) && tried.at <= now) {
        s.lastAttempt = tried.at;
        const floor = s.def.minIntervalMin * 60_000;
        const wait = tried.failures > 0 ? Math.max(floor, s.feed.schedule.delayAfter(tried.failures)) : floor;
        due = Math.max(due, Math.min(every, tried.at + wait - now));
      }
      s.feed.start(this.o.autoRefresh === false ? every : due);
    }
  }

  /** Each feed's index as plain arrays (null before its first list), in slot order. */
  replicaState(): (PrefixIndexParts | null)[] {
    return this.slots.map((s) => (s.index === null ? null : s.index.parts().parts));
  }

  onReplicaChange(listener: () => void): void {
    this.replicaListeners.push(listener);
  }

  applyReplicaState(state: unknown): void {
    const parts = state as (PrefixIndexParts | null)[];
    this.slots.forEach((s, i) => {
      const p = parts[i] ?? null;
      s.index = p === null ? null : PrefixIndex.fromParts(p);
      s.armed = s.index !== null && s.index.size > 0;
    });
  }

  /** Refreshes every feed now; resolves with the names of those that got a new list. */
  async refreshAll(): Promise<string[]> {
    const ok = await Promise.all(this.slots.map((s) => s.feed.refresh()));
    return this.slots.filter((_, i) => ok[i]).map((s) => s.def.name);
  }

  slot(name: string): FeedSlot | undefined {
    return this.slots.find((s) => s.def.name === name);
  }

  async stop(): Promise<void> {
    for (const s of this.slots) s.feed.stop();
  }

  /**
   * Both ends of the whole batch are parsed once (IPv4 to a uint32, IPv6 to four words), then each
   * active list is probed in a tight loop over the parsed keys: with many feeds the parsing, not the
   * lookups, would otherwise dominate (see docs/threat-intel.md for the measured cost).
   */
  enrich(batch: FlowRecord[]): void {
    const slots = this.slots;
    let any = false;
    for (let f = 0; f < slots.length; f++) if (slots[f]!.armed) any = true;
    if (!any) return;
    const n = batch.length;
    const m = 2 * n;
    if (this.keys.length < m) {
      this.keys = new Float64Array(m * 2);
      this.words = new Uint32Array(m * 8);
      this.carried = new Float64Array(m * 2);
    }
    const keys = this.keys;
    const words = this.words;
    const carried = this.carried;
    let v6Seen = false;
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      // The decoder's uint32 when it read IPv4 (flow-record.ts srcIp4), else the text.
      keys[2 * i] = r.srcIp4 >= 0 ? r.srcIp4 : this.key(r.srcIp, 2 * i);
      keys[2 * i + 1] = r.dstIp4 >= 0 ? r.dstIp4 : this.key(r.dstIp, 2 * i + 1);
    }
    for (let j = 0; j < m; j++) if (keys[j] === V6) v6Seen = true;
    for (let f = 0; f < slots.length; f++) {
      const s = slots[f]!;
      if (!s.armed) continue;
      const idx = s.index!;
      const names = idx.names;
      const feed = s.def.name;
      const probeV6 = v6Seen && idx.v6Entries > 0;
      for (let j = 0; j < m; j++) {
        const k = keys[j]!;
        let v = -1;
        if (k >= 0) v = idx.lookupV4(k);
        else if (k === V6) v = idx.lookupV6Or4(words, carried[j]!, 4 * j, probeV6);
        if (v < 0) continue;
        const r = batch[j >>> 1]!;
        const name = names[v]!;
        // Earlier enrichers (RiskIQ) and earlier feeds may have marked this end: append, never replace.
        if ((j & 1) === 0) {
          r.srcThreatName = r.srcThreatName === '' ? name : r.srcThreatName + ',' + name;
          r.srcThreatFeed = r.srcThreatFeed === '' ? feed : r.srcThreatFeed + ',' + feed;
        } else {
          r.dstThreatName = r.dstThreatName === '' ? name : r.dstThreatName + ',' + name;
          r.dstThreatFeed = r.dstThreatFeed === '' ? feed : r.dstThreatFeed + ',' + feed;
        }
      }
    }
  }

  /**
   * Scratch for enrich(): one key per address (uint32 IPv4, V6, or NONE), four IPv6 words each, and
   * for a V6 key the IPv4 address it carries (NAT64, 6to4, ...; -1 for none).
   */
  private keys = new Float64Array(512);
  private words = new Uint32Array(2048);
  private carried = new Float64Array(512);

  private key(ip: string, j: number): number {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) return v4;
    if (ip.length < 2 || ip.indexOf(':') < 0 || !parseIPv6(ip, this.words, 4 * j)) return NONE;
    // An IPv4-mapped address is looked up as the IPv4 address it carries.
    if (isV4Mapped(this.words, 4 * j)) return this.words[4 * j + 3]!;
    this.carried[j] = embeddedIPv4(this.words, 4 * j);
    return V6;
  }

  /** Per-feed status, the shape src/web/integrations.ts reads (`feeds: [...]`). */
  status(): { feeds: Record<string, unknown>[] } {
    const now = Date.now();
    return {
      feeds: this.slots.map((s) => ({
        feed: s.def.name,
        enabled: true,
        origin: s.def.origin,
        entries: s.feed.index === null ? null : s.feed.index.size,
        ipv4: s.info?.v4,
        ipv6: s.info?.v6,
        bytes: s.info?.bytes,
        format: s.def.format,
        droppedPrivate: s.info?.dropped ?? 0,
        skipped: s.info?.bad ?? 0,
        lastRefresh: s.lastRefresh,
        ageSeconds: s.lastRefresh === null ? null : Math.max(0, Math.round((now - s.lastRefresh) / 1000)),
        lastAttempt: s.lastAttempt,
        nextRefresh: s.feed.schedule.nextAt > 0 ? s.feed.schedule.nextAt : null,
        lastError: s.lastError,
        consecutiveFailures: s.feed.schedule.consecutiveFailures,
        refreshIntervalMinutes: s.def.intervalMin,
        source: s.feed.shownUrl,
      })),
    };
  }

  private hooks(s: FeedSlot): FeedHooks {
    const P = `Threat feed ${s.def.name}:`;
    const retryIn = (): number => Math.round(s.feed.schedule.delayAfter(s.feed.schedule.consecutiveFailures + 1) / 1000);
    return {
      fetching: (url) => {
        s.lastAttempt = Date.now();
        log.info(`${P} Fetching Threat DB from ${url}`);
      },
      received: (bytes) => log.info(`${P} received response: ${bytes} bytes`),
      readFailed: (cause) => log.error(`${P} failed to read the complete response: ${cause}`),
      requestFailed: (err) => {
        const hint = err.status === 401 || err.status === 403 ? '; check the feed\'s API key' : err.status === 429 ? '; the provider limits downloads, raise the interval' : '';
        log.error(`${P} request failed: ${err.message}${hint}`);
      },
      skipped: (bad, samples) => log.warn(`${P} skipped ${bad} entries that did not parse (e.g. ${samples.map((x) => JSON.stringify(x)).join(', ')})`),
      populated: (info, from) => {
        s.info = info;
        s.lastError = null;
        // A copy without its meta file (lost, or kept by an older version) is dated by the file: dated
        // now, an old copy would read as fresh and wait a whole interval for its next download.
        const saved = info.savedAt !== undefined ? Date.parse(info.savedAt) : NaN;
        s.lastRefresh = from === 'download' ? Date.now() : Number.isFinite(saved) ? saved : modifiedAt(s.feed.storedBodyPath);
        if ((info.dropped ?? 0) > 0) {
          log.info(`${P} dropped ${info.dropped} entries covering private or special-purpose space (e.g. ${(info.droppedSamples ?? []).join(', ')})`, { dropped: info.dropped });
        }
        const fields = { entries: info.entries, ipv4: info.v4, ipv6: info.v6, bytes: info.bytes, format: info.gzip ? `${info.format}+gzip` : info.format, dropped_private: info.dropped ?? 0, build_ms: info.buildMs, built_on: info.builtOn };
        if (from === 'download') log.info(`${P} DB successfully populated.`, fields);
        else log.info(`${P} loaded the last good DB from ${s.feed.storedBodyPath} (downloaded ${info.savedAt ?? 'at an unknown time'})`, fields);
      },
      failed: (cause, active) => {
        s.lastError = cause;
        if (active) log.error(`${P} failed to refresh DB, keeping the active DB: ${cause}`, { retry_in_s: retryIn() });
        else log.error(`${P} failed to initialize DB: ${cause}`, { retry_in_s: retryIn() });
      },
      ...storeLogHooks(P),
    };
  }
}

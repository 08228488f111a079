/**
 * RiskIQ PassiveTotal threat enricher: downloads the PassiveTotal blocklist (HTTP Basic, user = the
 * account e-mail, password = the API key), keeps it fresh every
 * EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL minutes, and marks both ends of every
 * flow found on it: `flow.{src,dst}.sec.threat.name` (the entry's name, `blocklist` when the list
 * gives none) and `.sec.threat.feed.name` = `riskiq`. The user's include/exclude YAML
 * (EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH) adds and removes addresses.
 *
 * The download, parsing, persistence, index and schedule are the feed-agnostic machinery in
 * src/threat/; this module wires it to the options and words the log lines exactly as the vendor's
 * collector does (docs/riskiq.md quotes them).
 */
import type { Config } from '../config/schema.js';
import { log } from '../log/logger.js';
import { registerSecrets } from '../log/redact.js';
import type { Enricher } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';
import { storeLogHooks, ThreatFeed, type FeedHooks } from '../threat/feed.js';
import { InclExclFile } from '../threat/inclexcl.js';
import { ThreatMatcher, type MatcherState } from '../threat/matcher.js';
import { defaultPolicy, type RefreshPolicy } from '../threat/refresher.js';
import { ConfigFileError } from '../config/file-error.js';

export const RISKIQ_FEED = 'riskiq';
export const RISKIQ_DEFAULT_NAME = 'blocklist';
const P = 'RiskIQ Threats:';

export interface RiskiqThreatOptions {
  config: Config;
  dataDir: string;
  /** Tests shorten the retry schedule; the interval always comes from the configuration. */
  retry?: Partial<Pick<RefreshPolicy, 'retryBaseMs' | 'retryCapMs'>>;
  /** Time slice for parsing and indexing when it runs on this thread (ms). */
  sliceMs?: number;
  /** Parse and index on a worker thread (default true). */
  offThread?: boolean;
  /** Start downloading in start() (default true); tests drive refreshes themselves. */
  autoRefresh?: boolean;
  /** A decode worker's lookup-only copy: no download, no files; lists come from applyReplicaState. */
  replica?: boolean;
}

export class RiskiqThreatEnricher implements Enricher {
  readonly name = 'riskiq-threat';
  /**
   * One download and one index per process, on the main thread; decode workers look up in copies of
   * the index, sent to them at start and after every swap.
   */
  readonly placement = 'replica' as const;
  readonly matcher = new ThreatMatcher();
  readonly feed: ThreatFeed;
  private readonly inclExcl: InclExclFile | null;
  private inclExclTimer: NodeJS.Timeout | null = null;
  /** False until a list or include entries exist: enrich() is then a no-op. */
  private armed = false;
  private readonly replicaListeners: (() => void)[] = [];

  constructor(private readonly o: RiskiqThreatOptions) {
    const c = o.config;
    registerSecrets([c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY]);
    const intervalMs = c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL * 60_000;
    const policy = { ...defaultPolicy(intervalMs), ...o.retry };
    this.feed = new ThreatFeed({
      feed: RISKIQ_FEED,
      defaultName: RISKIQ_DEFAULT_NAME,
      url: c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT,
      user: c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER,
      password: c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY,
      timeoutMs: c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT * 1000,
      stateDir: ThreatFeed.stateDirOf(o.dataDir),
      policy,
      hooks: this.hooks(),
      onIndex: (index) => {
        this.matcher.setList(index);
        this.armed = true;
        this.replicaChanged();
      },
      sliceMs: o.sliceMs,
      offThread: o.offThread,
    });
    const p = c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH.trim();
    this.inclExcl = p === '' ? null : new InclExclFile(p, RISKIQ_DEFAULT_NAME);
  }

  /**
   * Loads the include/exclude file (a broken one stops start-up) and the last good DB from the
   * data directory, then starts the download in the background: start-up never waits on the network.
   */
  async start(): Promise<void> {
    if (this.o.replica === true) return;
    if (this.inclExcl !== null) {
      await this.reloadInclExcl(true);
      const every = this.o.config.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_REFRESH_RATE * 60_000;
      this.inclExclTimer = setInterval(() => void this.reloadInclExcl(false), every);
      this.inclExclTimer.unref();
    }
    await this.feed.loadStored();
    if (this.o.autoRefresh !== false) this.feed.start(0);
  }

  replicaState(): { armed: boolean; lists: MatcherState } | null {
    return this.armed ? { armed: true, lists: this.matcher.state() } : null;
  }

  onReplicaChange(listener: () => void): void {
    this.replicaListeners.push(listener);
  }

  applyReplicaState(state: unknown): void {
    const s = state as { armed: boolean; lists: MatcherState };
    this.matcher.applyState(s.lists);
    this.armed = s.armed;
  }

  private replicaChanged(): void {
    for (const l of this.replicaListeners) l();
  }

  /** Downloads now; true when a new DB is active. */
  refresh(): Promise<boolean> {
    return this.feed.refresh();
  }

  async stop(): Promise<void> {
    this.feed.stop();
    if (this.inclExclTimer !== null) clearInterval(this.inclExclTimer);
    this.inclExclTimer = null;
  }

  enrich(batch: FlowRecord[]): void {
    if (!this.armed) return;
    const n = batch.length;
    const addrs = this.addrs;
    const names = this.names;
    if (this.v4.length < 2 * n) this.v4 = new Float64Array(4 * n);
    const v4 = this.v4;
    for (let i = 0; i < n; i++) {
      const r = batch[i]!;
      addrs[2 * i] = r.srcIp;
      addrs[2 * i + 1] = r.dstIp;
      // The decoder's IPv4 number saves parsing the text again (-1 for IPv6 or records read back).
      v4[2 * i] = r.srcIp4;
      v4[2 * i + 1] = r.dstIp4;
    }
    // Both ends of the whole batch in one call: the lookups' cache misses overlap (see matcher.ts).
    this.matcher.namesFor(addrs, 2 * n, names, v4);
    for (let i = 0; i < n; i++) {
      const s = names[2 * i]!;
      const d = names[2 * i + 1]!;
      if (s === null && d === null) continue;
      const r = batch[i]!;
      if (s !== null) {
        // Another feed may have marked this end already: names and feeds are joined with ','.
        r.srcThreatName = r.srcThreatName === '' ? s : r.srcThreatName + ',' + s;
        r.srcThreatFeed = r.srcThreatFeed === '' ? RISKIQ_FEED : r.srcThreatFeed + ',' + RISKIQ_FEED;
      }
      if (d !== null) {
        r.dstThreatName = r.dstThreatName === '' ? d : r.dstThreatName + ',' + d;
        r.dstThreatFeed = r.dstThreatFeed === '' ? RISKIQ_FEED : r.dstThreatFeed + ',' + RISKIQ_FEED;
      }
    }
    // Drop the references so the batch's strings are not kept alive between batches.
    addrs.fill('', 0, 2 * n);
  }

  /** Scratch for enrich(): the batch's addresses and their names (grown, never shrunk). */
  private addrs: string[] = [];
  private v4 = new Float64Array(64);
  private names: (string | null)[] = [];

  /** Entries of the include and exclude lists in use, to tell a re-read that empties one. */
  private listed = { include: 0, exclude: 0 };

  /**
   * Re-reads the include/exclude file when it changed; at start a problem is fatal, later the previous
   * lists stay. An empty list is taken, as at start, but one that held entries is warned about: a file
   * caught between a rewrite's truncate and its write reads empty too.
   */
  async reloadInclExcl(atStart: boolean): Promise<void> {
    if (this.inclExcl === null) return;
    try {
      const res = await this.inclExcl.loadIfChanged();
      if (res === null) return;
      if (res.bad > 0) log.warn(`${P} skipped ${res.bad} include/exclude entries that did not parse (e.g. ${res.badSamples.map((s) => JSON.stringify(s)).join(', ')})`);
      this.matcher.setInclExcl(res.include, res.exclude);
      if (res.include.size > 0) this.armed = true;
      this.replicaChanged();
      const inc = res.include.size;
      const exc = res.exclude.size;
      const was = this.listed;
      this.listed = { include: inc, exclude: exc };
      const dropped = [was.include > 0 && inc === 0 ? `${was.include} include` : '', was.exclude > 0 && exc === 0 ? `${was.exclude} exclude` : ''].filter((d) => d !== '');
      const none = inc + exc === 0 ? 'no entries' : inc === 0 ? `no include entries (${exc} exclude)` : `no exclude entries (${inc} include)`;
      if (dropped.length > 0) log.warn(`${P} ${this.inclExcl.path} read with ${none}: the ${dropped.join(' and ')} entries in use were dropped (a file caught while being rewritten is read again once it changes)`);
      else log.info(`${P} loaded include/exclude lists from ${this.inclExcl.path}: ${inc} include, ${exc} exclude`);
    } catch (err) {
      const msg = (err as Error).message;
      if (atStart) throw new ConfigFileError(`EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: ${msg}`, { cause: err });
      log.error(`${P} failed to read the include/exclude lists, keeping the previous ones: ${msg}`);
    }
  }

  private hooks(): FeedHooks {
    const retryIn = (): number => Math.round(this.feed.schedule.delayAfter(this.feed.schedule.consecutiveFailures + 1) / 1000);
    return {
      fetching: (url) => log.info(`${P} Fetching Threat DB from enrichment API at ${url}`),
      received: (bytes) => log.info(`${P} received enrichment API response: ${bytes} bytes`),
      readFailed: (cause) => log.error(`${P} failed to read the complete enrichment API response: ${cause}`),
      requestFailed: (err) => {
        const hint =
          err.status === 401 || err.status === 403
            ? '; check EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER (the account e-mail) and EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY'
            : '';
        log.error(`${P} enrichment API request failed: ${err.message}${hint}`);
      },
      skipped: (bad, samples) => log.warn(`${P} skipped ${bad} entries that did not parse (e.g. ${samples.map((s) => JSON.stringify(s)).join(', ')})`),
      populated: (info, from) => {
        const fields = { entries: info.entries, ipv4: info.v4, ipv6: info.v6, bytes: info.bytes, format: info.gzip ? `${info.format}+gzip` : info.format, build_ms: info.buildMs, built_on: info.builtOn, longest_step_ms: info.longestStepMs, longest_step_cpu_ms: info.longestStepCpuMs };
        if (from === 'download') log.info(`${P} DB successfully populated.`, fields);
        else log.info(`${P} loaded the last good DB from ${this.feed.storedBodyPath} (downloaded ${info.savedAt ?? 'at an unknown time'})`, fields);
      },
      failed: (cause, active) => {
        if (active) log.error(`${P} failed to refresh DB, keeping the active DB: ${cause}`, { retry_in_s: retryIn() });
        else log.error(`${P} failed to initialize DB: ${cause}`, { retry_in_s: retryIn() });
      },
      ...storeLogHooks(P),
    };
  }

  /** Parses the include/exclude file as start() would, without using it (`ufc config`). */
  async check(): Promise<void> {
    if (this.inclExcl === null) return;
    try {
      await new InclExclFile(this.inclExcl.path, RISKIQ_DEFAULT_NAME).loadIfChanged();
    } catch (err) {
      throw new ConfigFileError(`EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: ${(err as Error).message}`, { cause: err });
    }
  }
}

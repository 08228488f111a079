/**
 * What the Integrations page, /api/integrations and /metrics know about the RiskIQ pieces: the
 * threat enricher's blocklist (size, refreshes, last error) and the RiskIQ output's counters.
 *
 * Both are read from the collector's live stages at request time; a stage that is not configured
 * is reported as `enabled: false` rather than guessed at.
 */
import { redactDeep } from '../log/redact.js';
import { readFileSync, statSync } from 'node:fs';
import type { Enricher, Output } from '../pipeline/types.js';

export interface FeedStatus {
  /** Feed name as written to `sec.threat.feed.name` (e.g. `riskiq`). */
  feed: string;
  enabled: boolean;
  /** Addresses and CIDRs in the active list (null before the first successful load). */
  entries: number | null;
  /** Epoch ms of the last successful load, the next scheduled refresh, and the last failure. */
  lastRefresh: number | null;
  nextRefresh: number | null;
  lastAttempt: number | null;
  lastError: string | null;
  /** Where the list comes from (endpoint URL, never credentials). */
  source: string | null;
  /**
   * The list's other figures, by the names docs/threat-intel.md gives them (FEED_FIGURES): what the
   * JSON API serves of `details`, which it leaves out.
   */
  figures: Record<string, number | string | boolean>;
  /** Everything else the enricher reports, shown as is. */
  details: Record<string, unknown>;
}

/**
 * Figures a feed's status may hold besides the fields above: a threat feed's list (its shape, what
 * was dropped or skipped at load, its refresh), and Microsoft Graph's lookup counters.
 */
export const FEED_FIGURES = [
  'origin', 'format', 'ipv4', 'ipv6', 'bytes', 'droppedPrivate', 'skipped', 'ageSeconds', 'consecutiveFailures', 'refreshIntervalMinutes',
  'queued', 'requests', 'answers', 'notFound', 'errors', 'throttled', 'tokens', 'queueDropped',
] as const;

function figuresOf(s: Record<string, unknown>): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const k of FEED_FIGURES) {
    const v = s[k];
    if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

export interface RiskiqOutputStatus {
  enabled: boolean;
  counters: Record<string, number>;
}

export interface IntegrationsStatus {
  feeds: FeedStatus[];
  riskiqOutput: RiskiqOutputStatus;
}

/** Enrichers that can describe their list implement this (duck-typed: any of these names). */
interface StatusSource {
  status?: () => unknown;
  describe?: () => unknown;
  snapshot?: () => unknown;
}

function readStatus(x: StatusSource): Record<string, unknown> | null {
  for (const fn of [x.status, x.describe, x.snapshot]) {
    if (typeof fn === 'function') {
      const v = fn.call(x);
      if (v !== null && typeof v === 'object') return v as Record<string, unknown>;
    }
  }
  return null;
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  return null;
}

function pick(o: Record<string, unknown>, names: string[]): unknown {
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
}

function feedOf(e: Enricher, s: Record<string, unknown> | null): FeedStatus[] {
  if (s === null) {
    return [{ feed: e.name, enabled: true, entries: null, lastRefresh: null, nextRefresh: null, lastAttempt: null, lastError: null, source: null, figures: {}, details: {} }];
  }
  // A chain-of-feeds enricher may report several lists at once.
  const many = pick(s, ['feeds', 'lists']);
  if (Array.isArray(many)) return many.flatMap((f) => (f !== null && typeof f === 'object' ? feedOf({ name: e.name, enrich() {} }, f as Record<string, unknown>) : []));
  const err = pick(s, ['lastError', 'last_error', 'error']);
  return [{
    feed: String(pick(s, ['feed', 'feedName', 'name']) ?? e.name),
    enabled: pick(s, ['enabled']) !== false,
    entries: num(pick(s, ['entries', 'size', 'count', 'entryCount', 'prefixes'])),
    lastRefresh: num(pick(s, ['lastRefresh', 'lastSuccess', 'loadedAt', 'last_refresh', 'lastLoaded'])),
    nextRefresh: num(pick(s, ['nextRefresh', 'next_refresh', 'nextAt'])),
    lastAttempt: num(pick(s, ['lastAttempt', 'last_attempt', 'lastFetch'])),
    lastError: err === undefined ? null : err instanceof Error ? err.message : String(err),
    source: (pick(s, ['source', 'endpoint', 'url']) as string | undefined) ?? null,
    figures: figuresOf(s),
    details: s,
  }];
}

/**
 * The threat enricher's feed machinery (src/threat/feed.ts) as far as it is public: the active
 * index, the refresh schedule, and the meta file the last good download was saved with.
 */
interface FeedLike {
  index: { size: number; v4Entries?: number; v6Entries?: number } | null;
  storedBodyPath: string;
  schedule: { nextAt: number; consecutiveFailures: number; policy?: { intervalMs: number } };
  lastAttemptAt?: number;
  lastFailure?: string | null;
}

const metaCache = new Map<string, { mtimeMs: number; meta: Record<string, unknown> | null }>();

/** The saved list's meta (savedAt, source, ...), re-read only when the file changes. */
function storedMeta(bodyPath: string): Record<string, unknown> | null {
  const metaPath = bodyPath.replace(/\.body$/, '.meta.json');
  try {
    const st = statSync(metaPath);
    const hit = metaCache.get(metaPath);
    if (hit !== undefined && hit.mtimeMs === st.mtimeMs) return hit.meta;
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Record<string, unknown>;
    metaCache.set(metaPath, { mtimeMs: st.mtimeMs, meta });
    return meta;
  } catch {
    return null;
  }
}

function feedMachineryStatus(name: string, f: FeedLike): Record<string, unknown> {
  const meta = storedMeta(f.storedBodyPath);
  const failures = f.schedule.consecutiveFailures;
  return {
    // The stored file is named for the feed id (`riskiq.body`), the same id records carry.
    feed: typeof meta?.feed === 'string' ? meta.feed : (/([^/\\]+)\.body$/.exec(f.storedBodyPath)?.[1] ?? name),
    entries: f.index?.size ?? null,
    ipv4: f.index?.v4Entries,
    ipv6: f.index?.v6Entries,
    lastRefresh: typeof meta?.savedAt === 'string' ? meta.savedAt : null,
    nextRefresh: f.schedule.nextAt > 0 ? f.schedule.nextAt : null,
    lastAttempt: f.lastAttemptAt !== undefined && f.lastAttemptAt > 0 ? f.lastAttemptAt : null,
    lastError: failures > 0 ? `${f.lastFailure ?? 'the refresh failed'} (${failures === 1 ? 'the last refresh' : `the last ${failures} refreshes`} failed; ${f.index === null ? 'no list is active' : 'the previous list stays active'})` : null,
    source: typeof meta?.source === 'string' ? meta.source : null,
    consecutiveFailures: failures,
    refreshIntervalMinutes: f.schedule.policy ? f.schedule.policy.intervalMs / 60_000 : undefined,
  };
}

function isFeedLike(v: unknown): v is FeedLike {
  const f = v as Partial<FeedLike> | null;
  return f !== null && typeof f === 'object' && 'index' in f && typeof f.storedBodyPath === 'string' && typeof f.schedule?.nextAt === 'number';
}

const isThreatEnricher = (e: Enricher): boolean => /threat|riskiq|blocklist|feed/i.test(e.name);
const isRiskiqOutput = (o: Output): boolean => /riskiq/i.test(o.name);

export function integrationsStatus(enrichers: readonly Enricher[], outputs: readonly Output[]): IntegrationsStatus {
  const feeds: FeedStatus[] = [];
  for (const e of enrichers) {
    if (!isThreatEnricher(e)) continue;
    // A status() the enricher offers wins; else what its feed machinery makes public.
    const own = readStatus(e as StatusSource);
    const feed = (e as { feed?: unknown }).feed;
    feeds.push(...feedOf(e, own ?? (isFeedLike(feed) ? feedMachineryStatus(e.name, feed) : null)));
  }
  const out = outputs.find(isRiskiqOutput);
  return {
    // Statuses carry URLs and error texts (a failed request names its URL, query-string key included).
    feeds: redactDeep(feeds) as FeedStatus[],
    riskiqOutput: out === undefined ? { enabled: false, counters: {} } : { enabled: true, counters: out.counters() },
  };
}

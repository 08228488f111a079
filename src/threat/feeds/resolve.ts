/**
 * From the options to the list of feeds to run: the built-ins asked for (or the default set), the
 * keyed ones when their key is set, the user's YAML feeds, and per-feed overrides, each with its
 * interval raised to the provider's floor.
 */
import type { Config } from '../../config/schema.js';
import { displayUrl, KEY_LIKE_PARAM } from '../download.js';
import { CATALOGUE, catalogueFeed, feedUrl } from './catalogue.js';
import type { FeedFormatName } from './parse.js';
import { readUserFeeds, USER_MIN_INTERVAL_MIN, UserFeedError, type UserFeed } from './userdef.js';
import { percentDecoded } from '../../percent-decoded.js';

export interface ResolvedFeed {
  name: string;
  url: string;
  format: FeedFormatName;
  defaultName: string;
  intervalMin: number;
  headers: Record<string, string>;
  origin: 'built-in' | 'user';
  /** The provider's floor between requests (minutes); retries after a failure wait at least this long too. */
  minIntervalMin: number;
  /** Set when the asked interval was below the provider's floor and was raised. */
  raisedFromMin?: number;
  /** HTTP Basic credentials, from the user info of the URL given (`https://user:password@host/...`); `url` is then without it. */
  user?: string;
  password?: string;
  /** The URL is the user's (the YAML file's): any query value may be a key, so every one is masked where the URL is shown. */
  userUrl: boolean;
  /**
   * Values to keep out of every log line: the user's header values, the URL's user info and the
   * query values of a URL the user wrote (see queryValuesToHide()). The built-ins' keys are options, kept
   * out by the enricher.
   */
  secrets: string[];
}

export function resolveFeeds(c: Config, userFeeds: UserFeed[] = c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH.trim() === '' ? [] : readUserFeeds(c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH.trim())): ResolvedFeed[] {
  const abuseKey = c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY;
  const otxKey = c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY;
  const asked = c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS;
  const names = asked.length > 0
    ? asked
    : CATALOGUE.filter((f) => f.keyFree || (f.key === 'abuseipdb' && abuseKey !== '') || (f.key === 'otx' && otxKey !== '')).map((f) => f.name);
  const base = c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL;
  const out: ResolvedFeed[] = [];
  const userdef = `EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: ${c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH.trim()}`;
  for (const name of [...new Set(names)]) {
    const f = catalogueFeed(name)!;
    const headers: Record<string, string> = {};
    let query: Record<string, string> | undefined;
    if (f.key === 'abuseipdb') {
      if (abuseKey === '') throw new Error(`threat feed ${name} needs EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY`);
      headers.Key = abuseKey;
      headers.Accept = 'text/plain';
      query = { confidenceMinimum: String(c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_CONFIDENCE_MINIMUM) };
    }
    if (f.key === 'otx') {
      if (otxKey === '') throw new Error(`threat feed ${name} needs EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY`);
      headers['X-OTX-API-KEY'] = otxKey;
    }
    out.push({ name, url: feedUrl(f, base, query), format: f.format, defaultName: f.defaultName, intervalMin: f.intervalMin, headers, origin: 'built-in', minIntervalMin: f.minIntervalMin, userUrl: false, secrets: [] });
  }
  for (const u of userFeeds) {
    const b = catalogueFeed(u.name);
    if (b !== undefined) {
      // A built-in's entry changes where and how often, not what the list is, nor whether it runs:
      // turning it on here would skip the key check (AbuseIPDB without its key: a 401 every time).
      const r = out.find((x) => x.name === u.name);
      if (r === undefined) {
        const how = b.key !== undefined && asked.length === 0
          ? `set EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_${b.key.toUpperCase()}_API_KEY`
          : `name it in EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS${b.key !== undefined ? ` (with EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_${b.key.toUpperCase()}_API_KEY set)` : ''}`;
        throw new UserFeedError(`${userdef}: feed "${u.name}" is a built-in feed that is not turned on; an entry with a built-in's name only changes where and how often it is fetched. To run it, ${how}; else remove the entry`);
      }
      if (u.threatName !== undefined) throw new UserFeedError(`${userdef}: feed "${u.name}": "threat_name" does not apply to a built-in feed`);
      if (u.url !== undefined) {
        r.url = u.url;
        r.userUrl = true;
      }
      if (u.intervalMin !== undefined) r.intervalMin = u.intervalMin;
      if (u.format !== undefined) r.format = u.format;
      Object.assign(r.headers, u.headers);
      r.secrets.push(...Object.values(u.headers));
      continue;
    }
    if (u.url === undefined) throw new Error(`threat feed ${u.name} (user-defined) has no url`);
    out.push({ name: u.name, url: u.url, format: u.format ?? 'auto', defaultName: u.threatName ?? u.name, intervalMin: u.intervalMin ?? 60, headers: u.headers, origin: 'user', minIntervalMin: USER_MIN_INTERVAL_MIN, userUrl: true, secrets: Object.values(u.headers) });
  }
  for (const r of out) {
    takeUserInfo(r);
    if (r.userUrl) r.secrets.push(...queryValuesToHide(r.url));
    if (r.intervalMin < r.minIntervalMin) {
      r.raisedFromMin = r.intervalMin;
      r.intervalMin = r.minIntervalMin;
    }
  }
  return out;
}

/**
 * A URL's user info (`https://user:password@host/`) is the feed's HTTP Basic credentials (RFC 7617),
 * as curl and browsers read it: fetch refuses a URL that holds them, and the download sends them in
 * the Authorization header, to the URL's origin only. Both parts are secrets: a token often stands
 * in the user part (`https://TOKEN@host/`).
 */
function takeUserInfo(r: ResolvedFeed): void {
  const u = new URL(r.url);
  if (u.username === '' && u.password === '') return;
  r.user = percentDecoded(u.username);
  r.password = percentDecoded(u.password);
  r.url = displayUrl(r.url);
  // The user name only when it is all there is (a token written as `https://TOKEN@host`): a real user
  // name is a word that would be blanked wherever it stands in the log ("feeds" in `feeds:pw@host`).
  r.secrets.push(r.password === '' ? r.user : r.password);
}

/**
 * Under another name (Azure Functions' `code`) a value is taken for a key when it looks like one: 16
 * characters or more of a token's alphabet with capitals, small letters and digits, or 32 hex digits
 * or more. Words, names and counts (`json`, `corp-intel-2024`, `5000`) are not: the redactor, which
 * replaces text wherever it stands, would blank them in unrelated lines (a feed's own name in its log
 * lines and status). Every value is masked wherever the URL itself is shown, whatever it is.
 */
function looksLikeKey(v: string): boolean {
  if (/^[0-9a-f]{32,}$/i.test(v)) return true;
  return v.length >= 16 && /^[A-Za-z0-9_\-+/=.~%]+$/.test(v) && /[0-9]/.test(v) && /[a-z]/.test(v) && /[A-Z]/.test(v);
}

/** The query values of a URL the user wrote that the log redactor should know. */
function queryValuesToHide(url: string): string[] {
  const out: string[] = [];
  for (const [k, v] of new URL(url).searchParams) if (KEY_LIKE_PARAM.test(k) || looksLikeKey(v)) out.push(v);
  return out;
}

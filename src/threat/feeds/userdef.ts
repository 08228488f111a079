/**
 * The user's own feeds (EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH), a YAML file:
 *
 *   feeds:
 *     - name: corp-intel                 # feed id: [a-z0-9._-], becomes sec.threat.feed.name
 *       url: https://intel.example/ips.txt   # user:password@ in it: HTTP Basic (resolve.ts)
 *       format: plain                    # auto, plain, csv, json, jsonl, zeek, iprep, dshield, otx
 *       header: "Authorization: Bearer abc"   # or a mapping of header names to values
 *       interval: 60                     # minutes (at least 5)
 *       threat_name: corp-intel          # name for entries the list does not name
 *     - name: spamhaus-drop-v4           # a built-in's name: only url/format/interval/header change
 *       url: http://mirror.local/drop_v4.json
 *
 * A top-level list (without `feeds:`) is accepted too. Errors name the entry and the key.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FEED_FORMATS, type FeedFormatName } from './parse.js';
import { catalogueFeed } from './catalogue.js';
import { ConfigFileError } from '../../config/file-error.js';
import { RISKIQ_FEED } from '../../enrich/riskiq-threat.js';
import { MSGRAPH_FEED } from '../reputation/enricher.js';

export const USER_MIN_INTERVAL_MIN = 5;

export interface UserFeed {
  name: string;
  url?: string;
  format?: FeedFormatName;
  headers: Record<string, string>;
  intervalMin?: number;
  threatName?: string;
}

export class UserFeedError extends ConfigFileError {}

const KEYS = new Set(['name', 'url', 'format', 'header', 'headers', 'interval', 'threat_name']);

/**
 * Feed labels of the other threat enrichers. A user feed of the same name would share their stored
 * list (`<data dir>/threat/riskiq.body`: the RiskIQ enricher would load the user's list at its next
 * start) and their rows on /metrics and the Integrations page.
 */
export const RESERVED_FEED_NAMES: readonly string[] = [RISKIQ_FEED, MSGRAPH_FEED];

/** A header name is an HTTP token (RFC 9110 section 5.6.2). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * A header value is visible ASCII, obs-text, space and tab (RFC 9110 section 5.5); fetch refuses
 * anything else, so every download of the feed would fail.
 */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export function parseUserFeeds(text: string, where: string): UserFeed[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UserFeedError(`${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  const list = Array.isArray(doc) ? doc : (doc as { feeds?: unknown }).feeds;
  if (!Array.isArray(list)) throw new UserFeedError(`${where}: expected a list of feeds (or a mapping with a "feeds" list)`);
  const seen = new Set<string>();
  return list.map((item, i) => {
    const at = `${where}: feed ${i + 1}`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new UserFeedError(`${at}: expected a mapping`);
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new UserFeedError(`${at}: unknown key "${k}"; expected ${[...KEYS].join(', ')}`);
    const name = o.name;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)) throw new UserFeedError(`${at}: "name" must be 1-63 characters of a-z, 0-9, '.', '_', '-'`);
    if (RESERVED_FEED_NAMES.includes(name)) throw new UserFeedError(`${at}: "name" ${name} is the feed name of the built-in ${name} enricher (its stored list and status rows); choose another`);
    if (seen.has(name)) throw new UserFeedError(`${at}: "${name}" appears twice`);
    seen.add(name);
    const builtIn = catalogueFeed(name) !== undefined;
    const f: UserFeed = { name, headers: {} };
    if (o.url !== undefined) {
      if (typeof o.url !== 'string' || !/^https?:\/\/\S+$/i.test(o.url) || !URL.canParse(o.url)) throw new UserFeedError(`${at} (${name}): "url" must be an http or https URL${typeof o.url === 'string' ? `; ${JSON.stringify(o.url)} is not one` : ''}`);
      f.url = o.url;
    }
    if (o.format !== undefined) {
      if (typeof o.format !== 'string' || !(FEED_FORMATS as readonly string[]).includes(o.format)) throw new UserFeedError(`${at} (${name}): "format" must be one of ${FEED_FORMATS.join(', ')}`);
      f.format = o.format as FeedFormatName;
    }
    const h = o.header ?? o.headers;
    if (typeof h === 'string') {
      const c = h.indexOf(':');
      if (c <= 0) throw new UserFeedError(`${at} (${name}): "header" must be "Name: value"`);
      f.headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
    } else if (h !== undefined) {
      if (h === null || typeof h !== 'object' || Array.isArray(h)) throw new UserFeedError(`${at} (${name}): "header" must be "Name: value" or a mapping`);
      for (const [k, v] of Object.entries(h as Record<string, unknown>)) {
        if (v === null || typeof v === 'object') throw new UserFeedError(`${at} (${name}): header "${k}" must have a text value`);
        f.headers[k] = String(v);
      }
    }
    for (const [k, v] of Object.entries(f.headers)) {
      // Values are not quoted back: they are often keys.
      if (!TOKEN.test(k)) throw new UserFeedError(`${at} (${name}): header name ${JSON.stringify(k)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~, no blanks)`);
      if (BAD_VALUE.test(v)) throw new UserFeedError(`${at} (${name}): header "${k}" has a control character (a line break?) or a character beyond Latin-1 in its value, which no request can carry`);
    }
    if (o.interval !== undefined) {
      if (typeof o.interval !== 'number' || !Number.isInteger(o.interval) || o.interval < USER_MIN_INTERVAL_MIN) throw new UserFeedError(`${at} (${name}): "interval" must be a whole number of minutes, at least ${USER_MIN_INTERVAL_MIN}`);
      f.intervalMin = o.interval;
    }
    if (o.threat_name !== undefined) {
      if (builtIn) throw new UserFeedError(`${at} (${name}): "threat_name" does not apply to the built-in feed ${name}, whose entries keep the names its provider gives; an entry with a built-in's name changes only url, format, interval and header`);
      if (typeof o.threat_name !== 'string' || o.threat_name.trim() === '') throw new UserFeedError(`${at} (${name}): "threat_name" must be text`);
      f.threatName = o.threat_name.trim();
    }
    return f;
  });
}

export function readUserFeeds(path: string): UserFeed[] {
  // Errors name the option as well as the file: the start-up line says what to change.
  const where = `EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserFeedError(`${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseUserFeeds(text, where);
}

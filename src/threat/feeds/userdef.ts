/**
 * The user's own feeds (EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH), a YAML file:
 *
 *   feeds:
 *     - name: corp-intel                 # feed id: [a-z0-9._-], becomes sec.threat.feed.name
 *       url: https://intel.example/ips.txt
 *       format: plain                    # auto, plain, csv, json, jsonl, zeek, iprep, dshield, otx
 *       header: "Authorization: Bearer abc"   # or a mapping of header names to values
 *       interval: 60                     # minutes (at least 5)
 *       threat_name: corp-intel          # name for entries the list does not name
 *     - name: spamhaus-drop-v4           # a built-in's name: only url/interval/header change
 *       url: http://mirror.local/drop_v4.json
 *
 * A top-level list (without `feeds:`) is accepted too. Errors name the entry and the key.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FEED_FORMATS, type FeedFormatName } from './parse.js';
import { ConfigFileError } from '../../config/file-error.js';

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
    if (seen.has(name)) throw new UserFeedError(`${at}: "${name}" appears twice`);
    seen.add(name);
    const f: UserFeed = { name, headers: {} };
    if (o.url !== undefined) {
      if (typeof o.url !== 'string' || !/^https?:\/\/\S+$/i.test(o.url)) throw new UserFeedError(`${at} (${name}): "url" must be an http or https URL`);
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
      for (const [k, v] of Object.entries(h as Record<string, unknown>)) f.headers[k] = String(v);
    }
    if (o.interval !== undefined) {
      if (typeof o.interval !== 'number' || !Number.isInteger(o.interval) || o.interval < USER_MIN_INTERVAL_MIN) throw new UserFeedError(`${at} (${name}): "interval" must be a whole number of minutes, at least ${USER_MIN_INTERVAL_MIN}`);
      f.intervalMin = o.interval;
    }
    if (o.threat_name !== undefined) {
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

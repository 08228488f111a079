/**
 * Parsers for the feed formats the generic sniffer (../formats.ts) cannot tell apart from the bytes
 * alone. Each feed in the catalogue (catalogue.ts) or the user's YAML names its format; these run
 * on the list-build worker like the generic ones, so a whole-body split or JSON.parse is fine here
 * (the pipeline's thread never runs them except in the time-sliced fallback, which pauses per 1024 lines).
 *
 * - json / jsonl: a JSON array, an object holding one (`data`, `results`, ...), or one object per
 *   line (Spamhaus DROP v4/v6: `cidr` + `sblid`, then a `{"type":"metadata",...}` line). Address
 *   keys include `ip_address` (abuse.ch Feodo Tracker) and `ipAddress` (AbuseIPDB).
 * - dshield: DShield `block.txt`, tab-separated Start, End, Netblock (prefix length), Attacks, ...
 * - zeek: Zeek Intel framework files (`#fields indicator indicator_type meta.source ...`); only
 *   Intel::ADDR and Intel::SUBNET indicators are addresses, other types are skipped silently.
 * - iprep: Suricata IP reputation CSV `<ip>,<category>,<reputation score>` (score 0 = no data).
 * - otx: AlienVault OTX `/api/v1/pulses/subscribed` pages: `results[].indicators[]` of type IPv4,
 *   IPv6 or CIDR, named by the pulse.
 */
import { EntrySet } from '../entries.js';
import { eachLineOf, inflated, ListFormatError, type ListFormat, type ParsedList } from '../formats.js';
import type { Slicer } from '../slicer.js';

export const FEED_PARSERS = ['json', 'jsonl', 'dshield', 'zeek', 'iprep', 'otx'] as const;
export type FeedParserName = (typeof FEED_PARSERS)[number];

/** Also what plain, CSV and auto feeds read a JSON body or a CSV header by (parse.ts). */
export const FEED_ADDRESS_KEYS = ['ip_address', 'ipaddress', 'ip', 'address', 'indicator', 'value', 'cidr', 'network', 'ip_network'];
export const FEED_NAME_KEYS = ['name', 'malware', 'sblid', 'classification', 'category', 'threat', 'tags'];
const ARRAY_KEYS = ['data', 'results', 'blocklist', 'items', 'entries', 'indicators', 'ips', 'addresses'];

async function text(body: Buffer): Promise<{ s: string; gzip: boolean }> {
  const { bytes, gzip } = await inflated(body);
  let s: string;
  try {
    s = bytes.toString('utf8');
  } catch (err) {
    // Within the byte limit but past V8's longest string (about 2^29 characters).
    throw new ListFormatError(`body of ${bytes.length} bytes: ${(err as Error).message}`);
  }
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  return { s, gzip };
}

function nameText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string').join(' ');
  return '';
}

function addRecord(o: unknown, set: EntrySet, raw: string): void {
  if (typeof o === 'string') {
    set.add(o, '');
    return;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    set.reject(raw);
    return;
  }
  const lower = new Map<string, unknown>();
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) lower.set(k.toLowerCase(), v);
  // Spamhaus ends its JSON-lines files with a metadata record (timestamp, size, records, copyright).
  if (lower.get('type') === 'metadata') return;
  const addr = FEED_ADDRESS_KEYS.map((k) => lower.get(k)).find((v) => typeof v === 'string');
  const name = FEED_NAME_KEYS.map((k) => lower.get(k)).find((v) => v !== undefined && v !== null);
  if (typeof addr === 'string') set.add(addr, nameText(name));
  else set.reject(raw);
}

async function parseJsonRecords(s: string, set: EntrySet, slicer: Slicer): Promise<void> {
  const t = s.trimStart();
  let whole: unknown = undefined;
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      whole = JSON.parse(t);
    } catch {
      // Not one document: JSON-lines below.
    }
  }
  if (whole !== undefined) {
    let items: unknown = whole;
    if (!Array.isArray(items) && items !== null && typeof items === 'object') {
      const o = items as Record<string, unknown>;
      const key = ARRAY_KEYS.find((k) => Array.isArray(o[k])) ?? Object.keys(o).find((k) => Array.isArray(o[k]));
      // A single object is one JSON-lines record.
      items = key === undefined ? [whole] : o[key];
    }
    let n = 0;
    for (const it of items as unknown[]) {
      addRecord(it, set, JSON.stringify(it) ?? '');
      if ((++n & 1023) === 0 && slicer.due()) await slicer.pause();
    }
    return;
  }
  await eachLineOf(s, slicer, 0, (line) => {
    const l = line.trim();
    if (l === '' || l[0] === '#') return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      set.reject(l);
      return;
    }
    addRecord(v, set, l);
  });
}

async function parseDshield(s: string, set: EntrySet, slicer: Slicer): Promise<void> {
  await eachLineOf(s, slicer, 0, (line) => {
    const l = line.trim();
    if (l === '' || l[0] === '#' || /^start\b/i.test(l)) return;
    const f = l.split(/\t+|\s+/);
    const start = f[0] ?? '';
    const bits = f[2] ?? '';
    if (/^\d{1,2}$/.test(bits)) set.add(`${start}/${bits}`, '');
    else set.add(start, '');
  });
}

async function parseZeek(s: string, set: EntrySet, slicer: Slicer): Promise<void> {
  let cols: string[] = ['indicator', 'indicator_type', 'meta.source'];
  let sep = '\t';
  await eachLineOf(s, slicer, 0, (line) => {
    if (line.startsWith('#separator')) {
      const v = line.slice('#separator'.length).trim();
      sep = v === '\\x09' || v === '' ? '\t' : v.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      return;
    }
    if (line.startsWith('#fields')) {
      // Zeek writes the header with the file's own separator; hand-written files often use blanks.
      const rest = line.slice('#fields'.length);
      cols = (rest.startsWith(sep) ? rest.slice(sep.length).split(sep) : rest.trim().split(/\s+/)).map((c) => c.trim());
      return;
    }
    if (line.trim() === '' || line[0] === '#') return;
    const f = line.split(sep);
    const at = (c: string): string => {
      const i = cols.indexOf(c);
      const v = i < 0 ? '' : (f[i] ?? '').trim();
      return v === '-' || v === '(empty)' ? '' : v;
    };
    const type = at('indicator_type');
    if (type !== '' && type !== 'Intel::ADDR' && type !== 'Intel::SUBNET') return;
    set.add(at('indicator'), at('meta.desc') || at('meta.source'));
  });
}

async function parseIprep(s: string, set: EntrySet, slicer: Slicer): Promise<void> {
  await eachLineOf(s, slicer, 0, (line) => {
    const l = line.trim();
    if (l === '' || l[0] === '#') return;
    const [ip, cat, score] = l.split(',').map((x) => x.trim());
    if (ip === undefined || cat === undefined || !/^\d+$/.test(cat)) {
      set.reject(l);
      return;
    }
    // Suricata: "0 means no data".
    if (score !== undefined && /^\d+$/.test(score) && Number(score) === 0) return;
    set.add(ip, `iprep-category-${cat}`);
  });
}

async function parseOtx(s: string, set: EntrySet, slicer: Slicer): Promise<void> {
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch (err) {
    throw new ListFormatError(`OTX response is not JSON: ${(err as Error).message}`);
  }
  const results = (doc as { results?: unknown }).results;
  if (!Array.isArray(results)) throw new ListFormatError('OTX response holds no "results" array');
  let n = 0;
  for (const pulse of results as { name?: unknown; indicators?: unknown }[]) {
    if (!Array.isArray(pulse?.indicators)) continue;
    const name = typeof pulse.name === 'string' ? pulse.name : '';
    for (const ind of pulse.indicators as { indicator?: unknown; type?: unknown }[]) {
      const type = typeof ind?.type === 'string' ? ind.type : '';
      if (type !== 'IPv4' && type !== 'IPv6' && type !== 'CIDR') continue;
      if (typeof ind.indicator === 'string') set.add(ind.indicator, name);
      else set.reject(JSON.stringify(ind) ?? '');
      if ((++n & 1023) === 0 && slicer.due()) await slicer.pause();
    }
  }
}

export async function parseFeedFormat(body: Buffer, defaultName: string, format: FeedParserName, slicer: Slicer): Promise<ParsedList> {
  const { s, gzip } = await text(body);
  const set = new EntrySet(defaultName);
  let out: ListFormat = 'json';
  switch (format) {
    case 'json':
      await parseJsonRecords(s, set, slicer);
      break;
    case 'jsonl':
      await parseJsonRecords(s, set, slicer);
      out = 'jsonl';
      break;
    case 'dshield':
      await parseDshield(s, set, slicer);
      out = 'dshield';
      break;
    case 'zeek':
      await parseZeek(s, set, slicer);
      out = 'zeek';
      break;
    case 'iprep':
      await parseIprep(s, set, slicer);
      out = 'iprep';
      break;
    case 'otx':
      await parseOtx(s, set, slicer);
      out = 'otx';
      break;
  }
  return { set, format: out, gzip };
}

/**
 * Blocklist bodies, format sniffed from the bytes (the PassiveTotal response format is not public):
 * - gzip of any of the below (RFC 1952 section 2.3.1: ID1 0x1f, ID2 0x8b), inflated in the libuv pool;
 * - JSON: an array, or an object holding one, of strings ("1.2.3.4", "10.0.0.0/8"), objects with the
 *   address under ip/address/indicator/value/cidr/network and a name under
 *   name/classification/category/threat/tags, or [address, name] pairs;
 * - CSV (RFC 4180 quoting, no newlines inside fields) with or without a header row;
 * - plain text: one address or CIDR a line, `#` and `;` comment lines, a trailing `; name` (or `# comment`).
 * Parsing runs in time slices (see slicer.ts) and never throws for a bad entry: entries that do not
 * parse are counted in the EntrySet for one summary line.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { EntrySet } from './entries.js';
import { parseIPv4, parseIPv6 } from './ip.js';
import { Slicer } from './slicer.js';

const gunzip = promisify(gunzipCb);

export type ListFormat = 'json' | 'csv' | 'text';

export const ADDRESS_KEYS = ['ip', 'address', 'indicator', 'value', 'cidr', 'network'] as const;
export const NAME_KEYS = ['name', 'classification', 'category', 'threat', 'tags'] as const;

export class ListFormatError extends Error {}

export interface ParsedList {
  set: EntrySet;
  format: ListFormat;
  gzip: boolean;
}

export function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** Parses a whole response body. Throws ListFormatError only when the body as a whole is unreadable. */
export async function parseList(body: Buffer, defaultName: string, slicer = new Slicer()): Promise<ParsedList> {
  let bytes = body;
  const gz = isGzip(body);
  if (gz) {
    try {
      bytes = await gunzip(body);
    } catch (err) {
      throw new ListFormatError(`gzip: ${(err as Error).message}`);
    }
  }
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  await slicer.maybePause();
  const set = new EntrySet(defaultName);
  const format = sniffFormat(text);
  if (format === 'json') await parseJson(text, set, slicer);
  else if (format === 'csv') await parseCsv(text, set, slicer);
  else await parseText(text, set, slicer);
  return { set, format, gzip: gz };
}

/** JSON when the first non-blank character opens an array or object; CSV when a data line has a comma. */
export function sniffFormat(text: string): ListFormat {
  const first = /\S/.exec(text.slice(0, 4096));
  if (first !== null && (first[0] === '[' || first[0] === '{')) return 'json';
  let seen = 0;
  for (const raw of text.slice(0, 65536).split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const semi = line.indexOf(';');
    const head = semi < 0 ? line : line.slice(0, semi);
    if (head.includes(',')) return 'csv';
    if (++seen >= 20) break;
  }
  return 'text';
}

function isAddress(s: string): boolean {
  const t = s.trim();
  const slash = t.indexOf('/');
  const host = slash < 0 ? t : t.slice(0, slash);
  return parseIPv4(host) >= 0 || (host.includes(':') && parseIPv6(host, new Uint32Array(4)));
}

// --- plain text ------------------------------------------------------------------------------

async function parseText(text: string, set: EntrySet, slicer: Slicer): Promise<void> {
  let at = 0;
  let lines = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const line = text.slice(at, nl).trim();
    at = nl + 1;
    if ((++lines & 4095) === 0) await slicer.maybePause();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    let body = line;
    let name = '';
    const semi = body.indexOf(';');
    if (semi >= 0) {
      name = body.slice(semi + 1).trim();
      body = body.slice(0, semi).trim();
    }
    const hash = body.indexOf('#');
    if (hash >= 0) body = body.slice(0, hash).trim();
    // "1.2.3.4 name" or "1.2.3.4<TAB>name": the first word is the address, the rest its name.
    const ws = body.search(/\s/);
    if (ws > 0) {
      if (name === '') name = body.slice(ws + 1).trim();
      body = body.slice(0, ws);
    }
    if (!set.add(body, name)) continue;
  }
}

// --- CSV -------------------------------------------------------------------------------------

/** One CSV line into fields (RFC 4180 section 2 quoting: "" is a quote inside a quoted field). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) {
          v += line.slice(i);
          i = line.length;
          break;
        }
        v += line.slice(i, q);
        if (line.charCodeAt(q + 1) === 34) {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
      const c = line.indexOf(',', i);
      if (c < 0) return out;
      i = c + 1;
    } else {
      const c = line.indexOf(',', i);
      if (c < 0) {
        out.push(line.slice(i).trim());
        return out;
      }
      out.push(line.slice(i, c).trim());
      i = c + 1;
    }
  }
}

async function parseCsv(text: string, set: EntrySet, slicer: Slicer): Promise<void> {
  let at = 0;
  let lines = 0;
  let addrCol = -1;
  let nameCol = -1;
  let decided = false;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const line = text.slice(at, nl).trim();
    at = nl + 1;
    if ((++lines & 4095) === 0) await slicer.maybePause();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const fields = splitCsvLine(line);
    if (!decided) {
      decided = true;
      const lower = fields.map((f) => f.trim().toLowerCase());
      if (!fields.some(isAddress)) {
        // A header: columns by name.
        addrCol = firstKey(lower, ADDRESS_KEYS);
        nameCol = firstKey(lower, NAME_KEYS);
        if (addrCol < 0) throw new ListFormatError(`CSV header "${line.slice(0, 80)}" names no address column (expected one of ${ADDRESS_KEYS.join(', ')})`);
        continue;
      }
      addrCol = fields.findIndex(isAddress);
      nameCol = fields.length > addrCol + 1 ? addrCol + 1 : -1;
    }
    const addr = fields[addrCol];
    if (addr === undefined) {
      set.reject(line);
      continue;
    }
    set.add(addr, nameCol >= 0 ? (fields[nameCol] ?? '') : '');
  }
}

function firstKey(cols: readonly string[], keys: readonly string[]): number {
  for (const k of keys) {
    const i = cols.indexOf(k);
    if (i >= 0) return i;
  }
  return -1;
}

// --- JSON ------------------------------------------------------------------------------------

const PREFERRED_ARRAY_KEYS = ['blocklist', 'data', 'results', 'items', 'entries', 'indicators', 'ips', 'addresses'];

/**
 * JSON without one big JSON.parse (which would stall the loop for a 30 MB body): a scanner finds
 * the array and the extent of each item; each item is parsed on its own, in time slices.
 */
async function parseJson(text: string, set: EntrySet, slicer: Slicer): Promise<void> {
  let i = skipWs(text, 0);
  let arrayAt = -1;
  if (text[i] === '[') arrayAt = i;
  else {
    // An object: find its array-valued members, prefer a well-known key, else the first array.
    const candidates: { key: string; at: number }[] = [];
    i = skipWs(text, i + 1);
    while (i < text.length && text[i] !== '}') {
      if (text[i] !== '"') throw jsonError(text, i, 'expected a member name');
      const keyEnd = skipString(text, i);
      const key = JSON.parse(text.slice(i, keyEnd)) as string;
      i = skipWs(text, keyEnd);
      if (text[i] !== ':') throw jsonError(text, i, "expected ':'");
      i = skipWs(text, i + 1);
      if (text[i] === '[') {
        candidates.push({ key: key.toLowerCase(), at: i });
        // A well-known key is taken at once: skipping a 30 MB array here would be one long stall.
        if (PREFERRED_ARRAY_KEYS.includes(key.toLowerCase())) break;
      }
      i = skipWs(text, skipValue(text, i));
      if (text[i] === ',') i = skipWs(text, i + 1);
      else if (text[i] !== '}') throw jsonError(text, i, "expected ',' or '}'");
      await slicer.maybePause();
    }
    const pick = candidates.find((c) => PREFERRED_ARRAY_KEYS.includes(c.key)) ?? candidates[0];
    if (pick === undefined) throw new ListFormatError('JSON object holds no array of entries');
    arrayAt = pick.at;
  }
  i = skipWs(text, arrayAt + 1);
  let items = 0;
  while (i < text.length && text[i] !== ']') {
    const end = skipValue(text, i);
    addJsonItem(text.slice(i, end), set);
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
    else if (text[i] !== ']') throw jsonError(text, i, "expected ',' or ']'");
    if ((++items & 4095) === 0) await slicer.maybePause();
  }
  if (text[i] !== ']') throw jsonError(text, i, 'unterminated array');
}

function addJsonItem(raw: string, set: EntrySet): void {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    set.reject(raw);
    return;
  }
  if (typeof v === 'string') {
    set.add(v, '');
    return;
  }
  if (Array.isArray(v)) {
    if (typeof v[0] === 'string') set.add(v[0], nameText(v[1]));
    else set.reject(raw);
    return;
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const lower = new Map<string, unknown>();
    for (const k of Object.keys(o)) lower.set(k.toLowerCase(), o[k]);
    let addr: unknown;
    for (const k of ADDRESS_KEYS) if (addr === undefined && lower.has(k)) addr = lower.get(k);
    let name: unknown;
    for (const k of NAME_KEYS) if (name === undefined && lower.has(k)) name = lower.get(k);
    if (typeof addr === 'string') set.add(addr, nameText(name));
    else set.reject(raw);
    return;
  }
  set.reject(raw);
}

function nameText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number').join(',');
  return '';
}

function jsonError(text: string, at: number, what: string): ListFormatError {
  return new ListFormatError(`malformed JSON at offset ${at}: ${at >= text.length ? 'unexpected end of input' : what}`);
}

function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

function skipString(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) return j + 1;
  }
  throw jsonError(s, s.length, 'unterminated string');
}

/** Index just past the JSON value starting at i (its validity is checked when it is parsed). */
function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '[' || c === '{') {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j);
      if (d === 34) j = skipString(s, j) - 1;
      else if (d === 91 || d === 123) depth++;
      else if (d === 93 || d === 125) {
        if (--depth === 0) return j + 1;
      }
    }
    throw jsonError(s, s.length, 'unterminated value');
  }
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 44 || d === 93 || d === 125 || d === 32 || d === 10 || d === 13 || d === 9) break;
    j++;
  }
  if (j === i) throw jsonError(s, i, 'expected a value');
  return j;
}

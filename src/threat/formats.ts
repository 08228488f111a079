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
import { MAX_BODY_BYTES } from './download.js';

const gunzip = promisify(gunzipCb);

/**
 * The inflate's output chunk (zlib's default is 16 KiB). Each chunk is a block of its own, above the
 * 128 KiB mmap threshold bin/ufc fixes (docs/operations.md, Memory), so glibc maps it alone and unmaps it
 * when it is freed. In 16 KiB chunks, a gzip bomb stopped at the bound came from tens of thousands of
 * small blocks in the thread's malloc arenas, which glibc kept: about 520 MB stayed in the process after
 * the attempt failed, on the build worker (after it exited) as on the main thread. With 4 MiB chunks all
 * of it comes back, and fewer trips to the libuv pool inflate a 29 MB list in 90 ms instead of 155.
 * 4 MiB rather than 1: started without the fixed threshold, glibc raises it to the largest block freed,
 * and three bombs then left 150 MB behind in 4 MiB chunks, 780 MB in 1 MiB chunks.
 */
const INFLATE_CHUNK_BYTES = 4 * 1024 * 1024;

export type ListFormat = 'json' | 'csv' | 'text' | FeedFormat;
/** Formats of named feeds, parsed by src/threat/feeds/parsers.ts when a feed says which it is. */
export type FeedFormat = 'jsonl' | 'dshield' | 'zeek' | 'iprep' | 'otx';

export const ADDRESS_KEYS = ['ip', 'address', 'indicator', 'value', 'cidr', 'network'] as const;
export const NAME_KEYS = ['name', 'classification', 'category', 'threat', 'tags'] as const;

/**
 * The JSON member and CSV column names read as the address and the name (lower case, first found
 * wins). By default the RiskIQ list's, as docs/riskiq.md lists them; named feeds bring their own
 * (feeds/parsers.ts: AbuseIPDB's `ipAddress`, abuse.ch's `ip_address`, ...).
 */
export interface ListKeys {
  address: readonly string[];
  name: readonly string[];
}
const LIST_KEYS: ListKeys = { address: ADDRESS_KEYS, name: NAME_KEYS };

export class ListFormatError extends Error {
  override name = 'ListFormatError';
}

export interface ParsedList {
  set: EntrySet;
  format: ListFormat;
  gzip: boolean;
}

export function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/**
 * The body's bytes, inflated when it is gzip. Bounded like a download (download.ts): a few MB of
 * gzip can inflate to gigabytes. Every parser reads its body through this.
 */
export async function inflated(body: Buffer): Promise<{ bytes: Buffer; gzip: boolean }> {
  if (!isGzip(body)) return { bytes: body, gzip: false };
  try {
    return { bytes: await gunzip(body, { maxOutputLength: MAX_BODY_BYTES, chunkSize: INFLATE_CHUNK_BYTES }), gzip: true };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new ListFormatError(`gzip: inflates to more than the ${MAX_BODY_BYTES} bytes accepted`);
    throw new ListFormatError(`gzip: ${e.message}`);
  }
}

/** Parses a whole response body. Throws ListFormatError only when the body as a whole is unreadable. */
export async function parseList(body: Buffer, defaultName: string, slicer = new Slicer(), keys = LIST_KEYS): Promise<ParsedList> {
  const { bytes, gzip: gz } = await inflated(body);
  // A UTF-8 byte order mark (EF BB BF) is skipped.
  const from = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const set = new EntrySet(defaultName);
  const format = sniffFormat(bytes.toString('utf8', from, Math.min(bytes.length, from + 65536)));
  if (format === 'json') await parseJson(bytes, from, set, slicer, keys);
  else if (format === 'csv') await parseCsv(bytes, from, set, slicer, keys);
  else await parseText(bytes, from, set, slicer);
  return { set, format, gzip: gz };
}

/**
 * JSON when the first non-blank character opens an array or object; CSV when a data line has a
 * comma before any blank (`192.0.2.1,c2`, `ip, name`) or opens with a quote. Comments (`# ...`) and
 * `; name` parts are left out first, and a comma after a blank belongs to a text line's name
 * (`192.0.2.1 botnet,mirai`), so one note with a comma in it does not make a text list CSV.
 */
export function sniffFormat(head: string): ListFormat {
  const first = /\S/.exec(head.slice(0, 4096));
  if (first !== null && (first[0] === '[' || first[0] === '{')) return 'json';
  let seen = 0;
  for (const raw of head.split(/\r\n?|\n/)) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    if (line[0] === '"') return 'csv';
    let end = line.length;
    for (const stop of [line.indexOf(';'), line.indexOf('#')]) if (stop >= 0 && stop < end) end = stop;
    const comma = line.indexOf(',');
    if (comma >= 0 && comma < end) {
      // After a blank, a comma is a text line's name only when the line opens with an address
      // (`192.0.2.1 botnet,mirai`); a CSV field may hold a blank (SSLBL: `2021-01-17 07:44:46,51.75.66.248,443`).
      const blank = firstBlank(line);
      if (blank < 0 || comma < blank || !isAddress(line.slice(0, blank))) return 'csv';
    }
    if (++seen >= 20) break;
  }
  return 'text';
}

const PIECE = 1 << 20;

/**
 * Calls `fn` for each line, decoding the body a megabyte at a time (cut at a newline): no string of
 * the whole body is ever made, and each piece is a short step between pauses.
 */
async function forEachLine(buf: Buffer, from: number, slicer: Slicer, fn: (line: string) => void): Promise<void> {
  let at = from;
  let lines = 0;
  while (at < buf.length) {
    let cut = buf.length;
    if (at + PIECE < buf.length) {
      const nl = buf.lastIndexOf(10, at + PIECE);
      if (nl >= at) cut = nl + 1;
      else {
        const next = buf.indexOf(10, at + PIECE);
        cut = next < 0 ? buf.length : next + 1;
      }
    }
    const text = buf.toString('utf8', at, cut);
    at = cut;
    lines = await eachLineOf(text, slicer, lines, fn);
    await slicer.maybePause();
  }
}

/**
 * Calls `fn` for each line of `text`, ended by LF, CRLF or a lone CR (old Mac files); pauses every
 * 1024 lines when the slicer says so. `lines` carries the count across calls; returns it.
 */
export async function eachLineOf(text: string, slicer: Slicer, lines: number, fn: (line: string) => void): Promise<number> {
  let i = 0;
  // The next CR, looked up again only once passed: a file without any costs one scan.
  let cr = text.indexOf('\r');
  while (i < text.length) {
    let nl = text.indexOf('\n', i);
    if (nl < 0) nl = text.length;
    if (cr >= 0 && cr < i) cr = text.indexOf('\r', i);
    if (cr >= 0 && cr < nl) {
      fn(text.slice(i, cr));
      i = cr + 1 === nl ? nl + 1 : cr + 1;
    } else {
      fn(text.slice(i, nl));
      i = nl + 1;
    }
    if ((++lines & 1023) === 0 && slicer.due()) await slicer.pause();
  }
  return lines;
}

function isAddress(s: string): boolean {
  const t = s.trim();
  const slash = t.indexOf('/');
  const host = slash < 0 ? t : t.slice(0, slash);
  return parseIPv4(host) >= 0 || (host.includes(':') && parseIPv6(host, new Uint32Array(4)));
}

// --- plain text ------------------------------------------------------------------------------

async function parseText(buf: Buffer, from: number, set: EntrySet, slicer: Slicer): Promise<void> {
  await forEachLine(buf, from, slicer, (raw) => {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') return;
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
    const ws = firstBlank(body);
    if (ws > 0) {
      if (name === '') name = body.slice(ws + 1).trim();
      body = body.slice(0, ws);
    }
    set.add(body, name);
  });
}

/** Index of the first space or tab, or -1 (a hand loop: a RegExp per line costs more than the line). */
function firstBlank(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) return i;
  }
  return -1;
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

async function parseCsv(buf: Buffer, from: number, set: EntrySet, slicer: Slicer, keys: ListKeys): Promise<void> {
  let addrCol = -1;
  let nameCol = -1;
  let decided = false;
  await forEachLine(buf, from, slicer, (raw) => {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') return;
    const fields = splitCsvLine(line);
    if (!decided) {
      if (!fields.some(isAddress)) {
        // A header names its columns; a first row that names no address column is not one (a
        // domain, a note): it is counted as a bad entry and the next row decides.
        const lower = fields.map((f) => f.trim().toLowerCase());
        const a = firstKey(lower, keys.address);
        if (a < 0) {
          set.reject(line);
          return;
        }
        addrCol = a;
        nameCol = firstKey(lower, keys.name);
        decided = true;
        return;
      }
      decided = true;
      addrCol = fields.findIndex(isAddress);
      nameCol = fields.length > addrCol + 1 ? addrCol + 1 : -1;
    }
    const addr = fields[addrCol];
    if (addr === undefined) set.reject(line);
    else set.add(addr, nameCol >= 0 ? (fields[nameCol] ?? '') : '');
  });
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
 * JSON without one big JSON.parse (which would stall the loop for a 30 MB body) and without one big
 * string: a scanner walks the bytes (every JSON structural character is ASCII, and UTF-8 never
 * reuses ASCII bytes inside a multi-byte character) to find the array and the extent of each item;
 * each item is decoded and parsed on its own, in time slices.
 */
async function parseJson(b: Buffer, from: number, set: EntrySet, slicer: Slicer, keys: ListKeys): Promise<void> {
  let i = skipWs(b, from);
  let arrayAt = -1;
  if (b[i] === LBRACKET) arrayAt = i;
  else {
    // An object: find its array-valued members, prefer a well-known key, else the first array.
    const candidates: { key: string; at: number }[] = [];
    i = skipWs(b, i + 1);
    while (i < b.length && b[i] !== RBRACE) {
      if (b[i] !== QUOTE) throw jsonError(b, i, 'expected a member name');
      const keyEnd = skipString(b, i);
      let key: string;
      try {
        key = (JSON.parse(b.toString('utf8', i, keyEnd)) as string).toLowerCase();
      } catch {
        throw jsonError(b, i, 'bad member name');
      }
      i = skipWs(b, keyEnd);
      if (b[i] !== COLON) throw jsonError(b, i, "expected ':'");
      i = skipWs(b, i + 1);
      if (b[i] === LBRACKET) {
        candidates.push({ key, at: i });
        // A well-known key is taken at once: skipping a 30 MB array here would be one long stall.
        if (PREFERRED_ARRAY_KEYS.includes(key)) break;
      }
      i = skipWs(b, skipValue(b, i));
      if (b[i] === COMMA) i = skipWs(b, i + 1);
      else if (b[i] !== RBRACE) throw jsonError(b, i, "expected ',' or '}'");
      await slicer.maybePause();
    }
    const pick = candidates.find((c) => PREFERRED_ARRAY_KEYS.includes(c.key)) ?? candidates[0];
    if (pick === undefined) throw new ListFormatError('JSON object holds no array of entries');
    arrayAt = pick.at;
  }
  i = skipWs(b, arrayAt + 1);
  let items = 0;
  while (i < b.length && b[i] !== RBRACKET) {
    const end = skipValue(b, i);
    addJsonItem(b, i, end, set, keys);
    i = skipWs(b, end);
    if (b[i] === COMMA) i = skipWs(b, i + 1);
    else if (b[i] !== RBRACKET) throw jsonError(b, i, "expected ',' or ']'");
    if ((++items & 1023) === 0 && slicer.due()) await slicer.pause();
  }
  if (b[i] !== RBRACKET) throw jsonError(b, i, 'unterminated array');
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;

function addJsonItem(b: Buffer, start: number, end: number, set: EntrySet, keys: ListKeys): void {
  // The common case, a plain string without escapes, needs no JSON.parse.
  if (b[start] === QUOTE && !hasByte(b, BACKSLASH, start, end)) {
    set.add(b.toString('utf8', start + 1, end - 1), '');
    return;
  }
  const raw = b.toString('utf8', start, end);
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
    for (const k of keys.address) if (addr === undefined && lower.has(k)) addr = lower.get(k);
    let name: unknown;
    for (const k of keys.name) if (name === undefined && lower.has(k)) name = lower.get(k);
    if (typeof addr === 'string') set.add(addr, nameText(name));
    else set.reject(raw);
    return;
  }
  set.reject(raw);
}

function hasByte(b: Buffer, byte: number, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] === byte) return true;
  return false;
}

function nameText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number').join(',');
  return '';
}

function jsonError(b: Buffer, at: number, what: string): ListFormatError {
  return new ListFormatError(`malformed JSON at offset ${at}: ${at >= b.length ? 'unexpected end of input' : what}`);
}

function skipWs(b: Buffer, i: number): number {
  while (i < b.length) {
    const c = b[i];
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
    i++;
  }
  return i;
}

function skipString(b: Buffer, i: number): number {
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j];
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  throw jsonError(b, b.length, 'unterminated string');
}

/** Index just past the JSON value starting at i (its validity is checked when it is parsed). */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === LBRACKET || c === LBRACE) {
    let depth = 0;
    for (let j = i; j < b.length; j++) {
      const d = b[j];
      if (d === QUOTE) j = skipString(b, j) - 1;
      else if (d === LBRACKET || d === LBRACE) depth++;
      else if (d === RBRACKET || d === RBRACE) {
        if (--depth === 0) return j + 1;
      }
    }
    throw jsonError(b, b.length, 'unterminated value');
  }
  let j = i;
  while (j < b.length) {
    const d = b[j];
    if (d === COMMA || d === RBRACKET || d === RBRACE || d === 32 || d === 10 || d === 13 || d === 9) break;
    j++;
  }
  if (j === i) throw jsonError(b, i, 'expected a value');
  return j;
}

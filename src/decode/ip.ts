/** Address formatting straight from packet bytes. */
import { flat } from '../record/flat.js';

/** Dotted quad from a uint32, via a 256-entry table of octet strings (no per-octet toString). */
const OCTET: string[] = [];
for (let i = 0; i < 256; i++) OCTET.push(String(i));

/**
 * Recently formatted IPv4 texts, direct-mapped by address: exporters repeat the same addresses
 * record after record, and handing out the string made last time saves building a new one (for
 * longer addresses a rope that every later reader — Map keys, JSON — has to flatten first).
 */
const INTERN_BITS = 17;
const internKeys = new Float64Array(1 << INTERN_BITS).fill(-1);
const internVals: string[] = new Array<string>(1 << INTERN_BITS).fill('');

function formatIpv4(v: number): string {
  return OCTET[v >>> 24]! + '.' + OCTET[(v >>> 16) & 0xff]! + '.' + OCTET[(v >>> 8) & 0xff]! + '.' + OCTET[v & 0xff]!;
}

/** Dotted quad of a uint32. */
export function ipv4ToString(v: number): string {
  // Two slots per set (even index: the newer), so two busy addresses that hash alike both stay.
  const slot = (Math.imul(v, 0x9e3779b1) >>> (32 - INTERN_BITS)) & ~1;
  if (internKeys[slot] === v) return internVals[slot]!;
  if (internKeys[slot + 1] === v) return internVals[slot + 1]!;
  // Kept and handed out again: one piece now, not a seven-piece rope for every reader.
  const s = flat(formatIpv4(v));
  internKeys[slot + 1] = internKeys[slot]!;
  internVals[slot + 1] = internVals[slot]!;
  internKeys[slot] = v;
  internVals[slot] = s;
  return s;
}

export function ipv4At(buf: Buffer, off: number): string {
  return ipv4ToString(((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0);
}

/** RFC 5952 text of 16 bytes at `off`: lower case, longest zero run (of 2 or more groups) as ::, IPv4-mapped as ::ffff:a.b.c.d. */
export function ipv6At(buf: Buffer | Uint8Array, off: number): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + OCTET[buf[off + 12]!] + '.' + OCTET[buf[off + 13]!] + '.' + OCTET[buf[off + 14]!] + '.' + OCTET[buf[off + 15]!];
  }
  let bestStart = -1, bestLen = 1, curStart = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (curStart < 0) { curStart = i; curLen = 0; }
      curLen++;
      if (curLen > bestLen) { bestStart = curStart; bestLen = curLen; }
    } else curStart = -1;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += g[i]!.toString(16);
    if (i < 7) s += ':';
  }
  return s;
}

/** Any 4- or 16-byte address field. */
export function ipAt(buf: Buffer, off: number, len: number): string {
  return len === 4 ? ipv4At(buf, off) : ipv6At(buf, off);
}

/** Colon-separated lower-case MAC from 6 bytes. */
export function macAt(buf: Buffer, off: number): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const b = buf[off + i]!;
    s += (b < 16 ? '0' : '') + b.toString(16) + (i < 5 ? ':' : '');
  }
  return s;
}

/**
 * Address parsing for the blocklist machinery, allocation-free so it can run on the hot path:
 * IPv4 becomes a uint32 (as a JS number), IPv6 four big-endian uint32 words written into a caller's
 * Uint32Array. Both accept what blocklists contain (leading zeros in IPv4 octets, `::` compression,
 * an embedded IPv4 tail, a `%zone` suffix which is ignored).
 */
import { embeddedIpv4Groups } from '../embedded-ipv4.js';

/** Dotted quad to uint32, or -1. */
export function parseIPv4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let acc = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      acc = acc * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + part;
}

const groups = new Uint16Array(8);

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** RFC 4291 section 2.2 text forms into out[off..off+3]; false when malformed (out is then undefined). */
export function parseIPv6(s: string, out: Uint32Array, off = 0): boolean {
  let end = s.length;
  const pct = s.indexOf('%');
  if (pct >= 0) end = pct;
  if (end < 2 || end > 45) return false;
  let g = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) {
      groups.fill(0);
      return pack(out, off, 0, 0);
    }
  }
  while (i < end) {
    if (g === 8) return false;
    // An embedded IPv4 tail (RFC 4291 section 2.2 form 3) takes the last two groups.
    let j = i;
    let v = 0;
    let digits = 0;
    while (j < end) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
      if (++digits > 4) break;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      if (g > 6) return false;
      const v4 = parseIPv4(s.slice(i, end));
      if (v4 < 0) return false;
      groups[g++] = v4 >>> 16;
      groups[g++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[g++] = v;
    i = j;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = g;
      i++;
    } else if (i === end) return false;
  }
  if (gap < 0) {
    if (g !== 8) return false;
    return pack(out, off, 8, 8);
  }
  if (g > 7) return false;
  return pack(out, off, g, gap);
}

/** Expands the `::` gap (groups before it stay, the ones after move to the end) and packs words. */
function pack(out: Uint32Array, off: number, g: number, gap: number): boolean {
  if (g < 8) {
    const tail = g - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[g - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[off + w] = ((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0;
  return true;
}

/** True for ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2), whose IPv4 address is words[3]. */
export function isV4Mapped(words: Uint32Array, off = 0): boolean {
  return words[off] === 0 && words[off + 1] === 0 && words[off + 2] === 0xffff;
}

const carried = new Uint16Array(8);

/**
 * The IPv4 address an IPv6 address (words[off..off+3]) carries, as uint32, or -1: NAT64 64:ff9b::/96,
 * 6to4 2002::/16, IPv4-compatible, -mapped and -translated, by the rule locality, GeoIP and ASN use (embeddedIpv4Groups),
 * so a flow end is marked by the same IPv4 host whose GeoIP country and ASN it gets.
 */
export function embeddedIPv4(words: Uint32Array, off = 0): number {
  for (let w = 0; w < 4; w++) {
    const x = words[off + w]!;
    carried[2 * w] = x >>> 16;
    carried[2 * w + 1] = x & 0xffff;
  }
  return embeddedIpv4Groups(carried);
}

export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

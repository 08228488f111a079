/**
 * Address text to numbers without allocating: enrichers run on every record, and records carry
 * addresses as strings (see flow-record.ts). IPv4 becomes a uint32; IPv6 fills a caller's
 * reused Uint16Array of 8 groups.
 */

// The enrichers parse the same two addresses of a record one after another (locality, Community
// ID, GeoIP, ASN); remembering the last two answers turns the repeats into a string comparison.
let memoS0 = '', memoV0 = -1, memoS1 = '', memoV1 = -1;

/** Dotted quad to uint32, or -1 when `s` is not exactly four decimal octets. */
export function parseIpv4(s: string): number {
  if (s === memoS0) return memoV0;
  if (s === memoS1) return memoV1;
  const v = parseIpv4Text(s);
  memoS1 = memoS0; memoV1 = memoV0;
  memoS0 = s; memoV0 = v;
  return v;
}

function parseIpv4Text(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let acc = 0;
  let oct = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      oct = oct * 10 + (c - 48);
      if (++digits > 3 || oct > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      acc = acc * 256 + oct;
      oct = 0;
      digits = 0;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + oct;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * RFC 4291 section 2.2 text (with `::` and a trailing dotted quad) into 8 groups.
 * Returns false when `s` is not an IPv6 address. A zone (`%eth0`) is not accepted.
 */
export function parseIpv6(s: string, out: Uint16Array): boolean {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  let g = 0; // groups written before `::`
  let gap = -1; // index in out where `::` sits
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (n === 2) {
      out.fill(0);
      return true;
    }
  }
  while (i < n) {
    if (g >= 8) return false;
    // A dotted quad may end the address (IPv4-mapped / compatible forms), taking two groups.
    let j = i;
    let val = 0;
    let digits = 0;
    for (; j < n; j++) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      val = (val << 4) | h;
      if (++digits > 4) return false;
    }
    if (j < n && s.charCodeAt(j) === 46) {
      if (g > 6) return false;
      const v4 = parseIpv4(s.substring(i));
      if (v4 < 0) return false;
      out[g++] = v4 >>> 16;
      out[g++] = v4 & 0xffff;
      i = n;
      break;
    }
    if (digits === 0) return false;
    out[g++] = val;
    if (j === n) {
      i = n;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    if (j + 1 < n && s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = g;
      i = j + 2;
      if (i === n) break;
    } else {
      i = j + 1;
      if (i === n) return false; // trailing single colon
    }
  }
  if (gap < 0) return g === 8;
  if (g >= 8) return false;
  // Move the groups after `::` to the end and zero the gap.
  const tail = g - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[g - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

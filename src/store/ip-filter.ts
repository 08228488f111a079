/**
 * IP and CIDR input for the query module: validated and turned into the ranges the SQL compares
 * against, so nothing a caller types reaches SQL except as a checked number or a hex string.
 * IPv4 ranges are 32-bit numbers; IPv6 ranges are 32-digit lower-case hex strings (the address's
 * 16 bytes), which order the same way as the addresses.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpMatch =
  | { kind: 'v4'; lo: number; hi: number }
  | { kind: 'v6'; lo: string; hi: string };

export class QueryInputError extends Error {}

/** The store cannot answer for now (a database being reopened): the API answers 503, as while it is closed. */
export class StoreUnavailableError extends Error {}

function v4ToNum(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

/** Expands an IPv6 address to its 32 hex digits (handles '::' and a trailing dotted quad). */
export function v6ToHex(s: string): string {
  let addr = s.toLowerCase();
  const pct = addr.indexOf('%');
  if (pct >= 0) addr = addr.slice(0, pct);
  // An embedded IPv4 tail (RFC 4291 section 2.2, form 3) becomes two hex groups.
  const lastColon = addr.lastIndexOf(':');
  const tail = addr.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToNum(tail);
    addr = addr.slice(0, lastColon + 1) + (n >>> 16).toString(16) + ':' + (n & 0xffff).toString(16);
  }
  let groups: string[];
  const dbl = addr.indexOf('::');
  if (dbl >= 0) {
    const head = addr.slice(0, dbl) === '' ? [] : addr.slice(0, dbl).split(':');
    const rest = addr.slice(dbl + 2) === '' ? [] : addr.slice(dbl + 2).split(':');
    groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else {
    groups = addr.split(':');
  }
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** Parses "a.b.c.d", "a.b.c.d/n", an IPv6 address or "v6/n". Throws QueryInputError. */
export function parseIpOrCidr(input: string): IpMatch {
  const text = input.trim();
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const lenText = slash >= 0 ? text.slice(slash + 1) : null;
  if (lenText !== null && !/^\d{1,3}$/.test(lenText)) throw new QueryInputError(`bad prefix length in ${JSON.stringify(input)}`);
  if (isIPv4(addr)) {
    const len = lenText === null ? 32 : Number(lenText);
    if (len > 32) throw new QueryInputError(`prefix length over 32 in ${JSON.stringify(input)}`);
    const base = v4ToNum(addr);
    const size = 2 ** (32 - len);
    const lo = Math.floor(base / size) * size;
    return { kind: 'v4', lo, hi: lo + size - 1 };
  }
  if (isIPv6(addr)) {
    const len = lenText === null ? 128 : Number(lenText);
    if (len > 128) throw new QueryInputError(`prefix length over 128 in ${JSON.stringify(input)}`);
    const hex = v6ToHex(addr);
    let bits = '';
    for (const ch of hex) bits += parseInt(ch, 16).toString(2).padStart(4, '0');
    const loBits = bits.slice(0, len).padEnd(128, '0');
    const hiBits = bits.slice(0, len).padEnd(128, '1');
    const toHex = (b: string): string => {
      let out = '';
      for (let i = 0; i < 128; i += 4) out += parseInt(b.slice(i, i + 4), 2).toString(16);
      return out;
    };
    return { kind: 'v6', lo: toHex(loBits), hi: toHex(hiBits) };
  }
  throw new QueryInputError(`not an IP address or CIDR: ${JSON.stringify(input)}`);
}

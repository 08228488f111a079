/**
 * IP address text <-> the 16-byte field of a wire-format row.
 *
 * IPv4 is carried IPv4-mapped (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) so one fixed-size field
 * holds both families; the reader turns a mapped address back into a dotted quad. Text is parsed
 * with the same parser the locality enricher uses (enrich/ip-parse.ts), so the bytes that leave
 * are the address whose locality was decided, never a second parser's reading of the string.
 */
import { ipv4At, ipv6At } from '../../decode/ip.js';
import { parseIpv4, parseIpv6 } from '../../enrich/ip-parse.js';

const groups = new Uint16Array(8);

/**
 * Writes the 16-byte form of `s` at `out[off..off+16)` and returns true; false (field untouched)
 * when `s` is not an address. `g`, when given, receives the 8 groups written (for a check on
 * exactly those bytes).
 */
export function putIp16(s: string, out: Buffer, off: number, g: Uint16Array = groups): boolean {
  const v4 = parseIpv4(s);
  if (v4 >= 0) {
    g.fill(0, 0, 5);
    g[5] = 0xffff;
    g[6] = v4 >>> 16;
    g[7] = v4 & 0xffff;
  } else if (!parseIpv6(s, g)) return false;
  // Byte stores rather than writeUInt16BE: this runs twice per record.
  for (let i = 0; i < 8; i++) {
    const v = g[i]!;
    out[off + 2 * i] = v >>> 8;
    out[off + 2 * i + 1] = v & 0xff;
  }
  return true;
}

/** True when the 16 bytes at `off` are an IPv4-mapped address (::ffff:0:0/96). */
export function isMapped(buf: Buffer, off: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 10] === 0xff && buf[off + 11] === 0xff;
}

/** Text of the 16-byte field: a dotted quad for IPv4-mapped, RFC 5952 otherwise. */
export function ip16At(buf: Buffer, off: number): string {
  return isMapped(buf, off) ? ipv4At(buf, off + 12) : ipv6At(buf, off);
}

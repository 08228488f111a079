import { isIP } from 'node:net';
import { ipv4At, ipv6At } from './decode/ip.js';
import { parseIpv4, parseIpv6 } from './enrich/ip-parse.js';

/**
 * An address as records spell their exporter: IPv6 compressed and lower-case (RFC 5952), IPv4-mapped
 * IPv6 as IPv4 (the UDP input reduces them so); null when it is not an address.
 */
export function canonicalIp(s: string): string | null {
  const v = isIP(s);
  if (v === 4) return parseIpv4(s) < 0 ? null : s;
  if (v !== 6) return null;
  const words = new Uint16Array(8);
  if (!parseIpv6(s, words)) return null;
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) bytes.writeUInt16BE(words[i]!, i * 2);
  const mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  return mapped ? ipv4At(bytes, 12) : ipv6At(bytes, 0);
}

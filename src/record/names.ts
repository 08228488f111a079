/**
 * Names for numbers: IANA protocol keywords and TCP flag names.
 * The protocol table is IANA "Assigned Internet Protocol Numbers" (keywords, lower-cased).
 */
import { PROTOCOL_KEYWORDS } from './iana-protocols.js';

const protoNames: string[] = [];
for (let i = 0; i < 256; i++) protoNames.push(PROTOCOL_KEYWORDS[i] ?? String(i));

export function protoName(n: number): string {
  return protoNames[n & 0xff]!;
}

// RFC 793 / RFC 3168 / RFC 3540 bit order, least significant first.
const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'] as const;
const tagCache = new Map<number, string[]>();

export function tcpFlagTags(flags: number): string[] {
  let tags = tagCache.get(flags);
  if (tags === undefined) {
    tags = [];
    for (let i = 0; i < FLAG_NAMES.length; i++) if (flags & (1 << i)) tags.push(FLAG_NAMES[i]!);
    if (tagCache.size < 1024) tagCache.set(flags, tags);
  }
  return tags.slice();
}

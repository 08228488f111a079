/**
 * Names for numbers: IANA protocol keywords, IANA service names of ports and TCP flag names.
 * The protocol table is IANA "Assigned Internet Protocol Numbers" (keywords, lower-cased).
 */
import { PROTOCOL_KEYWORDS } from './iana-protocols.js';
import { IANA_SERVICES } from './iana-services.js';

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

// ---- IANA service names by port (src/record/iana-services.ts) ----


/** Ports 1-49151 have registered names; dynamic ports (RFC 6335 section 6) have none. */
const SERVICE_PORTS = 49152;
let tcpNames: string[] | null = null;
let udpNames: string[] | null = null;

function loadServiceNames(): void {
  const t = new Array<string>(SERVICE_PORTS).fill('');
  const u = new Array<string>(SERVICE_PORTS).fill('');
  for (const chunk of IANA_SERVICES) {
    for (const entry of chunk.split(' ')) {
      const eq = entry.indexOf('=');
      const key = entry.slice(0, eq);
      const val = entry.slice(eq + 1);
      const last = key.charCodeAt(key.length - 1);
      if (last === 116 /* t */) t[Number(key.slice(0, -1))] = val;
      else if (last === 117 /* u */) u[Number(key.slice(0, -1))] = val;
      else {
        const bar = val.indexOf('|');
        t[Number(key)] = bar < 0 ? val : val.slice(0, bar);
        u[Number(key)] = bar < 0 ? val : val.slice(bar + 1);
      }
    }
  }
  tcpNames = t;
  udpNames = u;
}

/**
 * IANA service name of a port for a transport protocol, '' when none. TCP names serve SCTP and
 * DCCP too (IANA registers most of their ports under the TCP name); UDP names serve UDP-Lite.
 */
export function portName(proto: number, port: number): string {
  if (port <= 0 || port >= SERVICE_PORTS) return '';
  if (tcpNames === null) loadServiceNames();
  if (proto === 6 || proto === 132 || proto === 33) return tcpNames![port]!;
  if (proto === 17 || proto === 136) return udpNames![port]!;
  return '';
}

/** Which protocol a datagram carries, from its first bytes: any protocol is accepted on any port. */
import type { Protocol } from './types.js';

export function sniffProtocol(buf: Buffer): Protocol | null {
  if (buf.length < 4) return null;
  const v16 = buf.readUInt16BE(0);
  switch (v16) {
    case 1: return 'netflow1';
    case 5: return 'netflow5';
    case 7: return 'netflow7';
    case 9: return 'netflow9';
    case 10: return 'ipfix';
    case 0:
      // sFlow datagrams start with a 32-bit version (sFlow v5 spec, sample_datagram_v5).
      return buf.readUInt32BE(0) === 5 ? 'sflow5' : null;
    default:
      return null;
  }
}

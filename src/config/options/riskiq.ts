import { isIP } from 'node:net';
import { opt } from '../spec.js';
import { UUID_RE } from '../validate.js';

const GT = 'RiskIQ PassiveTotal threat enricher';
const GO = 'Output: RiskIQ';

/** One label of a DNS name (letters, digits, '-', and '_' as some internal names have). */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** An IPv4 or IPv6 address (an IPv6 one with or without a %zone), or a DNS name with an optional final dot. */
export function isHost(s: string): boolean {
  const [address, zone] = s.split('%');
  const version = isIP(address!);
  if (version !== 0) return zone === undefined || version === 6;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  // All-numeric dotted names are addresses or nothing (1.2.3 is not a host).
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l)) && !/^[0-9.]+$/.test(name);
}

/**
 * Base64 that decodes to an AES key length; the message names the decoded length. The '=' padding
 * may be left out (a copy that lost it is the same key), but when present it must be whole.
 */
export function checkAesKeyBase64(s: string): string | null {
  const t = s.trim();
  const padded = t.includes('=');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return 'not base64; expected base64 of 16, 24 or 32 bytes';
  if (padded && t.length % 4 !== 0) return "not base64: its '=' padding is not whole (give all of it, or none); expected base64 of 16, 24 or 32 bytes";
  if (t.length % 4 === 1) return 'not base64: a character too many or too few; expected base64 of 16, 24 or 32 bytes';
  const n = Buffer.from(t, 'base64').length;
  return n === 16 || n === 24 || n === 32 ? null : `decodes to ${n} bytes; expected base64 of 16, 24 or 32 bytes`;
}

export const RISKIQ_OPTIONS = {
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: opt.bool(GT, false, 'Download the PassiveTotal blocklist and mark flow ends on it. Needs _API_USER and _API_KEY.'),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: opt.str(GT, '', 'PassiveTotal API user (the account e-mail), sent as the HTTP Basic user.', 'the account e-mail'),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: opt.secret(GT, 'PassiveTotal API key, sent as the HTTP Basic password. Never logged.'),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: opt.checked(GT, 'https://api.passivetotal.org/v2/netflow/blocklist/download', 'Blocklist download URL.', 'an http or https URL',
    (s) => (/^https?:\/\/[^\s]+$/i.test(s) ? null : 'an http or https URL')),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL: opt.int(GT, 1440, 'Minutes between blocklist downloads. The minimum is 60.', { min: 60 }),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT: opt.int(GT, 30, 'Seconds one download may take, the whole body included.', { min: 1, max: 3600 }),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: opt.str(GT, '', 'YAML file with `include` (addresses/CIDRs to flag, optionally named) and `exclude` (never flag) lists.', 'a file path'),
  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_REFRESH_RATE: opt.int(GT, 15, 'Minutes between re-reads of the include/exclude file.', { min: 1, max: 10080 }),

  EF_OUTPUT_RISKIQ_ENABLE: opt.bool(GO, false, 'Send the public side of each flow, encrypted, to the RiskIQ receiver.'),
  EF_OUTPUT_RISKIQ_HOST: opt.checked(GO, 'flow.riskiq.net', 'Receiver host name or address.', 'a host name or address',
    // Empty is caught with the output enabled (load.ts); a URL or a host:port here would fail only at the first lookup.
    (s) => (s === '' || isHost(s) ? null : 'a host name or address, without brackets, scheme, port or path')),
  EF_OUTPUT_RISKIQ_PORT: opt.int(GO, 20000, 'Receiver port.', { min: 1, max: 65535 }),
  EF_OUTPUT_RISKIQ_CUSTOMER_UUID: opt.checked(GO, '', 'Customer UUID from the PassiveTotal ElastiFlow integration; tags every frame.', 'a UUID such as 527dd194-a116-11af-8380-034aba1ce438',
    (s) => (UUID_RE.test(s.trim()) ? null : 'a UUID such as 527dd194-a116-11af-8380-034aba1ce438')),
  EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: opt.checked(GO, '', 'Customer AES key, base64 of 16, 24 or 32 bytes (the `=` padding may be left out). Never logged.', 'base64 of 16, 24 or 32 bytes', checkAesKeyBase64, true),
  EF_OUTPUT_RISKIQ_TRANSPORT: opt.oneOf(GO, 'udp', ['udp', 'tcp'] as const, 'udp: one frame per datagram. tcp: frames with a 4-byte length prefix.'),
  EF_OUTPUT_RISKIQ_MAX_DATAGRAM_SIZE: opt.int(GO, 1400, 'Largest frame in bytes (UDP datagram size); records per frame follow from it.', { min: 200, max: 65507 }),
  EF_OUTPUT_RISKIQ_BATCH_DEADLINE: opt.int(GO, 1000, 'Milliseconds a partly filled frame waits before it is sent.', { min: 1, max: 60000 }),
  EF_OUTPUT_RISKIQ_QUEUE_SIZE: opt.int(GO, 100000, 'Records held while the receiver is slow or away; beyond it records are dropped and counted.', { min: 100 }),
  EF_OUTPUT_RISKIQ_AUDIT_PATH: opt.str(GO, '', 'When set, write the exact rows that would be sent as JSON lines to this file instead of the network.', 'a file path'),
};

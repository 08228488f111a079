/**
 * A deterministic NetFlow v9 stream for benchmarks: one template (18 fields, 45-byte records) and
 * data packets of 25 records each (1152 bytes with padding), every tuple distinct. Layout per
 * RFC 3954: 20-byte header, FlowSet ID 0 for templates, FlowSet ID >= 256 for data.
 *
 * The record bodies (writeRecords) are shared with the IPFIX stream (bench/ipfix-stream.ts): the 18
 * NetFlow v9 field types are the same numbers as the IPFIX Information Elements (RFC 7012 section 4).
 * Sources are private (10.0.0.0/16), destinations public: spread over four public /16s so GeoIP and
 * ASN lookups really happen, and one in 16 taken from the emulated PassiveTotal blocklist
 * (THREAT_LIST: the same generator, seed and size the benchmark's emulator serves) so the RiskIQ
 * threat enricher really matches.
 */
import { generateList } from '../src/dev/passivetotal-emulator.js';

export const TEMPLATE_ID = 256;
// [field type, length]: RFC 3954 section 8 field type numbers (= IPFIX IEs, RFC 7012).
export const FIELDS: readonly (readonly [number, number])[] = [
  [8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [1, 4], [2, 4], [22, 4], [21, 4],
  [10, 2], [14, 2], [16, 2], [17, 2], [15, 4], [9, 1], [13, 1],
];
export const RECORD_LEN = FIELDS.reduce((n, [, l]) => n + l, 0); // 45
export const RECORDS_PER_PACKET = 25;

/** The emulated blocklist the benchmark serves (`ufc dev passivetotal-emulator --seed 9 --entries 1000`). */
export const THREAT_LIST = { seed: 9, entries: 1000 } as const;
/** One destination in THREAT_EVERY is a blocklist address. */
export const THREAT_EVERY = 16;

const ip4 = (s: string): number => s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
/** Ranges our locality rules call private or special (RFC 1918, 6598, 3927, 5737, 2544, 6890): not public. */
const NOT_PUBLIC: [number, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
].map(([a, bits]) => [ip4(a as string), bits as number]);
const isPublic = (n: number): boolean => NOT_PUBLIC.every(([net, bits]) => Math.floor(n / 2 ** (32 - bits)) !== Math.floor(net / 2 ** (32 - bits)));

/** Single IPv4 addresses on the emulated blocklist that are public, in list order (deterministic). */
export const THREAT_ADDRESSES: readonly number[] = generateList(THREAT_LIST).body.toString('utf8').split('\n')
  .map((line) => line.split(' ; ')[0]!)
  .filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))
  .map(ip4)
  .filter(isPublic)
  .slice(0, 64);

/** Public /16s the other destinations spread over (Google, Amazon, Cloudflare, Fastly space). */
const PUBLIC_16 = [ip4('8.8.0.0'), ip4('13.32.0.0'), ip4('104.16.0.0'), ip4('151.101.0.0')];

/**
 * Distinct public destinations (BENCH_DISTINCT_DST, default 16,384, at most 262,144): real traffic
 * returns to the same servers, so the enrichers' caches see repeats; 262,144 makes nearly every
 * destination of a 1,000,000-record run new (every cache misses), the worst case.
 */
export const DISTINCT_DST = Math.min(262_144, Math.max(4, Number(process.env.BENCH_DISTINCT_DST ?? 16_384)));
const PER_16 = Math.floor(DISTINCT_DST / PUBLIC_16.length);

/** Destination of record `k` of the stream. */
export function dstAddress(k: number): number {
  if (k % THREAT_EVERY === 0 && THREAT_ADDRESSES.length > 0) return THREAT_ADDRESSES[(k / THREAT_EVERY) % THREAT_ADDRESSES.length]!;
  // An odd multiplier permutes the 16 low bits: the addresses scatter over the /16's /24s.
  return PUBLIC_16[k % PUBLIC_16.length]! + ((((k >>> 2) % PER_16) * 40503) & 0xffff);
}

/** Writes the 25 records of data packet `n` at `o` (FIELDS layout); returns the offset after them. */
export function writeRecords(buf: Buffer, o: number, n: number): number {
  for (let i = 0; i < RECORDS_PER_PACKET; i++) {
    const k = n * RECORDS_PER_PACKET + i;
    buf.writeUInt32BE(((10 << 24) | (k & 0xffff)) >>> 0, o); // 10.0.x.y
    buf.writeUInt32BE(dstAddress(k), o + 4);
    buf.writeUInt16BE(1024 + (k % 60000), o + 8);
    buf.writeUInt16BE([443, 80, 53, 22][k % 4]!, o + 10);
    buf[o + 12] = k % 4 === 2 ? 17 : 6;
    buf[o + 13] = 0x1b;
    buf[o + 14] = 0;
    buf.writeUInt32BE(1000 + (k % 5000), o + 15);
    buf.writeUInt32BE(1 + (k % 20), o + 19);
    buf.writeUInt32BE(90_000 + n, o + 23);
    buf.writeUInt32BE(99_000 + n, o + 27);
    buf.writeUInt16BE(1 + (k % 8), o + 31);
    buf.writeUInt16BE(9, o + 33);
    buf.writeUInt16BE(0, o + 35); // source and destination AS 0 (no BGP on the exporter): the ASN enricher fills them
    buf.writeUInt16BE(0, o + 37);
    buf.writeUInt32BE(0xc0a80101, o + 39);
    buf[o + 43] = 16;
    buf[o + 44] = 24;
    o += RECORD_LEN;
  }
  return o;
}

/** NetFlow v9 source ID (RFC 3954 section 5.1); the IPFIX stream uses another observation domain. */
export const V9_SOURCE_ID = 1;

function header(buf: Buffer, count: number, seq: number, uptime: number, secs: number): void {
  // RFC 3954 section 5.1: version, count, sysUptime, unix secs, sequence, source ID.
  buf.writeUInt16BE(9, 0);
  buf.writeUInt16BE(count, 2);
  buf.writeUInt32BE(uptime, 4);
  buf.writeUInt32BE(secs, 8);
  buf.writeUInt32BE(seq, 12);
  buf.writeUInt32BE(V9_SOURCE_ID, 16);
}

/** Bytes of the template set (set header, template header, one type/length pair per field). */
export const TEMPLATE_SET_BYTES = 4 + 4 + FIELDS.length * 4;

/**
 * The template set at `at`: the same layout in NetFlow v9 (RFC 3954 section 5.2, FlowSet ID 0) and
 * IPFIX (RFC 7011 section 3.3.2, set ID 2; enterprise bit 0, so IANA IEs).
 */
export function writeTemplateSet(buf: Buffer, at: number, setId: number): void {
  buf.writeUInt16BE(setId, at);
  buf.writeUInt16BE(TEMPLATE_SET_BYTES, at + 2);
  buf.writeUInt16BE(TEMPLATE_ID, at + 4);
  buf.writeUInt16BE(FIELDS.length, at + 6);
  FIELDS.forEach(([t, l], i) => {
    buf.writeUInt16BE(t, at + 8 + i * 4);
    buf.writeUInt16BE(l, at + 10 + i * 4);
  });
}

export function templatePacket(seq: number): Buffer {
  const buf = Buffer.alloc(20 + TEMPLATE_SET_BYTES);
  header(buf, 1, seq, 100_000, 1_700_000_000);
  writeTemplateSet(buf, 20, 0);
  return buf;
}

/** Data packet `n`: 25 records, private sources, public destinations, ports distinct per record. */
export function dataPacket(n: number, seq: number): Buffer {
  const setLen = 4 + RECORDS_PER_PACKET * RECORD_LEN;
  const padded = setLen + ((4 - (setLen % 4)) % 4); // RFC 3954 section 5.3: pad to 32 bits
  const buf = Buffer.alloc(20 + padded);
  header(buf, RECORDS_PER_PACKET, seq, 100_000 + n, 1_700_000_000 + Math.floor(n / 1000));
  buf.writeUInt16BE(TEMPLATE_ID, 20);
  buf.writeUInt16BE(padded, 22);
  writeRecords(buf, 24, n);
  return buf;
}

/** The whole stream: a template first and again every 100 packets, then data. */
export function* stream(packets: number): Generator<Buffer> {
  let seq = 0;
  for (let n = 0; n < packets; n++) {
    if (n % 100 === 0) yield templatePacket(seq++);
    yield dataPacket(n, seq++);
  }
}

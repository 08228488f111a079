/**
 * The IPFIX twin of bench/netflow9-stream.ts: the same 18 fields (the v9 field types are the IPFIX
 * Information Element numbers, RFC 7012 section 4) and the same record bodies, 25 records a data set.
 * Layout per RFC 7011: 16-byte message header with a length field (section 3.1), template set ID 2
 * (section 3.4.1), data set ID = template ID >= 256 (section 3.3.2), sets padded to 32 bits. The
 * sequence number counts data records sent before the message (section 3.1). Observation domain 2,
 * so an exporter sending both streams keeps apart its v9 and IPFIX template state.
 */
import { RECORDS_PER_PACKET, RECORD_LEN, TEMPLATE_ID, TEMPLATE_SET_BYTES, writeRecords, writeTemplateSet } from './netflow9-stream.js';

export const IPFIX_DOMAIN_ID = 2;

function header(buf: Buffer, seq: number, exportSecs: number): void {
  buf.writeUInt16BE(10, 0); // RFC 7011 section 3.1: version 10
  buf.writeUInt16BE(buf.length, 2); // total message length in octets
  buf.writeUInt32BE(exportSecs, 4);
  buf.writeUInt32BE(seq, 8);
  buf.writeUInt32BE(IPFIX_DOMAIN_ID, 12);
}

/** Template message; `seq` = data records sent so far. */
export function ipfixTemplatePacket(seq: number): Buffer {
  const buf = Buffer.alloc(16 + TEMPLATE_SET_BYTES);
  header(buf, seq, 1_700_000_000);
  // 1-byte tcpControlBits and 4-byte counters are reduced-size encodings (RFC 7011 section 6.2).
  writeTemplateSet(buf, 16, 2);
  return buf;
}

/** Data message `n`: the same 25 records as NetFlow v9 data packet `n`. */
export function ipfixDataPacket(n: number, seq: number): Buffer {
  const setLen = 4 + RECORDS_PER_PACKET * RECORD_LEN;
  const padded = setLen + ((4 - (setLen % 4)) % 4); // RFC 7011 section 3.3.1: optional padding, shorter than a record
  const buf = Buffer.alloc(16 + padded);
  header(buf, seq, 1_700_000_000 + Math.floor(n / 1000));
  buf.writeUInt16BE(TEMPLATE_ID, 16);
  buf.writeUInt16BE(padded, 18);
  writeRecords(buf, 20, n);
  return buf;
}

/** The whole IPFIX stream: a template first and again every 100 messages, then data. */
export function* ipfixStream(packets: number): Generator<Buffer> {
  for (let n = 0; n < packets; n++) {
    if (n % 100 === 0) yield ipfixTemplatePacket(n * RECORDS_PER_PACKET);
    yield ipfixDataPacket(n, n * RECORDS_PER_PACKET);
  }
}

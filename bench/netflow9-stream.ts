/**
 * A deterministic NetFlow v9 stream for benchmarks: one template (18 fields, 45-byte records) and
 * data packets of 25 records each (1152 bytes with padding), every tuple distinct. Layout per
 * RFC 3954: 20-byte header, FlowSet ID 0 for templates, FlowSet ID >= 256 for data.
 */
const TEMPLATE_ID = 256;
// [field type, length]: RFC 3954 section 8 field type numbers.
const FIELDS: [number, number][] = [
  [8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [5, 1], [1, 4], [2, 4], [22, 4], [21, 4],
  [10, 2], [14, 2], [16, 2], [17, 2], [15, 4], [9, 1], [13, 1],
];
const RECORD_LEN = FIELDS.reduce((n, [, l]) => n + l, 0); // 45
export const RECORDS_PER_PACKET = 25;

function header(buf: Buffer, count: number, seq: number, uptime: number, secs: number): void {
  buf.writeUInt16BE(9, 0);
  buf.writeUInt16BE(count, 2);
  buf.writeUInt32BE(uptime, 4);
  buf.writeUInt32BE(secs, 8);
  buf.writeUInt32BE(seq, 12);
  buf.writeUInt32BE(1, 16); // source ID
}

export function templatePacket(seq: number): Buffer {
  const buf = Buffer.alloc(20 + 4 + 4 + FIELDS.length * 4);
  header(buf, 1, seq, 100_000, 1_700_000_000);
  buf.writeUInt16BE(0, 20);
  buf.writeUInt16BE(buf.length - 20, 22);
  buf.writeUInt16BE(TEMPLATE_ID, 24);
  buf.writeUInt16BE(FIELDS.length, 26);
  FIELDS.forEach(([t, l], i) => {
    buf.writeUInt16BE(t, 28 + i * 4);
    buf.writeUInt16BE(l, 30 + i * 4);
  });
  return buf;
}

/** Data packet `n`: 25 records, addresses a mix of private and public, ports distinct per record. */
export function dataPacket(n: number, seq: number): Buffer {
  const setLen = 4 + RECORDS_PER_PACKET * RECORD_LEN;
  const padded = setLen + ((4 - (setLen % 4)) % 4);
  const buf = Buffer.alloc(20 + padded);
  header(buf, RECORDS_PER_PACKET, seq, 100_000 + n, 1_700_000_000 + Math.floor(n / 1000));
  buf.writeUInt16BE(TEMPLATE_ID, 20);
  buf.writeUInt16BE(padded, 22);
  let o = 24;
  for (let i = 0; i < RECORDS_PER_PACKET; i++) {
    const k = n * RECORDS_PER_PACKET + i;
    buf.writeUInt32BE(((10 << 24) | (k & 0xffff)) >>> 0, o); // 10.0.x.y
    buf.writeUInt32BE(((203 << 24) | (0 << 16) | (113 << 8) | (k % 250)) >>> 0, o + 4);
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
    buf.writeUInt16BE(64512, o + 35);
    buf.writeUInt16BE(15169, o + 37);
    buf.writeUInt32BE(0xc0a80101, o + 39);
    buf[o + 43] = 16;
    buf[o + 44] = 24;
    o += RECORD_LEN;
  }
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

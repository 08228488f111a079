/**
 * Synthetic NetFlow v5 datagrams for the store benchmark and the ClickHouse outage run: a mix of
 * private clients talking to public servers over TCP/UDP/ICMP. Each record's octet count is its
 * 1-based serial number, so a store can prove every record arrived exactly once
 * (count = distinct bytes = N, min 1, max N).
 *
 * Layout per Cisco's NetFlow v5 export format: 24-byte header (version, count, sysUptime,
 * unix_secs, unix_nsecs, flow_sequence, engine type/id, sampling interval) and 48-byte records;
 * at most 30 records per datagram.
 */
const HEADER = 24;
const RECORD = 48;
export const V5_MAX_RECORDS = 30;

export interface V5Options {
  /** Serial number of the first record (its octet count); default 1. */
  firstSerial?: number;
  /** Export time, epoch ms (default now). */
  exportMs?: number;
}

/** One datagram of `count` records (count ≤ 30), serials from `serial`. */
export function v5Datagram(serial: number, count: number, exportMs: number, sequence: number): Buffer {
  const b = Buffer.alloc(HEADER + RECORD * count);
  const uptime = 3_600_000;
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(count, 2);
  b.writeUInt32BE(uptime, 4);
  b.writeUInt32BE(Math.floor(exportMs / 1000), 8);
  b.writeUInt32BE((exportMs % 1000) * 1_000_000, 12);
  b.writeUInt32BE(sequence >>> 0, 16);
  for (let i = 0; i < count; i++) {
    const s = serial + i;
    const o = HEADER + RECORD * i;
    const client = 0x0a000000 + (s % 5000); // 10.0.x.y
    const server = 0x5db8d800 + (s % 300); // 93.184.216.x
    const proto = s % 10 === 0 ? 17 : s % 97 === 0 ? 1 : 6;
    b.writeUInt32BE(client >>> 0, o);
    b.writeUInt32BE(server >>> 0, o + 4);
    b.writeUInt32BE(0x0a0000fe, o + 8);
    b.writeUInt16BE(1 + (s % 4), o + 12);
    b.writeUInt16BE(10 + (s % 3), o + 14);
    b.writeUInt32BE(1 + (s % 50), o + 16);
    b.writeUInt32BE(s >>> 0, o + 20);
    b.writeUInt32BE(uptime - 5000, o + 24);
    b.writeUInt32BE(uptime - 100, o + 28);
    b.writeUInt16BE(proto === 1 ? 0 : 1024 + (s % 60000), o + 32);
    b.writeUInt16BE(proto === 1 ? 0x0800 : proto === 17 ? 53 : s % 3 === 0 ? 80 : 443, o + 34);
    b.writeUInt8(proto === 6 ? 0x1b : 0, o + 37);
    b.writeUInt8(proto, o + 38);
    b.writeUInt16BE(0, o + 40);
    b.writeUInt16BE(15133, o + 42);
    b.writeUInt8(24, o + 44);
    b.writeUInt8(24, o + 45);
  }
  return b;
}

/** Datagrams carrying `total` records, 30 per datagram. */
export function* v5Stream(total: number, opts: V5Options = {}): Generator<Buffer> {
  const first = opts.firstSerial ?? 1;
  const exportMs = opts.exportMs ?? Date.now();
  let seq = 0;
  for (let done = 0; done < total; done += V5_MAX_RECORDS) {
    const n = Math.min(V5_MAX_RECORDS, total - done);
    yield v5Datagram(first + done, n, exportMs, seq);
    seq += n;
  }
}

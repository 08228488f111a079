/**
 * NetFlow v5: 24-byte header, then `count` 48-byte records (Cisco NetFlow Export Datagram Format,
 * "NetFlow Version 5 Header Format" and "Flow Record Format").
 */
import { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type Decoder, type PacketContext } from '../../pipeline/types.js';
import { ipv4ToString } from '../ip.js';
import { uptimeToEpoch } from '../time.js';

const HEADER_LEN = 24;
const RECORD_LEN = 48;
const MAX_COUNT = 30; // Cisco: at most 30 records per v5 datagram.

export class NetflowV5Decoder implements Decoder {
  readonly protocol = 'netflow5' as const;

  /**
   * Decodes one datagram. Captures made with `nc -k` hold several v5 datagrams back to back; each
   * following PDU that starts with a v5 header is decoded too (its length follows from its count).
   */
  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    let off = 0;
    do {
      off += this.decodeOne(off === 0 ? buf : buf.subarray(off), ctx, out);
    } while (buf.length - off >= HEADER_LEN + RECORD_LEN && buf.readUInt16BE(off) === 5);
  }

  /** Returns the bytes the PDU used. */
  private decodeOne(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): number {
    if (buf.length < HEADER_LEN) throw new DecodeError('short header', `${buf.length} bytes`);
    const count = buf.readUInt16BE(2);
    if (count === 0 || count > MAX_COUNT) throw new DecodeError('bad record count', String(count));
    if (buf.length < HEADER_LEN + count * RECORD_LEN) throw new DecodeError('truncated', `${count} records need ${HEADER_LEN + count * RECORD_LEN} bytes, got ${buf.length}`);
    const sysUptime = buf.readUInt32BE(4);
    const unixSecs = buf.readUInt32BE(8);
    const unixNsecs = buf.readUInt32BE(12);
    const sequence = buf.readUInt32BE(16);
    const engine = buf.readUInt16BE(20) >>> 0;
    // Sampling interval: top 2 bits mode, low 14 bits interval (v5 header bytes 22-23).
    const sampling = buf.readUInt16BE(22);
    const rate = sampling & 0x3fff;
    const scale = rate > 1 ? rate : 1;
    const exportMs = unixSecs * 1000 + Math.floor(unixNsecs / 1e6);

    for (let i = 0, o = HEADER_LEN; i < count; i++, o += RECORD_LEN) {
      const r = new FlowRecord();
      r.collectTs = ctx.receivedAt;
      r.exportTs = exportMs;
      r.exporterIp = ctx.exporterIp;
      r.exportVersion = 5;
      r.exportType = 'netflow';
      r.observationDomain = engine;
      r.sequence = sequence;
      r.ipVersion = 4;
      r.srcIp4 = buf.readUInt32BE(o);
      r.dstIp4 = buf.readUInt32BE(o + 4);
      r.srcIp = ipv4ToString(r.srcIp4);
      r.dstIp = ipv4ToString(r.dstIp4);
      r.nextHop = ipv4ToString(buf.readUInt32BE(o + 8));
      r.inIf = buf.readUInt16BE(o + 12);
      r.outIf = buf.readUInt16BE(o + 14);
      r.packets = buf.readUInt32BE(o + 16) * scale;
      r.bytes = buf.readUInt32BE(o + 20) * scale;
      r.startTs = uptimeToEpoch(buf.readUInt32BE(o + 24), sysUptime, exportMs);
      r.endTs = uptimeToEpoch(buf.readUInt32BE(o + 28), sysUptime, exportMs);
      r.srcPort = buf.readUInt16BE(o + 32);
      r.dstPort = buf.readUInt16BE(o + 34);
      r.tcpFlags = buf[o + 37]!;
      r.proto = buf[o + 38]!;
      r.tos = buf[o + 39]!;
      r.srcAs = buf.readUInt16BE(o + 40);
      r.dstAs = buf.readUInt16BE(o + 42);
      r.srcMask = buf[o + 44]!;
      r.dstMask = buf[o + 45]!;
      if (rate > 1) r.samplingRate = rate;
      if (r.proto === 1) {
        // ICMP type/code ride in the destination port as type*256+code (Cisco convention).
        r.icmpType = r.dstPort >>> 8;
        r.icmpCode = r.dstPort & 0xff;
      }
      out.push(r);
    }
    return HEADER_LEN + count * RECORD_LEN;
  }
}

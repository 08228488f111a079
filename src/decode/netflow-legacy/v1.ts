/**
 * NetFlow v1: 16-byte header, then `count` 48-byte records (Cisco NetFlow Export Datagram Format,
 * "NetFlow Version 1 Header Format" and "Flow Record Format"). No sequence, engine or AS fields.
 */
import { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type Decoder, type PacketContext } from '../../pipeline/types.js';
import { ipv4ToString } from '../ip.js';
import { uptimeToEpoch } from '../time.js';

const HEADER_LEN = 16;
const RECORD_LEN = 48;
const MAX_COUNT = 24; // Cisco: at most 24 records per v1 datagram.

export class NetflowV1Decoder implements Decoder {
  readonly protocol = 'netflow1' as const;

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    if (buf.length < HEADER_LEN) throw new DecodeError('short header', `${buf.length} bytes`);
    const count = buf.readUInt16BE(2);
    if (count === 0 || count > MAX_COUNT) throw new DecodeError('bad record count', String(count));
    if (buf.length < HEADER_LEN + count * RECORD_LEN) throw new DecodeError('truncated', `${count} records need ${HEADER_LEN + count * RECORD_LEN} bytes, got ${buf.length}`);
    const sysUptime = buf.readUInt32BE(4);
    const unixSecs = buf.readUInt32BE(8);
    const unixNsecs = buf.readUInt32BE(12);
    const exportMs = unixSecs * 1000 + Math.floor(unixNsecs / 1e6);

    for (let i = 0, o = HEADER_LEN; i < count; i++, o += RECORD_LEN) {
      const r = new FlowRecord();
      r.collectTs = ctx.receivedAt;
      r.exportTs = exportMs;
      r.exporterIp = ctx.exporterIp;
      r.exportVersion = 1;
      r.exportType = 'netflow';
      r.ipVersion = 4;
      r.srcIp4 = buf.readUInt32BE(o);
      r.dstIp4 = buf.readUInt32BE(o + 4);
      r.srcIp = ipv4ToString(r.srcIp4);
      r.dstIp = ipv4ToString(r.dstIp4);
      r.nextHop = ipv4ToString(buf.readUInt32BE(o + 8));
      r.inIf = buf.readUInt16BE(o + 12);
      r.outIf = buf.readUInt16BE(o + 14);
      r.packets = buf.readUInt32BE(o + 16);
      r.bytes = buf.readUInt32BE(o + 20);
      r.startTs = uptimeToEpoch(buf.readUInt32BE(o + 24), sysUptime, exportMs);
      r.endTs = uptimeToEpoch(buf.readUInt32BE(o + 28), sysUptime, exportMs);
      r.srcPort = buf.readUInt16BE(o + 32);
      r.dstPort = buf.readUInt16BE(o + 34);
      // o + 36: 2 bytes pad.
      r.proto = buf[o + 38]!;
      r.tos = buf[o + 39]!;
      r.tcpFlags = buf[o + 40]!;
      // o + 41..47: pad and reserved.
      if (r.proto === 1) {
        // ICMP type/code ride in the destination port as type*256+code (Cisco convention).
        r.icmpType = r.dstPort >>> 8;
        r.icmpCode = r.dstPort & 0xff;
      }
      out.push(r);
    }
  }
}

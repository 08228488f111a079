/**
 * NetFlow v7 (Catalyst 5000 NetFlow Feature Card): 24-byte header, then `count` 52-byte records
 * (Cisco NetFlow Export Datagram Format, "NetFlow Version 7 Header Format" and "Flow Record Format").
 * Like v5 with a `flags` byte of which fields are valid and the address of the router the shortcut
 * bypassed (`router_sc`).
 */
import { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type Decoder, type PacketContext } from '../../pipeline/types.js';
import { ipv4ToString } from '../ip.js';
import { uptimeToEpoch } from '../time.js';

const HEADER_LEN = 24;
const RECORD_LEN = 52;
const MAX_COUNT = 28; // Cisco: at most 28 records per v7 datagram.

export class NetflowV7Decoder implements Decoder {
  readonly protocol = 'netflow7' as const;

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    if (buf.length < HEADER_LEN) throw new DecodeError('short header', `${buf.length} bytes`);
    const count = buf.readUInt16BE(2);
    if (count === 0 || count > MAX_COUNT) throw new DecodeError('bad record count', String(count));
    if (buf.length < HEADER_LEN + count * RECORD_LEN) throw new DecodeError('truncated', `${count} records need ${HEADER_LEN + count * RECORD_LEN} bytes, got ${buf.length}`);
    const sysUptime = buf.readUInt32BE(4);
    const unixSecs = buf.readUInt32BE(8);
    const unixNsecs = buf.readUInt32BE(12);
    const sequence = buf.readUInt32BE(16);
    // 20-23: reserved.
    const exportMs = unixSecs * 1000 + Math.floor(unixNsecs / 1e6);

    for (let i = 0, o = HEADER_LEN; i < count; i++, o += RECORD_LEN) {
      const r = new FlowRecord();
      r.collectTs = ctx.receivedAt;
      r.exportTs = exportMs;
      r.exporterIp = ctx.exporterIp;
      r.exportVersion = 7;
      r.exportType = 'netflow';
      r.sequence = sequence;
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
      // o + 36: flags1, which of the fields below are invalid (shortcut mode dependent); kept raw.
      const flags1 = buf[o + 36]!;
      r.tcpFlags = buf[o + 37]!;
      r.proto = buf[o + 38]!;
      r.tos = buf[o + 39]!;
      r.srcAs = buf.readUInt16BE(o + 40);
      r.dstAs = buf.readUInt16BE(o + 42);
      r.srcMask = buf[o + 44]!;
      r.dstMask = buf[o + 45]!;
      // o + 46: flags2 (unused by Cisco).
      const routerSc = buf.readUInt32BE(o + 48);
      if (flags1 !== 0) r.setExtra('netflow.v7.flags', flags1);
      if (routerSc !== 0) r.setExtra('netflow.v7.router_sc', ipv4ToString(routerSc));
      if (r.proto === 1) {
        // ICMP type/code ride in the destination port as type*256+code (Cisco convention).
        r.icmpType = r.dstPort >>> 8;
        r.icmpCode = r.dstPort & 0xff;
      }
      out.push(r);
    }
  }
}

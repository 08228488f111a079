/**
 * What NetFlow v1, v5 and v7 share (Cisco NetFlow Export Datagram Format): the header checks, and
 * the first 36 bytes of every flow record, laid out alike in all three versions:
 * srcaddr, dstaddr, nexthop, input, output, dPkts, dOctets, First, Last, srcport, dstport.
 */
import { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type PacketContext } from '../../pipeline/types.js';
import { ipv4ToString } from '../ip.js';
import { settleTimes, uptimeToEpoch } from '../time.js';
import { ExporterReasons } from '../exporter-reasons.js';

/**
 * Times a decoder had to change, by reason, in total and per exporter: shown in its describe() as
 * NetFlow v9's are (the Exporters API reads `byExporter`), not as exporter errors, since the record
 * is kept.
 */
export class ReasonCounts {
  private readonly total = new Map<string, number>();
  private readonly byExporter = new ExporterReasons();

  add(exporter: string, reason: string, now: number, n = 1): void {
    this.total.set(reason, (this.total.get(reason) ?? 0) + n);
    this.byExporter.add(exporter, reason, n, now);
  }

  describe(): Record<string, unknown> {
    return {
      counters: Object.fromEntries(this.total),
      byExporter: this.byExporter.toJSON(),
    };
  }
}

/** The record count from the header, after checking it against the version's limits and the datagram's length. */
export function recordCount(buf: Buffer, headerLen: number, recordLen: number, maxCount: number): number {
  if (buf.length < headerLen) throw new DecodeError('short header', `${buf.length} bytes`);
  const count = buf.readUInt16BE(2);
  if (count === 0 || count > maxCount) throw new DecodeError('bad record count', String(count));
  if (buf.length < headerLen + count * recordLen) throw new DecodeError('truncated', `${count} records need ${headerLen + count * recordLen} bytes, got ${buf.length}`);
  return count;
}

/** Why the export time's nanoseconds were not used: counted once for each record of the datagram. */
export const TIME_BAD_NSECS = 'time: unix_nsecs of a second or more (0 ns used)';

/**
 * Export time (epoch ms) from unix_secs and unix_nsecs at header bytes 8-15 (same in v1, v5, v7).
 * unix_nsecs is the part of a second, under 1e9: a larger one would move every time of the datagram by
 * up to 4 s, so it is taken as 0 and counted for the datagram's `count` records in `timeCounts`.
 */
export function exportTimeMs(buf: Buffer, ctx: PacketContext, count: number, timeCounts: ReasonCounts): number {
  let nsecs = buf.readUInt32BE(12);
  if (nsecs >= 1e9) {
    nsecs = 0;
    timeCounts.add(ctx.exporterIp, TIME_BAD_NSECS, ctx.receivedAt, count);
  }
  return buf.readUInt32BE(8) * 1000 + Math.floor(nsecs / 1e6);
}

/**
 * A record with the fields common to v1, v5 and v7 read from `o`; counters multiplied by `scale`
 * (the v5 sampling interval, else 1). Times are uptime-relative, converted with the header's uptime;
 * what had to be changed in them is counted in `timeCounts`.
 */
export function commonRecord(buf: Buffer, o: number, ctx: PacketContext, version: number, sysUptime: number, exportMs: number, scale: number, timeCounts: ReasonCounts): FlowRecord {
  const r = new FlowRecord();
  r.collectTs = ctx.receivedAt;
  r.exportTs = exportMs;
  r.exporterIp = ctx.exporterIp;
  r.exportVersion = version;
  r.exportType = 'netflow';
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
  const why = settleTimes(r, uptimeToEpoch(buf.readUInt32BE(o + 24), sysUptime, exportMs), uptimeToEpoch(buf.readUInt32BE(o + 28), sysUptime, exportMs), exportMs);
  if (why !== '') timeCounts.add(ctx.exporterIp, why, ctx.receivedAt);
  r.srcPort = buf.readUInt16BE(o + 32);
  r.dstPort = buf.readUInt16BE(o + 34);
  return r;
}

/** ICMP type/code ride in the destination port as type*256+code (Cisco convention); call once proto is set. */
export function icmpFromPort(r: FlowRecord): void {
  if (r.proto === 1) {
    r.icmpType = r.dstPort >>> 8;
    r.icmpCode = r.dstPort & 0xff;
  }
}

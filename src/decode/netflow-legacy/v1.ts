/**
 * NetFlow v1: 16-byte header, then `count` 48-byte records (Cisco NetFlow Export Datagram Format,
 * "NetFlow Version 1 Header Format" and "Flow Record Format"). No sequence, engine or AS fields.
 */
import type { FlowRecord } from '../../record/flow-record.js';
import type { Decoder, PacketContext } from '../../pipeline/types.js';
import { Losses, moreAfter } from '../losses.js';
import { commonRecord, ReasonCounts, exportTimeMs, icmpFromPort, recordCount } from './record-layout.js';

const HEADER_LEN = 16;
const RECORD_LEN = 48;
const MAX_COUNT = 24; // Cisco: at most 24 records per v1 datagram.

export class NetflowV1Decoder implements Decoder {
  readonly protocol = 'netflow1' as const;
  /** Times changed while decoding, by reason (describe()). */
  private readonly times = new ReasonCounts();
  /** Bytes after the records the header counted (not zero padding), per exporter: a count that understates loses the rest. */
  private readonly losses = new Losses();

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    const count = recordCount(buf, HEADER_LEN, RECORD_LEN, MAX_COUNT);
    const sysUptime = buf.readUInt32BE(4);
    const exportMs = exportTimeMs(buf, ctx, count, this.times);
    for (let i = 0, o = HEADER_LEN; i < count; i++, o += RECORD_LEN) {
      const r = commonRecord(buf, o, ctx, 1, sysUptime, exportMs, 1, this.times);
      // o + 36: 2 bytes pad.
      r.proto = buf[o + 38]!;
      r.tos = buf[o + 39]!;
      r.tcpFlags = buf[o + 40]!;
      // o + 41..47: pad and reserved.
      icmpFromPort(r);
      out.push(r);
    }
    if (moreAfter(buf, HEADER_LEN + count * RECORD_LEN)) this.losses.lose(ctx.exporterIp, 'bytes after the last record');
  }

  takeLosses(): ReadonlyMap<string, ReadonlyMap<string, number>> | null {
    return this.losses.take();
  }

  describe(): Record<string, unknown> {
    return this.times.describe();
  }
}

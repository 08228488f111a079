/**
 * NetFlow v5: 24-byte header, then `count` 48-byte records (Cisco NetFlow Export Datagram Format,
 * "NetFlow Version 5 Header Format" and "Flow Record Format").
 */
import type { FlowRecord } from '../../record/flow-record.js';
import type { Decoder, PacketContext } from '../../pipeline/types.js';
import { SequenceGaps, UNTRACKED_STREAM, type SequenceCounts } from '../sequence-gaps.js';
import { Losses, moreAfter } from '../losses.js';
import { commonRecord, ReasonCounts, exportTimeMs, icmpFromPort, recordCount } from './record-layout.js';

const HEADER_LEN = 24;
const RECORD_LEN = 48;
const MAX_COUNT = 30; // Cisco: at most 30 records per v5 datagram.

export class NetflowV5Decoder implements Decoder {
  readonly protocol = 'netflow5' as const;
  /** Times changed while decoding, by reason (describe()). */
  private readonly times = new ReasonCounts();
  /** Bytes after the records the header counted (not zero padding), per exporter: a count that understates loses the rest. */
  private readonly losses = new Losses();
  /** flow_sequence counts records ("total flows seen"), per engine type and ID. */
  private readonly gaps = new SequenceGaps(['before', 'after']);

  /**
   * Decodes one datagram. Captures made with `nc -k` hold several v5 datagrams back to back; each
   * following PDU that starts with a v5 header is decoded too (its length follows from its count).
   */
  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    let off = 0;
    do {
      off += this.decodeOne(off === 0 ? buf : buf.subarray(off), ctx, out);
    } while (buf.length - off >= HEADER_LEN + RECORD_LEN && buf.readUInt16BE(off) === 5);
    if (moreAfter(buf, off)) this.losses.lose(ctx.exporterIp, 'bytes after the last record');
  }

  /** Returns the bytes the PDU used. */
  private decodeOne(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): number {
    const count = recordCount(buf, HEADER_LEN, RECORD_LEN, MAX_COUNT);
    const sysUptime = buf.readUInt32BE(4);
    const sequence = buf.readUInt32BE(16);
    const engine = buf.readUInt16BE(20) >>> 0;
    const s = this.gaps.stream(ctx.exporterIp, ctx.exporterPort, engine, ctx.receivedAt);
    if (s !== null) this.gaps.check(s, ctx.exporterIp, sequence, count);
    else this.losses.lose(ctx.exporterIp, UNTRACKED_STREAM);
    // Sampling interval: top 2 bits mode, low 14 bits interval (v5 header bytes 22-23).
    const sampling = buf.readUInt16BE(22);
    const rate = sampling & 0x3fff;
    const scale = rate > 1 ? rate : 1;
    const exportMs = exportTimeMs(buf, ctx, count, this.times);

    for (let i = 0, o = HEADER_LEN; i < count; i++, o += RECORD_LEN) {
      const r = commonRecord(buf, o, ctx, 5, sysUptime, exportMs, scale, this.times);
      r.observationDomain = engine;
      r.sequence = sequence;
      r.tcpFlags = buf[o + 37]!;
      r.proto = buf[o + 38]!;
      r.tos = buf[o + 39]!;
      r.srcAs = buf.readUInt16BE(o + 40);
      r.dstAs = buf.readUInt16BE(o + 42);
      r.srcMask = buf[o + 44]!;
      r.dstMask = buf[o + 45]!;
      if (rate > 0) r.samplingRate = rate;
      icmpFromPort(r);
      out.push(r);
    }
    return HEADER_LEN + count * RECORD_LEN;
  }

  takeSequenceGaps(): ReadonlyMap<string, SequenceCounts> | null {
    return this.gaps.take();
  }

  takeLosses(): ReadonlyMap<string, ReadonlyMap<string, number>> | null {
    return this.losses.take();
  }

  describe(): Record<string, unknown> {
    return this.times.describe();
  }
}

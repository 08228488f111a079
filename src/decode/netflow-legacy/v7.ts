/**
 * NetFlow v7 (Catalyst 5000 NetFlow Feature Card): 24-byte header, then `count` 52-byte records
 * (Cisco NetFlow Export Datagram Format, "NetFlow Version 7 Header Format" and "Flow Record Format").
 * Like v5 with a `flags` byte of which fields are valid and the address of the router the shortcut
 * bypassed (`router_sc`).
 */
import type { FlowRecord } from '../../record/flow-record.js';
import type { Decoder, PacketContext } from '../../pipeline/types.js';
import { ipv4ToString } from '../ip.js';
import { SequenceGaps, UNTRACKED_STREAM, type SequenceCounts } from '../sequence-gaps.js';
import { Losses, moreAfter } from '../losses.js';
import { commonRecord, ReasonCounts, exportTimeMs, icmpFromPort, recordCount } from './record-layout.js';

const HEADER_LEN = 24;
const RECORD_LEN = 52;
const MAX_COUNT = 28; // Cisco: at most 28 records per v7 datagram.

export class NetflowV7Decoder implements Decoder {
  readonly protocol = 'netflow7' as const;
  /** Times changed while decoding, by reason (describe()). */
  private readonly times = new ReasonCounts();
  /** Bytes after the records the header counted (not zero padding), per exporter: a count that understates loses the rest. */
  private readonly losses = new Losses();
  /** flow_sequence counts records ("total flows seen"); v7 has no engine fields, so one stream per address and port. */
  private readonly gaps = new SequenceGaps(['before', 'after']);

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    const count = recordCount(buf, HEADER_LEN, RECORD_LEN, MAX_COUNT);
    const sysUptime = buf.readUInt32BE(4);
    const sequence = buf.readUInt32BE(16);
    const s = this.gaps.stream(ctx.exporterIp, ctx.exporterPort, 0, ctx.receivedAt);
    if (s !== null) this.gaps.check(s, ctx.exporterIp, sequence, count);
    else this.losses.lose(ctx.exporterIp, UNTRACKED_STREAM);
    // 20-23: reserved.
    const exportMs = exportTimeMs(buf, ctx, count, this.times);

    for (let i = 0, o = HEADER_LEN; i < count; i++, o += RECORD_LEN) {
      const r = commonRecord(buf, o, ctx, 7, sysUptime, exportMs, 1, this.times);
      r.sequence = sequence;
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
      icmpFromPort(r);
      out.push(r);
    }
    if (moreAfter(buf, HEADER_LEN + count * RECORD_LEN)) this.losses.lose(ctx.exporterIp, 'bytes after the last record');
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

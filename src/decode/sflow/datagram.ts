/**
 * sFlow v5 datagrams (sFlow v5 spec, sflow_version_5.txt, "sample_datagram_v5"): version, agent
 * address, sub-agent ID, sequence number, uptime, then samples, each as data_format (enterprise
 * in the top 20 bits, format in the low 12) and length. Samples of unknown format are skipped by
 * length. The agent address, not the UDP source, is the exporter: a collector behind NAT or a
 * relay still tells agents apart.
 */
import type { FlowRecord } from '../../record/flow-record.js';
import { DecodeError, type Decoder, type PacketContext } from '../../pipeline/types.js';
import { decodeCounterSample } from './counter-sample.js';
import { decodeFlowSample, heldSamples, readAddress, type DatagramInfo } from './flow-sample.js';
import { dataSource } from './data-source.js';
import { unmapIPv4 } from '../../host-port.js';
import { SequenceGaps, UNTRACKED_DROPS, UNTRACKED_STREAM, type SequenceCounts } from '../sequence-gaps.js';
import { Losses, moreAfter } from '../losses.js';

// Sample formats, enterprise 0.
const SAMPLE_FLOW = 1;
const SAMPLE_COUNTERS = 2;
const SAMPLE_FLOW_EXPANDED = 3;
const SAMPLE_COUNTERS_EXPANDED = 4;

export interface SflowOptions {
  flows: boolean;
  counters: boolean;
}

export class SflowDecoder implements Decoder {
  readonly protocol = 'sflow5' as const;
  /** Samples skipped: unknown format or turned off by option (shown by describe()). */
  private skipped = 0;
  /** What the decoder lost without failing the datagram, per exporter, until takeLosses(). */
  private readonly losses = new Losses();
  /** The datagram sequence number counts datagrams, per agent and sub-agent. */
  private readonly gaps = new SequenceGaps(['datagrams']);

  constructor(private readonly opts: SflowOptions = { flows: true, counters: true }) {}

  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void {
    if (buf.length < 28) throw new DecodeError('short header', `${buf.length} bytes`);
    if (buf.readUInt32BE(0) !== 5) throw new DecodeError('bad version', String(buf.readUInt32BE(0)));
    const a = readAddress(buf, 4, buf.length);
    let o = a.end;
    if (o + 16 > buf.length) throw new DecodeError('short header', `${buf.length} bytes`);
    const dg: DatagramInfo = {
      // An IPv4 agent written IPv4-mapped is named as the UDP input names such a source: one exporter,
      // one name, in the flows, /api/exporters and the sampling-rate table.
      agent: a.ip === '' ? ctx.exporterIp : unmapIPv4(a.ip),
      subAgent: buf.readUInt32BE(o),
      sequence: buf.readUInt32BE(o + 4),
      receivedAt: ctx.receivedAt,
    };
    // Keyed by the agent (a relay may forward several), counted under the UDP source like every other
    // count, and bounded per UDP source too (its sender writes the agent at will).
    const s = this.gaps.stream(dg.agent, ctx.exporterPort, dg.subAgent, ctx.receivedAt, ctx.exporterIp);
    if (s !== null) this.gaps.check(s, ctx.exporterIp, dg.sequence, 1);
    else this.losses.lose(ctx.exporterIp, UNTRACKED_STREAM);
    // o + 8: uptime (ms since the agent booted): no absolute time to anchor it, not used.
    const nSamples = buf.readUInt32BE(o + 12);
    o += 16;
    if (nSamples > (buf.length - o) / 8) throw new DecodeError('bad sample count', String(nSamples));
    for (let n = 0; n < nSamples; n++) {
      if (o + 8 > buf.length) throw new DecodeError('truncated sample header');
      const format = buf.readUInt32BE(o);
      const len = buf.readUInt32BE(o + 4);
      o += 8;
      if (len > buf.length - o) throw new DecodeError('sample overruns datagram', `format ${format}, ${len} bytes`);
      switch (format) {
        case SAMPLE_FLOW:
        case SAMPLE_FLOW_EXPANDED:
          if (this.opts.flows) {
            const drops = decodeFlowSample(buf, o, len, format === SAMPLE_FLOW_EXPANDED, dg, out);
            // Bytes held at 2^63 (flow-sample.ts): counted as the template decoders count theirs.
            if (heldSamples.count !== 0) {
              heldSamples.count = 0;
              this.losses.lose(ctx.exporterIp, 'counter beyond 2^63 clamped');
            }
            if (!this.gaps.agentDrops(ctx.exporterIp, dg.agent, dg.subAgent, dataSource.type, dataSource.index, drops, ctx.receivedAt)) this.losses.lose(ctx.exporterIp, UNTRACKED_DROPS);
          } else this.skipped++;
          break;
        case SAMPLE_COUNTERS:
        case SAMPLE_COUNTERS_EXPANDED:
          if (this.opts.counters) decodeCounterSample(buf, o, len, format === SAMPLE_COUNTERS_EXPANDED, dg, out);
          else this.skipped++;
          break;
        default:
          this.skipped++; // e.g. 0:5 discarded-packet events, vendor samples
      }
      o += len;
    }
    // More after the samples the header counted (not zero padding): a count that understates would
    // otherwise lose the rest without a trace. Like tshark and sflowtool, the count is believed; the
    // datagram's records are kept and the leftover is counted as a loss of the exporter.
    if (moreAfter(buf, o)) this.losses.lose(ctx.exporterIp, 'bytes after the last sample');
  }

  takeLosses(): ReadonlyMap<string, ReadonlyMap<string, number>> | null {
    return this.losses.take();
  }

  takeSequenceGaps(): ReadonlyMap<string, SequenceCounts> | null {
    return this.gaps.take();
  }

  describe(): Record<string, unknown> {
    return { samplesSkipped: this.skipped };
  }
}

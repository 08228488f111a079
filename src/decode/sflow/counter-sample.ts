/**
 * sFlow v5 counter samples, compact (format 2, "counters_sample") and expanded (format 4,
 * "counters_sample_expanded"), with the generic interface (counter record 1, "if_counters") and
 * ethernet (counter record 2, "ethernet_counters") structures (sFlow v5 spec, "Counter Data").
 * One sample becomes one record of kind `counter`; values go to `sflow.counter.<name>` extras
 * (documented in docs/schema-counters.md). Other structures are skipped by length.
 */
import { FlowRecord } from '../../record/flow-record.js';
import { DecodeError } from '../../pipeline/types.js';
import { dataSource, readDataSource } from './data-source.js';
import type { DatagramInfo } from './flow-sample.js';

const REC_GENERIC_INTERFACE = 1;
const REC_ETHERNET = 2;
/** Sizes of the two structures (spec: 88 and 52 bytes of XDR). */
const GENERIC_LEN = 88;
const ETHERNET_LEN = 52;

/** Names in the spec's order; `64` marks an unsigned hyper (64-bit) field. */
const GENERIC_FIELDS: readonly (readonly [string, 32 | 64])[] = [
  ['if_index', 32], ['if_type', 32], ['if_speed', 64], ['if_direction', 32], ['if_status', 32],
  ['if_in_octets', 64], ['if_in_ucast_pkts', 32], ['if_in_multicast_pkts', 32], ['if_in_broadcast_pkts', 32],
  ['if_in_discards', 32], ['if_in_errors', 32], ['if_in_unknown_protos', 32],
  ['if_out_octets', 64], ['if_out_ucast_pkts', 32], ['if_out_multicast_pkts', 32], ['if_out_broadcast_pkts', 32],
  ['if_out_discards', 32], ['if_out_errors', 32], ['if_promiscuous_mode', 32],
];
const ETHERNET_FIELDS: readonly string[] = [
  'dot3_stats_alignment_errors', 'dot3_stats_fcs_errors', 'dot3_stats_single_collision_frames',
  'dot3_stats_multiple_collision_frames', 'dot3_stats_sqe_test_errors', 'dot3_stats_deferred_transmissions',
  'dot3_stats_late_collisions', 'dot3_stats_excessive_collisions', 'dot3_stats_internal_mac_transmit_errors',
  'dot3_stats_carrier_sense_errors', 'dot3_stats_frame_too_longs', 'dot3_stats_internal_mac_receive_errors',
  'dot3_stats_symbol_errors',
];
const PREFIX = 'sflow.counter.';
const GENERIC_KEYS = GENERIC_FIELDS.map(([n, w]) => [PREFIX + n, w] as const);
const ETHERNET_KEYS = ETHERNET_FIELDS.map((n) => PREFIX + n);

/** Names of every counter this decoder emits (for the schema doc and its test). */
export const COUNTER_NAMES: readonly string[] = [...GENERIC_KEYS.map(([k]) => k), ...ETHERNET_KEYS];

export function decodeCounterSample(buf: Buffer, off: number, len: number, expanded: boolean, dg: DatagramInfo, out: FlowRecord[]): void {
  const end = off + len;
  const fixed = expanded ? 16 : 12;
  if (len < fixed) throw new DecodeError('truncated counter sample', `${len} bytes`);
  const sampleSeq = buf.readUInt32BE(off);
  let o = readDataSource(buf, off + 4, expanded); // after sequence_number of the sample
  const sourceType = dataSource.type, sourceIndex = dataSource.index;
  const nRecords = buf.readUInt32BE(o);
  o += 4;
  if (nRecords > (end - o) / 8) throw new DecodeError('bad counter record count', String(nRecords));

  const r = new FlowRecord();
  r.kind = 'counter';
  // Counters are a snapshot taken when the agent polled, at most one polling interval before
  // the datagram was sent; the agent gives no absolute time, so receive time stands for it.
  r.collectTs = dg.receivedAt;
  r.startTs = dg.receivedAt;
  r.endTs = dg.receivedAt;
  r.exporterIp = dg.agent;
  r.exportVersion = 5;
  r.exportType = 'sflow';
  r.observationDomain = dg.subAgent;
  r.sequence = dg.sequence;
  r.setExtra(PREFIX + 'sample_sequence', sampleSeq);
  r.setExtra(PREFIX + 'source_id_type', sourceType);
  r.setExtra(PREFIX + 'source_id_index', sourceIndex);
  if (sourceType === 0) r.inIf = sourceIndex;

  for (let n = 0; n < nRecords; n++) {
    if (o + 8 > end) throw new DecodeError('truncated counter record header');
    const format = buf.readUInt32BE(o);
    const rlen = buf.readUInt32BE(o + 4);
    o += 8;
    if (rlen > end - o) throw new DecodeError('counter record overruns sample', `format ${format}, ${rlen} bytes`);
    const ro = o;
    o += rlen;
    if (format === REC_GENERIC_INTERFACE) {
      if (rlen < GENERIC_LEN) throw new DecodeError('truncated generic interface counters');
      let p = ro;
      for (let i = 0; i < GENERIC_KEYS.length; i++) {
        const [key, width] = GENERIC_KEYS[i]!;
        if (width === 64) {
          r.setExtra(key, buf.readUInt32BE(p) * 0x100000000 + buf.readUInt32BE(p + 4));
          p += 8;
        } else {
          r.setExtra(key, buf.readUInt32BE(p));
          p += 4;
        }
      }
      r.inIf = buf.readUInt32BE(ro);
    } else if (format === REC_ETHERNET) {
      if (rlen < ETHERNET_LEN) throw new DecodeError('truncated ethernet counters');
      for (let i = 0; i < ETHERNET_KEYS.length; i++) r.setExtra(ETHERNET_KEYS[i]!, buf.readUInt32BE(ro + 4 * i));
    }
    // Other structures (host, CPU, 802.11, vendor): skipped by length.
  }
  out.push(r);
}

/** Time conversions shared by the decoders. */
import { timeInRange, type FlowRecord } from '../record/flow-record.js';

/** Reasons settleTimes() gives; counted by the decoders, shown per exporter as `timesChanged`. */
export const TIME_OUT_OF_RANGE = 'time: out of range (another time used)';
export const TIME_END_BEFORE_START = 'time: end before start (end set to start)';

/**
 * Sets the record's start and end from the times the decoder worked out. A time no record can carry
 * (before 1970 from an export time of 0, past 2106 from a delta of 2^64 µs) takes the other one,
 * else the export time, else 0 (unknown); an end before its start is set to the start. Returns the
 * reason of the last change made, '' when none. A time after the export is kept: FortiOS sends flow
 * uptimes days ahead of its header's, and the reference decoders keep them too.
 */
export function settleTimes(r: FlowRecord, start: number, end: number, exportMs: number): string {
  let reason = '';
  const okStart = timeInRange(start), okEnd = timeInRange(end);
  if (!okStart || !okEnd) {
    reason = TIME_OUT_OF_RANGE;
    if (okEnd) start = end;
    else if (okStart) end = start;
    else start = end = timeInRange(exportMs) ? exportMs : 0;
  }
  if (end < start) {
    reason = TIME_END_BEFORE_START;
    end = start;
  }
  r.startTs = start;
  r.endTs = end;
  return reason;
}

/**
 * Epoch ms of a flow time given as router uptime (ms), from the packet's own uptime and export time.
 * Both are 32-bit counters that wrap every 49.7 days; the difference is taken modulo 2^32, and a
 * time that reads as more than half a wrap *after* the export is treated as before it (the
 * Juniper case: flow times taken just before the uptime counter wrapped).
 */
export function uptimeToEpoch(flowUptime: number, sysUptime: number, exportMs: number): number {
  let delta = (sysUptime - flowUptime) >>> 0; // how long before export, mod 2^32
  if (delta > 0x80000000) delta = delta - 0x100000000; // flow time after export: small negative
  return exportMs - delta;
}

/** Time conversions shared by the decoders. */

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

/**
 * An exporter interface's own counters, from the sFlow counter samples the stores keep (`kind`
 * 'counter' rows, their values under `extra` as `sflow.counter.*`, docs/schema-counters.md): the
 * rates between consecutive samples. These are the interface's exact traffic, errors and discards,
 * where the flow samples give an estimate scaled by the sampling rate.
 *
 * Between two samples of the same data source (sub-agent, data source type and index), each counter's growth over the time between them
 * (receive times: sFlow carries the agent's uptime only) is a rate. A sample whose sequence number
 * went down follows an agent restart, and its counters started again: no rate across it (counted in
 * `resets`). A 32-bit counter (packets, errors, discards) that went down without one has wrapped
 * around 2^32; ifHCInOctets and ifHCOutOctets are 64-bit and do not wrap in practice.
 */

const P = 'sflow.counter.';

/** One counter sample as stored: its receive time, the sub-agent, and its `extra` values. */
export interface CounterSample {
  ts: number;
  domain: number;
  values: Record<string, unknown>;
}

/** Rates over the interval ending at `ts` (per second); null where the samples lack the counter. */
export interface CounterPoint {
  ts: number;
  /** Length of the interval, seconds. */
  seconds: number;
  inBps: number | null;
  outBps: number | null;
  inPps: number | null;
  outPps: number | null;
  inErrors: number | null;
  outErrors: number | null;
  inDiscards: number | null;
  outDiscards: number | null;
}

export interface InterfaceCounters {
  /** Counter samples read (at most COUNTER_SAMPLES_MAX, the oldest of the range first), of every data source. */
  samples: number;
  /**
   * Data sources whose samples gave this ifIndex (an interface, and a VLAN or SAP of it, say), and the
   * one the rates are of: the interface itself (type 0, the index), else the one with the most samples.
   */
  sources: number;
  source: { domain: number; type: number; index: number } | null;
  /** More samples were in the range than were read: the points end before its end. */
  truncated: boolean;
  points: CounterPoint[];
  /** The newest sample's interface state: ifSpeed (bits per second; 0 unknown), ifStatus bits, ifDirection. */
  latest: { ts: number; speed: number; status: number; direction: number } | null;
  /** Growth over the range, summed over the intervals (resets excluded). */
  totals: { inOctets: number; outOctets: number; inErrors: number; outErrors: number; inDiscards: number; outDiscards: number };
  /** Intervals skipped for an agent restart (the sample sequence went down). */
  resets: number;
}

/** Samples one answer reads at most: a week of a 30-second polling interval, twice over. */
export const COUNTER_SAMPLES_MAX = 40_000;

const TWO_32 = 2 ** 32;

function numOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A counter's growth from `a` to `b`; a 32-bit one that went down wrapped once. Null when either lacks it. */
function growth(a: Record<string, unknown>, b: Record<string, unknown>, name: string, wide: boolean): number | null {
  const x = numOf(a[P + name]), y = numOf(b[P + name]);
  if (x === null || y === null) return null;
  if (y >= x) return y - x;
  return wide ? null : y + TWO_32 - x;
}

function wentDown(a: Record<string, unknown>, b: Record<string, unknown>, name: string): boolean {
  const x = numOf(a[P + name]), y = numOf(b[P + name]);
  return x !== null && y !== null && y < x;
}

function sumOf(parts: (number | null)[]): number | null {
  let s = 0;
  for (const p of parts) {
    if (p === null) return null;
    s += p;
  }
  return s;
}

/** A sample's data source: sub-agent, source type and index (its sample sequence counts per source). */
function sourceOf(s: CounterSample): { domain: number; type: number; index: number } {
  return { domain: s.domain, type: numOf(s.values[P + 'source_id_type']) ?? -1, index: numOf(s.values[P + 'source_id_index']) ?? -1 };
}

/**
 * Rates and totals of `samples`, in time order (one ifIndex of one exporter). Several data sources
 * may give one ifIndex (a VLAN or SAP source beside the port; sub-agents): the rates are of one of
 * them (InterfaceCounters.source), as one interface's traffic, never of their samples interleaved.
 */
export function counterRates(samples: readonly CounterSample[], truncated = false, ifIndex = -1): InterfaceCounters {
  const bySource = new Map<string, CounterSample[]>();
  for (const s of samples) {
    const src = sourceOf(s);
    const key = `${src.domain}/${src.type}/${src.index}`;
    const list = bySource.get(key);
    if (list === undefined) bySource.set(key, [s]);
    else list.push(s);
  }
  const lists = [...bySource.values()];
  const own = lists.filter((l) => { const src = sourceOf(l[0]!); return src.type === 0 && src.index === ifIndex; });
  const pick = (own.length > 0 ? own : lists).reduce<CounterSample[] | null>((best, l) => (best === null || l.length > best.length ? l : best), null) ?? [];
  const points: CounterPoint[] = [];
  const totals = { inOctets: 0, outOctets: 0, inErrors: 0, outErrors: 0, inDiscards: 0, outDiscards: 0 };
  let resets = 0;
  let prev: CounterSample | undefined;
  for (const b of pick) {
    const a = prev;
    prev = b;
    if (a === undefined) continue;
    const seconds = (b.ts - a.ts) / 1000;
    if (!(seconds > 0)) continue;
    const seqA = numOf(a.values[P + 'sample_sequence']), seqB = numOf(b.values[P + 'sample_sequence']);
    if (seqA !== null && seqB !== null && seqB < seqA) {
      resets++;
      continue;
    }
    if (wentDown(a.values, b.values, 'if_in_octets') || wentDown(a.values, b.values, 'if_out_octets')) {
      // A 64-bit counter went down with the sequence going up: the counters were cleared.
      resets++;
      continue;
    }
    const inOctets = growth(a.values, b.values, 'if_in_octets', true);
    const outOctets = growth(a.values, b.values, 'if_out_octets', true);
    const inPkts = sumOf(['if_in_ucast_pkts', 'if_in_multicast_pkts', 'if_in_broadcast_pkts'].map((n) => growth(a.values, b.values, n, false)));
    const outPkts = sumOf(['if_out_ucast_pkts', 'if_out_multicast_pkts', 'if_out_broadcast_pkts'].map((n) => growth(a.values, b.values, n, false)));
    const inErrors = growth(a.values, b.values, 'if_in_errors', false), outErrors = growth(a.values, b.values, 'if_out_errors', false);
    const inDiscards = growth(a.values, b.values, 'if_in_discards', false), outDiscards = growth(a.values, b.values, 'if_out_discards', false);
    const rate = (v: number | null, k = 1): number | null => (v === null ? null : (v * k) / seconds);
    points.push({
      ts: b.ts, seconds,
      inBps: rate(inOctets, 8), outBps: rate(outOctets, 8), inPps: rate(inPkts), outPps: rate(outPkts),
      inErrors: rate(inErrors), outErrors: rate(outErrors), inDiscards: rate(inDiscards), outDiscards: rate(outDiscards),
    });
    totals.inOctets += inOctets ?? 0;
    totals.outOctets += outOctets ?? 0;
    totals.inErrors += inErrors ?? 0;
    totals.outErrors += outErrors ?? 0;
    totals.inDiscards += inDiscards ?? 0;
    totals.outDiscards += outDiscards ?? 0;
  }
  const last = pick[pick.length - 1];
  const latest = last === undefined ? null : {
    ts: last.ts,
    speed: numOf(last.values[P + 'if_speed']) ?? 0,
    status: numOf(last.values[P + 'if_status']) ?? 0,
    direction: numOf(last.values[P + 'if_direction']) ?? 0,
  };
  return { samples: samples.length, sources: lists.length, source: pick.length > 0 ? sourceOf(pick[0]!) : null, truncated, points, latest, totals, resets };
}

/** A stored row (`ts`, `rest`) as a sample: `rest` holds the counters under `extra` and the sub-agent as `observationDomain`. */
export function sampleOf(ts: number, rest: string): CounterSample {
  let o: { extra?: unknown; observationDomain?: unknown } = {};
  try {
    o = rest === '' ? {} : (JSON.parse(rest) as typeof o);
  } catch {
    // A `rest` that does not parse gives no counters (the interval around it has no rates).
  }
  const values = o.extra !== null && typeof o.extra === 'object' ? (o.extra as Record<string, unknown>) : {};
  return { ts, domain: numOf(o.observationDomain) ?? 0, values };
}

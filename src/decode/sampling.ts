/**
 * Sampling rates of NetFlow v9 / IPFIX exporters, learnt from options data (RFC 3954 §6.2 and the
 * v9 field types 34/35/48/49/50; RFC 7270 / RFC 5477 for IPFIX 302-311) and kept per exporter and
 * observation domain, and within that per sampler ID.
 */

/** Options-data values that carry a sampling rate, by element id (enterprise 0). */
export const SAMPLING_IE = {
  SAMPLING_INTERVAL: 34,
  SAMPLER_ID: 48,
  SAMPLER_RANDOM_INTERVAL: 50,
  SELECTOR_ID: 302,
  SAMPLING_PACKET_INTERVAL: 305,
  SAMPLING_PACKET_SPACE: 306,
  SAMPLING_SIZE: 309,
  SAMPLING_POPULATION: 310,
  SAMPLING_PROBABILITY: 311,
} as const;

export class SamplingTable {
  /** Rate per sampler ID (v9 FLOW_SAMPLER_ID 48, IPFIX selectorId 302). */
  readonly bySampler = new Map<number, number>();
  /** Rate announced without a sampler ID: applies to the whole domain. */
  domainRate = 0;

  /** Learns a rate from one options record's values (by IANA element id). */
  learn(values: ReadonlyMap<number, number>): boolean {
    const rate = rateOf(values);
    if (rate <= 0) return false;
    const sampler = values.get(SAMPLING_IE.SAMPLER_ID) ?? values.get(SAMPLING_IE.SELECTOR_ID);
    if (sampler !== undefined) {
      if (this.bySampler.size < 65536 || this.bySampler.has(sampler)) this.bySampler.set(sampler, rate);
    } else this.domainRate = rate;
    return true;
  }

  /** Rate for a record that named `sampler` (-1 when it named none); 0 when unknown. */
  rateFor(sampler: number): number {
    if (sampler >= 0) {
      const r = this.bySampler.get(sampler);
      if (r !== undefined) return r;
    }
    if (this.domainRate > 0) return this.domainRate;
    // One sampler on the box: its rate applies even when data records do not name it.
    if (this.bySampler.size === 1) for (const r of this.bySampler.values()) return r;
    return 0;
  }

  toJSON(): { domainRate: number; bySampler: [number, number][] } {
    return { domainRate: this.domainRate, bySampler: [...this.bySampler] };
  }

  static fromJSON(j: unknown): SamplingTable {
    const t = new SamplingTable();
    const o = j as { domainRate?: unknown; bySampler?: unknown };
    if (typeof o?.domainRate === 'number') t.domainRate = o.domainRate;
    if (Array.isArray(o?.bySampler)) for (const e of o.bySampler) if (Array.isArray(e) && typeof e[0] === 'number' && typeof e[1] === 'number') t.bySampler.set(e[0], e[1]);
    return t;
  }
}

/** 1-in-N from whichever form the exporter used. */
export function rateOf(v: ReadonlyMap<number, number>): number {
  const interval = v.get(SAMPLING_IE.SAMPLING_INTERVAL) ?? v.get(SAMPLING_IE.SAMPLER_RANDOM_INTERVAL);
  if (interval !== undefined && interval > 0) return interval;
  // RFC 5477 §8.2.5/8.2.6: n-out-of-N random sampling (Cisco IOS XR sends size 1, population N).
  const size = v.get(SAMPLING_IE.SAMPLING_SIZE), pop = v.get(SAMPLING_IE.SAMPLING_POPULATION);
  if (size !== undefined && pop !== undefined && size > 0 && pop >= size) return Math.round(pop / size);
  const pi = v.get(SAMPLING_IE.SAMPLING_PACKET_INTERVAL);
  const space = v.get(SAMPLING_IE.SAMPLING_PACKET_SPACE);
  // RFC 5477 §8.2.2/8.2.3: systematic count-based sampling selects `interval` packets out of every interval+space.
  if (pi !== undefined && pi > 0 && space !== undefined) return Math.round((pi + space) / pi);
  const p = v.get(SAMPLING_IE.SAMPLING_PROBABILITY);
  if (p !== undefined && p > 0 && p <= 1) return Math.round(1 / p);
  // An interval alone: exporters that use it as 1-in-N.
  if (pi !== undefined && pi > 0) return pi;
  return 0;
}

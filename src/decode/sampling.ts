/**
 * Sampling rates of NetFlow v9 / IPFIX exporters, learnt from options data (RFC 3954 §6.2 and the
 * v9 field types 34/35/48/49/50; RFC 7270 / RFC 5477 for IPFIX 302-311) and kept per exporter and
 * observation domain, and within that per sampler ID or interface. A rate is a whole 1-in-N: forms
 * that give a fraction (n-out-of-N with n above 1, a packet interval with its space) are rounded, and
 * one above 4294967295 (MAX_RATE) is held there.
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

/** IANA ingressInterface (IE 10); a v9 options scope of type Interface (2) is read as it. */
export const SCOPE_INTERFACE = 10;

/** A learnt rate and when options data last announced it (epoch ms, the datagram's receive time). */
interface Learnt { rate: number; seen: number }

type SavedRate = [number, number, number];

/** Bound on samplers and on interfaces remembered per exporter and domain. */
const MAX_KEYS = 65_536;

/**
 * Entries left for all the tables of one decoder (shared by its exporters' domains): a bound per
 * domain alone multiplied by 10,000 domains would let spoofed sources take tens of gigabytes.
 */
export interface KeyBudget { left: number }

/**
 * One exporter domain's rates, by what their options record was scoped to: a sampler (v9 FLOW_SAMPLER_ID
 * 48, IPFIX selectorId 302), an interface (IPFIX ingressInterface 10, v9 scope Interface), or nothing
 * (the whole domain). A rate not announced again within the template lifetime is forgotten (expire()),
 * like a template: an exporter that stops sampling stops sending it, and its flows must not keep being
 * multiplied by the old rate.
 */
export class SamplingTable {
  private readonly bySampler = new Map<number, Learnt>();
  private readonly byInterface = new Map<number, Learnt>();
  private domain: Learnt | null = null;
  /** No entry was announced before this (a lower bound): expire() has nothing to do until it is old. */
  private oldest = Infinity;

  constructor(private readonly budget: KeyBudget = { left: Infinity }) {}

  /** Gives its sampler and interface entries back to the budget and forgets them. */
  release(): void {
    this.budget.left += this.bySampler.size + this.byInterface.size;
    this.bySampler.clear();
    this.byInterface.clear();
    this.domain = null;
  }

  get empty(): boolean {
    return this.domain === null && this.bySampler.size === 0 && this.byInterface.size === 0;
  }

  /** Learns a rate from one options record's values (by IANA element id) received at `now`. */
  learn(values: ReadonlyMap<number, number>, now: number): boolean {
    const rate = rateOf(values);
    if (rate <= 0) return false;
    const entry = { rate, seen: now };
    if (now < this.oldest) this.oldest = now;
    const sampler = values.get(SAMPLING_IE.SAMPLER_ID) ?? values.get(SAMPLING_IE.SELECTOR_ID);
    const ifIndex = values.get(SCOPE_INTERFACE);
    if (sampler !== undefined) this.put(this.bySampler, sampler, entry);
    else if (ifIndex !== undefined) this.put(this.byInterface, ifIndex, entry);
    else this.domain = entry;
    return true;
  }

  /**
   * Rate for a record that named `sampler` (-1 when it named none) and came in on `ifIndex`; 0 when
   * unknown. A named sampler's own rate first, then its interface's, then the domain's; with none of
   * these, a record that names no sampler takes the rate of the only sampler there is. A record that
   * names a sampler the exporter never described (Cisco's 0 for flows not sampled) does not.
   */
  rateFor(sampler: number, ifIndex: number): number {
    if (sampler >= 0) {
      const r = this.bySampler.get(sampler);
      if (r !== undefined) return r.rate;
    }
    if (this.byInterface.size > 0) {
      const r = this.byInterface.get(ifIndex);
      if (r !== undefined) return r.rate;
    }
    if (this.domain !== null) return this.domain.rate;
    if (sampler < 0 && this.bySampler.size === 1) for (const r of this.bySampler.values()) return r.rate;
    return 0;
  }

  /** Forgets rates not announced for longer than `lifetimeMs` before `now`; whether any went. */
  expire(now: number, lifetimeMs: number): boolean {
    if (now - this.oldest <= lifetimeMs) return false;
    let gone = false;
    let oldest = Infinity;
    if (this.domain !== null) {
      if (now - this.domain.seen > lifetimeMs) {
        this.domain = null;
        gone = true;
      } else oldest = this.domain.seen;
    }
    for (const m of [this.bySampler, this.byInterface]) {
      for (const [k, e] of m) {
        if (now - e.seen > lifetimeMs) {
          m.delete(k);
          this.budget.left++;
          gone = true;
        } else if (e.seen < oldest) oldest = e.seen;
      }
    }
    this.oldest = oldest;
    return gone;
  }

  /** For /api/exporters and the template view. */
  describe(): { samplingRate?: number; samplerRates?: Record<number, number>; interfaceRates?: Record<number, number> } {
    const rates = (m: Map<number, Learnt>) => (m.size > 0 ? Object.fromEntries([...m].map(([k, e]) => [k, e.rate])) : undefined);
    const out: ReturnType<SamplingTable['describe']> = {};
    if (this.domain !== null) out.samplingRate = this.domain.rate;
    const s = rates(this.bySampler), i = rates(this.byInterface);
    if (s !== undefined) out.samplerRates = s;
    if (i !== undefined) out.interfaceRates = i;
    return out;
  }

  toJSON(): { domain: [number, number] | null; bySampler: SavedRate[]; byInterface: SavedRate[] } {
    const list = (m: Map<number, Learnt>): SavedRate[] => [...m].map(([k, e]) => [k, e.rate, e.seen]);
    return { domain: this.domain === null ? null : [this.domain.rate, this.domain.seen], bySampler: list(this.bySampler), byInterface: list(this.byInterface) };
  }

  /**
   * Restores a saved table. A cache written before rates had times (`domainRate`, pairs) gets `seenAt`,
   * so those rates last one more lifetime unless announced again.
   */
  static fromJSON(j: unknown, seenAt: number, budget?: KeyBudget): SamplingTable {
    const t = new SamplingTable(budget);
    const o = j as { domain?: unknown; domainRate?: unknown; bySampler?: unknown; byInterface?: unknown };
    const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    // Held as learn() holds them: a cache saved before rates were bounded may hold a larger one.
    if (Array.isArray(o?.domain) && num(o.domain[0]) && num(o.domain[1]) && o.domain[0] > 0) t.domain = { rate: heldRate(o.domain[0]), seen: o.domain[1] };
    else if (num(o?.domainRate) && o.domainRate > 0) t.domain = { rate: heldRate(o.domainRate), seen: seenAt };
    const read = (list: unknown, m: Map<number, Learnt>) => {
      if (!Array.isArray(list)) return;
      for (const e of list) if (Array.isArray(e) && num(e[0]) && num(e[1]) && e[1] > 0) t.put(m, e[0], { rate: heldRate(e[1]), seen: num(e[2]) ? e[2] : seenAt });
    };
    read(o?.bySampler, t.bySampler);
    read(o?.byInterface, t.byInterface);
    t.oldest = -Infinity; // the next expire() looks at every entry
    return t;
  }

  private put(m: Map<number, Learnt>, key: number, e: Learnt): void {
    if (m.has(key)) m.set(key, e);
    else if (m.size < MAX_KEYS && this.budget.left > 0) {
      m.set(key, e);
      this.budget.left--;
    }
  }
}

/**
 * The highest rate applied: the stores' sampling_rate column is a u32 (DuckDB UINTEGER, ClickHouse
 * UInt32), and a row must name the rate its counts were scaled by.
 */
export const MAX_RATE = 0xffffffff;

/** `rate` held at MAX_RATE (a probability of 1e-10, an interval of 1 with a space of 2^32 - 1). */
export function heldRate(rate: number): number {
  return rate > MAX_RATE ? MAX_RATE : rate;
}

/** 1-in-N from whichever form the exporter used, at most MAX_RATE. */
export function rateOf(v: ReadonlyMap<number, number>): number {
  // A samplingInterval of 0 (not sampling by that method) does not hide a samplerRandomInterval.
  const fixed = v.get(SAMPLING_IE.SAMPLING_INTERVAL);
  const interval = fixed !== undefined && fixed > 0 ? fixed : v.get(SAMPLING_IE.SAMPLER_RANDOM_INTERVAL);
  if (interval !== undefined && interval > 0) return heldRate(interval);
  // RFC 5477 §8.2.5/8.2.6: n-out-of-N random sampling (Cisco IOS XR sends size 1, population N).
  const size = v.get(SAMPLING_IE.SAMPLING_SIZE), pop = v.get(SAMPLING_IE.SAMPLING_POPULATION);
  if (size !== undefined && pop !== undefined && size > 0 && pop >= size) return heldRate(Math.round(pop / size));
  const pi = v.get(SAMPLING_IE.SAMPLING_PACKET_INTERVAL);
  const space = v.get(SAMPLING_IE.SAMPLING_PACKET_SPACE);
  // RFC 5477 §8.2.2/8.2.3: systematic count-based sampling selects `interval` packets out of every interval+space.
  if (pi !== undefined && pi > 0 && space !== undefined) return heldRate(Math.round((pi + space) / pi));
  const p = v.get(SAMPLING_IE.SAMPLING_PROBABILITY);
  if (p !== undefined && p > 0 && p <= 1) return heldRate(Math.round(1 / p));
  // An interval alone: exporters that use it as 1-in-N.
  if (pi !== undefined && pi > 0) return heldRate(pi);
  return 0;
}

/**
 * Loss before the collector, told by the exporters' own sequence numbers. Every export stream (one
 * exporter address and UDP port, and within it the v5 engine, the v9 source ID, the IPFIX observation
 * domain or the sFlow sub-agent) numbers what it sends: NetFlow v9 and sFlow count datagrams
 * (RFC 3954 §5.1, sFlow v5 "sample_datagram_v5"), NetFlow v5/v7 and IPFIX count records (Cisco's v5
 * header "flow_sequence", RFC 7011 §3.1). A number past the one expected means that many were sent
 * and never decoded here: lost on the network, dropped from a full socket buffer, or dropped from a
 * full decode queue. Kernel drops only count the second of those; this counts all three.
 *
 * What a step means (in the stream's unit, modulo 2^32):
 * - forward by up to MAX_GAP: that many missing;
 * - the last number again: no information (some exporters never fill the field), not counted;
 * - back by up to LATE_WINDOW: a datagram that arrived late (reordered or repeated); the one it
 *   follows had already counted it missing, so that count is too high by what the late one carried
 *   (one datagram, or its records), and the stream goes on expecting what follows the newest number;
 * - any other step: the exporter restarted (or the field is garbage): counted as a reset, and the
 *   stream starts over from the new number.
 *
 * How exporters number, in practice (the stream's mode):
 * - 'before': the records sent before this datagram (RFC 7011, Cisco v5): next = number + records;
 * - 'after': the records sent up to and including this datagram (softflowd 1.1.0's IPFIX):
 *   this datagram's number = the previous one's + its own records;
 * - 'datagrams': datagrams sent (RFC 3954, sFlow): next = number + 1. Some NetFlow v9 exporters
 *   count the records sent before instead, as v5 does.
 * A stream that may number in more than one way starts open: each step is checked against every way
 * it may use, and the first step only one way explains settles it (that step is no loss). Steps that
 * several ways explain are in order; a step none explains is judged by the protocol's standard way.
 * A loss that happens to look like another way's step, before the stream is settled, would settle it
 * wrongly; that coincidence is the price of not configuring each exporter.
 *
 * Per datagram: two Map lookups and a few integer operations; nothing is made after a stream's first.
 */
export type SequenceUnit = 'datagrams' | 'records';

/** What an exporter's sequence numbers told, summed over its streams. */
export interface SequenceCounts {
  /** Datagrams sent and not decoded (NetFlow v9, sFlow). */
  missingDatagrams: number;
  /** Records sent and not decoded (NetFlow v5/v7, IPFIX, v9 exporters that count records). */
  missingRecords: number;
  /** Datagrams that came after ones numbered later (reordered or repeated). */
  late: number;
  /** Steps that were neither loss nor lateness: exporter restarts, garbage numbers. */
  resets: number;
  /** sFlow: samples the agent dropped for lack of resources (the growth of its flow samples' `drops` counters). */
  agentDrops: number;
}

export function noSequenceCounts(): SequenceCounts {
  return { missingDatagrams: 0, missingRecords: 0, late: 0, resets: 0, agentDrops: 0 };
}

/** Adds `from` into `to`. */
export function addSequenceCounts(to: SequenceCounts, from: SequenceCounts): void {
  to.missingDatagrams += from.missingDatagrams;
  to.missingRecords += from.missingRecords;
  to.late += from.late;
  to.resets += from.resets;
  to.agentDrops += from.agentDrops;
}

const TWO_32 = 2 ** 32;
const HALF = 2 ** 31;

/** How a stream numbers what it sends (see the file comment). */
export type SequenceMode = 'before' | 'after' | 'datagrams';

export interface SequenceStream {
  mode: SequenceMode;
  /** The other ways it may still turn out to number; empty once settled. */
  open: readonly SequenceMode[];
  /** The previous datagram's number (-1 before the first), its records and flow records (-1 when not known). */
  last: number;
  lastRecords: number;
  lastFlows: number;
  lastSeen: number;
  /** The UDP source it came from (for sFlow, not the agent the stream is keyed by): roomForStream() bounds streams per sender (MAX_STREAMS_PER_SENDER). */
  sender: string;
}

/**
 * The number `mode` expects after `s`'s last datagram, given that datagram's record count (`before`)
 * and this one's (`now`), counted one way or the other; -1 when it cannot tell.
 */
function expectedBy(mode: SequenceMode, s: SequenceStream, before: number, now: number): number {
  if (mode === 'datagrams') return (s.last + 1) % TWO_32;
  const n = mode === 'before' ? before : now;
  return n < 0 ? -1 : (s.last + n) % TWO_32;
}

/**
 * Whether `mode` explains the step from `s`'s last datagram to `seq`, counting options data records or
 * not; null when it cannot tell (the record count it needs is not known).
 */
function explains(mode: SequenceMode, s: SequenceStream, seq: number, records: number, flows: number): boolean | null {
  const withOptions = expectedBy(mode, s, s.lastRecords, records);
  if (withOptions < 0) return null;
  return seq === withOptions || seq === expectedBy(mode, s, s.lastFlows, flows);
}

const unitOf = (m: SequenceMode): SequenceUnit => (m === 'datagrams' ? 'datagrams' : 'records');

/**
 * Forward jumps longer than this are an exporter restart, not loss. A million datagrams is about 25
 * seconds of a busy exporter at 40,000 a second; the record limit is that at 30 records a datagram.
 */
const MAX_GAP: Record<SequenceUnit, number> = { datagrams: 1_000_000, records: 30_000_000 };
/** Backward steps up to this many are a late datagram; longer ones a restart. */
const LATE_WINDOW: Record<SequenceUnit, number> = { datagrams: 1_000, records: 30_000 };
/**
 * Streams kept per decoder. A stream is made by any header (its domain, source ID or sub-agent is a free
 * 32-bit value), so past the bound streams silent for IDLE_MS are forgotten to make room, and a datagram
 * whose stream still finds none is counted untracked (its exporter's loss goes uncounted meanwhile).
 */
const MAX_STREAMS = 20_000;
/**
 * Streams of one address (or sFlow agent): one address cannot take every stream. Real exporters have a
 * handful of domains or sub-agents, times the UDP ports of their last restarts (kept for IDLE_MS); the
 * template store allows 256 scopes an address.
 */
const MAX_STREAMS_PER_EXPORTER = 1_024;
/**
 * Streams and drop sources of one UDP source. sFlow's are keyed by the agent address inside the
 * datagram, which its sender writes at will: without this one sender could name 20,000 agents. A relay
 * forwarding many agents under its own address still has room for thousands.
 */
const MAX_STREAMS_PER_SENDER = 4_096;
const MAX_DROP_SOURCES_PER_SENDER = 8_192;
/** sFlow data sources whose `drops` counter is followed, per decoder and per agent (a large chassis has a few thousand ports). */
const MAX_DROP_SOURCES = 20_000;
const MAX_DROP_SOURCES_PER_AGENT = 4_096;
const IDLE_MS = 600_000;
/**
 * Least time between two scans for idle streams and sources run because a bound was reached: a source
 * that keeps the table full must not make every datagram walk it (a 20,000-entry scan is about 200 us).
 */
const FORGET_EVERY_MS = 1_000;

/** Counted as a decode reason of the exporter, per datagram whose stream is not followed. */
export const UNTRACKED_STREAM = 'sequence not followed: too many streams';
/** Counted per flow sample whose data source's `drops` counter is not followed. */
export const UNTRACKED_DROPS = 'agent drops not followed: data source past the bounds';

/** An sFlow data source's last `drops` value, when it was seen (changed in place) and the UDP source it came from. */
interface DropsSeen { drops: number; lastSeen: number; sender: string }

/**
 * The data sources followed of one sFlow agent: sub-agent -> type * 2^32 + index -> DropsSeen. The sub-agent
 * ID is a free 32-bit value, so it cannot share one number with the source's 64 bits: it gets a level of
 * its own. `size` counts the sources under every sub-agent (MAX_DROP_SOURCES_PER_AGENT).
 */
interface AgentSources { size: number; bySubAgent: Map<number, Map<number, DropsSeen>> }

/**
 * Data source types kept apart in one number with the 32-bit index. sFlow defines 0 to 2, and the compact
 * data source has 8 bits for the type; only an expanded sample could write more, and a type past this
 * bound is counted UNTRACKED_DROPS.
 */
const MAX_SOURCE_TYPE = 2 ** 21;

export class SequenceGaps {
  /** exporter -> port * 2^32 + domain -> stream. */
  private readonly streams = new Map<string, Map<number, SequenceStream>>();
  private size = 0;
  /** sFlow agent -> its data sources' last `drops` values (agentDrops()). */
  private readonly dropsSeen = new Map<string, AgentSources>();
  private dropsSources = 0;
  /** Streams and drop sources per UDP source (MAX_*_PER_SENDER). */
  private readonly senderStreams = new Map<string, number>();
  private readonly senderDrops = new Map<string, number>();
  private lastForget = -Infinity;
  private counts: Map<string, SequenceCounts> | null = null;

  /** `modes`: the ways this protocol's exporters number, the standard one first. */
  constructor(private readonly modes: readonly SequenceMode[]) {}

  /**
   * The stream of this exporter, port and domain, made at first sight; null when a bound is reached
   * (the caller counts the datagram as UNTRACKED_STREAM).
   */
  stream(exporter: string, port: number, domain: number, now: number, sender = exporter): SequenceStream | null {
    const key = port * TWO_32 + domain;
    let byKey = this.streams.get(exporter);
    let s = byKey?.get(key);
    if (s === undefined) {
      if (!this.roomForStream(byKey, sender) && !(this.forgetDue(now) && this.roomForStream((byKey = this.streams.get(exporter)), sender))) return null;
      if (byKey === undefined) this.streams.set(exporter, (byKey = new Map()));
      s = { mode: this.modes[0]!, open: this.modes.length > 1 ? this.modes : [], last: -1, lastRecords: -1, lastFlows: -1, lastSeen: now, sender };
      byKey.set(key, s);
      this.size++;
      this.senderStreams.set(sender, (this.senderStreams.get(sender) ?? 0) + 1);
    }
    s.lastSeen = now;
    return s;
  }

  /**
   * Judges `seq`, the number of a datagram of `records` records (-1 when not known: IPFIX data held for
   * its template), against what `s` expected from the datagrams before it. `flows`: the same without
   * IPFIX options data records, which RFC 7011 counts and some exporters (softflowd 1.1.0) do not:
   * a step either count explains is in order.
   */
  check(s: SequenceStream, exporter: string, seq: number, records: number, flows = records): void {
    if (s.last >= 0 && seq !== s.last) {
      if (s.open.length > 0) {
        // A way that cannot tell (a record count not known) leaves the step unjudged and the stream open.
        let n = 0, unknown = false, which: SequenceMode = s.mode;
        for (const m of s.open) {
          const e = explains(m, s, seq, records, flows);
          if (e === null) unknown = true;
          else if (e) { n++; which = m; }
        }
        if (n === 1 && !unknown) { s.mode = which; s.open = []; }
        if (n > 0 || unknown) { this.step(s, seq, records, flows); return; }
      } else if (explains(s.mode, s, seq, records, flows) !== false) { this.step(s, seq, records, flows); return; }
      const expected = expectedBy(s.mode, s, s.lastRecords, records);
      if (expected >= 0 && seq !== expected) {
        const unit = unitOf(s.mode);
        const ahead = (seq - expected + TWO_32) % TWO_32;
        if (ahead < HALF && ahead <= MAX_GAP[unit]) {
          const c = this.countsOf(exporter);
          if (unit === 'datagrams') c.missingDatagrams += ahead;
          else c.missingRecords += ahead;
        } else if (ahead >= HALF && TWO_32 - ahead <= LATE_WINDOW[unit]) {
          this.countsOf(exporter).late++;
          return; // the stream still expects what it expected
        } else this.countsOf(exporter).resets++;
      }
    }
    this.step(s, seq, records, flows);
  }

  private roomForStream(byKey: Map<number, SequenceStream> | undefined, sender: string): boolean {
    return this.size < MAX_STREAMS && (byKey === undefined || byKey.size < MAX_STREAMS_PER_EXPORTER) && (this.senderStreams.get(sender) ?? 0) < MAX_STREAMS_PER_SENDER;
  }

  private step(s: SequenceStream, seq: number, records: number, flows: number): void {
    s.last = seq;
    s.lastRecords = records;
    s.lastFlows = flows;
  }

  /** Hands over, and forgets, what was counted since the last call; null when nothing. */
  take(): ReadonlyMap<string, SequenceCounts> | null {
    const taken = this.counts;
    this.counts = null;
    return taken;
  }

  private countsOf(exporter: string): SequenceCounts {
    this.counts ??= new Map();
    let c = this.counts.get(exporter);
    if (c === undefined) this.counts.set(exporter, (c = noSequenceCounts()));
    return c;
  }

  /**
   * sFlow: an agent's `drops` counter for one data source (cumulative since the agent started). Its growth
   * since the source's last sample is counted; the first sample only sets where it is, and a counter
   * that went back (the agent restarted) starts over. Sources silent for IDLE_MS are forgotten when room
   * is needed; whether the source is followed (false: past the bounds, the caller counts UNTRACKED_DROPS).
   */
  agentDrops(exporter: string, agent: string, subAgent: number, sourceType: number, sourceIndex: number, drops: number, now: number): boolean {
    if (sourceType >= MAX_SOURCE_TYPE) return false;
    // Numbers, not a string of the three: nothing is made for a source already followed.
    const key = sourceType * TWO_32 + sourceIndex;
    let sources = this.dropsSeen.get(agent);
    const seen = sources?.bySubAgent.get(subAgent)?.get(key);
    if (seen === undefined) {
      if (!this.roomForDrops(sources, exporter) && !(this.forgetDue(now) && this.roomForDrops((sources = this.dropsSeen.get(agent)), exporter))) return false;
      if (sources === undefined) this.dropsSeen.set(agent, (sources = { size: 0, bySubAgent: new Map() }));
      let bySource = sources.bySubAgent.get(subAgent);
      if (bySource === undefined) sources.bySubAgent.set(subAgent, (bySource = new Map()));
      bySource.set(key, { drops, lastSeen: now, sender: exporter });
      sources.size++;
      this.dropsSources++;
      this.senderDrops.set(exporter, (this.senderDrops.get(exporter) ?? 0) + 1);
      return true;
    }
    const grew = (drops - seen.drops + TWO_32) % TWO_32;
    if (grew > 0 && grew < HALF) this.countsOf(exporter).agentDrops += grew;
    seen.drops = drops;
    seen.lastSeen = now;
    return true;
  }

  private roomForDrops(sources: AgentSources | undefined, sender: string): boolean {
    return this.dropsSources < MAX_DROP_SOURCES && (sources === undefined || sources.size < MAX_DROP_SOURCES_PER_AGENT) && (this.senderDrops.get(sender) ?? 0) < MAX_DROP_SOURCES_PER_SENDER;
  }

  /** Runs forgetIdle() unless one ran less than FORGET_EVERY_MS ago; whether it ran. */
  private forgetDue(now: number): boolean {
    // Either direction: a replayed capture's clock may run behind.
    if (Math.abs(now - this.lastForget) < FORGET_EVERY_MS) return false;
    this.lastForget = now;
    this.forgetIdle(now);
    return true;
  }

  /** Forgets the streams and drop sources silent for IDLE_MS. */
  private forgetIdle(now: number): void {
    for (const [exporter, byKey] of this.streams) {
      this.size -= forgetSilent(byKey, this.senderStreams, now);
      if (byKey.size === 0) this.streams.delete(exporter);
    }
    for (const [agent, sources] of this.dropsSeen) {
      for (const [subAgent, bySource] of sources.bySubAgent) {
        const forgotten = forgetSilent(bySource, this.senderDrops, now);
        sources.size -= forgotten;
        this.dropsSources -= forgotten;
        if (bySource.size === 0) sources.bySubAgent.delete(subAgent);
      }
      if (sources.size === 0) this.dropsSeen.delete(agent);
    }
  }
}

/** Forgets the entries of `byKey` silent for IDLE_MS at `now`, each released from its sender's count; how many. */
function forgetSilent<T extends { lastSeen: number; sender: string }>(byKey: Map<number, T>, senders: Map<string, number>, now: number): number {
  let forgotten = 0;
  for (const [key, e] of byKey) {
    if (now - e.lastSeen <= IDLE_MS) continue;
    byKey.delete(key);
    forgotten++;
    release(senders, e.sender);
  }
  return forgotten;
}

/** One fewer for `sender`; gone at zero. */
function release(counts: Map<string, number>, sender: string): void {
  const n = (counts.get(sender) ?? 1) - 1;
  if (n <= 0) counts.delete(sender);
  else counts.set(sender, n);
}

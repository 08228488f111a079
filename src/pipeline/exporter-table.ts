/**
 * One entry per exporter address, bounded (spoofed sources cannot grow memory): past MAX_EXPORTERS a
 * new exporter takes the place of those silent for EVICT_IDLE_MS, and when every one was heard from
 * more recently it shares the one overflow entry; exporters silent for FORGET_IDLE_MS are forgotten
 * anyway. A forgotten exporter's counts go to the table's user (`forgotten`: the overflow entry, or
 * a total kept apart from the entries), so sums never go down. The exporter counters (exporter-stats.ts) and the
 * decoders' per-exporter reasons use it, so both forget an exporter by the same rules (the exporter
 * counters also retire addresses that never sent records sooner: exporter-stats.ts). get() makes an
 * entry, find() does not, retire() forgets one at once.
 *
 * Times are the datagrams' (capture times in `ufc replay`): the table's clock is the latest it was
 * given, moved on by the wall clock's time since, so a table nothing reaches any more still ages.
 */

const MAX_EXPORTERS = 10000;
export const OVERFLOW = 'other';
/** Silence after which an exporter gives its place to a new one when the table is full. */
const EVICT_IDLE_MS = 600_000;
/** Silence after which an exporter is forgotten anyway (its /metrics series go with it). */
const FORGET_IDLE_MS = 86_400_000;
/**
 * Least time between two scans for silent exporters: once a minute for FORGET_IDLE_MS, and once a second
 * when the table is full (a flood of new sources must not make every datagram walk 10,000 entries).
 */
const AGE_EVERY_MS = 60_000;
const MAKE_ROOM_EVERY_MS = 1_000;

export class ExporterTable<T extends { lastSeen: number }> {
  readonly entries = new Map<string, T>();
  private lastAged = -Infinity;
  private lastMadeRoom = -Infinity;
  /** The latest time given (observe, get); a time given and the wall clock then, read at most once a second of it. */
  private clock = -Infinity;
  private stamped = -Infinity;
  private stampedAt = 0;

  /** `forgotten` is given each entry as it is forgotten (not the overflow entry), to keep its counts. */
  constructor(private readonly make: (exporter: string, now: number) => T, private readonly forgotten: (from: T) => void) {}

  /** Moves the table's clock to `now` when later (a time from elsewhere: a worker's report). */
  observe(now: number): void {
    if (now > this.clock) {
      this.clock = now;
      // Not Date.now() for every datagram: the clock is read to a second.
      if (now - this.stamped >= 1000) {
        this.stamped = now;
        this.stampedAt = Date.now();
      }
    }
  }

  /** Forgets exporters silent for FORGET_IDLE_MS, at most once a minute, by the table's clock moved on by the wall clock. */
  age(): void {
    if (this.clock === -Infinity) return;
    this.ageAt(Math.max(this.clock, this.stamped + Date.now() - this.stampedAt));
  }

  private ageAt(now: number): void {
    // Either direction: a replayed capture's clock may run behind.
    if (Math.abs(now - this.lastAged) >= AGE_EVERY_MS) {
      this.lastAged = now;
      this.forget(now, FORGET_IDLE_MS);
    }
  }

  /** The entry of `exporter` at `now` (made when new; the overflow entry when there is no room). Its lastSeen is the caller's to move. */
  get(exporter: string, now: number): T {
    this.observe(now);
    this.ageAt(now);
    let e = this.entries.get(exporter);
    if (e === undefined) {
      // Past the bound, the places of silent exporters, else one shared entry (the map's one over the bound).
      if (exporter !== OVERFLOW && this.counted() >= MAX_EXPORTERS && !this.madeRoom(now)) return this.get(OVERFLOW, now);
      e = this.make(exporter, now);
      this.entries.set(exporter, e);
    }
    return e;
  }

  /** The entry of `exporter` at `now` (after aging the table to it), or undefined: makes none. */
  find(exporter: string, now: number): T | undefined {
    this.observe(now);
    this.ageAt(now);
    return this.entries.get(exporter);
  }

  /** Forgets `exporter` now (not the overflow entry), given to `forgotten`. */
  retire(exporter: string): void {
    const e = this.entries.get(exporter);
    if (e === undefined || exporter === OVERFLOW) return;
    this.entries.delete(exporter);
    this.forgotten(e);
  }

  /** Forgets the exporters silent for EVICT_IDLE_MS, unless a scan ran less than MAKE_ROOM_EVERY_MS ago; whether there is room now. */
  private madeRoom(now: number): boolean {
    if (Math.abs(now - this.lastMadeRoom) < MAKE_ROOM_EVERY_MS) return false;
    this.lastMadeRoom = now;
    this.forget(now, EVICT_IDLE_MS);
    return this.counted() < MAX_EXPORTERS;
  }

  /** Exporters counted one by one (the overflow entry is none). */
  private counted(): number {
    return this.entries.size - (this.entries.has(OVERFLOW) ? 1 : 0);
  }

  /** Forgets the exporters (not the overflow entry) silent for longer than `idleMs` at `now`, each given to `forgotten`. */
  private forget(now: number, idleMs: number): void {
    for (const [exporter, e] of this.entries) {
      if (now - e.lastSeen <= idleMs || exporter === OVERFLOW) continue;
      this.entries.delete(exporter);
      this.forgotten(e);
    }
  }

  /** The overflow entry, made when missing (dated `now`). */
  overflow(now: number): T {
    let other = this.entries.get(OVERFLOW);
    if (other === undefined) {
      other = this.make(OVERFLOW, now);
      this.entries.set(OVERFLOW, other);
    }
    return other;
  }
}

/**
 * One entry per exporter address, bounded (spoofed sources cannot grow memory): past MAX_EXPORTERS a
 * new exporter takes the place of those silent for EVICT_IDLE_MS, and when every one was heard from
 * more recently it shares the one overflow entry; exporters silent for FORGET_IDLE_MS are forgotten
 * anyway. The exporter counters (exporter-stats.ts) and the decoders' per-exporter reasons use it,
 * so both forget an exporter alike.
 */

export const MAX_EXPORTERS = 10000;
export const OVERFLOW = 'other';
/** Silence after which an exporter gives its place to a new one when the table is full. */
export const EVICT_IDLE_MS = 600_000;
/** Silence after which an exporter is forgotten anyway (its /metrics series go with it). */
export const FORGET_IDLE_MS = 86_400_000;
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

  constructor(private readonly make: (exporter: string, now: number) => T) {}

  /** The entry of `exporter` at `now` (made when new; the overflow entry when there is no room). Its lastSeen is the caller's to move. */
  get(exporter: string, now: number): T {
    // Either direction: a replayed capture's clock may run behind.
    if (Math.abs(now - this.lastAged) >= AGE_EVERY_MS) {
      this.lastAged = now;
      this.forget(now, FORGET_IDLE_MS);
    }
    let e = this.entries.get(exporter);
    if (e === undefined) {
      // Past the bound, the places of silent exporters, else one shared entry (which may take the map
      // one over the bound itself).
      if (this.entries.size >= MAX_EXPORTERS && exporter !== OVERFLOW && !this.madeRoom(now)) return this.get(OVERFLOW, now);
      e = this.make(exporter, now);
      this.entries.set(exporter, e);
    }
    return e;
  }

  /** Forgets the exporters silent for EVICT_IDLE_MS, unless a scan ran less than MAKE_ROOM_EVERY_MS ago; whether there is room now. */
  private madeRoom(now: number): boolean {
    if (Math.abs(now - this.lastMadeRoom) < MAKE_ROOM_EVERY_MS) return false;
    this.lastMadeRoom = now;
    this.forget(now, EVICT_IDLE_MS);
    return this.entries.size < MAX_EXPORTERS;
  }

  /** Forgets the exporters (not the overflow entry) silent for longer than `idleMs` at `now`. */
  private forget(now: number, idleMs: number): void {
    for (const [exporter, e] of this.entries) if (now - e.lastSeen > idleMs && exporter !== OVERFLOW) this.entries.delete(exporter);
  }
}

/**
 * Messages from another thread, handled one per turn of the event loop.
 *
 * Node delivers every message waiting on a port in one go: a thread that handled each one in its
 * 'message' listener ran through a whole backlog (up to 100,000 datagrams, seconds of decoding) with
 * its timers and I/O callbacks on hold, so its once-a-second reports and template saves stopped
 * exactly when it was overloaded. Queued here instead, each is handled in its own setImmediate turn,
 * with the thread's timers and I/O in between, and in the order they came.
 */
export class TurnQueue<T> {
  /** Entries before `head` are handled (and cleared). */
  private items: (T | undefined)[] = [];
  private head = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly handle: (item: T) => void) {}

  /** Messages not handled yet. */
  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length - this.head === 1) setImmediate(this.drain);
  }

  /** Resolves once every message pushed so far is handled. */
  async idle(): Promise<void> {
    if (this.size > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private readonly drain = (): void => {
    const item = this.items[this.head]!;
    // Handled entries leave at once: under sustained overload the queue never runs empty, and
    // keeping them until it did held every message ever received (RSS grew ~1 GB a minute at
    // 20,000 packets/s in scripts/soak.ts).
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    try {
      this.handle(item);
    } finally {
      if (this.head < this.items.length) setImmediate(this.drain);
      else {
        this.items.length = 0;
        this.head = 0;
        for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  };
}

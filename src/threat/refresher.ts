/**
 * Runs a feed's refresh every interval; a failed attempt is retried with exponential backoff
 * (base, 2x base, 4x base, ...) capped well below the interval, so a short outage costs minutes,
 * not a day of stale data, and a long one does not hammer the API. Timers are unref'd: they never
 * keep the process alive on their own.
 */
export interface RefreshPolicy {
  intervalMs: number;
  /** First retry delay after a failure. */
  retryBaseMs: number;
  /** Longest retry delay. */
  retryCapMs: number;
}

/** Retries start at 1 minute and double up to a quarter of the interval, at most 30 minutes. */
export function defaultPolicy(intervalMs: number): RefreshPolicy {
  return { intervalMs, retryBaseMs: 60_000, retryCapMs: Math.min(30 * 60_000, Math.max(60_000, Math.floor(intervalMs / 4))) };
}

export class Refresher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<boolean> | null = null;
  private failures = 0;
  private stopped = true;
  /** When the next attempt is due (epoch ms), 0 when none is scheduled. */
  nextAt = 0;
  /** The server's `Retry-After` for the attempt in progress (ms), honoured up to the interval. */
  private retryAfterMs = 0;

  constructor(
    private readonly task: () => Promise<boolean>,
    readonly policy: RefreshPolicy,
  ) {}

  /** The delay after `failures` consecutive failures (0 failures: the interval). */
  delayAfter(failures: number): number {
    if (failures === 0) return this.policy.intervalMs;
    const backoff = Math.min(this.policy.retryCapMs, this.policy.retryBaseMs * 2 ** Math.min(30, failures - 1));
    return Math.max(backoff, Math.min(this.retryAfterMs, this.policy.intervalMs));
  }

  /** The failing attempt's server asked for no retry before `ms` (a 429's or 503's `Retry-After`). */
  retryNoSoonerThan(ms: number): void {
    this.retryAfterMs = Math.max(this.retryAfterMs, ms);
  }

  start(firstDelayMs = 0): void {
    this.stopped = false;
    this.schedule(firstDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.nextAt = 0;
  }

  /** Runs the task now (joining a run in progress) and reschedules from its outcome. */
  runNow(): Promise<boolean> {
    if (this.running !== null) return this.running;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const run = this.task()
      .catch(() => false)
      .then((ok) => {
        this.failures = ok ? 0 : this.failures + 1;
        this.running = null;
        if (!this.stopped) this.schedule(this.delayAfter(this.failures));
        this.retryAfterMs = 0;
        return ok;
      });
    this.running = run;
    return run;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    // setTimeout holds at most 2^31-1 ms (about 24.8 days); longer waits fire early and re-arm.
    const wait = Math.min(ms, 2 ** 31 - 1);
    this.nextAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (wait < ms) this.schedule(ms - wait);
      else void this.runNow();
    }, wait);
    this.timer.unref();
  }
}

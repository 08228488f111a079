/**
 * The DuckDB store's API queries, one at a time on their connection and in the order asked, with a
 * bound on those waiting. DuckDB runs one query of a connection at a time anyway; queued inside it,
 * a query whose client had gone still ran, and every later one (and the readiness probe, before it
 * had a connection of its own) waited behind them all. Here a waiting query whose client goes is
 * never run, and the running one is interrupted.
 */
import { StoreUnavailableError } from './ip-filter.js';

/**
 * Queries waiting behind the running one, at most: a backstop (the API bounds its requests, each of
 * up to a dozen queries: api.ts).
 */
export const QUERIES_WAITING_MAX = 1024;

export class QueryBusyError extends StoreUnavailableError {}

/** A query given up because the client that asked for it has gone. */
export class QueryAbandonedError extends Error {
  constructor() {
    super('the client closed the connection before the query ended');
  }
}

interface Waiter {
  start: () => void;
}

export class QueryGate {
  private running = false;
  private readonly waiting: Waiter[] = [];

  /** `interrupt` stops the running query (DuckDB's connection.interrupt()). */
  constructor(private readonly interrupt: () => void, private readonly maxWaiting = QUERIES_WAITING_MAX) {}

  /** Queries running or waiting. */
  get load(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  async run<T>(query: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // A function, not the field read twice: it changes across the await below.
    const gone = (): boolean => signal?.aborted === true;
    if (gone()) throw new QueryAbandonedError();
    if (this.running) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new QueryBusyError(`the store is busy: ${this.load} queries running or waiting; try again in a few seconds`);
      }
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = {
          start: () => {
            signal?.removeEventListener('abort', leave);
            resolve();
          },
        };
        const leave = (): void => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new QueryAbandonedError());
        };
        signal?.addEventListener('abort', leave, { once: true });
        this.waiting.push(w);
      });
    }
    // Running from here (handed over by release() when it waited).
    this.running = true;
    // Gone between being handed the turn and taking it: the turn passes on.
    if (gone()) {
      this.release();
      throw new QueryAbandonedError();
    }
    let interrupted = false;
    const stop = (): void => {
      interrupted = true;
      try {
        this.interrupt();
      } catch {
        // Nothing running any more.
      }
    };
    signal?.addEventListener('abort', stop, { once: true });
    try {
      return await query();
    } catch (err) {
      throw interrupted ? new QueryAbandonedError() : err;
    } finally {
      signal?.removeEventListener('abort', stop);
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.running = false;
    else next.start();
  }
}

/**
 * The signals that stop the collector: SIGINT, SIGTERM and SIGHUP (a closed terminal or SSH session,
 * which by default would kill the process with its queues unwritten). Taken over before start-up, so
 * one that arrives while it runs still stops the collector cleanly once start-up is done. The first
 * asks for the stop; one that comes while it runs (a second Ctrl-C, a closed session's repeated
 * SIGHUP, an impatient second `kill`) is logged and ignored until release(): with no handler left,
 * Node would end the process there and then, with what the outputs still held unwritten. The stop
 * is bounded (docs/operations.md, Stopping); SIGKILL ends it sooner, at that price.
 */
import { log } from '../log/logger.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** The same signal again within this long is the first one's echo, not a second request: not logged. */
const ECHO_MS = 500;

export interface StopSignals {
  /** The first signal's name. */
  stopRequested: Promise<string>;
  /** Gives the signals back (once stopped, or when start-up failed). */
  release(): void;
}

export function stopSignals(): StopSignals {
  let first: string | null = null;
  let firstAt = 0;
  let signalled: (sig: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => (signalled = resolve));
  const handlers = STOP_SIGNALS.map((sig) => [sig, (): void => {
    if (first === null) {
      first = sig;
      firstAt = performance.now();
      signalled(sig);
    } else if (sig === first && performance.now() - firstAt < ECHO_MS) {
      // One Ctrl-C reaches it twice under `npm start`: from the terminal and forwarded by npm.
    } else {
      log.warn(`received ${sig} while stopping (after ${first}): ignored; the stop ends by itself within its bound (SIGKILL ends it now, with what the outputs hold unwritten)`);
    }
  }] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  return {
    stopRequested,
    release(): void {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

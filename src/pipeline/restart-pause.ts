/**
 * How soon a thread that stopped on its own (a decode worker, the UDP receive thread) is started
 * again: at once when it had run a while, after a pause when it stopped soon after starting, so one
 * that cannot start does not spin.
 */

/** A stop this soon after starting counts as quick. */
export const QUICK_STOP_MS = 10_000;
/** The pause before starting again after a quick stop (and between failed attempts to start). */
export const RESTART_PAUSE_MS = 1_000;

/** Whether a thread started at `startedAt` (ms) stopped quickly. */
export function stoppedQuickly(startedAt: number, now = Date.now()): boolean {
  return now - startedAt < QUICK_STOP_MS;
}

/**
 * Cooperative time slicing for work done on the event loop beside the flow pipeline (parsing and
 * indexing a list of millions): the work checks `due()` every few thousand steps and awaits
 * `pause()`, which hands the loop to pending datagrams. A slice of a few milliseconds keeps the
 * longest pipeline pause small while the per-slice overhead stays negligible.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class Slicer {
  private t0 = performance.now();
  constructor(readonly sliceMs = 5) {}

  due(): boolean {
    return performance.now() - this.t0 >= this.sliceMs;
  }

  async pause(): Promise<void> {
    await nextTurn();
    this.t0 = performance.now();
  }

  /** Pauses only when the slice is used up. */
  async maybePause(): Promise<void> {
    if (this.due()) await this.pause();
  }
}

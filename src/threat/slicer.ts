/**
 * Cooperative time slicing for work done on the event loop beside the flow pipeline (parsing and
 * indexing a list of millions): the work checks `due()` every few thousand steps and awaits
 * `pause()`, which hands the loop to pending datagrams. A slice of a few milliseconds keeps the
 * longest pipeline pause small while the per-slice overhead stays negligible.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export class Slicer {
  private t0 = performance.now();
  private cpu0 = process.cpuUsage();
  /** The longest stretch run without pausing, wall clock (includes time the OS gave other processes). */
  longestMs = 0;
  /** The same in process CPU time (an upper bound for this thread: GC helpers count too). */
  longestCpuMs = 0;
  constructor(readonly sliceMs = 5) {}

  due(): boolean {
    return performance.now() - this.t0 >= this.sliceMs;
  }

  async pause(): Promise<void> {
    const ran = performance.now() - this.t0;
    if (ran > this.longestMs) this.longestMs = ran;
    const cpu = process.cpuUsage(this.cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    if (cpuMs > this.longestCpuMs) this.longestCpuMs = cpuMs;
    await nextTurn();
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
  }

  /** Pauses only when the slice is used up. */
  async maybePause(): Promise<void> {
    if (this.due()) await this.pause();
  }
}

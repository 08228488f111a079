/**
 * A figure of the machine itself, printed beside a benchmark's so that runs on different machines (or
 * on one virtual machine on different days) can be told apart from changes in the code: the CPU time
 * of one dependent read from memory, measured by following a random cycle through a 64 MB array
 * (far larger than any CPU cache, so nearly every read waits for memory and its page-table walk).
 * The collector's stages are dominated by such reads (records, strings and garbage that do not stay
 * in cache), so their cost moves with this figure; a tight arithmetic loop barely does.
 */
export function memoryReadNs(steps = 5_000_000): number {
  const n = 1 << 24;
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) next[i] = i;
  // Sattolo's shuffle: one cycle through every entry, so the chase never settles in a short loop.
  let s = 0x9e3779b9 | 0;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % i;
    const t = next[i]!;
    next[i] = next[j]!;
    next[j] = t;
  }
  const t0 = process.cpuUsage();
  let p = 0;
  for (let k = 0; k < steps; k++) p = next[p]!;
  const u = process.cpuUsage(t0);
  if (p < 0) throw new Error('unreachable: keeps the chase from being optimised away');
  return ((u.user + u.system) * 1000) / steps;
}

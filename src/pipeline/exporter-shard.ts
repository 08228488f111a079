/**
 * Which decode worker an exporter's datagrams go to: by a hash of its address, so that one exporter's
 * records stay in order and its templates in one place. Also used at start-up, to pick the saved
 * templates each worker keeps (template/flow-decoder.ts).
 */

/** FNV-1a over the address text: cheap, and stable across restarts. */
function hashAddress(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The worker (0 to workers - 1) that decodes `address`'s datagrams. */
export function workerOf(address: string, workers: number): number {
  return workers <= 1 ? 0 : hashAddress(address) % workers;
}

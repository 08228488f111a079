/**
 * A worker thread running one of our modules, `path` (`./name`, `../dir/name`, without extension)
 * from the caller's module (`base`, its import.meta.url): the .js file once built, or the .ts source
 * under tsx (tests), which starts through ts-worker-shim.mjs since Node 20 does not carry tsx's
 * loader into worker threads.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function moduleWorker(base: string, path: string, options: WorkerOptions & { workerData: object }): Worker {
  const entry = new URL(`${path}${extname(fileURLToPath(base))}`, base);
  const fromSources = entry.pathname.endsWith('.ts');
  return new Worker(fromSources ? new URL('./ts-worker-shim.mjs', import.meta.url) : entry, { ...options, workerData: { ...options.workerData, __entry: entry.href } });
}

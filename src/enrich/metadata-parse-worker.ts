/**
 * Reads and parses an address metadata file on a thread of its own, for a re-read while the
 * collector runs (ipaddr-metadata.ts): a file of 10,000 entries takes 0.3-0.6 s to parse, which the
 * thread that decodes would otherwise stop for. The table comes back by structured clone (typed
 * arrays and plain objects).
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { parseMetadataTable } from './ipaddr-metadata.js';

const { path } = workerData as { path: string };
try {
  parentPort!.postMessage({ table: parseMetadataTable(await readFile(path, 'utf8'), path) });
} catch (err) {
  parentPort!.postMessage({ error: (err as Error).message });
}

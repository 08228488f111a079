// Starts a TypeScript worker when the collector runs from its sources (tests, tsx): Node 20 does not
// carry tsx's loader into worker threads, so the worker registers it itself, then loads its entry.
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register();
await import(workerData.__entry);

/**
 * Body in, index out: the parse-and-index step of a refresh, run either on a worker thread
 * (build-worker.ts, the default: the pipeline's thread does none of the work) or, when a worker
 * cannot be started, on the calling thread in time slices.
 */
import { moduleWorker } from '../pipeline/module-worker.js';
import { ListFormatError, parseList, type ListFormat } from './formats.js';
import { buildPrefixIndex, PrefixIndex, type PrefixIndexParts } from './prefix-index.js';
import { Slicer } from './slicer.js';
import { parseForFeed, type FeedParseSpec } from './feeds/parse.js';

export interface BuiltList {
  index: PrefixIndex;
  format: ListFormat;
  gzip: boolean;
  /** Entries that did not parse, and a few of them. */
  bad: number;
  badSamples: string[];
  /** Where the work ran, and the longest step it took on the pipeline's thread (0 on a worker). */
  builtOn: 'worker' | 'main';
  longestStepMs: number;
  longestStepCpuMs: number;
  /** Entries dropped because they cover private or special-purpose space (named feeds only), and a few of them. */
  dropped?: number;
  droppedSamples?: string[];
}

/** What the worker sends back: the list, or why the body is unreadable. */
export type WorkerReply =
  | { ok: true; parts: PrefixIndexParts; format: ListFormat; gzip: boolean; bad: number; badSamples: string[]; body: ArrayBuffer; dropped?: number; droppedSamples?: string[] }
  | { ok: false; message: string; body: ArrayBuffer };

export async function buildHere(body: Buffer, defaultName: string, slicer: Slicer, spec?: FeedParseSpec): Promise<BuiltList> {
  // A named feed (src/threat/feeds/) may say its format and asks for private space to be dropped.
  let parsed: Awaited<ReturnType<typeof parseList>> | Awaited<ReturnType<typeof parseForFeed>>;
  try {
    parsed = spec === undefined ? await parseList(body, defaultName, slicer) : await parseForFeed(body, defaultName, slicer, spec);
  } catch (err) {
    // Whatever a parser throws is about this body (its content, or a size past what a string can
    // hold): the attempt fails as unreadable, on the worker as here. Only a worker that crashed or
    // could not run is the worker's failure, which moves later builds to the main thread (feed.ts).
    throw err instanceof ListFormatError ? err : new ListFormatError(`${(err as Error).name}: ${(err as Error).message}`);
  }
  const index = parsed.set.count === 0 ? PrefixIndex.empty() : await buildPrefixIndex(parsed.set, slicer);
  return {
    index,
    format: parsed.format,
    gzip: parsed.gzip,
    bad: parsed.set.bad,
    badSamples: parsed.set.badSamples.slice(),
    builtOn: 'main',
    longestStepMs: slicer.longestMs,
    longestStepCpuMs: slicer.longestCpuMs,
    dropped: (parsed as { dropped?: number }).dropped,
    droppedSamples: (parsed as { droppedSamples?: string[] }).droppedSamples,
  };
}

/**
 * Parses and indexes on a one-shot worker thread. The body travels there and back by transfer
 * (no copy); the index comes back as typed arrays, also transferred. Resolves with the body
 * (usable again, e.g. to be saved) and the list; rejects with ListFormatError for an unreadable
 * body, or another error when the worker itself failed (the caller may then build here).
 */
export function buildOnWorker(body: Buffer, defaultName: string, spec?: FeedParseSpec): Promise<{ built: BuiltList; body: Buffer }> {
  // Transfer needs a buffer of its own; a small body may sit in Node's shared pool.
  const own = body.byteOffset === 0 && body.buffer.byteLength === body.length ? body.buffer : body.buffer.slice(body.byteOffset, body.byteOffset + body.length);
  return new Promise((resolve, reject) => {
    let done = false;
    const w = moduleWorker(import.meta.url, './build-worker', { workerData: { defaultName, spec } });
    w.once('message', (m: WorkerReply) => {
      done = true;
      void w.terminate();
      const back = Buffer.from(m.body);
      if (!m.ok) {
        reject(new ListFormatError(m.message));
        return;
      }
      resolve({
        body: back,
        built: { index: PrefixIndex.fromParts(m.parts), format: m.format, gzip: m.gzip, bad: m.bad, badSamples: m.badSamples, builtOn: 'worker', longestStepMs: 0, longestStepCpuMs: 0, dropped: m.dropped, droppedSamples: m.droppedSamples },
      });
    });
    w.once('error', (err) => {
      if (!done) reject(err);
      done = true;
    });
    w.once('exit', (code) => {
      if (!done) reject(new Error(`list build worker exited with code ${code}`));
      done = true;
    });
    w.postMessage({ body: own }, [own as ArrayBuffer]);
  });
}

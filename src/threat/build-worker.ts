/**
 * The worker side of buildOnWorker (build.ts): receives a body, parses and indexes it without
 * time slicing (nothing else runs on this thread), and sends back the index's arrays and the body.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildHere, type WorkerReply } from './build.js';
import { Slicer } from './slicer.js';
import type { FeedParseSpec } from './feeds/parse.js';

const port = parentPort!;
const { defaultName, spec } = workerData as { defaultName: string; spec?: FeedParseSpec };

port.once('message', (msg: { body: ArrayBuffer }) => {
  const body = Buffer.from(msg.body);
  buildHere(body, defaultName, new Slicer(Number.POSITIVE_INFINITY), spec).then(
    (b) => {
      const { parts, transfer } = b.index.parts();
      const reply: WorkerReply = { ok: true, parts, format: b.format, gzip: b.gzip, bad: b.bad, badSamples: b.badSamples, body: msg.body, dropped: b.dropped, droppedSamples: b.droppedSamples };
      port.postMessage(reply, [...transfer, msg.body]);
    },
    (err: unknown) => {
      // buildHere fails only with ListFormatError (the body is unreadable).
      const reply: WorkerReply = { ok: false, message: (err as Error).message, body: msg.body };
      port.postMessage(reply, [msg.body]);
    },
  );
});

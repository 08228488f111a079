/**
 * What the web server reads from the running collector. The Collector satisfies this structurally;
 * tests can hand in a smaller object.
 */
import type { Config } from '../config/schema.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Decoder, Enricher, ExporterLabel, Output, Protocol, UserFileStatus } from '../pipeline/types.js';
import type { EnricherCounters, ThreadHeap } from '../pipeline/worker-protocol.js';

export interface WebSources {
  readonly config: Config;
  readonly pipeline: Pipeline;
  readonly decoders: ReadonlyMap<Protocol, Decoder>;
  readonly enrichers: readonly Enricher[];
  readonly outputs: readonly Output[];
  /** Decode workers, when decoding runs off the receiving thread: their decoders hold the templates. */
  readonly pool?: DecoderPool | null;
  /** Datagrams dropped after the socket because the pipeline was behind. */
  receiveDropped?(): number;
  /** Times the UDP receive thread stopped on its own (each time it is started again). */
  receiveRestarts?(): number;
  /** Whether the UDP receive thread runs in the real-time class (false without a receive thread). */
  receiveRealtime?(): boolean;
  /** Each enricher's running totals (counters()), this thread's and the decode workers' summed. */
  enricherCounters?(): EnricherCounters;
  /** How the enrichers' files of the user's (sampling rates, interface names, address metadata) last loaded. */
  fileStatuses?(): UserFileStatus[];
  /** Each decode worker's V8 heap as of its last report (null before the first; empty without workers). */
  workerHeaps?(): readonly (ThreadHeap | null)[];
  /** Messages from the decode workers waiting for the main thread (0 without workers). */
  workerResultsWaiting?(): number;
  /** Times a decode worker stopped on its own (each is replaced), and the datagrams lost with them (0 without workers). */
  workerRestarts?(): { restarts: number; lostDatagrams: number };
}

export interface DecoderPool {
  /** Resolves once the workers have reported (their decoder state included). */
  sync(): Promise<void>;
  /** Each worker's Decoder.describe() output, by protocol, as of the last sync. */
  decoders(): Record<string, unknown>[];
  /** What the workers' enrichers call their exporters (DNS name, network name), as of the last sync. */
  exporterLabels?(): Record<string, ExporterLabel>;
}

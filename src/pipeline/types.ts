/** The seams between stages: decoders, enrichers and outputs each implement one small interface. */
import type { FlowRecord } from '../record/flow-record.js';
import type { ViewOptions } from '../record/fields.js';
import type { SequenceCounts } from '../decode/sequence-gaps.js';

export type Protocol = 'netflow1' | 'netflow5' | 'netflow7' | 'netflow9' | 'ipfix' | 'sflow5';

/** What a decoder knows about the datagram it is decoding. */
export interface PacketContext {
  /** UDP source address of the datagram (the exporter unless the payload names an agent). */
  exporterIp: string;
  exporterPort: number;
  /** Receive time, epoch ms. */
  receivedAt: number;
}

/** A malformed datagram: counted per exporter and reason, never thrown past the pipeline. */
export class DecodeError extends Error {
  constructor(readonly reason: string, detail?: string) {
    super(detail === undefined ? reason : `${reason}: ${detail}`);
  }
}

export interface Decoder {
  readonly protocol: Protocol;
  /** Appends the datagram's records to `out`. Throws DecodeError for malformed input. */
  decode(buf: Buffer, ctx: PacketContext, out: FlowRecord[]): void;
  /** Records that were held (data before template) and became decodable; drained by the pipeline. */
  drainReleased?(out: FlowRecord[]): void;
  /**
   * Hands over, and forgets, what the decoder lost or had to change since the last call (data whose
   * template never came, templates refused, clamped counters) as exporter -> reason -> count, or null
   * when nothing (the common case, asked after every datagram): the pipeline counts them with the
   * exporter's decoding errors, so /metrics and /api/exporters show them.
   */
  takeLosses?(): ReadonlyMap<string, ReadonlyMap<string, number>> | null;
  /**
   * Hands over, and forgets, what the exporters' sequence numbers told since the last call (loss before
   * the collector, late datagrams, restarts; sequence-gaps.ts) per exporter, or null when nothing.
   */
  takeSequenceGaps?(): ReadonlyMap<string, SequenceCounts> | null;
  /**
   * Time-driven upkeep (held data and templates that expired), at most once a second of `now` (epoch
   * ms, the time of the datagrams): the pipeline calls it every second, so it runs while no datagram
   * comes. What it drops is handed over by takeLosses.
   */
  sweep?(now: number): void;
  /** Persist state (templates) before exit; what it still held is counted as lost (takeLosses). */
  close?(): Promise<void>;
  /** Anything the decoder wants to show per exporter (template counts, sampling rates). */
  describe?(): Record<string, unknown>;
}

/** What enrichers know to call an exporter by: its DNS name, its network's name in the address metadata file. */
export interface ExporterLabel {
  host?: string;
  network?: string;
}

/** How an enricher's file of the user's last loaded (user-file.ts). */
export interface UserFileStatus {
  /** What the file holds, as log lines say it (`address metadata`). */
  what: string;
  /** The option naming it. */
  option: string;
  path: string;
  /** Entries of the table in use (0 before the first load); null where a count means nothing (a MaxMind database). */
  entries: number | null;
  /** What the loaded file is, where it says (a database's type and build date). */
  description?: string;
  /** Epoch ms the table in use was read; null before the first load. */
  loadedAt: number | null;
  /** Epoch ms the file was last looked at (for a change). */
  checkedAt: number | null;
  /** Minutes between looks (the option's _REFRESH_RATE). */
  refreshMinutes: number;
  /** Why the last look failed (the previous table stays in use), or null. */
  error: string | null;
}

export interface StartHow {
  successor: boolean;
}

export interface Enricher {
  readonly name: string;
  /**
   * Where it runs when decoding is spread over worker threads (EF_FLOW_SERVER_WORKERS):
   * - 'worker' (the default): each worker has its own instance, for stateless enrichers and those
   *   that load a read-only database of their own (GeoIP, ASN);
   * - 'replica': one instance on the main thread owns the downloads and the index (threat lists)
   *   and each worker runs a lookup-only copy fed with `replicaState()` whenever `onReplicaChange`
   *   fires, so records never have to come back to the main thread for it;
   * - 'main': one instance on the main thread only (lookups that wait on a remote service); records
   *   then come back from the workers and are enriched and encoded there.
   */
  readonly placement?: 'worker' | 'replica' | 'main';
  /**
   * Loads what it needs (databases, lists). Failing here stops start-up. `how.successor`: a decode
   * worker started in place of one that stopped, while the collector runs: a file of the user's
   * that does not load now (edited into a bad state since start) leaves its table empty, reported
   * and read again as on a refresh, rather than keeping the worker, and its exporters' flows, down.
   */
  start?(how?: StartHow): Promise<void>;
  /**
   * 'worker' placement, when workers run it: checks on the main thread what each worker's start()
   * will load (a configured file), so that a file that will not load stops start-up as a
   * configuration problem (exit code 2) instead of failing the workers.
   */
  check?(): Promise<void>;
  /** Enriches a batch in place. Must not block or allocate per record where avoidable. */
  enrich(batch: FlowRecord[]): void;
  /** Running totals since start (lookups, answers, ...), for /metrics (ufc_enricher_events_total), and levels named in worker-protocol.ts (isEnricherLevel). */
  counters?(): Record<string, number>;
  /** What it already knows to call an exporter (no lookup is started), for the Exporters page; null: nothing. */
  exporterLabel?(exporter: string): ExporterLabel | null;
  /** An enricher fed by a file of the user's: how its last read went (Integrations page, /metrics); undefined when it reads none (a bundled database). */
  fileStatus?(): UserFileStatus | undefined;
  stop?(): Promise<void>;
  /** 'replica' placement, main-thread instance: the state a worker copy needs (structured-cloneable), null before any. */
  replicaState?(): unknown;
  /** 'replica' placement, main-thread instance: `listener` runs after every change of that state. */
  onReplicaChange?(listener: () => void): void;
  /** 'replica' placement, worker copy: takes a state from `replicaState()` of the main instance. */
  applyReplicaState?(state: unknown): void;
}

export interface Output {
  readonly name: string;
  start(): Promise<void>;
  /** Takes a batch; must return at once (queue it). Records are shared and must not be changed. */
  write(batch: readonly FlowRecord[]): void;
  /** Sends everything queued. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Outcome counters for metrics and the UI. */
  counters(): Record<string, number>;
  /**
   * Outputs that only need NDJSON text name its view here: decode workers then encode the records
   * themselves and hand over bytes (`writeEncoded`) instead of records.
   */
  readonly encodedView?: ViewOptions;
  /**
   * `records` records as whole NDJSON lines in `encodedView`'s form. The output must call `done`
   * exactly once, when it no longer needs the bytes (written or dropped): the buffer is then reused.
   */
  writeEncoded?(bytes: Buffer, records: number, done: () => void): void;
}

/**
 * EF_OUTPUT_KAFKA_*: each record as one JSON message (CODEX or ECS names) on EF_OUTPUT_KAFKA_TOPIC,
 * keyed by EF_OUTPUT_KAFKA_PARTITION_KEY (the exporter address by default, so one exporter's
 * records share a partition and keep their order), produced with kafkajs and acks from all in-sync
 * replicas.
 *
 * The output picks each message's partition itself (with kafkajs's default, Java-compatible murmur2
 * partitioner over the topic's partitions) and produces one partition at a time, in requests of at
 * most MAX_REQUEST_BYTES of messages (under Kafka's default message.max.bytes, 1048588). kafkajs
 * retries a failed request whole, partitions that succeeded included, so a batch spanning
 * partitions in one request would be written twice where one partition failed; one partition per
 * request keeps a retry to the records that failed. When a request fails, the records not yet
 * written (that partition's and those of partitions not yet sent) go back to the batching queue
 * (PartialSendError), in their original order, to be retried or spilled; the others stay written.
 * kafkajs's own retries are kept short: the queue retries with backoff and spills while brokers are away.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, Partitioners, type Admin, type LogEntry, type PartitionMetadata, type Producer, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { FlowRecord } from '../../record/flow-record.js';
import type { ViewOptions } from '../../record/fields.js';
import { encodeRecord } from '../../record/json.js';
import { log } from '../../log/logger.js';
import { BatchingOutput, PartialSendError } from '../batching.js';
import { CLOSE_SEND_MS, START_WAIT_MS } from '../close-deadline.js';
import { within } from '../../within.js';
import { ConfigFileError } from '../../config/file-error.js';
import { kafkaSeeds } from './seed-brokers.js';

export type PartitionKey = 'exporter' | 'none' | 'src_ip' | 'community_id';

export interface KafkaOutputOptions {
  brokers: string[];
  topic: string;
  partitionKey: PartitionKey;
  clientId: string;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  tls: { enable: boolean; skipVerification: boolean; caCertPath: string };
  view: ViewOptions;
  deadlineMs: number;
  batchRecords: number;
  spill?: { dir: string; maxBytes: number };
  /** Per produce request; defaults under Kafka's message.max.bytes. */
  maxRequestBytes?: number;
  requestTimeoutMs?: number;
}

const MAX_REQUEST_BYTES = 900_000;
/**
 * How long a smaller request size learned from the brokers (a topic's max.message.bytes under ours) is
 * kept before full-size requests are tried again, in case the limit was raised.
 */
const LEARNED_LIMIT_MS = 3_600_000;
/** Refusals of a request for its size alone, when its halves are taken whole. */
const SIZE_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/** Overhead of a record in a Kafka record batch, above its key and value (lengths, offsets, headers). */
const RECORD_OVERHEAD = 20;
/** How long the topic's partition list is trusted before it is fetched again. */
const METADATA_MAX_AGE_MS = 60_000;
const LOG_EVERY_MS = 10_000;
/**
 * Kafka errors that refuse a request for what one of its records holds (its size, the broker's record
 * validation): sending the same request again fails again for ever. The request is split in halves
 * down to the record refused, which is dropped and counted; the others are written. CORRUPT_MESSAGE
 * too, as brokers before 2.5 answer record validation with it (a null key on a compacted topic); but
 * it also answers requests damaged on the way (a broken proxy), which would refuse every record
 * alone: one so refused is dropped only when others of the same send were taken (CORRUPT_ALONE_MAX). Not
 * INVALID_TIMESTAMP: kafkajs stamps every message with the time it is sent, so that one is about the
 * collector's clock against the broker's, true of every record alike, and the records wait instead.
 */
const RECORD_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE']);

/**
 * Records refused alone as CORRUPT_MESSAGE, none taken between, after which a send takes its requests
 * for damaged on the way and stops (produce()): a few records the broker refuses may come first in a
 * batch (two at its head held the output for ever when it stopped at the second).
 */
const CORRUPT_ALONE_MAX = 8;

/** The Kafka error type (kafkajs's `type`, e.g. INVALID_RECORD) behind an error kafkajs may have wrapped. */
function kafkaErrorType(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const x = e as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof x.type === 'string' && x.type !== '') return x.type;
    e = x.cause ?? x.originalError;
  }
  return undefined;
}

/** A request failed for another reason than its records: `at` is the first message of the group not written. */
class StoppedAt extends Error {
  constructor(
    readonly at: number,
    readonly reason: unknown,
  ) {
    super('produce stopped');
  }
}

interface Message {
  idx: number;
  key: string | null;
  value: string;
}

/** Bytes, not characters: the broker's limit is in bytes (a CJK city name is 3 a character). */
function messageBytes(m: Message): number {
  return Buffer.byteLength(m.value) + (m.key === null ? 0 : Buffer.byteLength(m.key)) + RECORD_OVERHEAD;
}

function requestBytes(g: readonly Message[], from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) n += messageBytes(g[k]!);
  return n;
}

function keyOf(r: FlowRecord, k: PartitionKey): string | null {
  switch (k) {
    case 'exporter':
      return r.exporterIp;
    case 'src_ip':
      return r.srcIp;
    case 'community_id':
      return r.communityId === '' ? null : r.communityId;
    default:
      return null;
  }
}

export class KafkaOutput extends BatchingOutput {
  readonly name = 'kafka';
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private partitions: PartitionMetadata[] = [];
  private partitionsAt = 0;
  private connected = false;
  private connecting: Promise<void> | null = null;

  constructor(private readonly o: KafkaOutputOptions) {
    super({
      batchMax: o.batchRecords,
      deadlineMs: o.deadlineMs,
      // With a spill, memory holds the batch being filled (besides the one in flight); see elasticsearch/output.ts.
      queueMax: o.spill !== undefined ? o.batchRecords : 20 * o.batchRecords,
      queueMaxWithoutSpill: 20 * o.batchRecords,
      // Without a spill a batch is given up (and counted) after some minutes of failures.
      ...(o.spill !== undefined ? { spill: o.spill } : { maxRetries: 10 }),
    });
    Object.assign(this.c, { produced: 0, produce_requests: 0, dropped_too_large: 0, dropped_refused: 0 });
    let ssl: TlsOptions | boolean | undefined;
    if (o.tls.enable) {
      ssl = { rejectUnauthorized: !o.tls.skipVerification };
      if (o.tls.caCertPath !== '') {
        try {
          ssl.ca = [readFileSync(o.tls.caCertPath)];
        } catch (err) {
          throw new ConfigFileError(`EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH: cannot read ${o.tls.caCertPath}: ${(err as Error).message}`);
        }
      }
    }
    // IPv6 literal seed brokers ([2001:db8::1]:9092) go through stand-in names: see seed-brokers.ts.
    const seeds = kafkaSeeds(o.brokers);
    const kafka = new Kafka({
      clientId: o.clientId,
      brokers: seeds.brokers,
      socketFactory: seeds.socketFactory,
      ...(ssl !== undefined ? { ssl } : {}),
      ...(o.sasl !== undefined ? { sasl: o.sasl as SASLOptions } : {}),
      connectionTimeout: 3000,
      requestTimeout: o.requestTimeoutMs ?? 30_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.ERROR,
      logCreator: kafkaLogger,
    });
    this.admin = kafka.admin();
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // One request in flight per broker: a retried request cannot overtake a later one.
      maxInFlightRequests: 1,
    });
  }

  override async start(): Promise<void> {
    try {
      // Bounded like ClickHouse's start: a broker that accepts and stays silent must not hold up the
      // collector's start; the connection goes on in the background and records queue meanwhile.
      const connecting = this.connect();
      if (!(await within(connecting, START_WAIT_MS))) throw new Error(`no answer within ${START_WAIT_MS / 1000} s; still trying`);
      await connecting;
      log.info(`kafka output: connected to ${this.o.brokers.join(',')}, topic ${this.o.topic}`);
    } catch (err) {
      log.warn(`kafka output: brokers not reachable at start (${(err as Error).message}); records are held until they are`);
    }
    await super.start();
  }

  /** Connects, or joins the attempt under way (start() may have left one running in the background). */
  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      await this.producer.connect();
      await this.admin.connect();
      this.connected = true;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** The topic's partitions, from a Metadata request at most every METADATA_MAX_AGE_MS. */
  private async topicPartitions(): Promise<PartitionMetadata[]> {
    if (this.partitions.length > 0 && performance.now() - this.partitionsAt < METADATA_MAX_AGE_MS) return this.partitions;
    const md = await this.admin.fetchTopicMetadata({ topics: [this.o.topic] }).catch((err: unknown) => {
      // kafkajs's words name no topic ("This server does not host this topic-partition").
      if (kafkaErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') throw new Error(`EF_OUTPUT_KAFKA_TOPIC: the brokers have no topic ${this.o.topic} (create it, or let the brokers create topics); records are kept until it exists`, { cause: err });
      throw err;
    });
    const t = md.topics.find((x) => x.name === this.o.topic);
    if (t === undefined || t.partitions.length === 0) throw new Error(`EF_OUTPUT_KAFKA_TOPIC: topic ${this.o.topic} has no partitions (does it exist?)`);
    this.partitions = [...t.partitions].sort((a, b) => a.partitionId - b.partitionId);
    this.partitionsAt = performance.now();
    return this.partitions;
  }

  /** Records of the send under way refused alone as CORRUPT_MESSAGE (produce(), send()), and `produced` when it began. */
  private corrupt: Message[] = [];
  private producedAtSend = 0;

  /** When each kind of dropped record was last logged: at most one line per kind every LOG_EVERY_MS. */
  private readonly lastDropWarn = new Map<string, number>();

  private warnDropped(kind: string, text: string): void {
    const now = Date.now();
    if (now - (this.lastDropWarn.get(kind) ?? 0) < LOG_EVERY_MS) return;
    this.lastDropWarn.set(kind, now);
    log.warn(text);
  }

  /**
   * Writes g[from, to) to the partition as one request. A refusal for what a record holds (RECORD_REFUSALS)
   * splits it in halves, in order, down to the record refused, which is dropped and counted; any other
   * failure throws StoppedAt, naming the first message not written.
   */
  private async produce(partition: number, g: readonly Message[], from: number, to: number): Promise<void> {
    try {
      this.c.produce_requests!++;
      const messages = [];
      for (let k = from; k < to; k++) messages.push({ key: g[k]!.key, value: g[k]!.value, partition });
      await this.producer.send({ topic: this.o.topic, acks: -1, timeout: 30_000, messages });
    } catch (err) {
      const type = kafkaErrorType(err);
      if (type === undefined || !RECORD_REFUSALS.has(type)) throw new StoppedAt(from, err);
      if (to - from > 1) {
        const mid = from + ((to - from) >>> 1);
        const dropped = this.c.dropped_refused! + this.corrupt.length;
        await this.produce(partition, g, from, mid);
        // Cut by a smaller size the first half may have taught (learnLimit), the second half is not refused too.
        await this.produceAll(partition, g, mid, to);
        // Both halves taken whole: the request was too large for the topic or broker, not for a record
        // in it. Without remembering it, every later request would be refused and halved again.
        if (SIZE_REFUSALS.has(type) && this.c.dropped_refused! + this.corrupt.length === dropped) {
          this.learnLimit(Math.max(requestBytes(g, from, mid), requestBytes(g, mid, to)), requestBytes(g, from, to));
        }
        return;
      }
      if (type === 'CORRUPT_MESSAGE') {
        // CORRUPT_ALONE_MAX refused alone with none taken in this send: requests come damaged, and
        // halving further would only send a request a record. Else judged when the send ends (send()).
        if (this.corrupt.length >= CORRUPT_ALONE_MAX && this.c.produced === this.producedAtSend) throw new StoppedAt(from, err);
        this.corrupt.push(g[from]!);
        return;
      }
      this.dropRefused(type, g[from]!);
      return;
    }
    this.c.produced! += to - from;
  }

  /** Writes g[from, to) to the partition in requests of at most requestMax() bytes each (at least one message). */
  private async produceAll(partition: number, g: readonly Message[], from: number, to: number): Promise<void> {
    let i = from;
    while (i < to) {
      const start = i;
      const max = this.requestMax();
      let bytes = 0;
      for (; i < to; i++) {
        const size = messageBytes(g[i]!);
        if (i > start && bytes + size > max) break;
        bytes += size;
      }
      await this.produce(partition, g, start, i);
    }
  }

  /**
   * A request size the brokers took (`fits`) under one they refused as too large (`refused`), kept for
   * LEARNED_LIMIT_MS of the monotonic clock (a wall-clock step would keep it twice as long, or not at all).
   */
  private learned: { bytes: number; at: number } | null = null;

  private learnLimit(fits: number, refused: number): void {
    const now = performance.now();
    if (this.learned !== null && now - this.learned.at < LEARNED_LIMIT_MS && this.learned.bytes <= fits) return;
    this.learned = { bytes: fits, at: now };
    log.warn(`Kafka output: the brokers refused a request of ${refused} bytes as too large and took its halves; requests are at most ${fits} bytes for the next hour (topic ${this.o.topic}'s max.message.bytes or the brokers' message.max.bytes is under ${this.o.maxRequestBytes ?? MAX_REQUEST_BYTES})`);
  }

  /** The most bytes of messages a request is to carry now. */
  private requestMax(): number {
    const max = this.o.maxRequestBytes ?? MAX_REQUEST_BYTES;
    if (this.learned === null) return max;
    if (performance.now() - this.learned.at >= LEARNED_LIMIT_MS) {
      this.learned = null;
      return max;
    }
    return Math.min(max, this.learned.bytes);
  }

  private dropRefused(type: string, m: Message): void {
    this.c.dropped_refused!++;
    this.refused(1);
    this.warnDropped('refused', `Kafka output: the broker refused a record (${type}) of ${Buffer.byteLength(m.value)} bytes; dropped (dropped_refused)`);
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    if (!this.connected) await this.connect();
    const partitionMetadata = await this.topicPartitions();
    this.corrupt = [];
    this.producedAtSend = this.c.produced!;
    // Messages grouped by partition, each group in batch order.
    const groups = new Map<number, Message[]>();
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const key = keyOf(r, this.o.partitionKey);
      const value = encodeRecord(r, this.o.view);
      // A record no request can carry would be refused for ever, holding up every record behind it.
      if (Buffer.byteLength(value) + (key === null ? 0 : Buffer.byteLength(key)) + RECORD_OVERHEAD > (this.o.maxRequestBytes ?? MAX_REQUEST_BYTES)) {
        this.c.dropped_too_large!++;
        this.refused(1);
        this.warnDropped('too large', `Kafka output: a record of ${Buffer.byteLength(value)} bytes is larger than any request may be (${this.o.maxRequestBytes ?? MAX_REQUEST_BYTES} bytes); dropped (dropped_too_large)`);
        continue;
      }
      const partition = this.partitioner({ topic: this.o.topic, partitionMetadata, message: { key, value } });
      let g = groups.get(partition);
      if (g === undefined) groups.set(partition, (g = []));
      g.push({ idx: i, key, value });
    }
    const order = [...groups.keys()];
    for (let gi = 0; gi < order.length; gi++) {
      const partition = order[gi]!;
      const g = groups.get(partition)!;
      try {
        await this.produceAll(partition, g, 0, g.length);
      } catch (err) {
        // produce() throws nothing else; were it to, the whole group is kept (sent again rather than lost).
        const at = err instanceof StoppedAt ? err.at : 0;
        // Reconnect (and re-read the partitions) before the next try; kafkajs keeps no usable
        // connection after a broker loss.
        this.connected = false;
        this.partitions = [];
        await this.producer.disconnect().catch(() => undefined);
        await this.admin.disconnect().catch(() => undefined);
        // Records refused alone before it are kept too (none was taken: see produce()).
        const left: number[] = this.corrupt.map((m) => m.idx);
        for (let k = at; k < g.length; k++) left.push(g[k]!.idx);
        for (let k = gi + 1; k < order.length; k++) for (const m of groups.get(order[k]!)!) left.push(m.idx);
        left.sort((a, b) => a - b);
        throw new PartialSendError(left.map((x) => batch[x]!), err instanceof StoppedAt ? err.reason : err);
      }
    }
    if (this.corrupt.length > 0) {
      // Others taken: these records are what the broker refuses. None taken: every request came damaged
      // (nothing else was sent, so keeping these keeps the order).
      if (this.c.produced! > this.producedAtSend) for (const m of this.corrupt) this.dropRefused('CORRUPT_MESSAGE', m);
      else throw new PartialSendError(this.corrupt.map((m) => batch[m.idx]!), new Error(`the broker refused every record alone as CORRUPT_MESSAGE: requests damaged on the way (a proxy?), or a broker refusing every record (before 2.5: a null key on a compacted topic)`));
    }
  }

  override async close(flushMs?: number): Promise<void> {
    await super.close(flushMs);
    // Bounded: a disconnect waits for requests still under way to a silent broker.
    await within(Promise.all([this.producer.disconnect(), this.admin.disconnect()]), CLOSE_SEND_MS);
  }
}

let lastKafkaLog = 0;

/** kafkajs log lines into ours, errors only and at most one every 10 s (a down broker repeats itself). */
function kafkaLogger(): (entry: LogEntry) => void {
  return (entry) => {
    if (entry.level > logLevel.ERROR) return;
    const now = Date.now();
    if (now - lastKafkaLog < LOG_EVERY_MS) return;
    lastKafkaLog = now;
    log.warn(`kafka output: kafkajs ${entry.namespace}: ${entry.log.message}`);
  };
}

/**
 * EF_OUTPUT_KAFKA_*: each record as one JSON message (CODEX or ECS names) on EF_OUTPUT_KAFKA_TOPIC,
 * keyed by EF_OUTPUT_KAFKA_PARTITION_KEY (the exporter address by default, so one exporter's
 * records share a partition and keep their order), produced with kafkajs and acks from all in-sync
 * replicas.
 *
 * One send produces the batch in requests of at most MAX_REQUEST_BYTES of message values, under
 * Kafka's default message.max.bytes (1048588) for the record batch of one partition. When a request
 * fails after earlier ones of the batch succeeded, only the rest is handed back (PartialSendError)
 * to be retried or spilled. kafkajs's own retries are kept short: the batching queue retries with
 * backoff and spills to disk while the brokers are away.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, Partitioners, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { FlowRecord } from '../../record/flow-record.js';
import type { ViewOptions } from '../../record/fields.js';
import { encodeRecord } from '../../record/json.js';
import { log } from '../../log/logger.js';
import { BatchingOutput, PartialSendError } from '../batching.js';

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
const LOG_EVERY_MS = 10_000;

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
  private connected = false;

  constructor(private readonly o: KafkaOutputOptions) {
    super({
      batchMax: o.batchRecords,
      deadlineMs: o.deadlineMs,
      queueMax: o.spill !== undefined ? 2 * o.batchRecords : 20 * o.batchRecords,
      // Without a spill a batch is given up (and counted) after some minutes of failures.
      ...(o.spill !== undefined ? { spill: o.spill } : { maxRetries: 10 }),
    });
    Object.assign(this.c, { produced: 0, produce_requests: 0 });
    let ssl: TlsOptions | boolean | undefined;
    if (o.tls.enable) {
      ssl = { rejectUnauthorized: !o.tls.skipVerification };
      if (o.tls.caCertPath !== '') {
        try {
          ssl.ca = [readFileSync(o.tls.caCertPath)];
        } catch (err) {
          throw new Error(`EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH: cannot read ${o.tls.caCertPath}: ${(err as Error).message}`);
        }
      }
    }
    const kafka = new Kafka({
      clientId: o.clientId,
      brokers: o.brokers,
      ...(ssl !== undefined ? { ssl } : {}),
      ...(o.sasl !== undefined ? { sasl: o.sasl as SASLOptions } : {}),
      connectionTimeout: 3000,
      requestTimeout: o.requestTimeoutMs ?? 30_000,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.ERROR,
      logCreator: kafkaLogger,
    });
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // One request in flight per broker: a retried request cannot overtake a later one.
      maxInFlightRequests: 1,
    });
  }

  override async start(): Promise<void> {
    try {
      await this.producer.connect();
      this.connected = true;
      log.info(`kafka output: connected to ${this.o.brokers.join(',')}, topic ${this.o.topic}`);
    } catch (err) {
      log.warn(`kafka output: brokers not reachable at start (${(err as Error).message}); records are held until they are`);
    }
    await super.start();
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    const max = this.o.maxRequestBytes ?? MAX_REQUEST_BYTES;
    let i = 0;
    while (i < batch.length) {
      const messages: { key: string | null; value: string }[] = [];
      let bytes = 0;
      const start = i;
      for (; i < batch.length && (messages.length === 0 || bytes < max); i++) {
        const r = batch[i]!;
        const value = encodeRecord(r, this.o.view);
        const key = keyOf(r, this.o.partitionKey);
        bytes += value.length + (key?.length ?? 0) + 20;
        if (bytes > max && messages.length > 0) break;
        messages.push({ key, value });
      }
      try {
        this.c.produce_requests!++;
        await this.producer.send({ topic: this.o.topic, acks: -1, timeout: 30_000, messages });
      } catch (err) {
        // Reconnect before the next try; kafkajs keeps no usable connection after a broker loss.
        this.connected = false;
        await this.producer.disconnect().catch(() => undefined);
        throw new PartialSendError(batch.slice(start), err);
      }
      this.c.produced! += messages.length;
    }
  }

  override async close(): Promise<void> {
    await super.close();
    await this.producer.disconnect().catch(() => undefined);
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

/** EF_OUTPUT_KAFKA_* to a KafkaOutput. */
import type { Config } from '../../config/schema.js';
import { KafkaOutput } from './output.js';

export function createKafkaOutput(c: Config, spillDir: string): KafkaOutput {
  return new KafkaOutput({
    brokers: c.EF_OUTPUT_KAFKA_BROKERS,
    topic: c.EF_OUTPUT_KAFKA_TOPIC,
    partitionKey: c.EF_OUTPUT_KAFKA_PARTITION_KEY,
    clientId: c.EF_OUTPUT_KAFKA_CLIENT_ID,
    ...(c.EF_OUTPUT_KAFKA_SASL_ENABLE
      ? { sasl: { mechanism: c.EF_OUTPUT_KAFKA_SASL_MECHANISM, username: c.EF_OUTPUT_KAFKA_SASL_USERNAME, password: c.EF_OUTPUT_KAFKA_SASL_PASSWORD } }
      : {}),
    tls: { enable: c.EF_OUTPUT_KAFKA_TLS_ENABLE, skipVerification: c.EF_OUTPUT_KAFKA_TLS_SKIP_VERIFICATION, caCertPath: c.EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH },
    view: { ecs: c.EF_OUTPUT_KAFKA_ECS_ENABLE, timestampSource: c.EF_OUTPUT_KAFKA_TIMESTAMP_SOURCE, drop: c.EF_OUTPUT_KAFKA_DROP_FIELDS },
    deadlineMs: c.EF_OUTPUT_KAFKA_BATCH_DEADLINE,
    batchRecords: c.EF_OUTPUT_KAFKA_BATCH_MAX_RECORDS,
    ...(c.EF_OUTPUT_KAFKA_SPILL_MAX_BYTES > 0 ? { spill: { dir: spillDir, maxBytes: c.EF_OUTPUT_KAFKA_SPILL_MAX_BYTES } } : {}),
  });
}

/** The enabled outputs, built from EF_OUTPUT_*. */
import { isAbsolute, join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Output } from '../pipeline/types.js';
import { FileOutput } from './file/file.js';
import { createRiskiqOutput } from './riskiq/output.js';
import { StdoutOutput } from './stdout/stdout.js';
import { DuckDbOutput } from '../store/duckdb.js';
import { ClickHouseOutput } from './clickhouse/clickhouse.js';
import { createSearchOutput } from './elasticsearch/from-config.js';
import { createKafkaOutput } from './kafka/from-config.js';

export interface OutputContext {
  config: Config;
  dataDir: string;
}

export function resolveDataPath(dataDir: string, p: string): string {
  return isAbsolute(p) ? p : p.startsWith('data/') ? join(dataDir, p.slice(5)) : p;
}

export function createOutputs(ctx: OutputContext): Output[] {
  const c = ctx.config;
  const outs: Output[] = [];
  if (c.EF_OUTPUT_STDOUT_ENABLE) {
    outs.push(new StdoutOutput({ ecs: c.EF_OUTPUT_STDOUT_ECS_ENABLE, timestampSource: c.EF_OUTPUT_STDOUT_TIMESTAMP_SOURCE, drop: c.EF_OUTPUT_STDOUT_DROP_FIELDS }, c.EF_OUTPUT_STDOUT_FORMAT === 'json_pretty'));
  }
  if (c.EF_OUTPUT_FILE_ENABLE) {
    outs.push(new FileOutput({
      path: resolveDataPath(ctx.dataDir, c.EF_OUTPUT_FILE_PATH),
      maxBytes: c.EF_OUTPUT_FILE_MAX_SIZE * 1024 * 1024,
      maxFiles: c.EF_OUTPUT_FILE_MAX_FILES,
      view: { ecs: c.EF_OUTPUT_FILE_ECS_ENABLE, timestampSource: c.EF_OUTPUT_FILE_TIMESTAMP_SOURCE, drop: c.EF_OUTPUT_FILE_DROP_FIELDS },
    }));
  }
  if (c.EF_OUTPUT_DUCKDB_ENABLE) {
    const p = c.EF_OUTPUT_DUCKDB_PATH.trim();
    outs.push(new DuckDbOutput({
      path: p === '' ? join(ctx.dataDir, 'flows.duckdb') : resolveDataPath(ctx.dataDir, p),
      retentionDays: c.EF_OUTPUT_DUCKDB_RETENTION,
      maxBytes: c.EF_OUTPUT_DUCKDB_MAX_SIZE * 1024 * 1024,
      memoryLimitMb: c.EF_OUTPUT_DUCKDB_MEMORY_LIMIT,
      timestampSource: c.EF_OUTPUT_DUCKDB_TIMESTAMP_SOURCE,
      batchMax: 10_000,
      deadlineMs: c.EF_OUTPUT_DUCKDB_BATCH_DEADLINE,
      queueMax: 500_000,
    }));
  }
  if (c.EF_OUTPUT_CLICKHOUSE_ENABLE) {
    const batch = c.EF_OUTPUT_CLICKHOUSE_BATCH_MAX_RECORDS;
    const spill = c.EF_OUTPUT_CLICKHOUSE_SPILL_MAX_BYTES > 0 ? { dir: join(ctx.dataDir, 'spill', 'clickhouse'), maxBytes: c.EF_OUTPUT_CLICKHOUSE_SPILL_MAX_BYTES } : undefined;
    outs.push(new ClickHouseOutput({
      url: c.EF_OUTPUT_CLICKHOUSE_ADDRESSES[0] ?? 'http://127.0.0.1:8123',
      username: c.EF_OUTPUT_CLICKHOUSE_USERNAME, password: c.EF_OUTPUT_CLICKHOUSE_PASSWORD,
      database: c.EF_OUTPUT_CLICKHOUSE_DATABASE, table: c.EF_OUTPUT_CLICKHOUSE_TABLE,
      retentionDays: c.EF_OUTPUT_CLICKHOUSE_RETENTION, timestampSource: c.EF_OUTPUT_CLICKHOUSE_TIMESTAMP_SOURCE,
      summaries: c.EF_OUTPUT_CLICKHOUSE_SUMMARIES_ENABLE,
      tls: { caCertPath: c.EF_OUTPUT_CLICKHOUSE_TLS_CA_CERT_FILEPATH, skipVerification: c.EF_OUTPUT_CLICKHOUSE_TLS_SKIP_VERIFICATION },
      batchMax: batch, deadlineMs: c.EF_OUTPUT_CLICKHOUSE_BATCH_DEADLINE,
      // With a spill, memory holds a couple of batches and the rest waits on disk.
      queueMax: spill !== undefined ? 2 * batch : 20 * batch,
      ...(spill !== undefined ? { spill } : {}),
    }));
  }
  if (c.EF_OUTPUT_ELASTICSEARCH_ENABLE) outs.push(createSearchOutput(c, 'elasticsearch', join(ctx.dataDir, 'spill', 'elasticsearch')));
  if (c.EF_OUTPUT_OPENSEARCH_ENABLE) outs.push(createSearchOutput(c, 'opensearch', join(ctx.dataDir, 'spill', 'opensearch')));
  if (c.EF_OUTPUT_KAFKA_ENABLE) outs.push(createKafkaOutput(c, join(ctx.dataDir, 'spill', 'kafka')));
  if (c.EF_OUTPUT_RISKIQ_ENABLE) {
    const audit = c.EF_OUTPUT_RISKIQ_AUDIT_PATH.trim();
    outs.push(createRiskiqOutput(c, ctx.dataDir, audit === '' ? '' : resolveDataPath(ctx.dataDir, audit)));
  }
  return outs;
}

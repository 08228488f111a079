/** The enabled outputs, built from EF_OUTPUT_*. */
import { isAbsolute, join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Output } from '../pipeline/types.js';
import { FileOutput } from './file/file.js';
import { createRiskiqOutput } from './riskiq/output.js';
import { StdoutOutput } from './stdout/stdout.js';
import { DuckDbOutput } from '../store/duckdb.js';

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
    outs.push(new StdoutOutput({ ecs: c.EF_OUTPUT_STDOUT_ECS_ENABLE, timestampSource: c.EF_OUTPUT_STDOUT_TIMESTAMP_SOURCE }, c.EF_OUTPUT_STDOUT_FORMAT === 'json_pretty'));
  }
  if (c.EF_OUTPUT_FILE_ENABLE) {
    outs.push(new FileOutput({
      path: resolveDataPath(ctx.dataDir, c.EF_OUTPUT_FILE_PATH),
      maxBytes: c.EF_OUTPUT_FILE_MAX_SIZE * 1024 * 1024,
      maxFiles: c.EF_OUTPUT_FILE_MAX_FILES,
      view: { ecs: c.EF_OUTPUT_FILE_ECS_ENABLE, timestampSource: c.EF_OUTPUT_FILE_TIMESTAMP_SOURCE },
    }));
  }
  if (c.EF_OUTPUT_DUCKDB_ENABLE) {
    const p = c.EF_OUTPUT_DUCKDB_PATH.trim();
    outs.push(new DuckDbOutput({
      path: p === '' ? join(ctx.dataDir, 'flows.duckdb') : resolveDataPath(ctx.dataDir, p),
      retentionDays: c.EF_OUTPUT_DUCKDB_RETENTION,
      maxBytes: c.EF_OUTPUT_DUCKDB_MAX_SIZE * 1024 * 1024,
      timestampSource: c.EF_OUTPUT_DUCKDB_TIMESTAMP_SOURCE,
      batchMax: 10_000,
      deadlineMs: c.EF_OUTPUT_DUCKDB_BATCH_DEADLINE,
      queueMax: 500_000,
    }));
  }
  if (c.EF_OUTPUT_RISKIQ_ENABLE) {
    const audit = c.EF_OUTPUT_RISKIQ_AUDIT_PATH.trim();
    outs.push(createRiskiqOutput(c, ctx.dataDir, audit === '' ? '' : resolveDataPath(ctx.dataDir, audit)));
  }
  return outs;
}

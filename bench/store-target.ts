/**
 * What the store benchmarks share: a fresh data directory and a configuration with one store
 * (DuckDB, ClickHouse in a database of its own, or none), whether ClickHouse listens, and dropping
 * the benchmark's ClickHouse database afterwards.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';

export const CH_URL = 'http://127.0.0.1:8123';

export async function chListening(): Promise<boolean> {
  try {
    return (await fetch(`${CH_URL}/ping`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/**
 * A data directory under the system's temporary one, and a configuration storing into `target` only;
 * `more` adds settings (it may write files into the directory first).
 */
export function storeTarget(target: string, name: string, more: (dir: string) => Record<string, string> = () => ({})): { dir: string; db: string; config: Config } {
  const dir = mkdtempSync(join(tmpdir(), `ufc-bench-${name}-`));
  const db = `ufc_bench_${name}_${process.pid}`;
  const res = loadConfig({
    env: {
      EF_DATA_DIR: dir, EF_WEBUI_ENABLE: 'false',
      EF_OUTPUT_DUCKDB_ENABLE: String(target === 'duckdb'),
      EF_OUTPUT_CLICKHOUSE_ENABLE: String(target === 'clickhouse'), EF_OUTPUT_CLICKHOUSE_DATABASE: db,
      ...more(dir),
    },
  });
  if (res.config === null) throw new Error(res.errors.join('\n'));
  return { dir, db, config: res.config };
}

export async function dropChDatabase(db: string): Promise<void> {
  const c = createClient({ url: CH_URL });
  try {
    await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  } finally {
    await c.close();
  }
}

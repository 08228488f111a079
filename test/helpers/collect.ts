/** A test output that keeps every record it is given, and a config builder for tests. */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Output } from '../../src/pipeline/types.js';
import type { FlowRecord } from '../../src/record/flow-record.js';

export class CaptureOutput implements Output {
  readonly name = 'capture';
  readonly records: FlowRecord[] = [];
  async start(): Promise<void> {}
  write(batch: readonly FlowRecord[]): void {
    for (const r of batch) this.records.push(r);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  counters(): Record<string, number> {
    return { records: this.records.length };
  }
}

const tempDirs: string[] = [];

/** A fresh directory under the system temp dir, removed when the test process exits. */
export function tempDir(prefix = 'ufc-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.push(dir) === 1) process.once('exit', () => {
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });
  return dir;
}

/** A valid configuration with a fresh data dir (removed at exit); `env` overrides defaults. Throws on errors. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dir = tempDir();
  const res = loadConfig({ env: { EF_DATA_DIR: dir, EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false', ...env } });
  if (res.config === null) throw new Error(res.errors.join('\n'));
  return res.config;
}

/** Polls `done` every 20 ms until it holds or `ms` have passed (the caller then asserts). */
export async function until(done: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

/** Sends one datagram to 127.0.0.1:`port` from the loopback address `from` (the exporter address the collector sees). */
export async function sendFrom(from: string, port: number, packet: Buffer): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  await new Promise<void>((r) => s.send(packet, port, '127.0.0.1', () => r()));
  s.close();
}

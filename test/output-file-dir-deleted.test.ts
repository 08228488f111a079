/**
 * The file output's directory deleted while running (rm -r): made again with the file, as at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileOutput } from '../src/output/file/file.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir } from './helpers/collect.js';
import { CODEX_VIEW, plainRecord } from './helpers/plain-record.js';
import { createLogger, setLogger } from '../src/log/logger.js';

const view = CODEX_VIEW;
const recs = (from: number, to: number): FlowRecord[] => Array.from({ length: to - from }, (_, i) => plainRecord(from + i));
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The source ports (record numbers) in a file, in order; none when it is not there. */
function ports(path: string): number[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as Record<string, number>)['flow.src.l4.port.id']!);
}

async function withLog<T>(f: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  try {
    return await f(lines);
  } finally {
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
}

test('file output: a file whose directory was deleted while running is made again with it, and writing goes on', { timeout: 30_000 }, async () => {
  await withLog(async (lines) => {
    const dir = join(tempDir('ufc-file-'), 'out');
    const path = join(dir, 'flows.ndjson');
    const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
    await out.start();
    out.write(recs(0, 10));
    await out.flush();
    rmSync(dir, { recursive: true });
    // A little more than the output's interval between looks at its path.
    await wait(1200);
    out.write(recs(10, 20));
    await Promise.race([out.flush(), wait(3000)]);
    await out.close(1000);
    assert.deepEqual(ports(path), range(10, 20), 'the records after the delete are in a new file at the path');
    assert.equal(out.counters().failures, 0, 'no write failed');
    assert.ok(lines.some((l) => l.includes('"level":"info"') && l.includes(`file output: ${path} was deleted with its directory: both made again`)), `an info line says so: ${lines.join('\n')}`);
  });
});

/**
 * The file output's directory deleted while running (rm -r): made again with the file, as at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileOutput } from '../src/output/file/file.js';
import { tempDir } from './helpers/collect.js';
import { CODEX_VIEW } from './helpers/plain-record.js';
import { withLog } from './helpers/log-lines.js';
import { ports, range, recs } from './helpers/file-ports.js';

const view = CODEX_VIEW;
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

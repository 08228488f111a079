/**
 * The file output's stop when the file is a FIFO read slowly or not at all: a stand-in for a slow
 * disk or a hung NFS server, where a write returns late or never.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FileOutput } from '../src/output/file/file.js';
import { tempDir } from './helpers/collect.js';
import { CODEX_VIEW, plainRecord } from './helpers/plain-record.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { within } from '../src/within.js';

const view = CODEX_VIEW;
const rec = plainRecord;

/** A FIFO in a fresh directory. */
function fifo(): string {
  const path = join(tempDir('ufc-file-fifo-'), 'flows.ndjson');
  execFileSync('mkfifo', [path]);
  return path;
}

/**
 * A reader of `path` in a child process that takes 64 KB every `everyMs` (never, when null) and
 * prints the lines it got once the writer has closed.
 */
function reader(path: string, everyMs: number | null): { child: ChildProcess; lines: Promise<number> } {
  const script = everyMs === null
    ? `require('fs').openSync(${JSON.stringify(path)}, 'r'); setInterval(() => {}, 1000);`
    : `const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(path)}, 'r'); const b = Buffer.alloc(65536); let n = 0;
       const tick = () => { const k = fs.readSync(fd, b, 0, b.length, null);
         if (k === 0) { process.stdout.write(String(n)); process.exit(0); }
         for (let i = 0; i < k; i++) if (b[i] === 10) n++;
         setTimeout(tick, ${everyMs}); };
       tick();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const lines = new Promise<number>((resolve) => child.on('exit', () => resolve(Number(out))));
  return { child, lines };
}

function capture(): { lines: string[]; done: () => void } {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  return { lines, done: () => setLogger(createLogger({ level: 'info', encoding: 'json' })) };
}

test('file output: a stop with the file read slowly ends within its bound, and counts as written exactly what the reader got', { timeout: 60_000 }, async () => {
  const path = fifo();
  const r = reader(path, 20);
  const log = capture();
  try {
    const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
    await out.start();
    for (let i = 0; i < 80_000; i += 1000) out.write(Array.from({ length: 1000 }, (_, j) => rec(i + j)));
    const t0 = Date.now();
    // 1 s to write, then at most 3 s (CLOSE_SEND_MS) for a write under way.
    const closed = await within(out.close(1000), 10_000);
    const took = Date.now() - t0;
    assert.ok(closed && took < 1000 + 3000 + 500, `closed after ${took} ms (${closed ? 'done' : 'still waiting'})`);
    const got = await within(r.lines, 10_000) ? await r.lines : -1;
    const c = out.counters();
    assert.ok(got > 0 && got < 80_000, `the reader got ${got} lines: some, not all`);
    assert.equal(c.sent, got, 'sent is what the reader got');
    assert.equal(c.dropped_retries, 80_000 - got, 'dropped is what the reader did not get');
    assert.equal(c.unconfirmed_at_stop ?? 0, 0, 'no write was left under way');
    assert.equal(c.queued, 0, 'nothing left queued');
    assert.ok(log.lines.some((l) => l.includes(`file output: stopped with ${80_000 - got} records not written`)), log.lines.join('\n'));
  } finally {
    log.done();
    r.child.kill();
  }
});

test('file output: a stop with a write that never returns ends within its bound, and counts that write\'s records as not known to be written', { timeout: 60_000 }, async () => {
  const path = fifo();
  const r = reader(path, null);
  const log = capture();
  try {
    const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
    await out.start();
    for (let i = 0; i < 20_000; i += 1000) out.write(Array.from({ length: 1000 }, (_, j) => rec(i + j)));
    const t0 = Date.now();
    const closed = await within(out.close(500), 10_000);
    const took = Date.now() - t0;
    assert.ok(closed && took < 500 + 3000 + 500, `closed after ${took} ms (${closed ? 'done' : 'still waiting'})`);
    const c = out.counters();
    assert.equal(c.sent, 0, 'no write returned: nothing known to be written');
    assert.ok(c.unconfirmed_at_stop! > 0 && c.unconfirmed_at_stop! < 20_000, `the write under way held ${c.unconfirmed_at_stop} records`);
    assert.equal(c.unconfirmed_at_stop! + c.dropped_retries!, 20_000, 'every record counted once');
    assert.ok(log.lines.some((l) => l.includes(`may be in the file`)), log.lines.join('\n'));
  } finally {
    log.done();
    // The write under way fails once the reader has gone (EPIPE), which lets the test process end.
    r.child.kill();
  }
});

test('a stop whose deadline falls in the last write before a size rotation ends within its bound (the write loop went round for ever without awaiting)', async () => {
  const { open } = await import('node:fs/promises');
  const probe = await open('/dev/null', 'r');
  const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
  await probe.close();
  const write = proto.write;
  // A slow disk: each write returns after 200 ms.
  proto.write = async function (this: unknown, ...a: unknown[]) {
    await new Promise((r) => setTimeout(r, 200));
    return write.apply(this, a);
  };
  try {
    for (const flushMs of [300, 400, 500, 600, 700]) {
      const out = new FileOutput({ path: join(tempDir('ufc-file-rot-'), 'flows.ndjson'), maxBytes: 2_600_000, maxFiles: 3, view });
      await out.start();
      out.write(Array.from({ length: 12_000 }, (_, i) => Object.assign(rec(i), { application: 'a'.repeat(150) })));
      const t0 = Date.now();
      const closed = await within(out.close(flushMs), flushMs + 5000);
      assert.ok(closed, `flushMs ${flushMs}: closed within its bound (${Date.now() - t0} ms)`);
    }
  } finally {
    proto.write = write;
  }
});

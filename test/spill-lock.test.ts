/**
 * One process per spill directory: two collectors on one EF_DATA_DIR (the DuckDB store off, as
 * docs/operations.md "Scaling out" has it) would each replay every segment, so every spilled record
 * arrived twice, and both would append to the same segment files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlowRecord } from '../src/record/flow-record.js';
import { BatchingOutput, type BatchingOptions } from '../src/output/batching.js';
import { LOCK_FILE, SpillLog } from '../src/output/spill/segment-log.js';
import { processIdentity } from '../src/output/pid-lock.js';
import { REPO_ROOT } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';
import { sleeper } from './helpers/sleeper.js';

const inUseBy = (pid: number, dir: string): RegExp =>
  new RegExp(`spill directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${pid}\\b.*: two collectors .* would each send every record in it; stop the other, or give this one its own EF_DATA_DIR`);

function records(n: number): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.sequence = i;
    return r;
  });
}

class Sink extends BatchingOutput {
  readonly name = 'sink';
  constructor(opts: BatchingOptions) {
    super(opts);
  }
  protected async send(): Promise<void> {
    throw new Error('connect ECONNREFUSED 127.0.0.1:1 (test)');
  }
}

test('spill lock: a second spill on one directory is refused while the first is open, and can open once it is closed', () => {
  const dir = tempDir('ufc-spill-lock-');
  const a = new SpillLog({ dir, maxBytes: 1 << 30 });
  a.append(records(50));
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), `${process.pid} ${processIdentity(process.pid)}`.trim(), 'the lock names this process');
  assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 30 }), inUseBy(process.pid, dir), 'a second spill on the same directory');
  a.close();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the lock is released at close');
  const b = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(b.pendingRecords, 50, 'the next one replays what the first left');
  assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 30 }), inUseBy(process.pid, dir), 'held again by the new one');
  b.close();
  b.close();
  new SpillLog({ dir, maxBytes: 1 << 30 }).close();
});

test('spill lock: another live process holding it refuses the spill, naming its pid; once it is dead its lock is taken over', async () => {
  const dir = tempDir('ufc-spill-lock-');
  new SpillLog({ dir, maxBytes: 1 << 30 }).close();
  const other = await sleeper();
  try {
    writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${processIdentity(other.pid)}\n`);
    assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 30 }), inUseBy(other.pid, dir), 'held by a live process');
    writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
    assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 30 }), inUseBy(other.pid, dir), 'a lock with a pid only is judged by the pid');
  } finally {
    await other.kill();
  }
  // The holder died without closing (kill -9): its pid names no process now.
  const log = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').trim(), `${process.pid} ${processIdentity(process.pid)}`.trim(), 'the stale lock is now this process\'s');
  log.close();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'released at close');
});

test('spill lock: an empty lock (a writer between creating and writing it) is not taken over at once; one left empty a while is', () => {
  const dir = tempDir('ufc-spill-lock-');
  new SpillLog({ dir, maxBytes: 1 << 30 }).close();
  const lock = join(dir, LOCK_FILE);
  writeFileSync(lock, '');
  assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 30 }), /is being locked by another process/, 'a fresh empty lock is someone writing it');
  assert.equal(readFileSync(lock, 'utf8'), '', 'and it is left alone');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const log = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(readFileSync(lock, 'utf8').trim(), `${process.pid} ${processIdentity(process.pid)}`.trim(), 'an old empty lock is taken over');
  log.close();
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE)), [], 'no lock or temporary file left behind');
});

test('spill lock: a stale lock is taken over only under the takeover claim; a claim left by a crashed taker is cleared', async () => {
  const dir = tempDir('ufc-spill-lock-');
  new SpillLog({ dir, maxBytes: 1 << 30 }).close();
  const lock = join(dir, LOCK_FILE);
  const dead = await sleeper();
  await dead.kill();
  const stale = `${dead.pid} ${'x'.repeat(8)}\n`;
  writeFileSync(lock, stale);
  // Another taker at work (its claim fresh): this one neither removes the lock nor takes it.
  writeFileSync(`${lock}.takeover`, '1\n');
  assert.throws(() => new SpillLog({ dir, maxBytes: 1 << 30 }), /keeps changing hands/, 'refused while another takes it over');
  assert.equal(readFileSync(lock, 'utf8'), stale, 'the lock is left to the other taker');
  // That taker crashed: its claim, a minute old, is cleared and the stale lock taken over.
  const old = new Date(Date.now() - 60_000);
  utimesSync(`${lock}.takeover`, old, old);
  const log = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(readFileSync(lock, 'utf8').trim(), `${process.pid} ${processIdentity(process.pid)}`.trim(), 'taken over');
  assert.equal(existsSync(`${lock}.takeover`), false, 'the claim is gone');
  log.close();
});

test('spill lock: an output whose spill another process holds does not start (a start-up error), and nothing is replayed', async () => {
  const dir = tempDir('ufc-spill-lock-');
  const first = new SpillLog({ dir, maxBytes: 1 << 30 });
  first.append(records(20));
  first.close();
  const other = await sleeper();
  try {
    writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${processIdentity(other.pid)}\n`);
    const out = new Sink({ batchMax: 10, deadlineMs: 5, queueMax: 100, spill: { dir, maxBytes: 1 << 30 } });
    await assert.rejects(out.start(), inUseBy(other.pid, dir), 'start() refuses');
    assert.equal(out.counters().spill_replayed, 0, 'nothing replayed');
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8').split(' ')[0], String(other.pid), 'the holder\'s lock is left alone');
  } finally {
    await other.kill();
  }
  const out = new Sink({ batchMax: 10, deadlineMs: 5, queueMax: 100, spill: { dir, maxBytes: 1 << 30 } });
  await out.start();
  assert.equal(out.counters().spill_recovered, 20, 'with the holder gone the output starts and finds the spill');
  await out.close(50);
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the output releases the lock when it closes');
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('two collectors started from one directory (the default EF_DATA_DIR, DuckDB off, Elasticsearch with a spill): the second exits 1 and says why', async () => {
  const cwd = tempDir('ufc-spill-lock-');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: process.env.HOME,
    EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false', EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0',
    EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: `127.0.0.1:${await closedPort()}`,
  };
  // Node with tsx on the sources, as `ufc run` from a checkout: bin/ufc runs dist/ when a build is there,
  // which may be older than the sources. The pid is then the collector's own.
  const ufc = process.execPath;
  const run = ['--import', pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'run'];
  const first = spawn(ufc, run, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let firstErr = '';
  first.stderr.on('data', (d: Buffer) => (firstErr += d.toString()));
  const firstExit = new Promise<number | null>((r) => first.once('exit', r));
  try {
    const end = Date.now() + 30_000;
    while (!firstErr.includes('listening for flows')) {
      if (first.exitCode !== null || Date.now() > end) assert.fail(`the first collector did not start: ${firstErr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = spawn(ufc, run, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let secondErr = '';
    second.stderr.on('data', (d: Buffer) => (secondErr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        second.kill('SIGKILL');
        resolve(null);
      }, 30_000);
      second.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 1, `the second collector exits 1, as for a store in use: ${secondErr}`);
    assert.match(secondErr, /start-up failed: spill directory /, secondErr);
    assert.match(secondErr, inUseBy(first.pid!, join(cwd, 'data', 'spill', 'elasticsearch')), 'names the directory, the first collector\'s pid and the way out');
    assert.doesNotMatch(secondErr, /listening for flows/, 'the second never listened');
    assert.doesNotMatch(secondErr, /\n\s+at /, 'no stack trace');
  } finally {
    first.kill('SIGTERM');
  }
  assert.equal(await firstExit, 0, `the first collector stops cleanly: ${firstErr}`);
  assert.equal(existsSync(join(cwd, 'data', 'spill', 'elasticsearch', LOCK_FILE)), false, 'and gives up the lock');
});

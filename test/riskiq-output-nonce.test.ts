/**
 * GCM nonces never repeat under one key, across restarts too (nonce.ts): the counter's high-water
 * mark is reserved on disk before a block is used, restarts (clean or crashed) resume past it, a
 * damaged or unwritable state stops the output instead of risking a repeat.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BLOCK, NonceSequence, processIdentity, STATE_FILE } from '../src/output/riskiq/nonce.js';
import { RiskiqOutput } from '../src/output/riskiq/output.js';
import { tempDir } from './helpers/collect.js';

const dir = () => tempDir('ufc-riskiq-nonce-');
const counterOf = (n: Buffer) => n.readUInt32BE(4) * 2 ** 32 + n.readUInt32BE(8);

test('layout: 4-byte fixed field then a big-endian u64 counter starting at 0', () => {
  const s = new NonceSequence(join(dir(), 'state'), Buffer.from('0a0b0c0d', 'hex'));
  assert.equal(s.take().toString('hex'), '0a0b0c0d0000000000000000');
  assert.equal(s.take().toString('hex'), '0a0b0c0d0000000000000001');
});

test('the high-water mark is on disk before a counter of its block is used', () => {
  const path = join(dir(), 'state');
  const s = new NonceSequence(path);
  assert.equal(readFileSync(path, 'utf8').trim(), String(BLOCK));
  for (let i = 0; i < BLOCK; i++) s.take();
  assert.equal(readFileSync(path, 'utf8').trim(), String(BLOCK), 'the first block is used up, not more');
  const n = s.take();
  assert.equal(counterOf(n), BLOCK);
  assert.equal(readFileSync(path, 'utf8').trim(), String(2 * BLOCK), 'the next block was reserved first');
});

test('restarts and crashes never repeat a counter: each process starts past every earlier reservation', () => {
  const path = join(dir(), 'state');
  const fixed = Buffer.from('00000000', 'hex'); // the same fixed field every time: only the counter keeps them apart
  const seen = new Set<string>();
  let lastMark = 0;
  for (let run = 0; run < 5; run++) {
    const s = new NonceSequence(path, fixed);
    const first = s.take();
    assert.ok(counterOf(first) >= lastMark, `run ${run} starts at ${counterOf(first)}, earlier reservations end at ${lastMark}`);
    seen.add(first.toString('hex'));
    // A "crash" anywhere in the block: some runs use a few, one crosses into a second block.
    const n = run === 2 ? BLOCK + 10 : 1000 * run;
    for (let i = 0; i < n; i++) {
      const x = s.take().toString('hex');
      assert.ok(!seen.has(x), `nonce ${x} repeated`);
      seen.add(x);
    }
    lastMark = Number(readFileSync(path, 'utf8'));
  }
});

test('a damaged state file stops start-up rather than restarting the counter at 0', () => {
  const path = join(dir(), 'state');
  writeFileSync(path, 'garbage');
  assert.throws(() => new NonceSequence(path), /damaged/);
  writeFileSync(path, '99999999999999999999');
  assert.throws(() => new NonceSequence(path), /damaged/);
});

test('the output does not start when its nonce state cannot be written', async () => {
  // A regular file where the data dir should be: not writable as a directory, even for root.
  const blocker = join(dir(), 'not-a-dir');
  writeFileSync(blocker, '');
  const out = new RiskiqOutput({
    host: '127.0.0.1', port: 9, customerUuid: '527dd194-a116-11af-8380-034aba1ce438', key: Buffer.alloc(16), transport: 'udp',
    maxFrameBytes: 1400, deadlineMs: 100, queueSize: 1000, auditPath: '', nonceStatePath: join(blocker, 'riskiq-nonce.state'),
  });
  await assert.rejects(out.start(), /ENOTDIR|EEXIST/);
});

test('two processes that lose their state still differ by the random fixed field', () => {
  const a = new NonceSequence(join(dir(), 'state'));
  const b = new NonceSequence(join(dir(), 'state'));
  const na = a.take();
  const nb = b.take();
  assert.equal(counterOf(na), counterOf(nb));
  assert.notDeepEqual(na.subarray(0, 4), nb.subarray(0, 4));
});

test('one process per state file: a live holder of the lock refuses a second, a dead one is taken over', async () => {
  const path = join(tempDir('ufc-nonce-'), STATE_FILE);
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  try {
    const refused = new RegExp(`is in use by process ${other.pid}: two collectors on one data directory would repeat nonces`);
    writeFileSync(`${path}.lock`, `${other.pid} ${processIdentity(other.pid!)}\n`);
    assert.throws(() => new NonceSequence(path), refused);
    writeFileSync(`${path}.lock`, `${other.pid}\n`);
    assert.throws(() => new NonceSequence(path), refused, 'a lock of an older version, pid only, is judged by the pid');
  } finally {
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
  }
  const seq = new NonceSequence(path);
  assert.equal(seq.counter, 0);
  assert.equal(readFileSync(`${path}.lock`, 'utf8').trim(), `${process.pid} ${processIdentity(process.pid)}`);
  seq.release();
  assert.equal(existsSync(`${path}.lock`), false, 'released on close');
});

test('a lock whose pid now names another process (after a reboot, or a reused pid) is taken over', { skip: processIdentity(process.pid) === '' ? 'no /proc here to tell processes apart' : false }, async () => {
  const path = join(tempDir('ufc-nonce-'), STATE_FILE);
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  try {
    const [boot, start] = processIdentity(other.pid!).split('/');
    for (const stale of [`${boot}/${Number(start) + 1}`, `00000000-0000-0000-0000-000000000000/${start}`]) {
      writeFileSync(`${path}.lock`, `${other.pid} ${stale}\n`);
      const seq = new NonceSequence(path);
      assert.equal(readFileSync(`${path}.lock`, 'utf8').trim(), `${process.pid} ${processIdentity(process.pid)}`);
      seq.release();
    }
  } finally {
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
  }
});

test('the output gives up the state file lock when it closes, so a later process given its pid can start', async () => {
  const path = join(dir(), STATE_FILE);
  const out = new RiskiqOutput({
    host: '127.0.0.1', port: 9, customerUuid: '527dd194-a116-11af-8380-034aba1ce438', key: Buffer.alloc(16), transport: 'udp',
    maxFrameBytes: 1400, deadlineMs: 100, queueSize: 1000, auditPath: '', nonceStatePath: path,
  });
  await out.start();
  assert.equal(existsSync(`${path}.lock`), true, 'held while running');
  await out.close();
  assert.equal(existsSync(`${path}.lock`), false);
});

/**
 * GCM nonces that never repeat under one key, across restarts too.
 *
 * The 96-bit nonce is the deterministic construction of NIST SP 800-38D §8.2.1: a 32-bit fixed
 * field (4 random bytes drawn once per process) followed by a 64-bit invocation field (a counter).
 *
 * The counter alone guarantees uniqueness for one data dir (one process holds it: `<state>.lock`,
 * see lockState): before a block of BLOCK counters is
 * used, the end of the block (the high-water mark) is written to `<data dir>/riskiq-nonce.state`
 * atomically (temp file, fsync, rename, fsync of the directory). After a restart, or a crash at any
 * point, counting resumes at the stored mark, so a counter value is never handed out twice; at
 * most one block (2^20 of 2^64 values) is skipped per restart. If the file cannot be written the
 * output refuses to start rather than risk a repeat.
 *
 * The random fixed field covers what the file cannot: a lost or copied data dir (a container
 * without a volume, a cloned VM) or two collectors sharing one key. Two such processes collide only
 * if they draw the same 4 bytes (birthday bound: about n^2 / 2^33 for n such processes) and then
 * reach the same counter.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NONCE_LEN } from './frame.js';
import { makeDir } from '../../make-dir.js';
import { takePidLock, type PidLock } from '../pid-lock.js';

export { processIdentity } from '../pid-lock.js';

/** Counters reserved per write of the high-water mark. */
export const BLOCK = 2 ** 20;
export const STATE_FILE = 'riskiq-nonce.state';

/** The largest invocation field we hand out; a u64 that stays exact in a JS number. */
const COUNTER_MAX = Number.MAX_SAFE_INTEGER;

export class NonceSequence {
  private readonly fixed: Buffer;
  private next = 0;
  private limit = 0;
  private readonly lock: PidLock;

  /** Reads the high-water mark and reserves the first block; throws when the state cannot be saved. */
  constructor(readonly statePath: string, fixed: Buffer = randomBytes(4)) {
    if (fixed.length !== 4) throw new Error('nonce fixed field must be 4 bytes');
    this.fixed = Buffer.from(fixed);
    this.lock = lockState(statePath);
    this.next = readMark(statePath);
    this.reserve();
  }

  static inDataDir(dataDir: string): NonceSequence {
    return new NonceSequence(join(dataDir, STATE_FILE));
  }

  /** The next nonce, 12 fresh bytes. */
  take(): Buffer {
    if (this.next >= this.limit) this.reserve();
    const n = Buffer.allocUnsafe(NONCE_LEN);
    this.fixed.copy(n, 0);
    n.writeUInt32BE(Math.floor(this.next / 0x1_0000_0000), 4);
    n.writeUInt32BE(this.next % 0x1_0000_0000, 8);
    this.next++;
    return n;
  }

  /**
   * Gives up the state file's lock (the output stopped and takes no more nonces), so that a later
   * process given this pid is not taken for this one. Only our own lock is removed.
   */
  release(): void {
    this.lock.release();
  }

  /** Next counter to be used (for tests and the docs' figures). */
  get counter(): number {
    return this.next;
  }

  private reserve(): void {
    const mark = this.next + BLOCK;
    if (mark > COUNTER_MAX) throw new Error('RiskIQ nonce counter exhausted; rotate EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY and remove the nonce state file');
    writeMark(this.statePath, mark);
    this.limit = mark;
  }
}

function readMark(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new Error(`RiskIQ nonce state ${path}: ${(err as Error).message}`);
  }
  const t = text.trim();
  // A damaged file must not silently restart the counter at 0: that could repeat nonces.
  if (!/^\d{1,16}$/.test(t) || Number(t) > COUNTER_MAX) throw new Error(`RiskIQ nonce state ${path} is damaged (${JSON.stringify(t.slice(0, 40))}); remove it only together with a new encryption key`);
  return Number(t);
}

/**
 * Claims the state file for this process (`<state>.lock`, pid-lock.ts): two collectors counting
 * from one file would reserve the same blocks, and their shared temporary file could leave it empty.
 * This process may claim it again (a restarted output).
 */
function lockState(path: string): PidLock {
  makeDir(dirname(path));
  return takePidLock(`${path}.lock`, {
    what: `RiskIQ nonce state ${path}`,
    inUse: 'two collectors on one data directory would repeat nonces; give each its own EF_DATA_DIR',
    reentrant: true,
  });
}

/** Atomic replace: a crash leaves the old or the new mark, never a torn one. */
function writeMark(path: string, mark: number): void {
  const dir = dirname(path);
  makeDir(dir);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${mark}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}

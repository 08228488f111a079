/**
 * A lock file naming the one process that may use a piece of the data dir (the RiskIQ nonce state,
 * a spill directory): `<pid> <processIdentity>`, linked into place whole (create()). Two collectors on one
 * EF_DATA_DIR would otherwise both use it: repeat nonces, or both replay one spill (every spilled
 * record delivered twice) and append to the same segments.
 *
 * A lock is taken over when its process is gone (a crash, kill -9), or its pid now names another
 * process (a reboot, a reused pid). A lock holding only a pid (older versions) is judged by the pid
 * alone. There is no advisory locking (flock) in Node's fs, hence the pid check.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface PidLockOptions {
  /** What the lock guards, as its errors name it: `RiskIQ nonce state /data/riskiq-nonce.state`. */
  what: string;
  /** Said after "is in use by process N: ": what sharing would do, and the way out. */
  inUse: string;
  /**
   * This process may take a lock it already holds (the nonce state: an output started again). Without
   * it a second taker in this process is refused like another process, until the first releases it.
   */
  reentrant?: boolean;
}

export interface PidLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's; later calls do nothing. */
  release(): void;
  /**
   * Whether the lock file still names this process: a clean-up job may have removed it (and another
   * process may have taken it since), which nothing else would tell the holder. Throws when the file
   * is there but cannot be read: that says neither (see holding()).
   */
  stillHeld(): boolean;
}

/** The lock is held by a live process (this one included, for a second taker without `reentrant`). */
export class LockHeldError extends Error {
  constructor(message: string, readonly holder: number) {
    super(message);
  }
}

/** Something to wait on for a few milliseconds without returning to the event loop (takePidLock is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Locks this process holds and has not released (resolved paths), to refuse a second taker here too. */
const held = new Set<string>();

/** Takes `lock` for this process or throws, naming the process that holds it. */
export function takePidLock(lock: string, o: PidLockOptions): PidLock {
  const key = resolve(lock);
  const mine = processIdentity(process.pid);
  for (let attempt = 0; attempt < 5; attempt++) {
    // Another process mid-way (a takeover under its claim): it takes microseconds, so a short wait.
    if (attempt > 0) Atomics.wait(PAUSE, 0, 0, 10);
    try {
      create(lock, `${process.pid} ${mine}\n`);
      return holding(lock, key, mine, o.what);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${o.what}: cannot lock it: ${(err as Error).message}`);
    }
    let text: string;
    let age: number;
    try {
      text = readFileSync(lock, 'utf8');
      age = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // Gone meanwhile: try again.
    }
    const [p, i] = text.trim().split(' ');
    const holder = text.trim() === '' ? Number.NaN : Number(p);
    const ident = i ?? '';
    if (holder === process.pid && (ident === '' || ident === mine)) {
      // Ours: left by a taker in this process that never released it (taken over), or held now.
      if (o.reentrant === true || !held.has(key)) return holding(lock, key, mine, o.what);
      throw new LockHeldError(`${o.what} is in use by process ${holder} (this one): ${o.inUse}`, holder);
    }
    if (holder !== process.pid && Number.isSafeInteger(holder) && holder > 0 && alive(holder) && (ident === '' || ident === processIdentity(holder))) {
      throw new LockHeldError(`${o.what} is in use by process ${holder}: ${o.inUse}`, holder);
    }
    // An empty lock is one an older version was writing (it created the file, then wrote): stale only
    // once it has stayed empty a while.
    if (text.trim() === '' && age < EMPTY_STALE_MS) throw new LockHeldError(`${o.what} is being locked by another process: ${o.inUse}`, 0);
    takeOver(lock, text);
  }
  throw new Error(`${o.what}: cannot lock it (${lock} keeps changing hands)`);
}

/** How long an empty lock file may be one being written before it is taken for a crashed writer's. */
const EMPTY_STALE_MS = 10_000;

/**
 * Makes `lock` holding `text`, or fails with EEXIST: written to a file of its own first and linked
 * into place, so the lock never exists empty (a reader would take an empty one for a crashed writer's).
 */
function create(lock: string, text: string): void {
  const tmp = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, lock);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // A file system without hard links (FAT, some network mounts): created, then written.
    writeFileSync(lock, text, { mode: 0o600, flag: 'wx' });
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Removes a stale lock whose text was `stale`, under a claim only one taker holds at a time
 * (`<lock>.takeover`, created exclusively): under it the lock is read again and removed only if it is
 * still the stale one. Without the claim, one taker could remove the lock another had just made in
 * its place. A claim left by a taker that crashed is cleared once it is CLAIM_STALE_MS old.
 */
function takeOver(lock: string, stale: string): void {
  const claim = `${lock}.takeover`;
  try {
    writeFileSync(claim, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another taker at work: the next attempt sees what it did. One that crashed left its claim.
    try {
      if (Date.now() - statSync(claim).mtimeMs > CLAIM_STALE_MS) rmSync(claim, { force: true });
    } catch {
      // Gone meanwhile.
    }
    return;
  }
  try {
    if (readFileSync(lock, 'utf8') === stale) unlinkSync(lock);
  } catch {
    // Gone meanwhile: the next attempt creates it or finds who did.
  } finally {
    rmSync(claim, { force: true });
  }
}

/** How long a takeover claim may be one under way before it is taken for a crashed taker's. */
const CLAIM_STALE_MS = 10_000;

function holding(lock: string, key: string, mine: string, what: string): PidLock {
  held.add(key);
  let released = false;
  return {
    path: lock,
    stillHeld(): boolean {
      if (released) return false;
      let text: string;
      try {
        text = readFileSync(lock, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return false;
        // Thrown, not taken for gone (the holder would lock it again) nor for held (it would go on
        // using what it guards): a lock another user's process made reads EACCES (it is mode 0600),
        // and too many open files says nothing at all. The holder leaves it alone until it can tell.
        throw new Error(`${what}: cannot read its lock ${lock} to tell whether it is still this process's: ${(err as Error).message}`, { cause: err });
      }
      const [p, i] = text.trim().split(' ');
      // Judged as takePidLock judges its own: a lock with a pid only is ours by the pid.
      return p === String(process.pid) && (i === undefined || i === mine);
    },
    release(): void {
      if (released) return;
      released = true;
      held.delete(key);
      // Only our own lock is removed: a later process given this pid must not be taken for this one,
      // and another's lock (ours was taken over) is not ours to remove.
      try {
        if (readFileSync(lock, 'utf8').trim().split(' ')[0] === String(process.pid)) unlinkSync(lock);
      } catch {
        // Already gone: nothing to give up.
      }
    },
  };
}

/**
 * What tells a process apart from a later one given the same pid (pids are reused, and a data dir
 * outlives reboots): the boot it runs in and its start time in clock ticks since boot, from Linux's
 * /proc; '' where /proc does not say (the pid alone is then trusted).
 */
export function processIdentity(pid: number): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // starttime is field 22; the fields are counted after the command name's closing parenthesis
    // (the name may hold spaces and parentheses), which is followed by field 3.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start === undefined ? '' : `${boot}/${start}`;
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

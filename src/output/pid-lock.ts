/**
 * A lock file naming the one process that may use a piece of the data dir (the RiskIQ nonce state,
 * a spill directory): `<pid> <processIdentity>`, created with O_EXCL. Two collectors on one
 * EF_DATA_DIR would otherwise both use it: repeat nonces, or both replay one spill (every spilled
 * record delivered twice) and append to the same segments.
 *
 * A lock is taken over when its process is gone (a crash, kill -9), or its pid now names another
 * process (a reboot, a reused pid). A lock holding only a pid (older versions) is judged by the pid
 * alone. There is no advisory locking (flock) in Node's fs, hence the pid check.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
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
}

/** The lock is held by a live process (this one included, for a second taker without `reentrant`). */
export class LockHeldError extends Error {
  constructor(message: string, readonly holder: number) {
    super(message);
  }
}

/** Locks this process holds and has not released (resolved paths), to refuse a second taker here too. */
const held = new Set<string>();

/** Takes `lock` for this process or throws, naming the process that holds it. */
export function takePidLock(lock: string, o: PidLockOptions): PidLock {
  const key = resolve(lock);
  const mine = processIdentity(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid} ${mine}\n`);
      } finally {
        closeSync(fd);
      }
      return holding(lock, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${o.what}: cannot lock it: ${(err as Error).message}`);
    }
    let holder = Number.NaN;
    let ident = '';
    try {
      const [p, i] = readFileSync(lock, 'utf8').trim().split(' ');
      holder = Number(p);
      ident = i ?? '';
    } catch {
      // Gone meanwhile, or unreadable: try again.
    }
    if (holder === process.pid && (ident === '' || ident === mine)) {
      // Ours: left by a taker in this process that never released it (taken over), or held now.
      if (o.reentrant === true || !held.has(key)) return holding(lock, key);
      throw new LockHeldError(`${o.what} is in use by process ${holder} (this one): ${o.inUse}`, holder);
    }
    if (holder !== process.pid && Number.isSafeInteger(holder) && holder > 0 && alive(holder) && (ident === '' || ident === processIdentity(holder))) {
      throw new LockHeldError(`${o.what} is in use by process ${holder}: ${o.inUse}`, holder);
    }
    try {
      unlinkSync(lock);
    } catch {
      // Another process took it over first: the next attempt says who holds it.
    }
  }
  throw new Error(`${o.what}: cannot lock it (${lock} keeps changing hands)`);
}

function holding(lock: string, key: string): PidLock {
  held.add(key);
  let released = false;
  return {
    path: lock,
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

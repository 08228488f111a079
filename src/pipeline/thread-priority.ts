/**
 * Scheduling of the calling thread (Linux: nice values and scheduling classes are per thread). The UDP
 * receive thread asks for real-time scheduling (EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY) so that it drains
 * the socket even when every core is busy; with EF_FLOW_SERVER_WORKERS_NICE the decode workers lower
 * their nice value (opt-in). Elsewhere (no /proc/thread-self) nothing changes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The kernel's id of the calling thread, or null where /proc/thread-self does not exist. */
export function threadId(): number | null {
  try {
    const id = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

/**
 * Adds `delta` to the calling thread's nice value (positive: lower priority, always allowed;
 * negative needs CAP_SYS_NICE). Returns the new value, or null when it could not be changed.
 */
export function reniceThisThread(delta: number): number | null {
  const tid = threadId();
  if (tid === null) return null;
  try {
    const next = Math.max(-20, Math.min(19, getPriority(tid) + delta));
    setPriority(tid, next);
    return getPriority(tid);
  } catch {
    return null;
  }
}

/** Real-time priority the UDP receive thread asks for (SCHED_FIFO, 1-99): low, above every normal thread. */
export const RECEIVE_REALTIME_PRIORITY = 10;

/**
 * Puts the calling thread in the real-time SCHED_FIFO class at `priority`, so that it runs as soon as
 * it is runnable instead of waiting its turn among the normal threads. Node has no binding for
 * sched_setscheduler(2), so `chrt` (util-linux, part of every Debian install) makes the one call for
 * this thread's id; `--reset-on-fork` keeps any thread or process it starts later out of that class.
 * Needs CAP_SYS_NICE (root has it) or an RLIMIT_RTPRIO of at least `priority`.
 * Returns null when done, else why not.
 */
export function realtimeThisThread(priority: number): string | null {
  const tid = threadId();
  if (tid === null) return 'no /proc/thread-self (not Linux)';
  const r = spawnSync('chrt', ['--fifo', '--reset-on-fork', '--pid', String(priority), String(tid)], { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined) return `chrt: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim().split('\n').pop() || `chrt exited with ${r.status}`;
  return schedulingPolicy(tid) === 'realtime' ? null : 'chrt ran but the policy did not change';
}

/** 'realtime' (SCHED_FIFO or SCHED_RR) or 'normal' for a thread of this process; null when unknown. */
function schedulingPolicy(tid: number): 'realtime' | 'normal' | null {
  try {
    const m = /^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/self/task/${tid}/sched`, 'utf8'));
    if (m === null) return null;
    return m[1] === '1' || m[1] === '2' ? 'realtime' : 'normal';
  } catch {
    return null;
  }
}

/**
 * Scheduling priority of the calling thread (Linux: nice values are per thread). With
 * EF_FLOW_SERVER_WORKERS_NICE the decode workers lower theirs so that, when every core is busy, the
 * threads that must never wait (the UDP receive thread draining the socket, the main thread writing
 * and handing on) are scheduled first. Elsewhere (no /proc/thread-self) nothing changes.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The kernel's id of the calling thread, or null where /proc/thread-self does not exist. */
function threadId(): number | null {
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

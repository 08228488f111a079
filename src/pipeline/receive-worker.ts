/**
 * The receive thread (EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE above 0): owns the UDP sockets and does
 * nothing but read them, so the kernel's receive buffer is drained while the main thread decodes,
 * encodes or collects garbage; on 2 or more cores it runs in the real-time class
 * (EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY), napping 1 ms between turns that emptied its sockets. Datagrams go to the main thread in batches inside one transferred buffer (the
 * DatagramBatch of the decode workers). What the main thread has not handled yet is bounded by
 * `maxPendingBytes` (a shared counter the main thread lowers as it goes); past it, datagrams are
 * dropped here and counted, as the kernel would have dropped them.
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { BATCH_DATAGRAMS, DatagramStaging as Staging, STAGING_BYTES } from './datagram-staging.js';
import type { DatagramBatch } from './worker-protocol.js';
import { realtimeThisThread, RECEIVE_REALTIME_PRIORITY, threadId } from './thread-priority.js';
import { unmapIPv4 } from '../host-port.js';

export interface ReceiveWorkerData {
  ip: string;
  type: 'udp4' | 'udp6';
  ports: number[];
  readBufferBytes: number;
  maxPendingBytes: number;
  /** Int32Array over a SharedArrayBuffer: [0] bytes posted and not yet handled by the main thread. */
  pending: SharedArrayBuffer;
  /** Ask for real-time scheduling once the sockets are bound (EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY). */
  realtime: boolean;
}

/** How the receive thread is scheduled: its kernel thread id, and why it is not real-time when asked. */
export interface ReceiveScheduling {
  tid: number | null;
  realtime: boolean;
  /** Set when real-time scheduling was asked for and refused. */
  refused?: string;
}

export type FromReceiver =
  | { type: 'bound'; ports: number[]; granted: number[]; scheduling: ReceiveScheduling }
  | { type: 'error'; port: number; code: string; message: string }
  | { type: 'datagrams'; batch: DatagramBatch; bytes: number }
  | { type: 'dropped'; datagrams: number }
  | { type: 'closed' };

export type ToReceiver = { type: 'close' };

/**
 * How long the thread sleeps after a turn that emptied its sockets, in ms, before it polls them again.
 * Without it the thread woke for every datagram once it was scheduled the moment one arrived
 * (real-time class): at 20,000-40,000 packets/s that many wake-ups, each switching out a worker
 * for one datagram, cost ~7% more CPU per record, and in the soak two workers fell behind. With it
 * a wake-up reads what arrived meanwhile (40 datagrams a millisecond at 40,000 packets/s, 52 KB of
 * the socket buffer's megabytes), and one message carries them on.
 */
const NAP_MS = 1;
/**
 * A turn that read this many datagrams may have left more in the sockets (libuv reads up to 32 per
 * socket per wake-up): no nap then, the next turn reads on at once.
 */
const DRAINED_BELOW = 32;

/**
 * Real-time scheduling for this thread when asked. Asked for only after binding, so that nothing this
 * thread starts on the way (the socket set-up) runs in the real-time class; chrt's --reset-on-fork
 * keeps later ones out too.
 */
function schedule(realtime: boolean): ReceiveScheduling {
  const tid = threadId();
  if (!realtime) return { tid, realtime: false };
  const refused = realtimeThisThread(RECEIVE_REALTIME_PRIORITY);
  return refused === null ? { tid, realtime: true } : { tid, realtime: false, refused };
}

function run(): void {
  const d = workerData as ReceiveWorkerData;
  const port = parentPort!;
  const pending = new Int32Array(d.pending);
  const post = (m: FromReceiver, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  const staging = new Staging();
  let turnEnd = false;
  let readThisTurn = 0;
  let droppedThisTurn = false;
  const napCell = new Int32Array(new SharedArrayBuffer(4));
  // At the end of each turn: hand on what it read; then nap (see NAP_MS) if the turn drained the
  // sockets, or if it dropped: with the queue full, datagrams read now would only be dropped too, and
  // left in the socket they cost nothing (the kernel drops them when its buffer is full), so the
  // thread does not spend a core reading them while the pipeline is behind.
  const endTurn = (): void => {
    turnEnd = false;
    flush();
    const nap = readThisTurn < DRAINED_BELOW || droppedThisTurn;
    readThisTurn = 0;
    droppedThisTurn = false;
    if (nap) Atomics.wait(napCell, 0, 0, NAP_MS);
  };
  let dropped = 0;
  let dropTimer: NodeJS.Timeout | null = null;

  const flush = (): void => {
    if (staging.count === 0) return;
    const bytes = staging.used;
    const batch = staging.take();
    Atomics.add(pending, 0, bytes);
    post({ type: 'datagrams', batch, bytes }, [batch.data, batch.offsets.buffer, batch.lengths.buffer, batch.ports.buffer, batch.receivedAt.buffer] as ArrayBuffer[]);
  };
  const drop = (): void => {
    dropped++;
    if (dropTimer === null) {
      // Counted, reported at most once a second.
      dropTimer = setTimeout(() => {
        post({ type: 'dropped', datagrams: dropped });
        dropped = 0;
        dropTimer = null;
      }, 1000);
    }
  };
  const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    readThisTurn++;
    if (!turnEnd) {
      turnEnd = true;
      setImmediate(endTurn);
    }
    if (msg.length > STAGING_BYTES || Atomics.load(pending, 0) + staging.used + msg.length > d.maxPendingBytes) {
      droppedThisTurn = true;
      drop();
      return;
    }
    if (!staging.fits(msg.length)) flush();
    const addr = unmapIPv4(rinfo.address);
    staging.add(msg, addr, rinfo.port, Date.now());
    if (staging.count >= BATCH_DATAGRAMS) flush();
  };

  const sockets: dgram.Socket[] = [];
  const bound: number[] = [];
  const granted: number[] = [];
  let left = d.ports.length;
  d.ports.forEach((p, i) => {
    const sock = dgram.createSocket({ type: d.type, reuseAddr: false, recvBufferSize: d.readBufferBytes });
    sock.on('message', onMessage);
    sock.on('error', (err: NodeJS.ErrnoException) => post({ type: 'error', port: p, code: err.code ?? '', message: err.message }));
    sock.bind(p, d.ip, () => {
      try {
        sock.setRecvBufferSize(d.readBufferBytes);
      } catch {
        // the granted size below tells
      }
      let g = 0;
      try {
        g = sock.getRecvBufferSize();
      } catch {
        g = 0;
      }
      sockets.push(sock);
      bound[i] = sock.address().port;
      granted[i] = g;
      if (--left === 0) post({ type: 'bound', ports: bound, granted, scheduling: schedule(d.realtime) });
    });
  });

  port.on('message', (m: ToReceiver) => {
    if (m.type !== 'close') return;
    void Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {
      flush();
      if (dropTimer !== null) clearTimeout(dropTimer);
      if (dropped > 0) post({ type: 'dropped', datagrams: dropped });
      post({ type: 'closed' });
      port.close();
    });
  });
}

run();

/**
 * UDP listeners: one socket per configured port on EF_FLOW_SERVER_UDP_IP. Binding `::` takes IPv4
 * too (dual stack); IPv4-mapped sender addresses are shown as plain IPv4.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Worker } from 'node:worker_threads';
import { moduleWorker } from '../pipeline/module-worker.js';
import { log } from '../log/logger.js';
import type { FromReceiver, ReceiveScheduling, ReceiveWorkerData, ToReceiver } from '../pipeline/receive-worker.js';
import { RECEIVE_REALTIME_PRIORITY } from '../pipeline/thread-priority.js';
import { RESTART_PAUSE_MS, stoppedQuickly } from '../pipeline/restart-pause.js';
import { hostPort, listenFailure, unmapIPv4 } from '../host-port.js';
import { TurnQueue } from '../pipeline/turn-queue.js';

export type DatagramHandler = (buf: Buffer, address: string, port: number, receivedAt: number) => void;

export interface UdpInputOptions {
  ip: string;
  ports: number[];
  readBufferBytes: number;
  /**
   * Read the sockets on their own thread (pipeline/receive-worker.ts) and hand datagrams over in
   * batches, holding at most this many bytes the main thread has not handled yet; 0 reads them on
   * the main thread.
   */
  receiveThreadBytes?: number;
  /** Scheduling of the receive thread (EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY); normal when left out. */
  receivePriority?: 'auto' | 'realtime' | 'normal';
  /** Cores for `auto` (os.availableParallelism() in the collector). */
  cores?: number;
}

export class UdpInput {
  private readonly sockets: dgram.Socket[] = [];

  constructor(private readonly opts: UdpInputOptions, private readonly onDatagram: DatagramHandler) {}

  private worker: Worker | null = null;
  private workerPorts: number[] = [];
  private lastDropLog = 0;
  /** Datagrams the receive thread dropped because the pipeline was behind by more than its queue. */
  dropped = 0;
  /** How the receive thread is scheduled, once it runs. */
  receiveScheduling: ReceiveScheduling | null = null;

  async start(): Promise<void> {
    const type = isIP(this.opts.ip) === 6 ? 'udp6' : 'udp4';
    if ((this.opts.receiveThreadBytes ?? 0) > 0) return this.startThread(type);
    for (const port of this.opts.ports) {
      const sock = dgram.createSocket({ type, reuseAddr: false, recvBufferSize: this.opts.readBufferBytes });
      sock.on('message', (msg, rinfo) => {
        const addr = unmapIPv4(rinfo.address);
        this.onDatagram(msg, addr, rinfo.port, Date.now());
      });
      await new Promise<void>((resolve, reject) => {
        const onBindError = (err: NodeJS.ErrnoException): void => {
          const why = listenFailure(err.code, err.message);
          reject(new Error(`cannot listen on udp ${hostPort(this.opts.ip, port)}: ${why}; see EF_FLOW_SERVER_UDP_IP and EF_FLOW_SERVER_UDP_PORT`));
        };
        sock.once('error', onBindError);
        sock.bind(port, this.opts.ip, () => {
          sock.off('error', onBindError);
          sock.on('error', (err) => log.error(`UDP socket ${hostPort(this.opts.ip, port)}: ${err.message}`));
          resolve();
        });
      });
      let granted = 0;
      try {
        sock.setRecvBufferSize(this.opts.readBufferBytes);
      } catch (err) {
        log.warn(`UDP ${hostPort(this.opts.ip, port)}: could not set receive buffer: ${(err as Error).message}`);
      }
      try {
        granted = sock.getRecvBufferSize();
      } catch {
        granted = 0;
      }
      // Linux reports double the usable size (it counts bookkeeping) and caps at net.core.rmem_max.
      this.logListening(sock.address().port, granted);
      this.sockets.push(sock);
    }
  }

  private logListening(port: number, granted: number): void {
    // Linux reports twice what it grants (the bookkeeping share), so the usable size is half of it.
    const usable = process.platform === 'linux' ? Math.floor(granted / 2) : granted;
    const level = granted > 0 && usable < this.opts.readBufferBytes ? 'warn' : 'info';
    log[level](`listening for flows on udp ${hostPort(this.opts.ip, port)}`, {
      read_buffer_requested: this.opts.readBufferBytes,
      read_buffer_granted: usable,
      ...(level === 'warn' ? { hint: 'raise net.core.rmem_max to get the requested receive buffer' } : {}),
    });
  }

  private logScheduling(priority: string, s: ReceiveScheduling): void {
    if (s.realtime) log.info(`UDP receive thread: real-time scheduling (SCHED_FIFO ${RECEIVE_REALTIME_PRIORITY})`, { thread: s.tid });
    else if (s.refused !== undefined) {
      // Asked for explicitly: a warning; by `auto`: worth knowing, not wrong.
      const hint = /ENOENT/.test(s.refused)
        ? 'install chrt (Debian: util-linux), or set EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY=normal'
        : 'allow an RLIMIT_RTPRIO of 10 (systemd: LimitRTPRIO=10; docker: --ulimit rtprio=10) or grant CAP_SYS_NICE; or set EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY=normal';
      log[priority === 'realtime' ? 'warn' : 'info'](`UDP receive thread: real-time scheduling refused (${s.refused}); it is scheduled as a normal thread, and when every core is busy the kernel may drop datagrams while it waits`, { thread: s.tid, hint });
    }
  }

  /** Batches from the receive thread, each with the byte counter of the thread that sent it (a restarted thread has its own). */
  private readonly inbox = new TurnQueue<{ m: Extract<FromReceiver, { type: 'datagrams' }>; counter: Int32Array }>(({ m, counter }) => {
    const b = m.batch;
    const onDatagram = this.onDatagram;
    for (let i = 0; i < b.count; i++) onDatagram(Buffer.from(b.data, b.offsets[i]!, b.lengths[i]!), b.addresses[i]!, b.ports[i]!, b.receivedAt[i]!);
    Atomics.sub(counter, 0, m.bytes);
  });

  /** Times the receive thread stopped on its own (a crash; each time it is started again). */
  restarts = 0;
  private threadStartedAt = 0;

  /**
   * The receive thread stopped on its own (a crash; the sockets went with it): start it again on the
   * ports it had, after a pause when it had run for less than 10 s, and keep trying every 5 s while
   * the ports cannot be bound.
   */
  private threadExited(type: 'udp4' | 'udp6', code: number): void {
    this.worker = null;
    // Its scheduling went with it (ufc_udp_receive_realtime reads 0 until the successor reports).
    this.receiveScheduling = null;
    this.restarts++;
    const ports = this.workerPorts;
    const pause = stoppedQuickly(this.threadStartedAt) ? RESTART_PAUSE_MS : 0;
    log.error(`UDP receive thread exited (code ${code}): datagrams are not received until it is started again on ${ports.join(', ')}${pause > 0 ? ` in ${pause} ms` : ''}`);
    // Not unref'd: with the thread gone, its sockets went too, and this timer may be all that keeps
    // the process from exiting (with code 0, which a service manager would not restart).
    const again = (): void => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.startThread(type, ports).then(
        () => log.info(`UDP receive thread started again on ${ports.join(', ')}`),
        (err: Error) => {
          if (this.stopping) return;
          log.error(`UDP receive thread: could not start again (${err.message}); next try in 5 s`);
          this.restartTimer = setTimeout(again, 5_000);
        },
      );
    };
    this.restartTimer = setTimeout(again, pause);
  }

  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;

  private async startThread(type: 'udp4' | 'udp6', ports = this.opts.ports): Promise<void> {
    const pending = new SharedArrayBuffer(4);
    const counter = new Int32Array(pending);
    // On one core a real-time thread would hold the core from the pipeline for as long as datagrams come.
    const priority = this.opts.receivePriority ?? 'normal';
    const realtime = priority === 'realtime' || (priority === 'auto' && (this.opts.cores ?? 1) >= 2);
    const data: ReceiveWorkerData = {
      ip: this.opts.ip, type, ports, readBufferBytes: this.opts.readBufferBytes,
      maxPendingBytes: this.opts.receiveThreadBytes!, pending, realtime,
    };
    const w = moduleWorker(import.meta.url, '../pipeline/receive-worker', { workerData: data });
    this.worker = w;
    this.threadStartedAt = Date.now();
    w.on('error', (err) => log.error(`UDP receive thread failed: ${err.message}`));
    let bound = false;
    w.on('exit', (code) => {
      // Before it bound, start-up (or the retry above) reports the failure.
      if (this.worker === w && bound && !this.stopping) this.threadExited(type, code);
    });
    await new Promise<void>((resolve, reject) => {
      w.once('error', reject);
      w.on('message', (m: FromReceiver) => {
        switch (m.type) {
          case 'datagrams':
            // Node delivers every queued message in one go: handling them there would starve the
            // outputs' I/O for as long as the backlog lasts. One batch per event-loop turn instead.
            this.inbox.push({ m, counter });
            break;
          case 'bound':
            bound = true;
            this.workerPorts = m.ports;
            m.ports.forEach((p, i) => this.logListening(p, m.granted[i]!));
            this.receiveScheduling = m.scheduling;
            this.logScheduling(priority, m.scheduling);
            resolve();
            break;
          case 'error': {
            const why = listenFailure(m.code, m.message);
            // Logged by the caller, as a bind failure on the main thread is.
            reject(new Error(`cannot listen on udp ${hostPort(this.opts.ip, m.port)}: ${why}; see EF_FLOW_SERVER_UDP_IP and EF_FLOW_SERVER_UDP_PORT`));
            break;
          }
          case 'dropped': {
            this.dropped += m.datagrams;
            const now = Date.now();
            if (now - this.lastDropLog > 60_000) {
              this.lastDropLog = now;
              log.warn(`UDP receive thread: ${m.datagrams} datagrams dropped in the last second, the pipeline is behind by more than its ${this.opts.receiveThreadBytes} bytes (EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE)`);
            }
            break;
          }
          default:
            break;
        }
      });
    }).catch(async (err: unknown) => {
      if (this.worker === w) this.worker = null;
      await w.terminate();
      throw err;
    });
  }

  /** The ports actually bound (useful when port 0 asked for an ephemeral one). */
  boundPorts(): number[] {
    return (this.opts.receiveThreadBytes ?? 0) > 0 ? this.workerPorts : this.sockets.map((s) => s.address().port);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    const w = this.worker;
    if (w !== null) {
      this.worker = null;
      // Everything the thread read is handed over (and handled) before it says closed.
      await new Promise<void>((resolve) => {
        w.on('message', (m: FromReceiver) => m.type === 'closed' && resolve());
        w.once('exit', () => resolve());
        w.postMessage({ type: 'close' } satisfies ToReceiver);
      });
      await w.terminate();
      await this.inbox.idle();
    }
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }
}

/**
 * Where sealed frames go: a UDP socket (one frame per datagram), a TCP connection (each frame after
 * a u32 big-endian length, docs/riskiq-wire-format.md §6), or the audit file (JSON lines).
 *
 * A transport never queues on its own beyond one socket buffer: the output asks `canSend()` and
 * keeps frames in its bounded queue until the transport can take them, so a slow or absent receiver
 * costs at most the output's queue. Connections are (re)made with capped exponential backoff.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, statSync, type WriteStream } from 'node:fs';
import { lookup } from 'node:dns';
import { isIP, connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { dirname } from 'node:path';
import { log } from '../../log/logger.js';
import { makeDir } from '../../make-dir.js';
import { cutToLineEnd, writeAll } from '../../fd-write.js';
import { hostPort } from '../../host-port.js';

export interface Transport {
  /**
   * Starts connecting; resolves once the first attempt succeeded or failed, or after START_WAIT_MS
   * while it goes on (never rejects): an unreachable receiver must not hold up the collector's
   * start-up, whose flow ports open after the outputs started.
   */
  start(): Promise<void>;
  /** True when a frame handed over now goes straight to the socket or file. */
  canSend(): boolean;
  /** True while disconnected and waiting to retry: frames cannot move for now. */
  isDown(): boolean;
  /** Why frames still queued at stop did not leave, for the stop's report: `the receiver away`. */
  stopCause(): string;
  /** Hands one frame over; `done` reports whether it reached the kernel (or the file). */
  send(data: Buffer, done: (err: Error | null | undefined) => void): void;
  /** Called when `canSend()` may have turned true. */
  onReady: () => void;
  close(): Promise<void>;
  counters(): Record<string, number>;
}

export interface BackoffOptions {
  /** First retry delay, ms. */
  backoffMinMs?: number;
  /** Largest retry delay, ms. */
  backoffMaxMs?: number;
  /** TCP: a connect not answered by then is given up, ms. */
  connectTimeoutMs?: number;
  /** TCP: a connection that lasted this long resets the backoff when it ends, ms. */
  stableMs?: number;
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 30_000;
/** UDP datagrams handed to libuv and not yet confirmed; bounds memory outside our queue. */
const UDP_MAX_IN_FLIGHT = 64;
const LOG_EVERY_MS = 10_000;
/** How long start() waits for the first attempt before the collector goes on without it. */
const START_WAIT_MS = 1000;
/** A TCP connect not answered by then is given up and retried (the kernel's own limit is ~2 min). */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * A connection that lasted less is not taken as the receiver's recovery: the backoff keeps growing,
 * so a receiver (or a proxy without backend) that accepts and at once closes is not hit 10 times
 * a second.
 */
const STABLE_MS = 5000;

/** Runs `open` with a callback for its first attempt; resolves at that callback or after START_WAIT_MS. */
function firstAttempt(open: (done: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, START_WAIT_MS);
    t.unref?.();
    open(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Capped exponential backoff with ±20% jitter, so many collectors do not reconnect in step. */
class Backoff {
  private delay = 0;
  constructor(private readonly min: number, private readonly max: number) {}
  next(): number {
    this.delay = this.delay === 0 ? this.min : Math.min(this.max, this.delay * 2);
    return Math.round(this.delay * (0.8 + 0.4 * Math.random()));
  }
  reset(): void {
    this.delay = 0;
  }
}

/** Rate-limited log line: one per LOG_EVERY_MS at most, never per frame. */
class RateLimitedLog {
  private last = 0;
  constructor(private readonly level: 'warn' | 'info' = 'warn') {}
  say(msg: string): void {
    const now = Date.now();
    if (now - this.last < LOG_EVERY_MS) return;
    this.last = now;
    log[this.level](msg);
  }
}

export class UdpTransport implements Transport {
  onReady: () => void = () => {};
  private sock: UdpSocket | null = null;
  private connected = false;
  private down = false;
  private inFlight = 0;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly warner = new RateLimitedLog();
  private readonly c = { udp_connects: 0, udp_connect_failures: 0, udp_send_errors: 0, udp_unreachable: 0 };

  constructor(private readonly host: string, private readonly port: number, b: BackoffOptions = {}) {
    this.backoff = new Backoff(b.backoffMinMs ?? BACKOFF_MIN_MS, b.backoffMaxMs ?? BACKOFF_MAX_MS);
  }

  start(): Promise<void> {
    return firstAttempt((done) => this.open(done));
  }

  /** A connected socket: the address is resolved once, and ICMP unreachable errors come back to us. */
  private open(firstAttempt?: () => void): void {
    if (this.closed) return firstAttempt?.();
    const family = isIP(this.host);
    if (family !== 0) return this.openSocket(this.host, family, firstAttempt);
    // Resolve first: the socket's family must match the address (a name may resolve to IPv6 only).
    lookup(this.host, (err, address, fam) => {
      if (this.closed) return firstAttempt?.();
      if (err) {
        this.c.udp_connect_failures++;
        this.warner.say(`RiskIQ output: UDP ${hostPort(this.host, this.port)}: ${err.message}; retrying with backoff`);
        this.scheduleRetry();
        return firstAttempt?.();
      }
      this.openSocket(address, fam, firstAttempt);
    });
  }

  private openSocket(address: string, family: number, firstAttempt?: () => void): void {
    const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
    this.sock = sock;
    const failed = (err: Error): void => {
      if (this.sock !== sock) return;
      this.c.udp_connect_failures++;
      this.warner.say(`RiskIQ output: UDP ${hostPort(this.host, this.port)}: ${err.message}; retrying with backoff`);
      this.scheduleRetry();
      firstAttempt?.();
      firstAttempt = undefined;
    };
    sock.on('error', (err) => {
      if (!this.connected) return failed(err);
      // Linux mostly reports an ICMP port unreachable to the socket's next read, not to a send:
      // the frames before it left as far as the kernel knows, so they count as sent. Counted here.
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.c.udp_unreachable++;
      this.warner.say(`RiskIQ output: UDP ${hostPort(this.host, this.port)}: ${err.message}`);
    });
    // Node calls this with the error when the lookup or connect fails (else emits 'error').
    sock.connect(this.port, address, (err?: Error) => {
      if (err) return failed(err);
      this.connected = true;
      this.down = false;
      this.backoff.reset();
      this.c.udp_connects++;
      firstAttempt?.();
      firstAttempt = undefined;
      this.onReady();
    });
  }

  private scheduleRetry(): void {
    this.connected = false;
    this.down = true;
    const sock = this.sock;
    this.sock = null;
    try {
      sock?.close();
    } catch {
      // already closed
    }
    if (this.closed || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.open();
    }, this.backoff.next());
    this.retry.unref?.();
  }

  canSend(): boolean {
    return this.connected && this.inFlight < UDP_MAX_IN_FLIGHT;
  }

  isDown(): boolean {
    return this.down;
  }

  stopCause(): string {
    return this.down ? 'the receiver away' : 'not sent in time';
  }

  send(data: Buffer, done: (err: Error | null | undefined) => void): void {
    this.inFlight++;
    this.sock!.send(data, (err) => {
      this.inFlight--;
      if (err) {
        // ECONNREFUSED (ICMP port unreachable from an absent receiver) or a full socket buffer:
        // the frame is lost, which is UDP's contract; the output counts it.
        this.c.udp_send_errors++;
        this.warner.say(`RiskIQ output: UDP send to ${hostPort(this.host, this.port)}: ${err.message}`);
      }
      done(err);
      this.onReady();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    const sock = this.sock;
    this.sock = null;
    this.connected = false;
    if (sock !== null) await new Promise<void>((r) => { try { sock.close(() => r()); } catch { r(); } });
  }

  counters(): Record<string, number> {
    return { ...this.c };
  }
}

export class TcpTransport implements Transport {
  onReady: () => void = () => {};
  private sock: TcpSocket | null = null;
  private connected = false;
  private down = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly warner = new RateLimitedLog();
  private readonly reconnects = new RateLimitedLog('info');
  private readonly c = { tcp_connects: 0, tcp_connect_failures: 0, tcp_disconnects: 0 };
  private readonly connectTimeoutMs: number;
  private readonly stableMs: number;

  constructor(private readonly host: string, private readonly port: number, b: BackoffOptions = {}) {
    this.backoff = new Backoff(b.backoffMinMs ?? BACKOFF_MIN_MS, b.backoffMaxMs ?? BACKOFF_MAX_MS);
    this.connectTimeoutMs = b.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.stableMs = b.stableMs ?? STABLE_MS;
  }

  start(): Promise<void> {
    return firstAttempt((done) => this.open(done));
  }

  private open(firstAttempt?: () => void): void {
    if (this.closed) return firstAttempt?.();
    const sock = tcpConnect({ host: this.host, port: this.port });
    this.sock = sock;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    let wasConnected = false;
    let connectedAt = 0;
    // A receiver whose packets are silently dropped (a firewall, a dead host) is given up after
    // connectTimeoutMs and counted as a failed connect, not after the kernel's SYN retries.
    const connectTimer = setTimeout(() => sock.destroy(new Error(`connect timed out after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    connectTimer.unref?.();
    sock.on('connect', () => {
      clearTimeout(connectTimer);
      wasConnected = true;
      connectedAt = Date.now();
      this.connected = true;
      this.down = false;
      this.c.tcp_connects++;
      if (this.c.tcp_connects > 1) this.reconnects.say(`RiskIQ output: reconnected to ${hostPort(this.host, this.port)}`);
      firstAttempt?.();
      firstAttempt = undefined;
      this.onReady();
    });
    sock.on('drain', () => this.onReady());
    // The receiver never talks back; anything it sends is ignored.
    sock.on('data', () => {});
    sock.on('error', (err) => {
      if (wasConnected) this.warner.say(`RiskIQ output: TCP ${hostPort(this.host, this.port)}: ${err.message}`);
      else {
        this.c.tcp_connect_failures++;
        this.warner.say(`RiskIQ output: cannot connect to ${hostPort(this.host, this.port)}: ${err.message}; retrying with backoff`);
      }
    });
    sock.on('close', () => {
      clearTimeout(connectTimer);
      if (wasConnected) this.c.tcp_disconnects++;
      if (wasConnected && Date.now() - connectedAt >= this.stableMs) this.backoff.reset();
      this.connected = false;
      this.down = true;
      if (this.sock === sock) this.sock = null;
      firstAttempt?.();
      firstAttempt = undefined;
      if (this.closed || this.retry !== null) return;
      this.retry = setTimeout(() => {
        this.retry = null;
        this.open();
      }, this.backoff.next());
      this.retry.unref?.();
    });
  }

  canSend(): boolean {
    return this.connected && this.sock !== null && !this.sock.writableNeedDrain;
  }

  isDown(): boolean {
    return this.down;
  }

  stopCause(): string {
    return this.down ? 'the receiver away' : 'not sent in time';
  }

  send(data: Buffer, done: (err: Error | null | undefined) => void): void {
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32BE(data.length, 0);
    const sock = this.sock!;
    sock.cork();
    sock.write(prefix);
    // The callback fires once the bytes are with the kernel, or with an error when the
    // connection went away first (the frame is then lost and counted by the output).
    sock.write(data, (err) => done(err));
    sock.uncork();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    const sock = this.sock;
    this.sock = null;
    this.connected = false;
    if (sock !== null && !sock.destroyed) {
      await new Promise<void>((r) => {
        const t = setTimeout(() => { sock.destroy(); r(); }, 2000);
        t.unref?.();
        sock.end(() => { clearTimeout(t); r(); });
      });
    }
  }

  counters(): Record<string, number> {
    return { ...this.c };
  }
}

/**
 * Bytes the audit file is given in one turn of the event loop, at most: its writes are synchronous,
 * and a backlog written in one go (a full queue of 100000 records is some 25 MB of lines) would hold
 * up decoding meanwhile.
 */
const AUDIT_TURN_BYTES = 1 << 20;

/**
 * EF_OUTPUT_RISKIQ_AUDIT_PATH: the rows as JSON lines, appended to a local file.
 *
 * A regular file is written through its descriptor (fd-write.ts), not a stream, whose first failed
 * write (a full disk) would end it for good. A frame the file refuses stays here and is retried with
 * backoff; meanwhile canSend() is false, so the output keeps the frames after it queued, and nothing
 * is lost until its queue is full or the collector stops. What a failed write put in the file is
 * cut off again, and a file found ending inside a line when opened is cut back to its last whole
 * line, so a line cut short is never left in it, nor glued to the next one. Anything else (a FIFO,
 * /dev/stdout on a pipe) keeps a stream: once its reader has gone, nothing written later would
 * reach anyone.
 */
export class AuditTransport implements Transport {
  onReady: () => void = () => {};
  /** The regular file, open to append and to read its end back; -1 with a stream. */
  private fd = -1;
  private stream: WriteStream | null = null;
  private failed = false;
  /** The frame being written and how much of it is in the file (0 again after a failure). */
  private held: { data: Buffer; written: number; done: (err: Error | null | undefined) => void } | null = null;
  /** Why the held frame's last write failed; null while writes succeed. */
  private error: Error | null = null;
  private downSince = 0;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  private turnBytes = 0;
  private readonly backoff: Backoff;
  private readonly warner = new RateLimitedLog();

  constructor(readonly path: string, b: BackoffOptions = {}) {
    this.backoff = new Backoff(b.backoffMinMs ?? BACKOFF_MIN_MS, b.backoffMaxMs ?? BACKOFF_MAX_MS);
  }

  async start(): Promise<void> {
    makeDir(dirname(this.path));
    if (isRegularOrAbsent(this.path)) {
      this.fd = openSync(this.path, 'a+', 0o600);
      try {
        const cut = cutToLineEnd(this.fd);
        if (cut > 0) log.warn(`RiskIQ output: audit file ${this.path} ended inside a line (a write cut short); cut back ${cut} bytes to the last whole line`);
      } catch (err) {
        // Not readable back (a disk error): the writes will say whether it takes any.
        log.warn(`RiskIQ output: audit file ${this.path}: cannot check its last line: ${(err as Error).message}`);
      }
      return;
    }
    const s = createWriteStream(this.path, { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      s.once('open', () => resolve());
      s.once('error', reject);
    });
    s.on('error', (err) => {
      this.failed = true;
      log.error(`RiskIQ output: audit file ${this.path}: ${err.message}`);
    });
    s.on('drain', () => this.onReady());
    this.stream = s;
  }

  canSend(): boolean {
    if (this.fd >= 0) return this.held === null && this.turnBytes < AUDIT_TURN_BYTES;
    return this.stream !== null && !this.failed && !this.stream.writableNeedDrain;
  }

  isDown(): boolean {
    return this.failed || this.error !== null;
  }

  stopCause(): string {
    if (this.error !== null) return `the audit file refusing writes: ${this.error.message}`;
    return this.failed ? 'the audit file failed' : 'not written in time';
  }

  send(data: Buffer, done: (err: Error | null | undefined) => void): void {
    if (this.fd < 0) {
      this.stream!.write(data, (err) => done(err));
      return;
    }
    if (this.turnBytes < AUDIT_TURN_BYTES && this.turnBytes + data.length >= AUDIT_TURN_BYTES) {
      setImmediate(() => {
        this.turnBytes = 0;
        this.onReady();
      });
    }
    this.turnBytes += data.length;
    this.held = { data, written: 0, done };
    this.write();
  }

  /** Writes the held frame on from where it got to; true once it is all in the file (and reported). */
  private write(): boolean {
    const h = this.held!;
    try {
      writeAll(this.fd, h.data, h.written, null, (n) => (h.written += n));
    } catch (err) {
      this.writeFailed(h, err as Error);
      return false;
    }
    this.held = null;
    if (this.error !== null) {
      log.info(`RiskIQ output: audit file ${this.path} takes writes again, after ${Math.round((Date.now() - this.downSince) / 1000)} s; writing what was kept queued`);
      this.error = null;
      this.backoff.reset();
    }
    h.done(null);
    return true;
  }

  private writeFailed(h: NonNullable<AuditTransport['held']>, err: Error): void {
    if (this.error === null) this.downSince = Date.now();
    this.error = err;
    // What the disk took of the frame is cut off again and the retry writes it whole: a line cut
    // short must not wait in the file (for a reader, or for good if the process dies), and a frame
    // is then in the file or not, as the counters say.
    if (h.written > 0) {
      try {
        ftruncateSync(this.fd, fstatSync(this.fd).size - h.written);
        h.written = 0;
      } catch {
        // Not cut (a disk error): the retry goes on from where it stopped, completing the line.
      }
    }
    this.warner.say(`RiskIQ output: audit file ${this.path}: ${err.message}; records are kept queued (EF_OUTPUT_RISKIQ_QUEUE_SIZE) and written when it takes them again, retried with backoff`);
    if (this.closed || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.held !== null && this.write()) this.onReady();
    }, this.backoff.next());
    // Not unref'd, unlike the sockets' retries: no socket keeps the process alive here, and a stop
    // waiting for this frame (a replay's last flush) must not find the event loop empty and end.
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    if (this.fd >= 0) {
      const h = this.held;
      // One last try (the disk may have room since the last retry); a failure leaves whole lines.
      if (h !== null && !this.write()) {
        let rows = 0;
        for (let i = h.data.indexOf(10, h.written); i >= 0; i = h.data.indexOf(10, i + 1)) rows++;
        log.error(`RiskIQ output: at stop the audit file ${this.path} still refused writes (${this.error!.message}): the records still queued were not written to it (dropped_shutdown), nor ${rows} rows of the write being retried (dropped_send_error)`);
        this.held = null;
        h.done(this.error);
      }
      try {
        closeSync(this.fd);
      } catch (err) {
        // A network file system may report a failed write only here.
        log.error(`RiskIQ output: audit file ${this.path}: ${(err as Error).message}`);
      }
      this.fd = -1;
      return;
    }
    const s = this.stream;
    this.stream = null;
    if (s !== null) await new Promise<void>((r) => s.end(() => r()));
  }

  counters(): Record<string, number> {
    return {};
  }
}

/** Whether `path` is a regular file, or nothing yet (it is made as one). */
function isRegularOrAbsent(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true;
  }
}

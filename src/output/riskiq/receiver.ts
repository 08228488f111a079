/**
 * The far end of the RiskIQ output: listens on UDP (one frame per datagram) or TCP (u32 length
 * prefixed frames), checks the customer UUID, verifies and decrypts each frame, and hands every row
 * to a callback. Refused frames are counted by reason (frame.ts FrameErrorReason; `replayed` for
 * an authenticated frame seen before; `oversize` for a TCP length beyond any valid frame, which
 * also closes that connection; `cut_at_close` for a TCP connection that closed inside a frame).
 * `ufc riskiq-sink` wraps it; tests use it as the receiver.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import { FRAME_OVERHEAD, FrameError, MAX_ROWS_PER_FRAME, openFrame, decodeRows, ROW_LEN, type RiskiqRow } from './frame.js';

export interface ReceiverOptions {
  transport: 'udp' | 'tcp';
  host: string;
  /** 0 picks a free port (see `port` after start). */
  port: number;
  /** Customer UUID (any case) -> AES key. */
  keys: ReadonlyMap<string, Buffer>;
  /** One call per row, in frame order. */
  onRow: (row: RiskiqRow, customer: string) => void;
  /** Called for each refused frame, with the reason it is counted under. */
  onRefused?: (reason: string) => void;
}

const MAX_FRAME = FRAME_OVERHEAD + MAX_ROWS_PER_FRAME * ROW_LEN;
/**
 * Authenticated frames remembered to refuse a replay (an attacker cannot forge a frame, but could
 * send a captured one again to inflate counts): the last 65536 (customer, nonce) pairs, ~5 MB.
 */
const REPLAY_WINDOW = 65_536;

export class RiskiqReceiver {
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private readonly conns = new Set<TcpSocket>();
  private readonly keys = new Map<string, KeyObject>();
  private readonly c: Record<string, number> = { frames: 0, records: 0, bytes: 0, rejected: 0 };
  private readonly seen = new Set<string>();
  private readonly seenRing: string[] = [];
  private seenPos = 0;
  port = 0;

  constructor(private readonly o: ReceiverOptions) {
    for (const [uuid, key] of o.keys) this.keys.set(uuid.toLowerCase(), createSecretKey(key));
  }

  async start(): Promise<number> {
    if (this.o.transport === 'udp') {
      const s = createSocket({ type: isIPv6(this.o.host) ? 'udp6' : 'udp4' });
      this.udp = s;
      s.on('message', (msg) => this.frame(msg));
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(this.o.port, this.o.host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      this.port = s.address().port;
    } else {
      const srv = createServer((sock) => this.connection(sock));
      this.tcp = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(this.o.port, this.o.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      const a = srv.address();
      this.port = typeof a === 'object' && a !== null ? a.port : 0;
    }
    return this.port;
  }

  /** TCP: reassemble length-prefixed frames across reads. */
  private connection(sock: TcpSocket): void {
    this.conns.add(sock);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let off = 0;
      while (buf.length - off >= 4) {
        const len = buf.readUInt32BE(off);
        if (len > MAX_FRAME) {
          // Not a frame boundary we can trust any more: drop the connection.
          this.count('oversize');
          buf = Buffer.alloc(0); // counted once: not also as a frame cut at close
          sock.destroy();
          return;
        }
        if (buf.length - off - 4 < len) break;
        this.frame(buf.subarray(off + 4, off + 4 + len));
        off += 4 + len;
      }
      buf = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.conns.delete(sock);
      // The connection ended inside a frame (the sender stopped or was cut off mid-write).
      if (buf.length > 0) this.count('cut_at_close');
      buf = Buffer.alloc(0);
    });
  }

  private frame(frame: Buffer): void {
    let opened;
    try {
      opened = openFrame(frame, (uuid) => this.keys.get(uuid));
    } catch (err) {
      if (err instanceof FrameError) this.count(err.reason);
      else this.count('internal');
      return;
    }
    // Only authenticated frames get here, so forged nonces cannot fill the window.
    const id = opened.uuid + frame.toString('hex', 24, 36);
    if (this.seen.has(id)) {
      this.count('replayed');
      return;
    }
    this.remember(id);
    this.c.frames!++;
    this.c.bytes! += frame.length;
    this.c.records! += opened.count;
    for (const row of decodeRows(opened.rows, opened.count)) this.o.onRow(row, opened.uuid);
  }

  private remember(id: string): void {
    if (this.seenRing.length < REPLAY_WINDOW) this.seenRing.push(id);
    else {
      this.seen.delete(this.seenRing[this.seenPos]!);
      this.seenRing[this.seenPos] = id;
      this.seenPos = (this.seenPos + 1) % REPLAY_WINDOW;
    }
    this.seen.add(id);
  }

  private count(reason: string): void {
    this.c.rejected!++;
    const k = `rejected_${reason}`;
    this.c[k] = (this.c[k] ?? 0) + 1;
    this.o.onRefused?.(reason);
  }

  counters(): Record<string, number> {
    return { ...this.c };
  }

  async stop(): Promise<void> {
    if (this.udp !== null) {
      const s = this.udp;
      this.udp = null;
      await new Promise<void>((r) => s.close(() => r()));
    }
    if (this.tcp !== null) {
      const srv = this.tcp;
      this.tcp = null;
      for (const c of this.conns) c.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }
}

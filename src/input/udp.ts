/**
 * UDP listeners: one socket per configured port on EF_FLOW_SERVER_UDP_IP. Binding `::` takes IPv4
 * too (dual stack); IPv4-mapped sender addresses are shown as plain IPv4.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { log } from '../log/logger.js';

export type DatagramHandler = (buf: Buffer, address: string, port: number, receivedAt: number) => void;

export interface UdpInputOptions {
  ip: string;
  ports: number[];
  readBufferBytes: number;
}

export class UdpInput {
  private readonly sockets: dgram.Socket[] = [];

  constructor(private readonly opts: UdpInputOptions, private readonly onDatagram: DatagramHandler) {}

  async start(): Promise<void> {
    const type = isIP(this.opts.ip) === 6 ? 'udp6' : 'udp4';
    for (const port of this.opts.ports) {
      const sock = dgram.createSocket({ type, reuseAddr: false, recvBufferSize: this.opts.readBufferBytes });
      sock.on('message', (msg, rinfo) => {
        const addr = rinfo.address.startsWith('::ffff:') && rinfo.address.includes('.') ? rinfo.address.slice(7) : rinfo.address;
        this.onDatagram(msg, addr, rinfo.port, Date.now());
      });
      await new Promise<void>((resolve, reject) => {
        const onBindError = (err: NodeJS.ErrnoException): void => {
          const why = err.code === 'EADDRINUSE' ? 'the port is already in use (another collector?)' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)' : err.message;
          reject(new Error(`cannot listen on udp ${this.opts.ip}:${port}: ${why}; see EF_FLOW_SERVER_UDP_IP and EF_FLOW_SERVER_UDP_PORT`));
        };
        sock.once('error', onBindError);
        sock.bind(port, this.opts.ip, () => {
          sock.off('error', onBindError);
          sock.on('error', (err) => log.error(`UDP socket ${this.opts.ip}:${port}: ${err.message}`));
          resolve();
        });
      });
      let granted = 0;
      try {
        sock.setRecvBufferSize(this.opts.readBufferBytes);
      } catch (err) {
        log.warn(`UDP ${this.opts.ip}:${port}: could not set receive buffer: ${(err as Error).message}`);
      }
      try {
        granted = sock.getRecvBufferSize();
      } catch {
        granted = 0;
      }
      // Linux reports double the usable size (it counts bookkeeping) and caps at net.core.rmem_max.
      const level = granted > 0 && granted < this.opts.readBufferBytes ? 'warn' : 'info';
      log[level](`listening for flows on udp ${this.opts.ip}:${sock.address().port}`, {
        read_buffer_requested: this.opts.readBufferBytes,
        read_buffer_granted: granted,
        ...(level === 'warn' ? { hint: 'raise net.core.rmem_max to get the requested receive buffer' } : {}),
      });
      this.sockets.push(sock);
    }
  }

  /** The ports actually bound (useful when port 0 asked for an ephemeral one). */
  boundPorts(): number[] {
    return this.sockets.map((s) => s.address().port);
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.length = 0;
  }
}

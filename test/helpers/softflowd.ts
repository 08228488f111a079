/** softflowd, a real NetFlow/IPFIX exporter, run on a capture and exporting to a socket on loopback. */
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { until } from './collect.js';

/** Runs softflowd on `pcap`, exporting to a loopback socket; resolves with the datagrams and the port. */
export async function exportWithSoftflowd(softflowd: string, pcap: string, version: string, extra: string[], dir: string): Promise<{ port: number; datagrams: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  sock.on('message', (m) => { if (datagrams.length < 10000) datagrams.push(m); });
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  const port = sock.address().port;
  try {
    // -c none: softflowd 1.1.0 blocks in accept() on its control socket when reading a file;
    // -a: flow times from the capture, so the export's clock matches the traffic's.
    await new Promise<void>((res, rej) => {
      execFile(softflowd, ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', version, '-6', '-d', '-a', '-c', 'none', '-p', join(dir, 'softflowd.pid'), ...extra], { timeout: 20_000 }, (err) => (err ? rej(err) : res()));
    });
    // Datagrams already sent may still sit in the socket buffer.
    await until(() => datagrams.length > 0, 1000);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    sock.close();
  }
  return { port, datagrams };
}

/** A classic pcap of the datagrams as Ethernet/IPv4/UDP frames from 127.0.0.1:40000 to the port. */
export function toPcap(datagrams: Buffer[], port: number): Buffer {
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6); gh.writeUInt32LE(65535, 16); gh.writeUInt32LE(1, 20);
  const parts = [gh];
  datagrams.forEach((p, i) => {
    const f = Buffer.alloc(42 + p.length);
    Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(f, 0);
    f.writeUInt16BE(0x0800, 12);
    f[14] = 0x45; f.writeUInt16BE(28 + p.length, 16); f[22] = 64; f[23] = 17;
    Buffer.from([127, 0, 0, 1]).copy(f, 26); Buffer.from([127, 0, 0, 1]).copy(f, 30);
    f.writeUInt16BE(40000, 34); f.writeUInt16BE(port, 36); f.writeUInt16BE(8 + p.length, 38);
    p.copy(f, 42);
    const ph = Buffer.alloc(16);
    ph.writeUInt32LE(1700000100 + i, 0); ph.writeUInt32LE(f.length, 8); ph.writeUInt32LE(f.length, 12);
    parts.push(ph, f);
  });
  return Buffer.concat(parts);
}


/**
 * Sends the benchmark stream to 127.0.0.1:PORT:
 * node --import tsx bench/send-stream.ts PORT PACKETS PPS [v9|ipfix|both] (default v9; both = v9, then IPFIX).
 */
import dgram from 'node:dgram';
import { ipfixStream } from './ipfix-stream.js';
import { stream } from './netflow9-stream.js';

export async function sendStream(port: number, packets: Buffer[], pps: number): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setSendBufferSize(8 * 1024 * 1024);
  const start = process.hrtime.bigint();
  let sent = 0;
  while (sent < packets.length) {
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    const due = Math.min(packets.length, Math.floor(elapsed * pps) + 1);
    while (sent < due) {
      sock.send(packets[sent]!, port, '127.0.0.1');
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 100));
  sock.close();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

if (process.argv[1]?.endsWith('send-stream.ts')) {
  const [port, n, pps] = process.argv.slice(2, 5).map(Number);
  const protocol = process.argv[5] ?? 'v9';
  const packets = [...(protocol !== 'ipfix' ? stream(n ?? 20000) : []), ...(protocol !== 'v9' ? ipfixStream(n ?? 20000) : [])];
  const secs = await sendStream(port!, packets, pps ?? 20000);
  console.log(`sent in ${secs.toFixed(2)} s`);
}

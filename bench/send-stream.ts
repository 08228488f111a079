/**
 * Sends the benchmark stream to 127.0.0.1:PORT:
 * node --import tsx bench/send-stream.ts PORT PACKETS PPS [v9|ipfix|both] (default v9; both = v9, then IPFIX).
 */
import dgram from 'node:dgram';
import { ipfixStream } from './ipfix-stream.js';
import { stream } from './netflow9-stream.js';

/** This process's environment variables whose names start with `prefix` (EF_ settings handed on to ufc). */
export function envWithPrefix(prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined));
}

/** The number after `--name` on the command line, or `def` when the option is not given. */
export function numArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

/** NetFlow v9 FlowSet ID 0 or IPFIX set ID 2 first: a template packet. */
export function isTemplate(p: Buffer): boolean {
  const setId = p.readUInt16BE(p.readUInt16BE(0) === 10 ? 16 : 20);
  return setId === 0 || setId === 2;
}

/**
 * Sends `packets` at `pps` to 127.0.0.1:`port`. With `exporters` > 1 it sends from that many
 * loopback addresses (127.0.0.1, .2, ...), as that many routers would: data packets in turn,
 * template packets from every one of them (each exporter must announce its templates).
 */
export async function sendStream(port: number, packets: Buffer[], pps: number, exporters = 1): Promise<number> {
  const socks: dgram.Socket[] = [];
  for (let i = 0; i < exporters; i++) {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, `127.0.0.${i + 1}`, () => r()));
    sock.setSendBufferSize(8 * 1024 * 1024);
    socks.push(sock);
  }
  const start = process.hrtime.bigint();
  let sent = 0;
  let turn = 0;
  while (sent < packets.length) {
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    const due = Math.min(packets.length, Math.floor(elapsed * pps) + 1);
    while (sent < due) {
      const p = packets[sent]!;
      if (exporters > 1 && isTemplate(p)) for (const s of socks) s.send(p, port, '127.0.0.1');
      else socks[turn++ % exporters]!.send(p, port, '127.0.0.1');
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 100));
  for (const s of socks) s.close();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

if (process.argv[1]?.endsWith('send-stream.ts')) {
  const [port, n, pps] = process.argv.slice(2, 5).map(Number);
  const protocol = process.argv[5] ?? 'v9';
  const packets = [...(protocol !== 'ipfix' ? stream(n ?? 20000) : []), ...(protocol !== 'v9' ? ipfixStream(n ?? 20000) : [])];
  const secs = await sendStream(port!, packets, pps ?? 20000);
  console.log(`sent in ${secs.toFixed(2)} s`);
}

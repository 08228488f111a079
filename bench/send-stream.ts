/**
 * Sends the benchmark stream to 127.0.0.1:PORT:
 * node --import tsx bench/send-stream.ts PORT PACKETS PPS [v9|ipfix|both] (default v9; both = v9, then IPFIX).
 */
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';
import { ipfixStream } from './ipfix-stream.js';
import { stream } from './netflow9-stream.js';

/** This process's environment variables whose names start with `prefix` (EF_ settings handed on to ufc). */
export function envWithPrefix(prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined));
}

/** A script's `--name value` options, read by `cli()`. */
export interface Cli {
  /** The option's value as a number, or `def` when it is not given. */
  num(name: string, def: number): number;
  /** The option's text, or undefined when it is not given. */
  str(name: string): string | undefined;
}

/**
 * Reads the command line of a bench or soak script with node:util's parseArgs: every option in `names`
 * takes a value. `--help` prints `usage` and exits; an unknown option, a missing value or a value that is
 * not a number where one is wanted prints the problem and `usage` and exits 2 (before, a typo ran the
 * script with its defaults, and `--help` started an hour-long soak).
 */
export function cli(usage: string, names: readonly string[]): Cli {
  const fail = (problem: string): never => {
    process.stderr.write(`${problem}\n${usage}\n`);
    process.exit(2);
  };
  let values: Record<string, string | boolean | undefined> = {};
  try {
    const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
    values = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return {
    num(name, def) {
      const v = values[name];
      if (typeof v !== 'string') return def;
      const n = Number(v);
      return v.trim() !== '' && Number.isFinite(n) ? n : fail(`--${name} needs a number, got "${v}"`);
    },
    str: (name) => {
      const v = values[name];
      return typeof v === 'string' ? v : undefined;
    },
  };
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

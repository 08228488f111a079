/**
 * A stand-in for the PassiveTotal v2 blocklist download (the real host answers 404 since 2025), for
 * tests and demos over loopback: HTTP Basic auth against a given user and key, a generated list of
 * a chosen size and format (the seed page saw a 28,762,468-byte response; `bytes` hits a size
 * exactly by padding with a comment or whitespace), and fault modes that reproduce what the
 * enricher must survive. Deterministic: the same options give the same bytes.
 *
 * In tests: `const emu = await startPassiveTotalEmulator({...}); ... emu.url ... await emu.close()`.
 * From the shell: `ufc dev passivetotal-emulator --help`. The fault can be switched while running
 * with `POST /_emulator/fault?mode=<fault>` (no auth: loopback demo only).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { mulberry32 } from './prng.js';
import { hostPort } from '../host-port.js';

export const LIST_FORMATS = ['text', 'csv', 'csv-noheader', 'json', 'json-object'] as const;
export type EmulatorListFormat = (typeof LIST_FORMATS)[number];
export const FAULTS = ['none', '401', '500', 'stall', 'slow', 'truncate', 'garbage', 'empty'] as const;
export type EmulatorFault = (typeof FAULTS)[number];

export const DEFAULT_PATH = '/v2/netflow/blocklist/download';
/** The response size the seed page shows. */
export const SEED_RESPONSE_BYTES = 28_762_468;

export interface ListSpec {
  /** Number of entries (default 1000 unless `bytes` is given). */
  entries?: number;
  /** Exact body size to generate (before gzip): entries are added until it is reached, then padded. */
  bytes?: number;
  format?: EmulatorListFormat;
  gzip?: boolean;
  seed?: number;
  /** Share of IPv6 entries (default 0.02) and of CIDRs among the rest (default 0.05). */
  ipv6Share?: number;
  cidrShare?: number;
}

export interface EmulatorOptions extends ListSpec {
  host?: string;
  port?: number;
  user?: string;
  key?: string;
  fault?: EmulatorFault;
  /** Body rate for the `slow` fault (bytes per second, default 16384). */
  slowBytesPerSec?: number;
  path?: string;
}

export interface GeneratedList {
  body: Buffer;
  entries: number;
  /** The first few entries generated, for tests to look up (address, name). */
  sample: { addr: string; name: string }[];
}

export interface PassiveTotalEmulator {
  readonly url: string;
  readonly port: number;
  /** Requests served on the download path, and how many carried the right credentials. */
  readonly stats: { requests: number; authorized: number };
  list: GeneratedList;
  fault: EmulatorFault;
  setList(spec: ListSpec): GeneratedList;
  close(): Promise<void>;
}

const NAMES = ['malware', 'phishing', 'botnet', 'c2', 'scanner', 'spam', 'bruteforce', 'tor-exit'];

const prng = mulberry32;

/** What a list of the format starts and ends with, whatever its entries. */
function frameOf(format: EmulatorListFormat): { head: string; tail: string } {
  const head = format === 'json' ? '[\n' : format === 'json-object' ? '{"count":0,"blocklist":[\n' : format === 'csv' ? 'ip,name\n' : '# PassiveTotal blocklist (emulated)\n';
  const tail = format === 'json' ? '\n]\n' : format === 'json-object' ? '\n]}\n' : '';
  return { head, tail };
}

/** The smallest body of the format: its start and end, no entry (`bytes` cannot go below it). */
export function minListBytes(format: EmulatorListFormat): number {
  const { head, tail } = frameOf(format);
  return head.length + tail.length;
}

export function generateList(spec: ListSpec = {}): GeneratedList {
  const format = spec.format ?? 'text';
  const rnd = prng(spec.seed ?? 1);
  const v6Share = spec.ipv6Share ?? 0.02;
  const cidrShare = spec.cidrShare ?? 0.05;
  const target = spec.bytes;
  const maxEntries = spec.entries ?? (target === undefined ? 1000 : Number.MAX_SAFE_INTEGER);
  const json = format === 'json' || format === 'json-object';
  const { head, tail } = frameOf(format);
  const parts: string[] = [head];
  let size = head.length + tail.length;
  if (target !== undefined && target < size) throw new RangeError(`bytes: a ${format} list takes at least ${size}`);
  const sample: { addr: string; name: string }[] = [];
  let n = 0;
  const hex = (): string => Math.floor(rnd() * 65536).toString(16);
  while (n < maxEntries) {
    let addr: string;
    const r = rnd();
    if (r < v6Share) {
      addr = rnd() < 0.5 ? `2001:db8:${hex()}:${hex()}::${hex()}` : `2001:db8:${hex()}::/48`;
    } else {
      // First octet 1-223 (unicast), never 10/127 so the generated list is public space.
      let o1 = 1 + Math.floor(rnd() * 223);
      if (o1 === 10 || o1 === 127) o1++;
      const o2 = Math.floor(rnd() * 256);
      const o3 = Math.floor(rnd() * 256);
      addr = rnd() < cidrShare ? `${o1}.${o2}.${o3}.0/24` : `${o1}.${o2}.${o3}.${Math.floor(rnd() * 256)}`;
    }
    const name = NAMES[Math.floor(rnd() * NAMES.length)]!;
    let line: string;
    if (json) line = (n > 0 ? ',\n' : '') + `{"indicator":"${addr}","classification":"${name}"}`;
    else if (format === 'text') line = `${addr} ; ${name}\n`;
    else line = `${addr},${name}\n`;
    if (target !== undefined && size + line.length > target) break;
    parts.push(line);
    size += line.length;
    if (sample.length < 16) sample.push({ addr, name });
    n++;
  }
  if (target !== undefined && size < target) {
    // Pad to the exact size: whitespace is legal between JSON tokens, a comment line in text/CSV.
    const pad = target - size;
    if (json) parts.push(' '.repeat(pad));
    else if (pad === 1) parts.push('\n');
    else parts.push('#' + '-'.repeat(pad - 2) + '\n');
  }
  parts.push(tail);
  let body = Buffer.from(parts.join(''), 'utf8');
  if (spec.gzip === true) body = gzipSync(body);
  return { body, entries: n, sample };
}

/** Bytes that are no list in any format (letters and punctuation, never an address, never gzip's magic). */
function garbage(len: number, seed: number): Buffer {
  const rnd = prng(seed);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzXYZ!?<>{}@$%^&*()_+=~ \n';
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = alphabet.charCodeAt(Math.floor(rnd() * alphabet.length));
  b[0] = 0x3c; // '<': not '[' or '{' (JSON), not 0x1f (gzip)
  return b;
}

export async function startPassiveTotalEmulator(opts: EmulatorOptions = {}): Promise<PassiveTotalEmulator> {
  const user = opts.user ?? 'user@example.com';
  const key = opts.key ?? 'emulator-key-0123456789abcdef';
  const path = opts.path ?? DEFAULT_PATH;
  const expected = 'Basic ' + Buffer.from(`${user}:${key}`, 'utf8').toString('base64');
  const slowRate = opts.slowBytesPerSec ?? 16384;
  const timers = new Set<NodeJS.Timeout>();

  const emu = {
    url: '',
    port: 0,
    stats: { requests: 0, authorized: 0 },
    list: generateList(opts),
    fault: opts.fault ?? 'none',
    setList(spec: ListSpec): GeneratedList {
      emu.list = generateList(spec);
      return emu.list;
    },
    close: async (): Promise<void> => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    if (url.pathname === '/_emulator/fault' && req.method === 'POST') {
      const mode = url.searchParams.get('mode') ?? '';
      if (!(FAULTS as readonly string[]).includes(mode)) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`mode must be one of ${FAULTS.join(', ')}\n`);
        return;
      }
      emu.fault = mode as EmulatorFault;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`fault=${mode}\n`);
      return;
    }
    if (url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n');
      return;
    }
    emu.stats.requests++;
    if (req.headers.authorization !== expected || emu.fault === '401') {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="PassiveTotal"' }).end('{"message":"invalid credentials"}\n');
      return;
    }
    emu.stats.authorized++;
    const body = emu.list.body;
    const type = opts.gzip === true ? 'application/gzip' : 'application/octet-stream';
    switch (emu.fault) {
      case '500':
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal server error"}\n');
        return;
      case 'empty':
        res.writeHead(200, { 'content-type': type, 'content-length': '0' }).end();
        return;
      case 'garbage': {
        const g = garbage(65536, 7);
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(g.length) }).end(g);
        return;
      }
      case 'stall':
        // Headers and a first piece, then nothing: only the client's deadline ends this.
        res.writeHead(200, { 'content-type': type, 'content-length': String(body.length) });
        res.write(body.subarray(0, Math.min(1024, body.length - 1)));
        return;
      case 'truncate':
        // Half the promised bytes, then the connection is cut (no clean end of message).
        res.writeHead(200, { 'content-type': type, 'content-length': String(body.length) });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => setImmediate(() => req.socket.destroy()));
        return;
      case 'slow': {
        res.writeHead(200, { 'content-type': type, 'content-length': String(body.length) });
        const step = Math.max(1, Math.floor(slowRate / 10));
        let at = 0;
        const t = setInterval(() => {
          if (res.destroyed || at >= body.length) {
            clearInterval(t);
            timers.delete(t);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(body.subarray(at, at + step));
          at += step;
        }, 100);
        timers.add(t);
        return;
      }
      default:
        res.writeHead(200, { 'content-type': type, 'content-length': String(body.length) }).end(body);
    }
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  emu.port = addr.port;
  emu.url = `http://${hostPort(addr.address, addr.port)}${path}`;
  return emu;
}

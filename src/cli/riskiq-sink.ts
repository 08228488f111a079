/**
 * `ufc riskiq-sink`: a receiver for the RiskIQ output (docs/riskiq-wire-format.md). It verifies and
 * decrypts frames and prints one JSON row per record on stdout, the same lines the output's audit
 * file holds; refused frames are counted by reason and the counters printed on stderr at exit.
 *
 * Keys: the customer in EF_OUTPUT_RISKIQ_CUSTOMER_UUID / _CUSTOMER_ENCRYPTION_KEY (environment or
 * --env-file), or --uuid with --key-file, or --customers FILE with one "UUID BASE64KEY" per line for
 * a collector of many sites. Keys are never taken on the command line (they would show in ps).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkAesKeyBase64 } from '../config/options/riskiq.js';
import { UUID_RE } from '../config/validate.js';
import { log } from '../log/logger.js';
import { RiskiqReceiver } from '../output/riskiq/receiver.js';
import { configOrExit, envFiles, UsageError } from './common.js';
import { ENV_FILE_FLAG, type Command } from './commands.js';
import { hostPort } from '../host-port.js';

function str(v: string | true | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** "HOST:PORT", "[v6]:PORT" or "PORT". */
function parseListen(s: string): { host: string; port: number } {
  let host = '0.0.0.0';
  let port = s;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (m) {
    host = m[1]!;
    port = m[2]!;
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535 || isIP(host) === 0) throw new UsageError(`--listen ${JSON.stringify(s)}: expected HOST:PORT with an IP address, e.g. 127.0.0.1:20000`);
  return { host, port: n };
}

/** A file named on the command line, or a usage error naming it. */
function readArgFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** What a refused frame most likely means, said once per reason while the sink runs. */
const REFUSAL_HINT: Record<string, string> = {
  auth_failed: 'a wrong key, or the frame was changed on the way',
  unknown_customer: 'a customer UUID this sink has no key for',
  replayed: 'an authentic frame received before',
  cut_at_close: 'a TCP connection closed inside a frame',
  oversize: 'a TCP length beyond any frame: not a RiskIQ output, or out of step; connection closed',
};

function addCustomer(keys: Map<string, Buffer>, uuid: string, keyB64: string, where: string): void {
  if (!UUID_RE.test(uuid)) throw new UsageError(`${where}: ${JSON.stringify(uuid)} is not a UUID`);
  const bad = checkAesKeyBase64(keyB64);
  if (bad !== null) throw new UsageError(`${where}: key for ${uuid} ${bad}`);
  keys.set(uuid.toLowerCase(), Buffer.from(keyB64.trim(), 'base64'));
}

export const riskiqSinkCommand: Command = {
  usage: 'ufc riskiq-sink [--transport udp|tcp] [--listen HOST:PORT] [--uuid UUID --key-file PATH | --customers FILE] [--with-customer] [--count N] [--env-file PATH]...',
  summary: 'Receive RiskIQ output frames, verify and decrypt them, print one JSON row per record.',
  boolFlags: ['with-customer'],
  flags: [
    ['--transport udp|tcp', 'How the frames come (default: EF_OUTPUT_RISKIQ_TRANSPORT, udp).'],
    ['--listen HOST:PORT', 'Address to receive on, IPv6 in brackets (default: 0.0.0.0 and EF_OUTPUT_RISKIQ_PORT, 20000).'],
    ['--uuid UUID', 'The customer whose frames to accept (default: EF_OUTPUT_RISKIQ_CUSTOMER_UUID).'],
    ['--key-file PATH', 'File holding that customer\'s base64 key (default: EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY; never on the command line, where ps shows it).'],
    ['--customers FILE', 'Several customers instead: one "UUID BASE64KEY" line each (# comments).'],
    ['--with-customer', 'Add the customer UUID to each row (without it the rows equal the output\'s audit file).'],
    ['--count N', 'Exit after N rows.'],
    ENV_FILE_FLAG,
  ],
  extraFlags: ['key'],
  repeatable: ['env-file'],
  async run(args) {
    const config = configOrExit(envFiles(args));
    const transport = str(args.flags.get('transport')) ?? config.EF_OUTPUT_RISKIQ_TRANSPORT;
    if (transport !== 'udp' && transport !== 'tcp') throw new UsageError(`--transport ${JSON.stringify(transport)}: expected udp or tcp`);
    const { host, port } = parseListen(str(args.flags.get('listen')) ?? `0.0.0.0:${config.EF_OUTPUT_RISKIQ_PORT}`);

    const keys = new Map<string, Buffer>();
    const customers = str(args.flags.get('customers'));
    const keyFile = str(args.flags.get('key-file'));
    if (args.flags.has('key')) throw new UsageError('--key is not accepted (it would show in ps); use --key-file or EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY');
    if (customers !== undefined) {
      readArgFile('customers', customers).split('\n').forEach((line, i) => {
        const t = line.trim();
        if (t === '' || t.startsWith('#')) return;
        const [uuid, key, ...rest] = t.split(/\s+/);
        if (key === undefined || rest.length > 0) throw new UsageError(`${customers}:${i + 1}: expected "UUID BASE64KEY"`);
        addCustomer(keys, uuid!, key, `${customers}:${i + 1}`);
      });
    } else {
      const uuid = str(args.flags.get('uuid')) ?? config.EF_OUTPUT_RISKIQ_CUSTOMER_UUID.trim();
      const key = keyFile !== undefined ? readArgFile('key-file', keyFile).trim() : config.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY.trim();
      if (uuid === '' || key === '') throw new UsageError('no customer: set EF_OUTPUT_RISKIQ_CUSTOMER_UUID and EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY, or --uuid with --key-file, or --customers FILE');
      addCustomer(keys, uuid, key, keyFile ?? 'EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY');
    }
    const countFlag = str(args.flags.get('count'));
    const limit = countFlag === undefined ? Infinity : Number(countFlag);
    if (!(limit > 0)) throw new UsageError(`--count ${JSON.stringify(countFlag)}: expected a positive number`);

    // Off by default so the lines equal the output's audit file; on for a receiver of many sites.
    const withCustomer = args.flags.get('with-customer') === true;
    let rows = 0;
    const warned = new Set<string>();
    let done: (() => void) | null = null;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const receiver = new RiskiqReceiver({
      transport,
      host,
      port,
      keys,
      onRow: (row, customer) => {
        if (rows >= limit) return;
        process.stdout.write(JSON.stringify(withCustomer ? { customer, ...row } : row) + '\n');
        if (++rows >= limit) done?.();
      },
      onRefused: (reason) => {
        if (warned.has(reason)) return;
        warned.add(reason);
        log.warn(`RiskIQ sink: refused a frame (${reason}${REFUSAL_HINT[reason] !== undefined ? `: ${REFUSAL_HINT[reason]}` : ''}); further ones are counted, printed at exit`);
      },
    });
    let bound: number;
    try {
      bound = await receiver.start();
    } catch (err) {
      log.error(`RiskIQ sink: cannot listen on ${hostPort(host, port)}/${transport}: ${(err as Error).message}`);
      return 1;
    }
    log.info(`RiskIQ sink: listening on ${hostPort(host, bound)}/${transport} for ${keys.size} customer${keys.size === 1 ? '' : 's'}`);
    const onSig = (sig: string) => {
      log.info(`received ${sig}: stopping`);
      done?.();
    };
    const onInt = () => onSig('SIGINT');
    const onTerm = () => onSig('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    await finished;
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await receiver.stop();
    process.stderr.write(JSON.stringify({ riskiq_sink: receiver.counters() }) + '\n');
    return 0;
  },
};

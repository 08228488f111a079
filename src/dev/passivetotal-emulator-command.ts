/** `ufc dev passivetotal-emulator`: runs the PassiveTotal API emulator until interrupted. */
import { isIP } from 'node:net';
import type { Command } from '../cli/commands.js';
import { UsageError, type ParsedArgs } from '../cli/common.js';
import { hostPort, listenFailure } from '../host-port.js';
import { FAULTS, LIST_FORMATS, minListBytes, SEED_RESPONSE_BYTES, startPassiveTotalEmulator, type EmulatorFault, type EmulatorListFormat } from './passivetotal-emulator.js';

function intFlag(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) throw new UsageError(`--${name} wants a whole number, got ${v === true ? 'nothing' : JSON.stringify(v)}`);
  return Number(v);
}

function strFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} wants a value`);
  return v;
}

/**
 * --host and --port of a dev emulator, held to what `ufc riskiq-sink --listen` takes: an IP address (a
 * name, or a non-address such as 999.1.1.1, went to a name lookup and failed with ENOTFOUND) and a
 * port up to 65535 (listen() threw ERR_SOCKET_BAD_PORT past it); either was a stack trace. 0 is any
 * free port. Shared with `ufc dev feed-emulator`.
 */
export function serveAddress(args: ParsedArgs, defaultPort: number): { host: string; port: number } {
  const host = strFlag(args, 'host') ?? '127.0.0.1';
  if (isIP(host) === 0) throw new UsageError(`--host ${JSON.stringify(host)}: expected an IP address, e.g. 127.0.0.1 or ::1`);
  const port = intFlag(args, 'port') ?? defaultPort;
  if (port > 65535) throw new UsageError(`--port ${port}: expected a port number 0-65535 (0: any free port)`);
  return { host, port };
}

export const passiveTotalEmulatorCommand: Command = {
  usage: 'ufc dev passivetotal-emulator [--port N] [--entries N|--bytes N|--seed-size] [--format F] [--gzip] [--fault F] [--host H] [--user U] [--key K] [--seed N] [--slow-rate N]',
  summary: 'Serve an emulated PassiveTotal blocklist download (Basic auth, fault modes) for tests and demos.',
  boolFlags: ['gzip', 'seed-size'],
  flags: [
    ['--port N', 'Port to serve on (default 8787; 0 picks a free one).'],
    ['--host H', 'IP address to serve on (default 127.0.0.1).'],
    ['--entries N', 'Entries in the list (default 1000).'],
    ['--bytes N', 'Make the list exactly N bytes (before gzip) instead.'],
    ['--seed-size', `Make it the size the vendor page shows (${SEED_RESPONSE_BYTES.toLocaleString('en-US')} bytes).`],
    ['--format F', `List format: ${LIST_FORMATS.join(', ')} (default text).`],
    ['--gzip', 'Send the list gzip-compressed.'],
    ['--fault F', `Fault to start with: ${FAULTS.join(', ')} (default none); switch it later over HTTP.`],
    ['--user U', 'API user the download must carry (default user@example.com).'],
    ['--key K', 'API key the download must carry (default emulator-key-0123456789abcdef).'],
    ['--seed N', 'Seed of the generated list (default 1): the same seed, the same list.'],
    ['--slow-rate N', 'Bytes per second of the slow fault (default 16384).'],
  ],
  async run(args: ParsedArgs): Promise<number> {
    const format = strFlag(args, 'format') ?? 'text';
    if (!(LIST_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${LIST_FORMATS.join(', ')}`);
    const fault = strFlag(args, 'fault') ?? 'none';
    if (!(FAULTS as readonly string[]).includes(fault)) throw new UsageError(`--fault must be one of ${FAULTS.join(', ')}`);
    const bytes = args.flags.has('seed-size') ? SEED_RESPONSE_BYTES : intFlag(args, 'bytes');
    const min = minListBytes(format as EmulatorListFormat);
    if (bytes !== undefined && bytes < min) throw new UsageError(`--bytes: a ${format} list takes at least ${min} bytes`);
    const user = strFlag(args, 'user') ?? 'user@example.com';
    const key = strFlag(args, 'key');
    const { host, port } = serveAddress(args, 8787);
    const emu = await startPassiveTotalEmulator({
      host,
      port,
      user,
      key,
      entries: intFlag(args, 'entries'),
      bytes,
      format: format as EmulatorListFormat,
      gzip: args.flags.has('gzip'),
      fault: fault as EmulatorFault,
      seed: intFlag(args, 'seed'),
      slowBytesPerSec: intFlag(args, 'slow-rate'),
    }).catch((err: unknown) => {
      // A port in use, an address no interface has: one line, as riskiq-sink says it.
      process.stderr.write(`ufc dev passivetotal-emulator: cannot listen on ${hostPort(host, port)}: ${listenFailure((err as NodeJS.ErrnoException).code, (err as Error).message)}\n`);
      return null;
    });
    if (emu === null) return 1;
    const out = process.stdout;
    out.write(`PassiveTotal emulator at ${emu.url}: ${emu.list.entries} entries, ${emu.list.body.length} bytes, ${format}${args.flags.has('gzip') ? '+gzip' : ''}, fault ${fault}\n`);
    out.write(`Switch faults with: curl -X POST '${new URL(emu.url).origin}/_emulator/fault?mode=<${FAULTS.join('|')}>'\n`);
    out.write('Point the collector at it:\n');
    out.write('  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=true\n');
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT=${emu.url}\n`);
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER=${user}\n`);
    out.write(`  EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY=${key === undefined ? 'emulator-key-0123456789abcdef' : '<the --key given>'}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    out.write(`served ${emu.stats.requests} download requests (${emu.stats.authorized} authorized)\n`);
    await emu.close();
    return 0;
  },
};

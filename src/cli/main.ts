/** `ufc`: the collector's command line. */
import { closeSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { COMMANDS } from './commands.js';
import { parseArgs, UsageError, type ParsedArgs } from './common.js';
import type { Command } from './commands.js';
import { VERSION } from './version.js';

/** Where standard output is the stdout output's (EF_OUTPUT_STDOUT_*): its sends handle a failed write, and the collector goes on. */
const STDOUT_OUTPUT_COMMANDS = new Set(['run', 'replay']);

/**
 * What a command prints as its result (--help, --version, the configuration, the sink's rows) goes to
 * standard output, where a failed write is an 'error' event that would end the process with a stack
 * trace. A reader that went away (EPIPE: `ufc config | head -1`) ends the command quietly, with its
 * own exit code or 0 while it still runs: SIGPIPE would end a C tool just as quietly, but with 141,
 * which fails a `set -o pipefail` script for a reader that had all it wanted. Any other failure (ENOSPC:
 * `>/dev/full`) is one line and exit 1.
 */
function endOnStdoutError(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`ufc: cannot write to standard output: ${err.message}\n`);
    process.exit(1);
  });
}

/**
 * Node 20 aborts at exit (SIGABRT, a core dump) when a terminal it started on has hung up, as after a
 * closed terminal or SSH session: it restores the terminal settings of descriptors 0-2 that were
 * terminals at start-up, and on a hung-up terminal that fails with EIO (nodejs/node#51519; fixed by
 * nodejs/node#58200, not in Node 20.20). It skips a descriptor that no longer names the file it named at
 * start-up, so as the process exits each such descriptor is pointed at /dev/null. Only a hung-up one:
 * isatty() fails on it with the same EIO. A live terminal keeps Node's restore, and what was written to
 * it is there already (a terminal write returns once the terminal has it). Remove this once every Node
 * that ufc runs on has that fix (package.json, engines).
 */
function releaseHungUpTerminals(): void {
  const startedOnTty = [0, 1, 2].filter((fd) => isatty(fd));
  if (startedOnTty.length === 0) return;
  process.on('exit', () => {
    for (const fd of startedOnTty) {
      if (isatty(fd)) continue;
      try {
        closeSync(fd);
        // Takes the lowest free descriptor, the one just closed: a later write to it is lost, not sent to a file opened after.
        openSync('/dev/null', 'r+');
      } catch {
        // The process is ending; Node skips a descriptor that is closed too.
      }
    }
  });
}

async function help(): Promise<string> {
  const lines = [`ufc ${VERSION}: unified flow collector (NetFlow v1/v5/v7/v9, IPFIX, sFlow v5) with RiskIQ PassiveTotal threat intelligence`, '', 'Usage:'];
  for (const name of Object.keys(COMMANDS)) {
    const c = await COMMANDS[name]!();
    lines.push(`  ${c.usage.padEnd(52)} ${c.summary}`);
  }
  lines.push('  ufc --version'.padEnd(54) + ' Print the version.', '', 'Configuration is read from EF_* environment variables; see docs/configuration.md.');
  return lines.join('\n') + '\n';
}

function commandHelp(c: Command): string {
  const lines = [`usage: ${c.usage}`, '', c.summary];
  if (c.flags !== undefined && c.flags.length > 0) {
    lines.push('', 'Options:');
    const width = Math.max(...c.flags.map(([f]) => f.length));
    for (const [flag, meaning] of c.flags) lines.push(`  ${flag.padEnd(width)}  ${meaning}`);
  }
  return lines.join('\n') + '\n';
}

/** Refuses flags the command does not take, a value flag without its value, a switch with one, and stray arguments. */
function checkArgs(cmd: Command, args: ParsedArgs): void {
  const known = new Set([...cmd.usage.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!).concat(cmd.extraFlags ?? []));
  for (const [k, values] of args.all) {
    if (!known.has(k)) throw new UsageError(`unknown option --${k}`);
    const isSwitch = (cmd.boolFlags ?? []).includes(k);
    if (values.includes(true) && !isSwitch && !(cmd.extraFlags ?? []).includes(k)) throw new UsageError(`--${k} needs a value`);
    // `--gzip=no` would read as on (a switch is on when given), and a command testing `=== true` as off.
    if (isSwitch && values.some((v) => v !== true)) throw new UsageError(`--${k} takes no value`);
    // Only the last value would count: refused rather than dropped without a word.
    if (values.length > 1 && !(cmd.repeatable ?? []).includes(k)) throw new UsageError(`--${k} is given ${values.length} times; it may be given once`);
  }
  if (cmd.positional !== true && args.positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
}

export async function main(argv: string[]): Promise<number> {
  // bin/ufc puts `--` before the arguments: Node 20 would otherwise take `--env-file` as its own.
  if (argv[0] === '--') argv = argv.slice(1);
  if (argv.includes('--version') || argv[0] === 'version') {
    endOnStdoutError();
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') {
    // `ufc COMMAND --help` (or `ufc help COMMAND`): that command's usage and flags.
    const words = (argv[0] === 'help' ? argv.slice(1) : argv).filter((a) => !a.startsWith('-'));
    const named = COMMANDS[`${words[0]} ${words[1]}`] ?? COMMANDS[words[0] ?? ''];
    endOnStdoutError();
    process.stdout.write(named === undefined ? await help() : commandHelp(await named()));
    return 0;
  }
  let name = 'run';
  let rest = argv;
  if (argv.length > 0 && !argv[0]!.startsWith('-')) {
    name = argv[0]!;
    rest = argv.slice(1);
    // Two-word commands: `ufc dev passivetotal-emulator`.
    if (!(name in COMMANDS) && argv.length > 1 && `${name} ${argv[1]}` in COMMANDS) {
      name = `${name} ${argv[1]}`;
      rest = argv.slice(2);
    }
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`ufc: unknown command "${name}"\n\n${await help()}`);
    return 2;
  }
  const cmd = await load();
  if (!STDOUT_OUTPUT_COMMANDS.has(name)) endOnStdoutError();
  try {
    const args = parseArgs(rest, cmd.boolFlags);
    checkArgs(cmd, args);
    return await cmd.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ufc ${name}: ${err.message}\nusage: ${cmd.usage}\n`);
      return 2;
    }
    throw err;
  }
}

process.setSourceMapsEnabled(true);
releaseHungUpTerminals();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`ufc: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);

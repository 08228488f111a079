/** The `ufc` commands. Each is a small module; this table is the CLI's index and its --help. */
import type { ParsedArgs } from './common.js';

export interface Command {
  usage: string;
  summary: string;
  /** Flags that take no value. Every flag a command takes is named in its usage (main.ts refuses others). */
  boolFlags?: string[];
  /** Flags not in the usage that the command still reads, to refuse them with a better message. */
  extraFlags?: string[];
  /** Flags that may be given more than once (main.ts refuses any other flag given twice). */
  repeatable?: string[];
  /** Whether it takes arguments besides flags (files). */
  positional?: boolean;
  /** What each flag of the usage means, with its default: `ufc COMMAND --help` lists them. */
  flags?: [flag: string, meaning: string][];
  run(args: ParsedArgs): Promise<number>;
}

/** The --env-file flag as every command that reads the configuration describes it. */
export const ENV_FILE_FLAG: [string, string] = ['--env-file PATH', 'Read EF_* options from a file of NAME=value lines, or from a systemd unit or drop-in ([Service] Environment= lines). May be given more than once: the files are read in order, and a later file\'s value wins. The environment wins over every file.'];

export const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand,
  config: async () => (await import('./config.js')).configCommand,
  replay: async () => (await import('./replay.js')).replayCommand,
  'riskiq-sink': async () => (await import('./riskiq-sink.js')).riskiqSinkCommand,
  'dev passivetotal-emulator': async () => (await import('../dev/passivetotal-emulator-command.js')).passiveTotalEmulatorCommand,
  'dev feed-emulator': async () => (await import('../dev/feed-emulator-command.js')).feedEmulatorCommand,
};

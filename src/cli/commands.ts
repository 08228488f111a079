/** The `ufc` commands. Each is a small module; this table is the CLI's index and its --help. */
import type { ParsedArgs } from './common.js';

export interface Command {
  usage: string;
  summary: string;
  /** Flags that take no value. */
  boolFlags?: string[];
  run(args: ParsedArgs): Promise<number>;
}

export const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand,
  config: async () => (await import('./config.js')).configCommand,
  replay: async () => (await import('./replay.js')).replayCommand,
  'riskiq-sink': async () => (await import('./riskiq-sink.js')).riskiqSinkCommand,
  'dev passivetotal-emulator': async () => (await import('../dev/passivetotal-emulator-command.js')).passiveTotalEmulatorCommand,
  'dev feed-emulator': async () => (await import('../dev/feed-emulator-command.js')).feedEmulatorCommand,
};

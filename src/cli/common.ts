/** What every CLI command shares: loading the configuration and setting up the logger. */
import { loadConfig, secretValues } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, log, setLogger } from '../log/logger.js';
import { registerSecrets } from '../log/redact.js';

export class UsageError extends Error {}

export interface ParsedArgs {
  positional: string[];
  /** Each flag's last value. */
  flags: Map<string, string | true>;
  /** Each flag's values in the order given: for flags that may be given more than once. */
  all: Map<string, Array<string | true>>;
}

/** `--name value`, `--name=value` and bare `--flag`; `boolFlags` never take a value. */
export function parseArgs(argv: readonly string[], boolFlags: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const all = new Map<string, Array<string | true>>();
  const set = (name: string, value: string | true): void => {
    flags.set(name, value);
    all.set(name, [...(all.get(name) ?? []), value]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) set(a.slice(2, eq), a.slice(eq + 1));
      else if (boolFlags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) set(a.slice(2), true);
      else set(a.slice(2), argv[++i]!);
    } else positional.push(a);
  }
  return { positional, flags, all };
}

/** The --env-file paths in the order given (main.ts has refused one without a value). */
export function envFiles(args: ParsedArgs): string[] {
  return (args.all.get('env-file') ?? []).filter((v): v is string => typeof v === 'string');
}

/**
 * Loads the configuration (`envFiles` read in order, the environment over them), prints every problem
 * at once, and exits 2 when there is any. Warnings go to the log; the logger is configured from the result.
 */
export function configOrExit(envFiles: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const res = loadConfig({ env, envFile: envFiles });
  if (res.config !== null) {
    registerSecrets(secretValues(res.config));
    setLogger(createLogger({ level: res.config.EF_LOGGER_LEVEL, encoding: res.config.EF_LOGGER_ENCODING }));
  }
  for (const w of res.warnings) log.warn(w);
  if (res.config === null) {
    process.stderr.write(`configuration has ${res.errors.length} problem${res.errors.length === 1 ? '' : 's'}:\n`);
    for (const e of res.errors) process.stderr.write(`  ${e}\n`);
    process.exit(2);
  }
  return res.config;
}

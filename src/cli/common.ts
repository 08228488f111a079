/** What every CLI command shares: loading the configuration and setting up the logger. */
import { loadConfig, secretValues } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, log, setLogger } from '../log/logger.js';
import { registerSecrets } from '../log/redact.js';

export class UsageError extends Error {}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** `--name value`, `--name=value` and bare `--flag`; `boolFlags` never take a value. */
export function parseArgs(argv: readonly string[], boolFlags: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (boolFlags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) flags.set(a.slice(2), true);
      else flags.set(a.slice(2), argv[++i]!);
    } else positional.push(a);
  }
  return { positional, flags };
}

/**
 * Loads the configuration, prints every problem at once, and exits 2 when there is any.
 * Warnings go to the log; the logger is configured from the result.
 */
export function configOrExit(envFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const res = loadConfig({ env, envFile });
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

/** The log lines written while a test runs, for what it says happened. */
import { createLogger, setLogger } from '../../src/log/logger.js';

/** Runs `f` with every log line (JSON, info and up) kept in `lines`; the default logger is back after. */
export async function withLog<T>(f: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  try {
    return await f(lines);
  } finally {
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
}

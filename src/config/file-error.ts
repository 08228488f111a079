/**
 * A file or object the configuration names is there but cannot be used (YAML that does not parse, a
 * corrupt MMDB database, a ClickHouse table of another layout). Like any configuration problem it
 * stops start-up with exit code 2 (`ufc run`), which the shipped unit does not restart: a restart
 * cannot mend it, where a database that is busy or a disk that is full may mend (exit code 1).
 */
export class ConfigFileError extends Error {}

/** Whether `err`, or an error it was caused by, is a ConfigFileError. */
export function isConfigFileError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof ConfigFileError) return true;
    e = e.cause;
  }
  return false;
}

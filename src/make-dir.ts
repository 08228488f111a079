/**
 * `mkdir -p` without Node's `{ recursive: true }`: on Node 20 that loops for ever, at full CPU and
 * deaf to SIGTERM, on a path such as /proc/x, where mkdir answers ENOENT although the parent
 * exists. Each missing directory is made on its own here, so such a path fails with its error.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDir(dir: string): void {
  const abs = resolve(dir);
  try {
    if (statSync(abs).isDirectory()) return;
  } catch {
    // Missing: made below.
  }
  const parent = dirname(abs);
  if (parent !== abs) makeDir(parent);
  try {
    mkdirSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

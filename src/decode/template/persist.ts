/**
 * The template cache on disk: written atomically (temp file + rename, so a crash mid-write leaves
 * the previous file) and read back at start, so the first data packet after a restart decodes.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { log } from '../../log/logger.js';
import { makeDir } from '../../make-dir.js';

const FORMAT = 1;

/**
 * Every cache file `name` in the data dir, oldest first: the main thread's (top level) and each decode
 * worker's (`worker-N/`). TemplateStore.load keeps the latest-seen copy of a template; between copies
 * seen at the same time, the file saved last wins.
 */
export function cacheFilesIn(dataDir: string, name: string): string[] {
  const dirs = [dataDir];
  try {
    for (const e of readdirSync(dataDir, { withFileTypes: true })) if (e.isDirectory() && /^worker-\d+$/.test(e.name)) dirs.push(join(dataDir, e.name));
  } catch {
    // No data dir yet: nothing saved.
  }
  const found: { path: string; mtime: number }[] = [];
  for (const d of dirs) {
    const path = join(d, name);
    try {
      found.push({ path, mtime: statSync(path).mtimeMs });
    } catch {
      // None saved there.
    }
  }
  return found.sort((a, b) => a.mtime - b.mtime).map((f) => f.path);
}

export function readCache(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`template cache ${path}: ${(err as Error).message}; starting empty`);
    return null;
  }
  try {
    const j = JSON.parse(text) as { format?: unknown; domains?: unknown };
    if (j.format !== FORMAT) {
      log.warn(`template cache ${path}: format ${String(j.format)}, expected ${FORMAT}; starting empty`);
      return null;
    }
    return j.domains;
  } catch (err) {
    log.warn(`template cache ${path}: not valid JSON (${(err as Error).message}); starting empty`);
    return null;
  }
}

function body(domains: unknown): string {
  return JSON.stringify({ format: FORMAT, savedAt: new Date().toISOString(), domains });
}

export async function writeCache(path: string, domains: unknown): Promise<void> {
  makeDir(dirname(path));
  const tmp = `${path}.${process.pid}-${threadId}.tmp`;
  try {
    await writeFile(tmp, body(domains));
    await rename(tmp, path);
  } catch (err) {
    // A write cut short (a full disk) leaves no temporary file behind.
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export function writeCacheSync(path: string, domains: unknown): void {
  makeDir(dirname(path));
  const tmp = `${path}.${process.pid}-${threadId}.tmp`;
  try {
    writeFileSync(tmp, body(domains));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

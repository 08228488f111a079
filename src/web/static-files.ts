/**
 * The UI's static files (plain HTML, CSS and JavaScript modules, no build step), served from the
 * source tree under the package root so `npm run build` output (dist/) finds the same files.
 * Files are read once and kept in memory: there are few and they are small.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { packageRoot } from '../cli/version.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

export function staticDir(): string {
  return join(packageRoot(), 'src', 'web', 'static');
}

/** Every file under the static folder, keyed by its URL path (`/static/app.js`). */
export function loadStaticFiles(dir = staticDir()): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else {
        const body = readFileSync(p);
        const type = TYPES[extname(name)] ?? 'application/octet-stream';
        files.set(`/static/${prefix}${name}`, { body, type, etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"` });
      }
    }
  };
  walk(dir, '');
  return files;
}

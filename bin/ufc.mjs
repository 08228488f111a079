#!/usr/bin/env node
// Run by bin/ufc (which sets glibc's mmap threshold first). Runs the compiled CLI (npm install builds it); from a checkout without a build, falls back to tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

// Before any of our modules load: a module's stack frames (and so log lines' `caller`) name its .ts
// lines only if source maps were on when it was loaded.
process.setSourceMapsEnabled(true);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}

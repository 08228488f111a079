#!/usr/bin/env node
// Container entrypoint, plain Node (no shell in the loop): inside a container the web UI must listen
// on all addresses to be reachable through a published port, so EF_WEBUI_IP defaults to 0.0.0.0
// here unless the user set it; then the ufc CLI runs with the given arguments.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
if (process.env.EF_WEBUI_IP === undefined) process.env.EF_WEBUI_IP = '0.0.0.0';
// The Dockerfile passes `--` first, so that Node leaves an --env-file among the arguments alone.
const args = process.argv.slice(process.argv[2] === '--' ? 3 : 2);
process.argv = [process.argv[0], join(root, 'bin', 'ufc'), ...(args.length > 0 ? args : ['run'])];
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(cli)) {
  process.stderr.write(`entrypoint: ${cli} is missing; build with npm run build\n`);
  process.exit(1);
}
await import(pathToFileURL(cli).href);

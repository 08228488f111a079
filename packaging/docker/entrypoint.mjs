#!/usr/bin/env node
// Container entrypoint, plain Node (no shell in the loop). It gives two options the container's own
// defaults: inside a container the web UI must listen on all addresses to be reachable through a
// published port, and the state belongs in the /var/lib/ufc volume. Each default applies only when
// neither the environment nor an --env-file given to the command sets the option: put in the real
// environment, it would beat the file (the environment wins over every file). Then the ufc CLI runs
// with the given arguments.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CONTAINER_DEFAULTS = { EF_WEBUI_IP: '0.0.0.0', EF_DATA_DIR: '/var/lib/ufc' };

// Before any of ufc's modules load, as bin/ufc.mjs does: log lines' `caller` names the .ts file, and
// only with source maps on when a module loads is its line the .ts line, not the compiled one's.
process.setSourceMapsEnabled(true);

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The Dockerfile passes `--` first, so that Node leaves an --env-file among the arguments alone.
const args = process.argv.slice(process.argv[2] === '--' ? 3 : 2);
process.argv = [process.argv[0], join(root, 'bin', 'ufc'), ...(args.length > 0 ? args : ['run'])];
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(cli)) {
  process.stderr.write(`entrypoint: ${cli} is missing; build with npm run build\n`);
  process.exit(1);
}

/** The paths of every --env-file among `argv` (`--env-file PATH` or `--env-file=PATH`), in order. */
function envFiles(argv) {
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--env-file' && i + 1 < argv.length) files.push(argv[++i]);
    else if (argv[i].startsWith('--env-file=')) files.push(argv[i].slice('--env-file='.length));
  }
  return files;
}

const { parseEnvFile } = await import(pathToFileURL(join(root, 'dist', 'src', 'config', 'load.js')).href);
const fromFiles = {};
// Read on from file to file as ufc reads them (a drop-in's empty Environment= clears the unit's).
const read = { values: fromFiles, fromUnits: [], fromFiles: {} };
for (const file of envFiles(args)) {
  try {
    parseEnvFile(readFileSync(file, 'utf8'), [], [], read);
  } catch {
    // A file that cannot be read is reported by ufc itself, with every other configuration problem.
  }
}
for (const [name, value] of Object.entries(CONTAINER_DEFAULTS)) {
  if (process.env[name] === undefined && fromFiles[name] === undefined) process.env[name] = value;
}
await import(pathToFileURL(cli).href);

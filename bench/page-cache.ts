/**
 * npm run bench:page-cache — what appending to a file costs the writer in CPU, by where the page-cache
 * pages come from. The file output's bytes all pass through this (bench:peers writes 2.6 GB of NDJSON).
 *
 * Each round writes --mb MB (default 1024) in 1 MB writes to a file in the temporary directory, twice:
 *   - "reused": right after deleting a file of the same size, so the pages just freed are taken again;
 *   - "idle": after that file is deleted and --idle seconds (default 4) have passed with nothing
 *     written, so the kernel has had time to do what it does with free memory.
 * The two differ only by the wait: `--idle 0` is the control, and gave the same cost for both here
 * (0.17 / 0.17 ns a byte). Where free memory stays with the kernel (no page reporting) the wait
 * should make no difference either; only this project's VM was measured. In a virtual machine that
 * reports free memory to its host (virtio-balloon free page reporting, `/sys/module/page_reporting`),
 * pages that stayed free were handed back, and writing into them again makes the host fault them in:
 * the writer's system time grows several-fold. Prints CPU nanoseconds per byte (user + system of this process), per round.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './send-stream.js';

const opts = cli('usage: npm run bench:page-cache -- [--mb N (1024)] [--idle SECONDS (4)] [--rounds N (3)]', ['mb', 'idle', 'rounds']);
const MB = opts.num('mb', 1024);
const IDLE_S = opts.num('idle', 4);
const ROUNDS = opts.num('rounds', 3);

const dir = mkdtempSync(join(tmpdir(), 'bench-page-cache-'));
const chunk = Buffer.alloc(1 << 20, 'x');
const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

/** Writes MB megabytes to `name` and returns CPU ns per byte; the file stays until removed. */
function fill(name: string): number {
  const fd = openSync(join(dir, name), 'a');
  const t0 = cpuNs();
  for (let i = 0; i < MB; i++) writeSync(fd, chunk);
  const ns = cpuNs() - t0;
  closeSync(fd);
  return ns / (MB * chunk.length);
}
const remove = (name: string): void => rmSync(join(dir, name), { force: true });
const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

const reporting = ((): string => {
  try {
    return `free page reporting present (order ${readFileSync('/sys/module/page_reporting/parameters/page_reporting_order', 'utf8').trim()})`;
  } catch {
    return 'no free page reporting found';
  }
})();

try {
  process.stdout.write(`${MB} MB in 1 MB writes to ${dir}; ${reporting}\n\n| round | reused pages, CPU ns per byte | pages idle ${IDLE_S} s, CPU ns per byte | ratio |\n|---|---|---|---|\n`);
  for (let r = 1; r <= ROUNDS; r++) {
    fill('a');
    remove('a');
    const reused = fill('b');
    remove('b');
    await sleep(IDLE_S);
    const idle = fill('c');
    remove('c');
    process.stdout.write(`| ${r} | ${reused.toFixed(2)} | ${idle.toFixed(2)} | ${(idle / reused).toFixed(1)}x |\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

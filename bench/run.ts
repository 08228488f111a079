/**
 * npm run bench — every benchmark in turn, each in its own process so one's heap and JIT state do
 * not colour the next: decoders, enrichers, threat index, stores, queries. `--peers` adds the side-by-side
 * run against nfcapd, nfacctd and node-netflowv9 (a few minutes); `--only name,...` picks.
 * Figures are CPU-seconds based; on a busy machine wall-clock rows vary, see each bench's notes.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1]!.split(',') : null;

const BENCHES: { name: string; file: string; args?: string[]; node?: string[] }[] = [
  { name: 'decode-netflow9-ipfix', file: 'decode-netflow9-ipfix.ts' },
  { name: 'decode-legacy-sflow', file: 'decode-legacy-sflow.ts' },
  { name: 'enrich', file: 'enrich.ts' },
  { name: 'threat', file: 'threat.ts', node: ['--expose-gc'] },
  { name: 'store', file: 'store.ts' },
  { name: 'queries', file: 'queries.ts' },
  { name: 'stages', file: 'stages.ts' },
  { name: 'pipeline', file: 'pipeline.ts' },
];
if (args.includes('--peers')) BENCHES.push({ name: 'peers', file: 'peers.ts' });

let failed = 0;
for (const b of BENCHES) {
  if (only && !only.includes(b.name)) continue;
  process.stdout.write(`\n## ${b.name} (node --import tsx bench/${b.file})\n\n`);
  const r = spawnSync(process.execPath, [...(b.node ?? []), '--import', 'tsx', join(ROOT, 'bench', b.file), ...(b.args ?? [])], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`${b.name}: exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;

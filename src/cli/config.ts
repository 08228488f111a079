import { renderConfig } from '../config/load.js';
import { createEnrichers } from '../enrich/chain.js';
import { configOrExit, envFiles } from './common.js';
import type { Enricher } from '../pipeline/types.js';
import { ENV_FILE_FLAG, type Command } from './commands.js';

export const configCommand: Command = {
  usage: 'ufc config [--env-file PATH]...',
  summary: 'Print the effective configuration (secrets as ***) and exit; non-zero when it is invalid, or when a file it names (sampling rates, interface names, address metadata, GeoIP, ASN, threat feeds, RiskIQ include/exclude) does not load.',
  flags: [ENV_FILE_FLAG],
  repeatable: ['env-file'],
  async run(args) {
    const config = configOrExit(envFiles(args));
    // The files the enrichers read are checked as start-up checks them (a decode worker's own copy, so
    // nothing is downloaded): an edited file can be tried before the collector is restarted with it.
    const problems: string[] = [];
    const firstLine = (err: unknown): string => (err as Error).message.split('\n')[0]!;
    let enrichers: Enricher[] = [];
    try {
      // The user's threat feeds file is read as the chain is built: when it does not load, the rest of
      // the chain is built without it, so its files are checked too.
      enrichers = createEnrichers({ config, dataDir: config.EF_DATA_DIR, worker: true });
    } catch (err) {
      problems.push(firstLine(err));
      enrichers = createEnrichers({ config: { ...config, EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: false }, dataDir: config.EF_DATA_DIR, worker: true });
    }
    for (const e of enrichers) {
      try {
        await e.check?.();
      } catch (err) {
        problems.push(firstLine(err));
      }
    }
    if (problems.length > 0) {
      process.stderr.write(`configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n`);
      for (const p of problems) process.stderr.write(`  ${p}\n`);
      return 2;
    }
    process.stdout.write(renderConfig(config));
    return 0;
  },
};

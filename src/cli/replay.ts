import { readFileSync } from 'node:fs';
import { Collector } from '../collector.js';
import { log } from '../log/logger.js';
import { configOrExit, UsageError } from './common.js';
import type { Command } from './commands.js';

export const replayCommand: Command = {
  usage: 'ufc replay [--env-file PATH] FILE...',
  summary: 'Feed every UDP payload of pcap/pcapng files through the pipeline, flush the outputs and exit.',
  async run(args) {
    if (args.positional.length === 0) throw new UsageError('replay needs at least one capture file');
    const envFile = args.flags.get('env-file');
    const config = configOrExit(typeof envFile === 'string' ? envFile : undefined);
    const collector = new Collector(config);
    await collector.start('replay');
    let datagrams = 0;
    for (const file of args.positional) {
      try {
        datagrams += collector.replay(readFileSync(file));
      } catch (err) {
        log.error(`replay ${file}: ${(err as Error).message}`);
        await collector.stop();
        return 1;
      }
    }
    await collector.stop();
    const t = collector.pipeline.stats.totals();
    log.info('replay finished', { files: args.positional.length, datagrams, records: t.records, errors: t.errors });
    return 0;
  },
};

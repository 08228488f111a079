import { renderConfig } from '../config/load.js';
import { configOrExit } from './common.js';
import type { Command } from './commands.js';

export const configCommand: Command = {
  usage: 'ufc config [--env-file PATH]',
  summary: 'Print the effective configuration (secrets as ***) and exit; non-zero when it is invalid.',
  flags: [['--env-file PATH', 'Read EF_* options from a file of NAME=value lines, or from a systemd unit or drop-in ([Service] Environment= lines). The environment wins over the file.']],
  async run(args) {
    const envFile = args.flags.get('env-file');
    const config = configOrExit(typeof envFile === 'string' ? envFile : undefined);
    process.stdout.write(renderConfig(config));
    return 0;
  },
};

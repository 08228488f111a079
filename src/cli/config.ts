import { renderConfig } from '../config/load.js';
import { configOrExit } from './common.js';
import { ENV_FILE_FLAG, type Command } from './commands.js';

export const configCommand: Command = {
  usage: 'ufc config [--env-file PATH]',
  summary: 'Print the effective configuration (secrets as ***) and exit; non-zero when it is invalid.',
  flags: [ENV_FILE_FLAG],
  async run(args) {
    const envFile = args.flags.get('env-file');
    const config = configOrExit(typeof envFile === 'string' ? envFile : undefined);
    process.stdout.write(renderConfig(config));
    return 0;
  },
};

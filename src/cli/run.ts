import { Collector, StartupError } from '../collector.js';
import { isConfigFileError } from '../config/file-error.js';
import { log } from '../log/logger.js';
import { configOrExit, envFiles } from './common.js';
import { ENV_FILE_FLAG, type Command } from './commands.js';
import { VERSION } from './version.js';
import { stopSignals } from './stop-signals.js';

/** How long the process may outlive its last line (`stopped`, a failed start) for what still drains by itself. */
const EXIT_GRACE_MS = 1000;
/** How long it then waits more for its log lines to reach a slow reader of stderr (or of stdout). */
const DRAIN_MAX_MS = 10_000;

/**
 * Ends the process EXIT_GRACE_MS after its last line unless it has ended by itself: a request an
 * output gave up on (a node that never answers) may hold the event loop until its client's timeout.
 * Lines still queued for stderr or stdout (a pipe whose reader is behind) go out first, for at most
 * DRAIN_MAX_MS: process.exit() drops what a stream has queued.
 */
function exitSoon(code: number): void {
  setTimeout(() => {
    const queued = [process.stderr, process.stdout].filter((s) => s.writableLength > 0);
    if (queued.length === 0) process.exit(code);
    // An empty write's callback runs once all before it is written ('drain' comes only after a
    // write was refused, past the high-water mark: not for a few lines left).
    let left = queued.length;
    for (const s of queued) s.write('', () => { if (--left === 0) process.exit(code); });
    setTimeout(() => process.exit(code), DRAIN_MAX_MS).unref();
  }, EXIT_GRACE_MS).unref();
}

/** On glibc, whether the environment leaves the mmap threshold to glibc (bin/ufc fixes it; see there). */
function mmapThresholdFloats(): boolean {
  if (process.platform !== 'linux' || (process.env.MALLOC_MMAP_THRESHOLD_ ?? '') !== '') return false;
  if ((process.env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.mmap_threshold=')) return false;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime !== undefined;
}

export const runCommand: Command = {
  usage: 'ufc run [--env-file PATH]...',
  summary: 'Start the collector (the default command).',
  flags: [ENV_FILE_FLAG],
  repeatable: ['env-file'],
  async run(args) {
    const config = configOrExit(envFiles(args));
    log.info(`ufc ${VERSION} starting`, { data_dir: config.EF_DATA_DIR });
    if (mmapThresholdFloats()) {
      log.info('glibc\'s mmap threshold is not fixed: memory freed after a backlog may stay with the process', { hint: 'start with bin/ufc, or set MALLOC_MMAP_THRESHOLD_=131072 in the environment (docs/operations.md, Memory)' });
    }
    // Before start-up: a signal while it runs stops the collector cleanly once it is done (stop-signals.ts).
    const { stopRequested, release } = stopSignals();
    let collector: Collector;
    try {
      collector = new Collector(config);
      await collector.start();
    } catch (err) {
      // A file that is there but will not load, a database that will not open: one line (logged by
      // start()), no stack trace. Anything left running after its bounded stop must not hold the exit.
      if (!(err instanceof StartupError)) log.error(`start-up failed: ${(err as Error).message}`);
      release();
      // A file the configuration names that will not load is a configuration problem (exit 2, which the
      // shipped unit does not restart); anything else may mend on a restart (exit 1).
      const code = isConfigFileError(err) ? 2 : 1;
      exitSoon(code);
      return code;
    }
    try {
      await collector.listen();
    } catch (err) {
      log.error((err as Error).message);
      await collector.stop();
      release();
      exitSoon(1);
      return 1;
    }
    const sig = await stopRequested;
    log.info(`received ${sig}: stopping input, flushing outputs`);
    await collector.stop();
    release();
    const t = collector.pipeline.stats.totals();
    log.info('stopped', { packets: t.packets, records: t.records, errors: t.errors });
    // Every stage has stopped within its bound, and what an output could not send is in its spill.
    exitSoon(0);
    return 0;
  },
};

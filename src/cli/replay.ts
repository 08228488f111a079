import { Collector, StartupError, type ReplayCounts } from '../collector.js';
import { isConfigFileError } from '../config/file-error.js';
import { log } from '../log/logger.js';
import { configOrExit, envFiles, UsageError } from './common.js';
import { ENV_FILE_FLAG, type Command } from './commands.js';

/** The summary keeps the busiest destination ports, so a capture of many ports stays one line. */
const SUMMARY_PORTS = 10;

export const replayCommand: Command = {
  usage: 'ufc replay [--env-file PATH]... [--port N[,N...]] FILE...',
  positional: true,
  repeatable: ['env-file'],
  flags: [
    ['--port N[,N...]', 'Only UDP datagrams to these destination ports (default: every UDP datagram in the files).'],
    ENV_FILE_FLAG,
  ],
  summary: 'Feed every UDP payload of pcap/pcapng files (or those to --port) through the pipeline, flush the outputs and exit.',
  async run(args) {
    if (args.positional.length === 0) throw new UsageError('replay needs at least one capture file');
    const ports = parsePorts(args.flags.get('port'));
    const config = configOrExit(envFiles(args));
    let collector: Collector;
    try {
      collector = new Collector(config);
      await collector.start('replay');
    } catch (err) {
      // start() logged it in one line ('start-up failed: ...'); no stack trace after it.
      if (!(err instanceof StartupError)) log.error(`start-up failed: ${(err as Error).message}`);
      const code = isConfigFileError(err) ? 2 : 1;
      // As in run: what is left running after its bounded stop must not hold the exit.
      setTimeout(() => process.exit(code), 1000).unref();
      return code;
    }
    const sum: Omit<ReplayCounts, 'byPort'> = { datagrams: 0, otherPorts: 0, frames: 0, notIp: 0, notUdp: 0, truncated: 0, fragmentsIncomplete: 0, trailingBytes: 0 };
    const byPort = new Map<number, number>();
    const failed: string[] = [];
    for (const file of args.positional) {
      try {
        const c = await collector.replayFile(file, ports);
        for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c[k];
        for (const [p, n] of Object.entries(c.byPort)) byPort.set(Number(p), (byPort.get(Number(p)) ?? 0) + n);
        if (c.trailingBytes > 0) log.warn(`replay ${file}: the file ends inside a packet record (${c.trailingBytes} bytes left over): cut short?`);
      } catch (err) {
        log.error(`replay ${file}: ${(err as Error).message}`);
        failed.push(file);
      }
    }
    await collector.stop();
    const t = collector.pipeline.stats.totals();
    const dropped = collector.outputDrops();
    const held = collector.heldForTemplates();
    const ports10 = Object.fromEntries([...byPort].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_PORTS));
    const summary = {
      files: args.positional.length, failedFiles: failed.length, ...sum, ports: ports10,
      records: t.records, errors: t.errors, heldForTemplates: held, droppedByOutputs: dropped,
    };
    const lost = Object.keys(dropped).length > 0;
    // Said louder when something in the files was not turned into records, so it shows at level warn.
    const quiet = !lost && failed.length === 0 && held === 0 && sum.truncated + sum.fragmentsIncomplete + sum.trailingBytes + t.errors === 0;
    // Other traffic beside the flow export (notIp, notUdp, otherPorts) is ordinary in a capture; none at all is not.
    const none = failed.length < args.positional.length && sum.datagrams === 0;
    if (quiet && !none) log.info('replay finished', summary);
    else log.warn('replay finished', summary);
    if (none && sum.otherPorts > 0) log.warn(`replay: no UDP datagram went to port ${[...(ports ?? [])].join(', ')}; ${sum.otherPorts} went to other ports: check --port`);
    else if (none) log.warn('replay: the captures held no UDP datagram: are they captures of flow export (NetFlow, IPFIX, sFlow to a collector), not of the traffic itself?');
    if (lost) log.error(`replay: outputs dropped records: ${Object.entries(dropped).map(([o, n]) => `${o} ${n}`).join(', ')}`);
    if (held > 0) log.warn(`replay: ${held} data set(s) still wait for a template the captures did not hold`);
    const q = t.sequence;
    if (q.missingDatagrams + q.missingRecords > 0) {
      const what = [q.missingDatagrams > 0 ? `${q.missingDatagrams} datagram(s)` : '', q.missingRecords > 0 ? `${q.missingRecords} record(s)` : ''].filter((x) => x !== '').join(' and ');
      log.warn(`replay: the exporters' sequence numbers say ${what} were sent and are not in the captures (lost before the capture point, or a capture that dropped packets; /api/exporters has them per exporter)`);
    }
    return failed.length > 0 || lost ? 1 : 0;
  },
};

function parsePorts(v: string | true | undefined): Set<number> | null {
  if (v === undefined) return null;
  if (v === true) throw new UsageError('--port needs a port number or a comma-separated list');
  const ports = new Set<number>();
  for (const p of v.split(',')) {
    const s = p.trim();
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw new UsageError(`--port: "${s}" is not a port number (1-65535)`);
    ports.add(n);
  }
  return ports;
}

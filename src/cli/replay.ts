import { constants } from 'node:os';
import { Collector, ReplayError, StartupError, type ReplayCounts } from '../collector.js';
import { isConfigFileError } from '../config/file-error.js';
import { linkTypeName } from '../input/pcap.js';
import { log } from '../log/logger.js';
import { configOrExit, envFiles, UsageError } from './common.js';
import { ENV_FILE_FLAG, type Command } from './commands.js';
import { stopSignals } from './stop-signals.js';

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
    // Taken before start-up, as in run: a Ctrl-C then stops the replay before its first file, cleanly.
    // The first stops the reading; the outputs and the store are flushed and closed as at the end of a
    // replay, and one more signal meanwhile is logged and ignored (stop-signals.ts).
    const { stopRequested, release } = stopSignals();
    const interrupt = new AbortController();
    let reading = true;
    void stopRequested.then((sig) => {
      if (!reading) {
        log.info(`received ${sig}: every file was read already; flushing outputs`);
        return;
      }
      log.info(`received ${sig}: no further packets are read; flushing outputs`);
      interrupt.abort(sig);
    });
    let collector: Collector;
    try {
      collector = new Collector(config);
      await collector.start('replay');
    } catch (err) {
      // start() logged it in one line ('start-up failed: ...'); no stack trace after it.
      if (!(err instanceof StartupError)) log.error(`start-up failed: ${(err as Error).message}`);
      release();
      const code = isConfigFileError(err) ? 2 : 1;
      // As in run: what is left running after its bounded stop must not hold the exit.
      setTimeout(() => process.exit(code), 1000).unref();
      return code;
    }
    const sum: Omit<ReplayCounts, 'byPort' | 'unsupportedLinkTypes'> = {
      datagrams: 0, otherPorts: 0, frames: 0, notIp: 0, unsupportedLinkType: 0, damaged: 0, untimed: 0, notUdp: 0,
      truncated: 0, fragmentsIncomplete: 0, fragmentsRepeated: 0, trailingBytes: 0,
    };
    const byPort = new Map<number, number>();
    const failed: string[] = [];
    let filesNotRead = 0;
    for (const [i, file] of args.positional.entries()) {
      if (interrupt.signal.aborted) {
        filesNotRead = args.positional.length - i;
        break;
      }
      let c: ReplayCounts | null = null;
      try {
        c = await collector.replayFile(file, ports, interrupt.signal);
      } catch (err) {
        // What was read before the damage was replayed: it is in the summary too.
        if (err instanceof ReplayError) c = err.counts;
        log.error(`replay ${file}: ${(err as Error).message}${c !== null && c.frames > 0 ? ` (after ${c.frames} packets, ${c.datagrams} datagrams replayed)` : ''}`);
        failed.push(file);
      }
      if (c === null) continue;
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += c[k];
      for (const [p, n] of Object.entries(c.byPort)) byPort.set(Number(p), (byPort.get(Number(p)) ?? 0) + n);
      if (c.trailingBytes > 0) log.warn(`replay ${file}: the file ends inside a packet record (${c.trailingBytes} bytes left over): cut short?`);
      const types = Object.entries(c.unsupportedLinkTypes).map(([lt, n]) => `${linkTypeName(Number(lt))}: ${n} packets`).join(', ');
      if (c.frames > 0 && c.unsupportedLinkType === c.frames && !failed.includes(file)) {
        log.error(`replay ${file}: its link type is not one ufc reads (${types}): nothing in it was replayed`);
        failed.push(file);
      } else if (c.unsupportedLinkType > 0) {
        log.warn(`replay ${file}: packets of a link type ufc does not read were skipped (${types})`);
      }
      if (c.damaged > 0) log.warn(`replay ${file}: ${c.damaged} packet block(s) name an interface the file does not describe: skipped (a damaged file?)`);
      if (c.untimed > 0) log.warn(`replay ${file}: ${c.untimed} Simple Packet Block(s) came before any packet with a time: they carry none, so they were given the time they were read at`);
    }
    reading = false;
    const interrupted = interrupt.signal.aborted ? interrupt.signal.reason as string : null;
    await collector.stop();
    release();
    const t = collector.pipeline.stats.totals();
    const dropped = collector.outputDrops();
    const held = collector.heldForTemplates();
    const ports10 = Object.fromEntries([...byPort].sort((a, b) => b[1] - a[1]).slice(0, SUMMARY_PORTS));
    const summary = {
      files: args.positional.length, failedFiles: failed.length, ...sum, ports: ports10,
      records: t.records, errors: t.errors, heldForTemplates: held, droppedByOutputs: dropped,
      // Only when a stop signal cut the replay short: the file it was in counts as read (its packets up to there).
      ...(interrupted !== null ? { interrupted, filesNotRead } : {}),
    };
    const lost = Object.keys(dropped).length > 0;
    // Said louder when something in the files was not turned into records, so it shows at level warn.
    const quiet = interrupted === null && !lost && failed.length === 0 && held === 0
      && sum.truncated + sum.fragmentsIncomplete + sum.trailingBytes + sum.unsupportedLinkType + sum.damaged + t.errors === 0;
    // Other traffic beside the flow export (notIp, notUdp, otherPorts) is ordinary in a capture; none at all is not.
    const none = interrupted === null && failed.length < args.positional.length && sum.datagrams === 0;
    if (quiet && !none) log.info('replay finished', summary);
    else log.warn('replay finished', summary);
    if (none && sum.otherPorts > 0) log.warn(`replay: no UDP datagram went to port ${[...(ports ?? [])].join(', ')}; ${sum.otherPorts} went to other ports: check --port`);
    else if (none && sum.notUdp === 0 && sum.notIp + sum.unsupportedLinkType > 0) {
      // Nothing was read as IP: the cause is the framing, not what the captures are of.
      const why = [sum.unsupportedLinkType > 0 ? `${sum.unsupportedLinkType} of a link type ufc does not read (named above)` : '',
        sum.notIp > 0 ? `${sum.notIp} holding no IPv4 or IPv6 packet where their link type puts one (ARP, or an encapsulation ufc does not read)` : ''];
      log.warn(`replay: the captures held no IP packet ufc could read: of their ${sum.frames} packets, ${why.filter((w) => w !== '').join('; ')}`);
    } else if (none) log.warn('replay: the captures held no UDP datagram: are they captures of flow export (NetFlow, IPFIX, sFlow to a collector), not of the traffic itself?');
    if (lost) log.error(`replay: outputs dropped records: ${Object.entries(dropped).map(([o, n]) => `${o} ${n}`).join(', ')}`);
    if (held > 0) log.warn(`replay: ${held} data set(s) still wait for a template the captures did not hold`);
    const q = t.sequence;
    if (q.missingDatagrams + q.missingRecords > 0) {
      const what = [q.missingDatagrams > 0 ? `${q.missingDatagrams} datagram(s)` : '', q.missingRecords > 0 ? `${q.missingRecords} record(s)` : ''].filter((x) => x !== '').join(' and ');
      log.warn(`replay: the exporters' sequence numbers say ${what} were sent and are not in the captures (lost before the capture point, or a capture that dropped packets; /api/exporters has them per exporter)`);
    }
    // 128 + the signal's number, as a shell reports a process the signal ended (130 for SIGINT): a
    // script sees the replay did not run to its end, whatever else went wrong.
    if (interrupted !== null) return 128 + constants.signals[interrupted as NodeJS.Signals];
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

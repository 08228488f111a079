/**
 * npm run bench:peers — the same deterministic NetFlow v9 and IPFIX streams (25 records per packet,
 * bench/netflow9-stream.ts and bench/ipfix-stream.ts), sent at a fixed rate over loopback to each
 * collector in turn: ours (full pipeline: every enricher, the RiskIQ threat list served by the local
 * PassiveTotal emulator; NDJSON file output), nfcapd (nfdump), nfacctd (pmacct, print plugin) and
 * node-netflowv9 (decode only, NetFlow v9 only), each when installed. Every collector gets the
 * identical byte stream: the v9 stream, then the IPFIX stream. Prints records received (from each
 * one's own output, per protocol where the output tells), kernel UDP drops (/proc/net/udp), CPU
 * seconds (of a cpuacct cgroup per collector when run as root with a cgroup v1 cpuacct hierarchy, else summed from /proc), records per CPU-second, busy seconds (first packet sent to output done, to 200 ms) and
 * records per busy second, peak RSS, and our ratio to each.
 *
 * Options: --packets N data packets per protocol (default 80000 = 2,000,000 records), --pps N
 * (default 40000), --protocol v9|ipfix|both (default both), --exporters N (loopback source addresses
 * the packets are spread over, default 1), --only name,...
 * Environment: BENCH_THREADS=1 (CPU seconds of every thread, since start, to stderr), BENCH_WORKERS (EF_FLOW_SERVER_WORKERS; unset: the collector's default),
 * BENCH_RECEIVE_QUEUE, BENCH_GEO=false, BENCH_KEEP=1 (keep each temp dir); EF_* variables reach ufc, UFC_* ones
 * bin/ufc (UFC_NODE_FLAGS: node options for ufc, e.g. --cpu-prof).
 * Traffic goes to 127.0.0.1 only; the send loop is bounded by the packet count.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { memoryReadNs } from './machine.js';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipfixStream } from './ipfix-stream.js';
import { DISTINCT_DST, RECORDS_PER_PACKET, stream, THREAT_LIST } from './netflow9-stream.js';
import { cli, envWithPrefix, sendStream } from './send-stream.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const opts = cli(
  'usage: npm run bench:peers -- [--packets N (80000)] [--pps N (40000)] [--protocol v9|ipfix|both (both)] [--exporters N (1)] [--only name,...]',
  ['packets', 'pps', 'protocol', 'exporters', 'only'],
);
const PACKETS = opts.num('packets', 80_000);
const PPS = opts.num('pps', 40_000);
/** Exporters (loopback source addresses) the stream is spread over; decode workers split by exporter. */
const EXPORTERS = opts.num('exporters', 1);
const only = opts.str('only')?.split(',') ?? null;
const PROTOCOL = (() => {
  const v = opts.str('protocol') ?? 'both';
  if (v !== 'v9' && v !== 'ipfix' && v !== 'both') throw new Error('--protocol must be v9, ipfix or both');
  return v;
})();
const SEND_V9 = PROTOCOL !== 'ipfix';
const SEND_IPFIX = PROTOCOL !== 'v9';
const KEEP = process.env.BENCH_KEEP === '1';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** What a collector wrote out; per protocol when its output tells the export version. */
interface Counts { total: number; v9?: number; ipfix?: number; notes?: string }

interface Peer {
  name: string;
  /** Export protocols it decodes: records of the others are not expected from it. */
  decodes: { v9: boolean; ipfix: boolean };
  available(): boolean;
  start(port: number, dir: string): ChildProcess;
  /** Ready for traffic beyond having bound its port (ufc: the threat list is loaded). */
  ready?(dir: string): boolean;
  /** Records the collector wrote out, read after it stopped. */
  count(dir: string): Counts;
  /** Time after draining for output it writes only periodically (nfacctd's print refresh); its CPU counts. */
  settleMs?: number;
}

const which = (bin: string): string | null => {
  for (const d of ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']) if (existsSync(join(d, bin))) return join(d, bin);
  return null;
};

/**
 * Occurrences of each needle in a file, read in chunks cut at line ends: a full run's NDJSON is larger
 * than the longest string V8 allows, and a needle never spans two lines.
 */
function countInLines(file: string, needles: Record<string, string>): Record<string, number> & { lines: number } {
  const out: Record<string, number> & { lines: number } = Object.assign(Object.fromEntries(Object.keys(needles).map((k) => [k, 0])), { lines: 0 });
  if (!existsSync(file)) return out;
  const pats = Object.entries(needles).map(([k, v]) => [k, Buffer.from(v)] as const);
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  let keep = 0;
  for (let got; (got = readSync(fd, buf, keep, buf.length - keep, null)) > 0 || keep > 0;) {
    const end = keep + got;
    let cut = got === 0 ? end : buf.lastIndexOf(10, end - 1) + 1;
    if (cut === 0) cut = end; // a line longer than the buffer: count what is there
    const part = buf.subarray(0, cut);
    for (let i = part.indexOf(10); i >= 0; i = part.indexOf(10, i + 1)) out.lines++;
    for (const [k, pat] of pats) for (let i = part.indexOf(pat); i >= 0; i = part.indexOf(pat, i + pat.length)) out[k]!++;
    buf.copy(buf, 0, cut, end);
    keep = end - cut;
    if (got === 0) break;
  }
  closeSync(fd);
  return out;
}

/** Lines of a small text file matching `re` (nfacctd's CSV), split by the value of column `col` when given. */
function countCsv(file: string, re: RegExp, col: string): { n: number; by: Map<string, number> } {
  const by = new Map<string, number>();
  let n = 0;
  let idx = -1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (idx < 0 && line.includes(col)) idx = line.split(',').indexOf(col);
    if (line === '' || !re.test(line)) continue;
    n++;
    if (idx >= 0) {
      const v = line.split(',')[idx] ?? '';
      by.set(v, (by.get(v) ?? 0) + 1);
    }
  }
  return { n, by };
}

/** The local PassiveTotal emulator the ufc run downloads its threat list from (loopback only). */
const EMULATOR = { port: 39050, user: 'bench@example.com', key: 'bench-emulator-key-0123456789' };
const EMULATOR_URL = `http://127.0.0.1:${EMULATOR.port}/v2/netflow/blocklist/download`;
const MAIN_JS = join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** What users start (it sets glibc's mmap threshold, then runs the built CLI). */
const LAUNCHER = join(ROOT, 'bin', 'ufc');
const READY_LINE = 'DB successfully populated.';

const PEERS: Peer[] = [
  {
    name: 'ufc',
    decodes: { v9: true, ipfix: true },
    available: () => existsSync(MAIN_JS),
    start: (port, dir) => {
      // Logs go to a file in the temp dir: readiness ("DB successfully populated.") is read from it.
      const log = openSync(join(dir, 'ufc.log'), 'w');
      const child = spawn(LAUNCHER, ['run'], {
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          // UFC_ variables of the benchmark's environment reach bin/ufc (UFC_NODE_FLAGS=--cpu-prof).
          PATH: process.env.PATH, UFC_NODE: process.execPath, ...envWithPrefix('UFC_'), EF_DATA_DIR: dir, EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: String(port),
          EF_LOGGER_LEVEL: 'info', EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
          EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'), EF_OUTPUT_FILE_MAX_SIZE: '0',
          EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: process.env.BENCH_GEO ?? 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: process.env.BENCH_GEO ?? 'true',
          EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: EMULATOR_URL,
          EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: EMULATOR.user, EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: EMULATOR.key,
          // Unset: the collector's own default worker count.
          ...(process.env.BENCH_WORKERS !== undefined ? { EF_FLOW_SERVER_WORKERS: process.env.BENCH_WORKERS } : {}),
          ...(process.env.BENCH_RECEIVE_QUEUE !== undefined ? { EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: process.env.BENCH_RECEIVE_QUEUE } : {}),
          // EF_ variables of the benchmark's own environment win (e.g. EF_FLOW_SERVER_WORKERS_NICE=5).
          // MALLOC_ variables too (bin/ufc keeps a threshold already set).
          ...envWithPrefix('EF_'), ...envWithPrefix('MALLOC_'),
        },
      });
      closeSync(log);
      return child;
    },
    ready: (dir) => existsSync(join(dir, 'ufc.log')) && readFileSync(join(dir, 'ufc.log'), 'utf8').includes(READY_LINE),
    count: (dir) => {
      const c = countInLines(join(dir, 'flows.ndjson'), {
        v9: '"flow.export.version.ver":9,', ipfix: '"flow.export.version.ver":10,',
        riskiq: '"flow.dst.sec.threat.feed.name":["riskiq"]', geo: '"flow.dst.geo.country.name":', asn: '"flow.dst.as.org":',
      });
      return { total: c.lines, v9: c.v9, ipfix: c.ipfix, notes: `dst threat feed ["riskiq"]: ${c.riskiq}, dst GeoIP country: ${c.geo}, dst ASN org: ${c.asn}` };
    },
  },
  {
    name: 'nfcapd',
    decodes: { v9: true, ipfix: true },
    available: () => which('nfcapd') !== null && which('nfdump') !== null,
    start: (port, dir) => spawn(which('nfcapd')!, ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600', '-B', '33554432'], { detached: true, stdio: 'ignore' }),
    count: (dir) => {
      const out = spawnSync(which('nfdump')!, ['-R', dir, '-I'], { encoding: 'utf8' }).stdout;
      return { total: Number(/^Flows: (\d+)/m.exec(out)?.[1] ?? 0) };
    },
  },
  {
    name: 'nfacctd',
    decodes: { v9: true, ipfix: true },
    // The print plugin writes its cache every print_refresh_time (1 s): give it time for the last write.
    settleMs: 2500,
    available: () => which('nfacctd') !== null,
    start: (port, dir) => {
      const conf = join(dir, 'nfacctd.conf');
      writeFileSync(conf, [
        `nfacctd_ip: 127.0.0.1`, `nfacctd_port: ${port}`, 'nfacctd_pipe_size: 33554432', 'plugins: print',
        'aggregate: src_host, dst_host, src_port, dst_port, proto, tos, export_proto_version', 'print_output: csv',
        `print_output_file: ${join(dir, 'print-%s.csv')}`, 'print_refresh_time: 1',
        // The core hands records to the plugin a full buffer at a time and keeps a partly filled one at
        // exit: 100 KB (about 60 records) bounds what is lost at the end of the stream.
        'plugin_pipe_size: 209715200', 'plugin_buffer_size: 102400',
        // A purge that finds the cache full writes the file named for the current second: without
        // append, a second purge within that second replaced the first one's lines (its log warns).
        'print_output_file_append: true',
      ].join('\n') + '\n');
      return spawn(which('nfacctd')!, ['-f', conf], { detached: true, stdio: 'ignore' });
    },
    count: (dir) => {
      const c: Counts = { total: 0, v9: 0, ipfix: 0 };
      for (const f of readdirSync(dir).filter((f) => f.startsWith('print-'))) {
        const { n, by } = countCsv(join(dir, f), /^\d/, 'EXPORT_PROTO_VERSION');
        c.total += n;
        c.v9! += by.get('9') ?? 0;
        c.ipfix! += by.get('10') ?? 0;
      }
      return c;
    },
  },
  {
    name: 'node-netflowv9',
    // It decodes NetFlow v9 only: IPFIX messages are sent to it too (same byte stream) but not expected.
    decodes: { v9: true, ipfix: false },
    available: () => existsSync(join(ROOT, 'node_modules', 'node-netflowv9')),
    start: (port, dir) => spawn(process.execPath, ['-e', `
      const C = require(${JSON.stringify(join(ROOT, 'node_modules', 'node-netflowv9'))});
      let n = 0, v9 = 0;
      C({ port: ${port}, host: '127.0.0.1' }).on('data', (f) => { n += f.flows.length; if (f.header && f.header.version === 9) v9 += f.flows.length; });
      process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(join(dir, 'count'))}, n + ' ' + v9); process.exit(0); });
    `], { detached: true, stdio: 'ignore' }),
    count: (dir) => {
      if (!existsSync(join(dir, 'count'))) return { total: 0 };
      const [n, v9] = readFileSync(join(dir, 'count'), 'utf8').split(' ').map(Number);
      return { total: n!, v9: v9!, ipfix: n! - v9! };
    },
  },
];

/**
 * A /proc/.../stat line as the command name and the fields after it (proc(5): fields[0] is the
 * state, [2] the process group, [11] and [12] user and system ticks); null once the task is gone.
 */
function procStat(path: string): { name: string; fields: string[]; rest: string } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2);
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: rest.split(' '), rest };
  } catch {
    return null;
  }
}

/** Every process of the group led by `pid` (nfacctd forks its plugins). */
function groupPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(`/proc/${d}/stat`);
    if (st !== null && Number(st.fields[2]) === pid) out.push(Number(d));
  }
  return out;
}

function readProcStat(pid: number): string {
  const st = procStat(`/proc/${pid}/stat`);
  return st === null ? '' : `${pid} x ${st.rest}`;
}

function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) {
    const st = procStat(`/proc/${p}/stat`);
    if (st !== null) ticks += Number(st.fields[11]) + Number(st.fields[12]);
  }
  return ticks / CLK_TCK;
}

/**
 * A collector's CPU seconds. By cgroup (v1 cpuacct) where this process may make one (root, and a
 * cpuacct hierarchy): it also counts processes that have come and gone, which /proc cannot. nfacctd's
 * print plugin forks a process for every cache purge; those exit before we look and are not waited
 * for, so their CPU is in no /proc entry (one run counted 1.26 CPU s from /proc, others 6.6-14.6 s).
 * Otherwise, and for good once a process cannot be moved in, summed from /proc over `pids()`. No
 * cgroup where cpuacct shares its hierarchy with the cpu controller's real-time budget
 * (cpu.rt_runtime_us): a new group has none, and ufc's receive thread would be refused real-time
 * scheduling in it.
 */
interface CpuAccount {
  /** Where the figure comes from, for the log. */
  readonly source: string;
  /** Moves the processes into the cgroup (the ones they start later are in it from birth). */
  add(pids: number[]): void;
  seconds(): number;
  /** Removes the cgroup, killing what is still in it (only the collector's processes). */
  close(): void;
}

function cpuAccount(name: string, pids: () => number[]): CpuAccount {
  const dir = `/sys/fs/cgroup/cpuacct/ufc-bench-${process.pid}-${name}`;
  let cgroup = true;
  try {
    mkdirSync(dir);
  } catch {
    cgroup = false;
  }
  const procs = (): number[] => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '').map(Number);
    } catch {
      return [];
    }
  };
  const remove = (): void => {
    if (!cgroup) return;
    cgroup = false;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        rmdirSync(dir);
        return;
      } catch {
        for (const p of procs()) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // gone
          }
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
    process.stderr.write(`could not remove ${dir}\n`);
  };
  /** Back to /proc: the processes moved out again, the cgroup removed. */
  const fallBack = (): void => {
    for (const p of procs()) {
      try {
        writeFileSync('/sys/fs/cgroup/cpuacct/cgroup.procs', String(p));
      } catch {
        // gone
      }
    }
    remove();
  };
  if (cgroup && existsSync(join(dir, 'cpu.rt_runtime_us'))) remove();
  // Also when the benchmark stops early (an exception, Ctrl-C): a v1 cgroup stays until reboot.
  if (cgroup) process.once('exit', remove);
  return {
    get source() {
      return cgroup ? 'a cpuacct cgroup' : '/proc, for the processes alive at the end';
    },
    add(list) {
      for (const p of list) {
        if (!cgroup) return;
        try {
          writeFileSync(join(dir, 'cgroup.procs'), String(p));
        } catch {
          if (existsSync(`/proc/${p}`)) fallBack();
        }
      }
    },
    seconds: () => (cgroup ? Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9 : cpuSeconds(pids())),
    close: remove,
  };
}

/** BENCH_THREADS=1: CPU seconds of each thread with any (user + system), by thread name. */
function threadCpu(pids: number[]): string {
  const rows: string[] = [];
  for (const p of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      const st = procStat(`/proc/${p}/task/${t}/stat`);
      if (st === null) continue;
      const user = Number(st.fields[11]) / CLK_TCK;
      const sys = Number(st.fields[12]) / CLK_TCK;
      if (user + sys >= 0.05) rows.push(`  thread ${t} ${st.name}: ${user.toFixed(2)} user + ${sys.toFixed(2)} sys s`);
    }
  }
  return rows.join('\n') + '\n';
}

function peakRssMb(pids: number[]): number {
  let kb = 0;
  for (const p of pids) {
    try {
      kb += Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kb / 1024;
}

/** Kernel drops and queue of the UDP socket bound to `port` (/proc/net/udp, last column). */
function udpSocket(port: number): { drops: number; found: boolean } {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 12 && cols[1]!.endsWith(`:${hex}`)) return { drops: Number(cols[cols.length - 1]), found: true };
    }
  }
  return { drops: 0, found: false };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}


interface Row { name: string; counts: Counts; expected: number; drops: number; cpu: number; perCpu: number; rssMb: number; seconds: number; busy: number }

/** Removes a collector's temp dir (its output can exceed a gigabyte), unless BENCH_KEEP=1. */
function cleanUp(name: string, dir: string): void {
  if (KEEP) process.stderr.write(`${name}: output kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}

async function runPeer(p: Peer, packets: Buffer[], expected: number, port: number): Promise<Row | null> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${p.name}-`));
  const child = p.start(port, dir);
  const account = cpuAccount(p.name, () => groupPids(child.pid!));
  account.add([child.pid!]);
  try {
    return await measure(p, packets, expected, port, dir, child, account);
  } finally {
    account.close();
  }
}

async function measure(p: Peer, packets: Buffer[], expected: number, port: number, dir: string, child: ChildProcess, account: CpuAccount): Promise<Row | null> {
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  const bound = await waitFor(() => udpSocket(port).found, 20_000);
  const ready = bound && (p.ready === undefined || await waitFor(() => p.ready!(dir), 60_000));
  if (!ready) {
    killGroup();
    process.stderr.write(`${p.name}: ${bound ? 'not ready (see its log)' : `did not bind port ${port}`}\n`);
    if (existsSync(join(dir, 'ufc.log'))) process.stderr.write(readFileSync(join(dir, 'ufc.log'), 'utf8').slice(-4000));
    await new Promise((r) => setTimeout(r, 500));
    cleanUp(p.name, dir);
    return null;
  }
  await new Promise((r) => setTimeout(r, 1000));
  const pids = groupPids(child.pid!);
  // Every process of the collector so far; the ones it starts later are in the group from birth.
  account.add(pids);
  const cpu0 = account.seconds();
  process.stderr.write(`${p.name}: listening, sending (CPU counted by ${account.source})\n`);
  const t0 = performance.now();
  const seconds = await sendStream(port, packets, PPS, EXPORTERS);
  process.stderr.write(`${p.name}: sent in ${seconds.toFixed(2)} s, draining\n`);
  // Let it drain what is queued: stop when its CPU use goes flat.
  // `busy`: from the first packet sent to the last poll that still saw CPU use (the drain time,
  // to 200 ms): records over it is the rate the collector really kept up.
  let last = -1;
  let busy = seconds;
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = account.seconds();
    if (now - last < 0.01) break;
    busy = (performance.now() - t0) / 1000;
    last = now;
  }
  if (p.settleMs !== undefined) await new Promise((r) => setTimeout(r, p.settleMs));
  const drops = udpSocket(port).drops;
  const all = groupPids(child.pid!);
  if (process.env.BENCH_THREADS === '1') process.stderr.write(threadCpu(all));
  const cpu = account.seconds() - cpu0;
  const rssMb = peakRssMb(all);
  const crashed = child.exitCode !== null || child.signalCode !== null;
  if (crashed) process.stderr.write(`${p.name}: exited during the run (code ${child.exitCode}, signal ${child.signalCode})\n`);
  // SIGTERM to the leader only: nfacctd's core then tells its plugins to write their caches out (a
  // signal to the whole group stops the print plugin before that). Then wait for the group to end.
  child.kill('SIGTERM');
  const exited = crashed || await Promise.race([new Promise((r) => child.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 15_000))]);
  const groupDone = await waitFor(() => groupPids(child.pid!).every((pid) => !/^\S+ \S+ [RSD]/.test(readProcStat(pid))), 10_000);
  if (!exited || !groupDone) killGroup();
  await new Promise((r) => setTimeout(r, 500));
  const counts = p.count(dir);
  cleanUp(p.name, dir);
  return { name: p.name, counts, expected, drops, cpu, perCpu: cpu >= 0.01 ? counts.total / cpu : NaN, rssMb, seconds, busy };
}

/** Starts `ufc dev passivetotal-emulator` serving THREAT_LIST; resolves once it listens. */
async function startEmulator(): Promise<ChildProcess | null> {
  const child = spawn(process.execPath, [MAIN_JS, 'dev', 'passivetotal-emulator', '--host', '127.0.0.1', '--port', String(EMULATOR.port),
    '--seed', String(THREAT_LIST.seed), '--entries', String(THREAT_LIST.entries), '--user', EMULATOR.user, '--key', EMULATOR.key], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  process.once('exit', () => child.kill('SIGKILL'));
  if (!(await waitFor(() => out.includes('PassiveTotal emulator at'), 20_000))) {
    child.kill('SIGKILL');
    return null;
  }
  process.stderr.write(out.split('\n')[0] + '\n');
  return child;
}

async function main(): Promise<void> {
  // Ctrl-C runs the 'exit' handlers too: collectors killed, cgroups removed.
  process.once('SIGINT', () => process.exit(130));
  // A kill too (a timeout's SIGTERM): nfacctd left running would hold its port for the next run.
  process.once('SIGTERM', () => process.exit(143));
  const v9 = SEND_V9 ? [...stream(PACKETS)] : [];
  const ipfix = SEND_IPFIX ? [...ipfixStream(PACKETS)] : [];
  const packets = [...v9, ...ipfix];
  const perProtocol = PACKETS * RECORDS_PER_PACKET;
  const sentV9 = SEND_V9 ? perProtocol : 0;
  const sentIpfix = SEND_IPFIX ? perProtocol : 0;
  const streams = [SEND_V9 ? `NetFlow v9 (${v9.length} datagrams)` : '', SEND_IPFIX ? `then IPFIX (${ipfix.length} messages)` : ''].filter(Boolean).join(' ');
  process.stdout.write(`${streams}: ${PACKETS} data packets x ${RECORDS_PER_PACKET} records per protocol = ${sentV9 + sentIpfix} records, templates every 100, ${PPS} packets/s over 127.0.0.1 from ${EXPORTERS} exporter${EXPORTERS === 1 ? "" : "s"}, ${DISTINCT_DST} distinct destinations\n\n`);
  const unknown = (only ?? []).filter((n) => !PEERS.some((p) => p.name === n));
  if (unknown.length > 0) throw new Error(`--only: no collector named ${unknown.join(', ')} (there are ${PEERS.map((p) => p.name).join(', ')})`);
  const rows: Row[] = [];
  let port = 39055;
  for (const p of PEERS) {
    if (only && !only.includes(p.name)) continue;
    if (!p.available()) {
      process.stdout.write(`${p.name}: not installed, skipped\n`);
      continue;
    }
    const emulator = p.name === 'ufc' ? await startEmulator() : null;
    if (p.name === 'ufc' && emulator === null) {
      process.stdout.write('ufc: the PassiveTotal emulator did not start, skipped\n');
      continue;
    }
    const expected = (p.decodes.v9 ? sentV9 : 0) + (p.decodes.ipfix ? sentIpfix : 0);
    const row = await runPeer(p, packets, expected, port++);
    if (emulator) {
      emulator.kill('SIGTERM');
      await new Promise((r) => emulator.once('exit', r));
    }
    if (row) rows.push(row);
  }
  const ours = rows.find((r) => r.name === 'ufc');
  const fmt = (n: number, d = 0) => Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const opt = (n: number | undefined) => (n === undefined ? 'n/a' : fmt(n));
  process.stdout.write(`\n| collector | records out | v9 | IPFIX | of expected | kernel drops | busy s | records/s | CPU s | records/CPU-s | peak RSS MB | ufc ratio (records/CPU-s) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n`);
  for (const r of rows) {
    const q = ours && r !== ours ? ours.perCpu / r.perCpu : r === ours ? 1 : NaN;
    const ratio = Number.isFinite(q) ? `${fmt(q, 2)}x` : 'n/a';
    const scope = r.expected === sentV9 + sentIpfix ? '' : ` of ${fmt(r.expected)} (v9 only)`;
    process.stdout.write(`| ${r.name} | ${fmt(r.counts.total)} | ${opt(r.counts.v9)} | ${opt(r.counts.ipfix)} | ${fmt((100 * r.counts.total) / Math.max(r.expected, 1), 1)}%${scope} | ${fmt(r.drops)} | ${fmt(r.busy, 1)} | ${fmt(r.counts.total / r.busy)} | ${fmt(r.cpu, 2)} | ${fmt(r.perCpu)} | ${fmt(r.rssMb)} | ${ratio} |\n`);
  }
  for (const r of rows) if (r.counts.notes) process.stdout.write(`\n${r.name}: ${r.counts.notes}\n`);
  process.stdout.write(`\nmachine: one random read from memory costs ${Math.round(memoryReadNs())} CPU ns (a 64 MB pointer chase; bench/machine.ts)\n`);
}

await main();

/**
 * npm run bench:peers — the same deterministic NetFlow v9 stream (25 records per packet), sent at a
 * fixed rate over loopback to each collector in turn: ours (full pipeline: all enrichers, NDJSON
 * file output), nfcapd (nfdump), nfacctd (pmacct, print plugin) and node-netflowv9 (decode only),
 * each when installed. Prints records received (from each one's own output), kernel UDP drops
 * (/proc/net/udp), CPU seconds, records per CPU-second, peak RSS, and our ratio to each.
 *
 * Options: --packets N (default 80000 = 2,000,000 records), --pps N (default 40000), --only name,...
 * Traffic goes to 127.0.0.1 only; the send loop is bounded by the packet count.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECORDS_PER_PACKET, stream } from './netflow9-stream.js';
import { sendStream } from './send-stream.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const flag = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const PACKETS = flag('packets', 80_000);
const PPS = flag('pps', 40_000);
const only = (() => {
  const i = args.indexOf('--only');
  return i >= 0 ? args[i + 1]!.split(',') : null;
})();
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Peer {
  name: string;
  available(): boolean;
  start(port: number, dir: string): ChildProcess;
  /** Records the collector wrote out, read after it stopped. */
  count(dir: string): number;
}

const which = (bin: string): string | null => {
  for (const d of ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']) if (existsSync(join(d, bin))) return join(d, bin);
  return null;
};
const countLines = (file: string, re?: RegExp): number => {
  if (!existsSync(file)) return 0;
  if (re === undefined) {
    // Newlines counted in chunks: a full run's NDJSON is larger than the longest string V8 allows.
    const fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    let n = 0;
    for (let got; (got = readSync(fd, buf, 0, buf.length, null)) > 0;) {
      for (let i = buf.indexOf(10, 0); i >= 0 && i < got; i = buf.indexOf(10, i + 1)) n++;
    }
    closeSync(fd);
    return n;
  }
  const text = readFileSync(file, 'utf8');
  let n = 0;
  for (const line of text.split('\n')) if (line !== '' && re.test(line)) n++;
  return n;
};

const PEERS: Peer[] = [
  {
    name: 'ufc',
    available: () => existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')),
    start: (port, dir) => spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'run'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
      env: {
        PATH: process.env.PATH, EF_DATA_DIR: dir, EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: String(port),
        EF_LOGGER_LEVEL: 'warn', EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
        EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'), EF_OUTPUT_FILE_MAX_SIZE: '0',
        EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: process.env.BENCH_GEO ?? 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: process.env.BENCH_GEO ?? 'true', EF_FLOW_SERVER_WORKERS: process.env.BENCH_WORKERS ?? '0',
        ...(process.env.BENCH_RECEIVE_QUEUE !== undefined ? { EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE: process.env.BENCH_RECEIVE_QUEUE } : {}),
      },
    }),
    count: (dir) => countLines(join(dir, 'flows.ndjson')),
  },
  {
    name: 'nfcapd',
    available: () => which('nfcapd') !== null && which('nfdump') !== null,
    start: (port, dir) => spawn(which('nfcapd')!, ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-t', '3600', '-B', '33554432'], { detached: true, stdio: 'ignore' }),
    count: (dir) => {
      const out = spawnSync(which('nfdump')!, ['-R', dir, '-I'], { encoding: 'utf8' }).stdout;
      return Number(/^Flows: (\d+)/m.exec(out)?.[1] ?? 0);
    },
  },
  {
    name: 'nfacctd',
    available: () => which('nfacctd') !== null,
    start: (port, dir) => {
      const conf = join(dir, 'nfacctd.conf');
      writeFileSync(conf, [
        `nfacctd_ip: 127.0.0.1`, `nfacctd_port: ${port}`, 'nfacctd_pipe_size: 33554432', 'plugins: print',
        'aggregate: src_host, dst_host, src_port, dst_port, proto, tos', 'print_output: csv',
        `print_output_file: ${join(dir, 'print-%s.csv')}`, 'print_refresh_time: 1',
        'plugin_pipe_size: 209715200', 'plugin_buffer_size: 2048000',
      ].join('\n') + '\n');
      return spawn(which('nfacctd')!, ['-f', conf], { detached: true, stdio: 'ignore' });
    },
    count: (dir) => readdirSync(dir).filter((f) => f.startsWith('print-')).reduce((n, f) => n + countLines(join(dir, f), /^\d/), 0),
  },
  {
    name: 'node-netflowv9',
    available: () => existsSync(join(ROOT, 'node_modules', 'node-netflowv9')),
    start: (port, dir) => spawn(process.execPath, ['-e', `
      const C = require(${JSON.stringify(join(ROOT, 'node_modules', 'node-netflowv9'))});
      let n = 0;
      C({ port: ${port}, host: '127.0.0.1' }).on('data', (f) => { n += f.flow.length; });
      process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(join(dir, 'count'))}, String(n)); process.exit(0); });
    `], { detached: true, stdio: 'ignore' }),
    count: (dir) => (existsSync(join(dir, 'count')) ? Number(readFileSync(join(dir, 'count'), 'utf8')) : 0),
  },
];

/** Every process of the group led by `pid` (nfacctd forks its plugins). */
function groupPids(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pid) out.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLK_TCK;
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


interface Row { name: string; received: number; drops: number; cpu: number; perCpu: number; rssMb: number; seconds: number }

async function runPeer(p: Peer, packets: Buffer[], records: number, port: number): Promise<Row | null> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${p.name}-`));
  const child = p.start(port, dir);
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  if (!(await waitFor(() => udpSocket(port).found, 20_000))) {
    child.kill('SIGKILL');
    process.stderr.write(`${p.name}: did not bind port ${port}\n`);
    return null;
  }
  await new Promise((r) => setTimeout(r, 1000));
  const pids = groupPids(child.pid!);
  const cpu0 = cpuSeconds(pids);
  process.stderr.write(`${p.name}: listening, sending\n`);
  const seconds = await sendStream(port, packets, PPS);
  process.stderr.write(`${p.name}: sent in ${seconds.toFixed(2)} s, draining\n`);
  // Let it drain what is queued: stop when its CPU use goes flat.
  let last = -1;
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = cpuSeconds(groupPids(child.pid!));
    if (now - last < 0.01) break;
    last = now;
  }
  const drops = udpSocket(port).drops;
  const all = groupPids(child.pid!);
  const cpu = cpuSeconds(all) - cpu0;
  const rssMb = peakRssMb(all);
  const crashed = child.exitCode !== null || child.signalCode !== null;
  if (crashed) process.stderr.write(`${p.name}: exited during the run (code ${child.exitCode}, signal ${child.signalCode})\n`);
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
  const exited = crashed || await Promise.race([new Promise((r) => child.once('exit', () => r(true))), new Promise((r) => setTimeout(() => r(false), 15_000))]);
  if (!exited) killGroup();
  await new Promise((r) => setTimeout(r, 500));
  const received = p.count(dir);
  void records;
  return { name: p.name, received, drops, cpu, perCpu: received / Math.max(cpu, 1e-6), rssMb, seconds };
}

async function main(): Promise<void> {
  const packets = [...stream(PACKETS)];
  const records = PACKETS * RECORDS_PER_PACKET;
  process.stdout.write(`NetFlow v9 stream: ${packets.length} datagrams (${PACKETS} data x ${RECORDS_PER_PACKET} records = ${records} records, templates every 100), ${PPS} packets/s over 127.0.0.1\n\n`);
  const rows: Row[] = [];
  let port = 39055;
  for (const p of PEERS) {
    if (only && !only.includes(p.name)) continue;
    if (!p.available()) {
      process.stdout.write(`${p.name}: not installed, skipped\n`);
      continue;
    }
    const row = await runPeer(p, packets, records, port++);
    if (row) rows.push(row);
  }
  const ours = rows.find((r) => r.name === 'ufc');
  const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  process.stdout.write(`\n| collector | records out | of sent | kernel drops | CPU s | records/CPU-s | peak RSS MB | ufc ratio (records/CPU-s) |\n|---|---|---|---|---|---|---|---|\n`);
  for (const r of rows) {
    const ratio = ours && r !== ours ? `${fmt(ours.perCpu / r.perCpu, 2)}x` : r === ours ? '1.00x' : 'n/a';
    process.stdout.write(`| ${r.name} | ${fmt(r.received)} | ${fmt((100 * r.received) / records, 1)}% | ${fmt(r.drops)} | ${fmt(r.cpu, 2)} | ${fmt(r.perCpu)} | ${fmt(r.rssMb)} | ${ratio} |\n`);
  }
}

await main();

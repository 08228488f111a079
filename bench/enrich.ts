/**
 * Enricher-chain benchmark: `npm run bench:enrich` (BENCH_RECORDS, BENCH_ROUNDS to change the run).
 * - the whole chain alone (sampling rates off, locality, Community ID, client/server; GeoIP+ASN off and on);
 * - each enricher alone, and the address metadata enricher (off by default) with a file of 1,024 entries:
 *   10.0.0.0/8 internal, the clients' 16 /24s named and tagged with a field of their own, and 1,007 of
 *   the servers' /24s named;
 * - NetFlow v5 decode + the chain, in records per CPU-second (user + system time of this process).
 * Traffic: 30-record v5 datagrams; private clients (4,096 hosts) talking to 20,000 public addresses,
 * 70% TCP, 25% UDP, 5% ICMP (echo), every conversation exported in both directions, the reply
 * record up to a few hundred records after the opening one. Target (issue 4):
 * decode + all enrichers >= 1,500,000 records per CPU-second.
 */
import { loadConfig } from '../src/config/load.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { NetflowV5Decoder } from '../src/decode/netflow-legacy/v5.js';
import { createEnrichers } from '../src/enrich/chain.js';
import type { Enricher, PacketContext } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { isPrivateIp } from '../src/enrich/locality.js';
import { ipv4ToString } from '../src/decode/ip.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

setLogger(createLogger({ level: 'warn', encoding: 'json', sink: () => undefined }));

const RECORDS_PER_DGRAM = 30;
const DGRAMS = 4096;
const TOTAL = Number(process.env.BENCH_RECORDS ?? 3_000_000);

let rnd = 2463534242;
const next = (): number => { rnd ^= rnd << 13; rnd >>>= 0; rnd ^= rnd >>> 17; rnd ^= rnd << 5; return (rnd >>>= 0); };

const publics: number[] = [];
while (publics.length < 20_000) {
  const v = next();
  if (!isPrivateIp(ipv4ToString(v))) publics.push(v);
}

interface Conversation { client: number; server: number; proto: number; cport: number; sport: number }
/** Conversations whose reply direction is still to be exported (exporters report each direction as a record). */
const pending: Conversation[] = [];

function newConversation(): Conversation {
  const r = next() % 100;
  const proto = r < 70 ? 6 : r < 95 ? 17 : 1;
  return {
    client: (10 << 24) | (next() & 0xfff),
    server: publics[next() % publics.length]!,
    proto,
    cport: 32768 + (next() % 28000),
    sport: proto === 6 ? [443, 80, 22, 8080][next() & 3]! : proto === 17 ? [53, 123, 443, 5060][next() & 3]! : 0,
  };
}

/** A NetFlow v5 datagram (header 24 bytes, 48 bytes a record; Cisco NetFlow v5 export format). */
function v5Datagram(seq: number): Buffer {
  const b = Buffer.alloc(24 + RECORDS_PER_DGRAM * 48);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(RECORDS_PER_DGRAM, 2);
  b.writeUInt32BE(3_600_000, 4);
  b.writeUInt32BE(1_700_000_000, 8);
  b.writeUInt32BE(seq * RECORDS_PER_DGRAM, 16);
  for (let i = 0; i < RECORDS_PER_DGRAM; i++) {
    const o = 24 + i * 48;
    // Half the records open a conversation; the other half are the reply direction of one opened
    // up to a few hundred records earlier.
    const reverse = pending.length > 256 || (pending.length > 0 && (next() & 1) === 1);
    const c = reverse ? pending.splice(next() % pending.length, 1)[0]! : newConversation();
    if (!reverse) pending.push(c);
    const { client, server, proto, cport, sport } = c;
    b.writeUInt32BE((reverse ? server : client) >>> 0, o);
    b.writeUInt32BE((reverse ? client : server) >>> 0, o + 4);
    b.writeUInt16BE(1 + (next() & 7), o + 12);
    b.writeUInt16BE(1 + (next() & 7), o + 14);
    b.writeUInt32BE(1 + (next() % 100), o + 16);
    b.writeUInt32BE(64 + (next() % 100000), o + 20);
    b.writeUInt32BE(3_500_000, o + 24);
    b.writeUInt32BE(3_599_000, o + 28);
    if (proto === 1) {
      b.writeUInt16BE(0, o + 32);
      b.writeUInt16BE(reverse ? 0 : 8 << 8, o + 34); // echo reply / echo request
    } else {
      b.writeUInt16BE(reverse ? sport : cport, o + 32);
      b.writeUInt16BE(reverse ? cport : sport, o + 34);
    }
    b[o + 37] = proto === 6 ? 0x1b : 0;
    b[o + 38] = proto;
  }
  return b;
}

const dgrams: Buffer[] = [];
for (let i = 0; i < DGRAMS; i++) dgrams.push(v5Datagram(i));
const ctx: PacketContext = { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: Date.now() };

/** The address metadata file of the ipaddr-metadata row (see the header). */
function metadataFile(): string {
  let y = '10.0.0.0/8:\n  internal: true\n';
  for (let i = 0; i < 16; i++) y += `10.0.${i}.0/24:\n  name: office-${i}\n  tags: [office, floor-${i % 4}]\n  metadata:\n    .site.id: hq\n`;
  const nets = new Set<number>();
  for (const v of publics) {
    if (nets.size >= 1007) break;
    nets.add(v >>> 8);
  }
  for (const n of nets) y += `${ipv4ToString(n << 8 >>> 0)}/24:\n  name: net-${n.toString(16)}\n`;
  return y;
}

async function chainFor(geo: boolean, meta = false): Promise<Enricher[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ufc-bench-'));
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const metaPath = join(dataDir, 'ipaddrs.yml');
  if (meta) writeFileSync(metaPath, metadataFile());
  const res = loadConfig({ env: {
    EF_DATA_DIR: dataDir, EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
    EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: String(geo), EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: String(geo),
    ...(meta ? { EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: metaPath } : {}),
  } });
  if (res.config === null) throw new Error(res.errors.join('\n'));
  const chain = createEnrichers({ config: res.config, dataDir: res.config.EF_DATA_DIR });
  for (const e of chain) await e.start?.();
  return chain;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Records per CPU-second of `fn`, which handles one datagram's worth each call and returns its
 * record count: the best of ROUNDS rounds (other processes on a shared machine only ever slow a
 * round down).
 */
function measure(fn: (i: number) => number): number {
  for (let i = 0; i < 20_000; i++) fn(i); // warm-up: JIT and caches
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let n = 0;
    const c0 = cpuSeconds();
    for (let i = 0; n < TOTAL; i++) n += fn(i);
    best = Math.max(best, n / (cpuSeconds() - c0));
  }
  return best;
}

const decoder = new NetflowV5Decoder();
// The chain alone runs over records decoded once (enrichers overwrite what they set, so reruns do
// the same work). A small pool, as in the pipeline where a batch is enriched while still in cache.
const POOL = 64;
const pool: FlowRecord[][] = dgrams.slice(0, POOL).map((d) => { const out: FlowRecord[] = []; decoder.decode(d, ctx, out); return out; });

/** The rows; each runs in its own process so one row's JIT state and heap never colour another's. */
type Row = { what: string; geo: boolean; kind: 'chain' | 'decode+chain' | 'decode' | 'alone'; only?: string; meta?: boolean };
const ROWS: Row[] = [
  { what: 'decode v5 only', geo: false, kind: 'decode' },
  { what: 'decode v5 + chain', geo: false, kind: 'decode+chain' },
  { what: 'decode v5 + chain', geo: true, kind: 'decode+chain' },
  { what: 'warm: chain', geo: true, kind: 'chain' },
  ...['locality', 'community-id', 'client-server', 'geoip', 'asn'].map((only): Row => ({ what: `warm: ${only} alone`, geo: true, kind: 'alone', only })),
  { what: 'warm: ipaddr-metadata alone (1,024 entries; off by default)', geo: false, kind: 'alone', only: 'ipaddr-metadata', meta: true },
];

async function runRow(row: Row): Promise<{ what: string; rate: number; cache?: string }> {
  const chain = await chainFor(row.geo, row.meta);
  const names = chain.map((e) => e.name).join(' > ');
  const runChain = (batch: FlowRecord[]): void => { for (let k = 0; k < chain.length; k++) chain[k]!.enrich(batch); };
  for (const b of pool) runChain(b); // records carry locality, as the later enrichers expect
  let rate: number;
  if (row.kind === 'chain') rate = measure((i) => { const b = pool[i % POOL]!; runChain(b); return b.length; });
  else if (row.kind === 'alone') {
    const e = chain.find((x) => x.name === row.only)!;
    rate = measure((i) => { const b = pool[i % POOL]!; e.enrich(b); return b.length; });
  } else if (row.kind === 'decode+chain') rate = measure((i) => { const out: FlowRecord[] = []; decoder.decode(dgrams[i % DGRAMS]!, ctx, out); runChain(out); return out.length; });
  else rate = measure((i) => { const out: FlowRecord[] = []; decoder.decode(dgrams[i % DGRAMS]!, ctx, out); return out.length; });
  const cache = row.geo && row.kind === 'decode+chain'
    ? chain.map((e) => { const c = (e as { counters?: () => Record<string, number> }).counters?.(); return c ? `${e.name} ${JSON.stringify(c)}` : ''; }).filter(Boolean).join('; ')
    : undefined;
  return { what: row.kind === 'alone' || row.kind === 'decode' ? row.what : `${row.what}: ${names}`, rate, cache };
}

const rowArg = process.argv.indexOf('--row');
if (rowArg >= 0) {
  process.stdout.write(JSON.stringify(await runRow(ROWS[Number(process.argv[rowArg + 1])]!)) + '\n');
  process.exit(0);
}
const rows: [string, number][] = [];
for (let i = 0; i < ROWS.length; i++) {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--row', String(i)], { env: process.env, maxBuffer: 1 << 20 }).toString();
  const res = JSON.parse(out.trim().split('\n').pop()!) as { what: string; rate: number; cache?: string };
  rows.push([res.what, res.rate]);
  if (res.cache) console.log(`caches after the run: ${res.cache}`);
}

console.log(`\nbest of ${ROUNDS} rounds of ${TOTAL.toLocaleString()} records, ${RECORDS_PER_DGRAM}-record v5 datagrams, ${publics.length.toLocaleString()} public addresses, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} CPUs\n`);
console.log('| what | records per CPU-second | CPU ns per record |\n|---|---:|---:|');
const ns = (rate: number): number => 1e9 / rate;
for (const [what, rate] of rows) console.log(`| ${what} | ${Math.round(rate).toLocaleString()} | ${ns(rate).toFixed(0)} |`);
// The chain's own cost per record: decode + chain minus decode alone (both on fresh records).
const decodeNs = ns(rows[0]![1]);
for (const k of [1, 2]) console.log(`| = chain cost in "${rows[k]![0]}" | | ${(ns(rows[k]![1]) - decodeNs).toFixed(0)} |`);
console.log(`
"warm" rows re-enrich the same ${POOL * RECORDS_PER_DGRAM} records, so every cache hits; the decode rows walk
${DGRAMS * RECORDS_PER_DGRAM} fresh records per pass, as the pipeline does.
target: decode + all enrichers >= 1,500,000 records per CPU-second`);

/**
 * npm run bench:stages — where a record's CPU time goes, stage by stage, on the stream bench:peers and
 * bench:pipeline send (bench/netflow9-stream.ts: NetFlow v9, 25 records a packet, public destinations,
 * one in 16 on the emulated PassiveTotal list):
 *   1. decode (NetFlow v9 templates to FlowRecords);
 *   2. the enricher chain of the default configuration plus GeoIP, ASN and the RiskIQ list (loaded
 *      from the local PassiveTotal emulator, as bench:pipeline does);
 *   3. NDJSON text and its UTF-8 bytes (what the file output writes);
 *   4. appending those bytes to a file, 1 MB a write (the file output's slab size), measured on
 *      its own: the whole stream's NDJSON is made once, then written to a file in the temporary
 *      directory that is emptied between rounds, outside the timing (the system call's copy into
 *      the page cache; the kernel's later writeback to disk is not counted);
 * and the floor under stage 3: the same lines laid out from field texts made in advance.
 * For stages 1 to 3, passes over the stream, packet by packet, stop after stage 1, 2 or 3; a stage's
 * cost is the difference between two passes (best of --rounds rounds, CPU nanoseconds of this
 * process per record). The third pass plus the write is the floor of the whole pipeline's cost
 * before any queue or thread hand-off; the target of 1,200,000 records per CPU-second is
 * 833 ns. Options: --packets N (default 8000 = 200,000 records), --rounds N (default 5).
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { createLogger, setLogger } from '../src/log/logger.js';
import { createEnrichers } from '../src/enrich/chain.js';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { encoderFor, LINES_PER_WRITE, ndjsonLines } from '../src/record/json.js';
import { startPassiveTotalEmulator } from '../src/dev/passivetotal-emulator.js';
import { DISTINCT_DST, stream, THREAT_LIST } from './netflow9-stream.js';
import { envWithPrefix, cli } from './send-stream.js';
import { memoryReadNs } from './machine.js';

const opts = cli('usage: npm run bench:stages -- [--packets N (8000)] [--rounds N (5)]', ['packets', 'rounds']);
const PACKETS = opts.num('packets', 8000);
const ROUNDS = opts.num('rounds', 5);

setLogger(createLogger({ level: 'warn', encoding: 'json', sink: () => undefined }));
const dir = mkdtempSync(join(tmpdir(), 'bench-stages-'));
const KEY = 'bench-emulator-key-0123456789';
const emulator = await startPassiveTotalEmulator({ host: '127.0.0.1', port: 0, user: 'bench@example.com', key: KEY, ...THREAT_LIST });
const res = loadConfig({
  env: {
    EF_DATA_DIR: dir, EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
    EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emulator.url,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'bench@example.com', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: KEY,
    ...envWithPrefix('EF_'),
  },
});
if (res.config === null) throw new Error(res.errors.join('\n'));
const chain = createEnrichers({ config: res.config, dataDir: dir });
for (const e of chain) await e.start?.();
const riskiq = chain.find((e) => e.name === 'riskiq-threat') as unknown as { matcher: { listSize: number } } | undefined;
for (let i = 0; i < 200 && riskiq !== undefined && riskiq.matcher.listSize === 0; i++) await new Promise((r) => setTimeout(r, 50));

const packets = [...stream(PACKETS)];
const ctx = { exporterIp: '127.0.0.1', exporterPort: 2055, receivedAt: Date.now() };
const c = res.config;
const decoder = new Netflow9Decoder({
  templateLifetimeS: c.EF_PROCESSOR_DECODE_TEMPLATE_LIFETIME, pendingMax: c.EF_PROCESSOR_DECODE_PENDING_MAX,
  pendingTimeoutS: c.EF_PROCESSOR_DECODE_PENDING_TIMEOUT, stateDir: '',
});
const enc = encoderFor({ ecs: c.EF_OUTPUT_FILE_ECS_ENABLE, timestampSource: c.EF_OUTPUT_FILE_TIMESTAMP_SOURCE, drop: c.EF_OUTPUT_FILE_DROP_FIELDS });
const slab = Buffer.allocUnsafeSlow(1 << 22);
const WRITE_BYTES = 1 << 20;
let records = 0;
let bytes = 0;

/**
 * One pass over the stream, packet by packet as the pipeline goes (records die young, as they do
 * there), through the first `stages` stages.
 */
function pass(stages: 1 | 2 | 3): void {
  records = 0;
  bytes = 0;
  for (const p of packets) {
    const recs: FlowRecord[] = [];
    decoder.decode(p, ctx, recs);
    records += recs.length;
    if (stages >= 2) for (const e of chain) e.enrich(recs);
    if (stages === 3) {
      for (let i = 0; i < recs.length; i += LINES_PER_WRITE) bytes += slab.write(ndjsonLines(enc, recs, i, Math.min(recs.length, i + LINES_PER_WRITE)), 0, 'utf8');
    }
  }
}

const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
/** Best (lowest) CPU nanoseconds per record of a pass through `stages` stages, after a warm-up pass. */
function nsPerRecord(stages: 1 | 2 | 3): number {
  pass(stages);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = cpuNs();
    pass(stages);
    best = Math.min(best, (cpuNs() - t0) / records);
  }
  return best;
}

const FLOOR_RECORDS = 50_000;

/** Best CPU ns per record of laying out the first `n` records' NDJSON from prepared field pieces, both ways. */
function ndjsonFloor(n: number): { concat: number; copy: number } {
  const texts = new Map<string, string>();
  const bufs = new Map<string, Buffer>();
  const lines: string[][] = [];
  for (const p of packets) {
    if (lines.length >= n) break;
    const recs: FlowRecord[] = [];
    decoder.decode(p, ctx, recs);
    for (const e of chain) e.enrich(recs);
    for (const r of recs) {
      const line = enc(r);
      const pieces: string[] = [];
      let sep = '{';
      for (const [k, v] of Object.entries(JSON.parse(line) as Record<string, unknown>)) {
        pieces.push(sep + JSON.stringify(k) + ':' + JSON.stringify(v));
        sep = ',';
      }
      pieces.push('}\n');
      if (pieces.join('') !== line + '\n') throw new Error(`bench:stages: pieces do not rebuild the line ${line}`);
      lines.push(pieces.map((x) => {
        let t = texts.get(x);
        if (t === undefined) { t = x; texts.set(x, t); bufs.set(x, Buffer.from(x)); }
        return t;
      }));
    }
  }
  const asBytes = lines.map((pieces) => pieces.map((x) => bufs.get(x)!));
  let concat = Infinity;
  let copy = Infinity;
  for (let r = 0; r <= ROUNDS; r++) {
    let t0 = cpuNs();
    for (let i = 0; i < lines.length; i += LINES_PER_WRITE) {
      let text = '';
      const end = Math.min(lines.length, i + LINES_PER_WRITE);
      for (let j = i; j < end; j++) for (const x of lines[j]!) text += x;
      slab.write(text, 0, 'utf8');
    }
    if (r > 0) concat = Math.min(concat, (cpuNs() - t0) / lines.length);
    t0 = cpuNs();
    let o = 0;
    for (const pieces of asBytes) {
      if (o > slab.length - 65536) o = 0;
      for (const b of pieces) {
        slab.set(b, o);
        o += b.length;
      }
    }
    if (r > 0) copy = Math.min(copy, (cpuNs() - t0) / lines.length);
  }
  return { concat, copy };
}

/**
 * Best CPU ns per record of appending the stream's NDJSON to a file in 1 MB writes. The bytes are
 * made once beforehand (held in memory, ~260 MB for the default stream); each round writes them
 * from offset 0 of a file emptied before the round starts, so only the write calls are timed.
 */
function writeNsPerRecord(): number {
  const chunks: Buffer[] = [];
  let cur = Buffer.allocUnsafeSlow(WRITE_BYTES + (1 << 20));
  let at = 0;
  let n = 0;
  for (const p of packets) {
    const recs: FlowRecord[] = [];
    decoder.decode(p, ctx, recs);
    for (const e of chain) e.enrich(recs);
    n += recs.length;
    for (let i = 0; i < recs.length; i += LINES_PER_WRITE) {
      at += cur.write(ndjsonLines(enc, recs, i, Math.min(recs.length, i + LINES_PER_WRITE)), at, 'utf8');
      if (at >= WRITE_BYTES) {
        chunks.push(cur.subarray(0, at));
        cur = Buffer.allocUnsafeSlow(WRITE_BYTES + (1 << 20));
        at = 0;
      }
    }
  }
  if (at > 0) chunks.push(cur.subarray(0, at));
  const path = join(dir, 'stages.ndjson');
  const fd = openSync(path, 'w');
  let best = Infinity;
  try {
    for (let r = 0; r <= ROUNDS; r++) {
      ftruncateSync(fd, 0);
      const t0 = cpuNs();
      let pos = 0;
      for (const c of chunks) pos += writeSync(fd, c, 0, c.length, pos);
      if (r > 0) best = Math.min(best, (cpuNs() - t0) / n);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return best;
}

// Each stage's cost is the difference between passes that stop before and after it.
const upToDecode = nsPerRecord(1);
const upToEnrich = nsPerRecord(2);
const upToEncode = nsPerRecord(3);
const write = writeNsPerRecord();
const decode = upToDecode;
const enrich = upToEnrich - upToDecode;
const encode = upToEncode - upToEnrich;
await emulator.close();
rmSync(dir, { recursive: true, force: true });

// The floor under the NDJSON stage: the same lines, cut into one piece per field (`,"name":value`)
// with every piece's text and bytes made in advance, so nothing is formatted, only laid out: by
// concatenation and a UTF-8 write (what the encoder does once its pieces exist), and by copying the
// prepared bytes into a buffer (Buffer.set). An encoder that had every field's text ready would
// still pay the cheaper of the two.
const floor = ndjsonFloor(FLOOR_RECORDS);
for (const e of chain) await e.stop?.();

const total = upToEncode + write;
const row = (name: string, ns: number): string => `| ${name} | ${Math.round(ns).toLocaleString('en-US')} | ${Math.round(1e9 / ns).toLocaleString('en-US')} | ${(100 * ns / total).toFixed(0)}% |\n`;
process.stdout.write(`${records.toLocaleString('en-US')} records (NetFlow v9, ${DISTINCT_DST} distinct destinations), best of ${ROUNDS} rounds; enrichers: ${chain.map((e) => e.name).join(', ')}; NDJSON ${Math.round(bytes / records)} bytes a record\n\n`);
process.stdout.write('| stage | CPU ns per record | records per CPU-second alone | share |\n|---|---|---|---|\n');
process.stdout.write(row('decode', decode) + row('enrich', enrich) + row('NDJSON text + UTF-8', encode) + row('write to a file (system call)', write));
process.stdout.write(`| floor of the NDJSON stage: every field's text made in advance, concatenated and converted | ${Math.round(floor.concat).toLocaleString('en-US')} | ${Math.round(1e9 / floor.concat).toLocaleString('en-US')} | |\n`);
process.stdout.write(`| floor of the NDJSON stage: every field's bytes made in advance, copied (Buffer.set) | ${Math.round(floor.copy).toLocaleString('en-US')} | ${Math.round(1e9 / floor.copy).toLocaleString('en-US')} | |\n`);
process.stdout.write(`| sum (before queues and threads) | ${Math.round(total).toLocaleString('en-US')} | ${Math.round(1e9 / total).toLocaleString('en-US')} | |\n`);
process.stdout.write(`| decode + enrich + write, no NDJSON cost at all | ${Math.round(upToEnrich + write).toLocaleString('en-US')} | ${Math.round(1e9 / (upToEnrich + write)).toLocaleString('en-US')} | |\n`);
process.stdout.write(`\nmachine: one random read from memory costs ${Math.round(memoryReadNs())} CPU ns (a 64 MB pointer chase; bench/machine.ts)\n`);
process.stdout.write(`target 1,200,000 records per CPU-second = ${Math.round(1e9 / 1_200_000)} ns a record, all stages together\n`);

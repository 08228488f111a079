/**
 * Robustness fuzz of every decoder through the Collector's pipeline: the shared captures' UDP
 * payloads, plus crafted NetFlow v1/v7 and hostile NetFlow v9/IPFIX templates (self-referencing,
 * zero-field, oversized, flooding), are mutated (bit flips, truncation, length fields set to 0 and
 * 65535, 32-bit fields set to extremes, splices, appended garbage) and fed one by one to
 * `Pipeline.handle`. Nothing may throw, no packet may take long (a hang), memory must stay
 * bounded, and every malformed packet must be counted per exporter and reason (Pipeline.stats).
 *
 *   npm run fuzz                        # 1,000,000 packets, seed 1
 *   npm run fuzz -- --packets 200000 --seed 7
 *   npm run fuzz -- --no-flood          # without the template floods (memory of the rest alone)
 *
 * Deterministic for a seed: a failure names the packet number to replay.
 * The suite's short run (test/decode-fuzz.test.ts) imports `runFuzz` from here.
 */
import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Collector } from '../src/collector.js';
import { loadConfig } from '../src/config/load.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import type { Output } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { mulberry32 } from '../src/dev/prng.js';

const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'testdata');

const rng = mulberry32;

/** An output that checks each record's invariants and keeps nothing. */
class CheckingOutput implements Output {
  readonly name = 'fuzz-check';
  records = 0;
  bad: string[] = [];
  /** Records breaking an invariant, by `exportType vN`. */
  badBy: Record<string, number> = {};
  async start(): Promise<void> {}
  write(batch: readonly FlowRecord[]): void {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      this.records++;
      if (!Number.isFinite(r.bytes) || r.bytes < 0 || !Number.isFinite(r.packets) || r.packets < 0) this.note(`bad counters ${r.bytes}/${r.packets} (${r.exportType} v${r.exportVersion})`);
      else if (typeof r.srcIp !== 'string' || typeof r.exporterIp !== 'string' || r.exporterIp === '') this.note(`bad addresses (${r.exportType} v${r.exportVersion})`);
      else if (!Number.isFinite(r.startTs) || !Number.isFinite(r.endTs)) this.note(`bad times (${r.exportType} v${r.exportVersion})`);
    }
  }
  private note(s: string): void {
    const key = s.slice(s.lastIndexOf('(') + 1, -1);
    this.badBy[key] = (this.badBy[key] ?? 0) + 1;
    if (this.bad.length < 20) this.bad.push(s);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  counters(): Record<string, number> {
    return { records: this.records };
  }
}

// ---- Corpus -------------------------------------------------------------------------------

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(pcap|pcapng|dat|dump|bin)$/.test(name)) out.push(p);
  }
}

/** Every UDP payload of the shared captures (at most `perFile` from each) and every raw dump. */
export function captureCorpus(perFile = 64): Buffer[] {
  const files: string[] = [];
  walk(TESTDATA, files);
  const out: Buffer[] = [];
  for (const f of files.sort()) {
    const data = readFileSync(f);
    if (/\.(pcap|pcapng)$/.test(f)) {
      let n = 0;
      try {
        for (const dg of readUdpDatagrams(data)) {
          if (dg.payload.length >= 4) out.push(Buffer.from(dg.payload));
          if (++n >= perFile) break;
        }
      } catch {
        // not a capture we read (e.g. a truncated one): skipped
      }
    } else if (data.length >= 4) out.push(data);
  }
  return out;
}

const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v & 0xffff); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };

function v9(sourceId: number, sets: Buffer[]): Buffer {
  return Buffer.concat([u16(9), u16(sets.length), u32(123456), u32(1_700_000_000), u32(1), u32(sourceId), ...sets]);
}
function ipfix(domain: number, sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(16 + body.length), u32(1_700_000_000), u32(1), u32(domain), body]);
}
function set(id: number, body: Buffer): Buffer {
  return Buffer.concat([u16(id), u16(4 + body.length), body]);
}
function fields(list: [number, number][]): Buffer {
  return Buffer.concat(list.flatMap(([t, l]) => [u16(t), u16(l)]));
}

/**
 * Hostile template packets for NetFlow v9 (RFC 3954) and IPFIX (RFC 7011): templates that name
 * themselves, have no fields, far too many fields, fields of 65535 octets, only variable-length
 * fields with lengths past the end, options templates with more scope fields than fields,
 * reserved template IDs, and data sets in the same packet that use each of them.
 */
export function templateAttacks(): Buffer[] {
  const out: Buffer[] = [];
  const data = (id: number, n: number) => set(id, Buffer.alloc(n, 0xab));
  // Self-referencing: template 256 whose fields use IE number 256 and the template's own ID,
  // defined twice in one set with different shapes, and data for it in the same packet.
  out.push(v9(1, [set(0, Buffer.concat([u16(256), u16(2), fields([[256, 2], [256, 4]]), u16(256), u16(1), fields([[0xffff, 8]])])), data(256, 64)]));
  out.push(ipfix(1, [set(2, Buffer.concat([u16(256), u16(2), fields([[256, 2], [0x8000 | 256, 4]]), u32(256)])), data(256, 64)]));
  // A data set whose ID is the template set's own (0 / 2) and a template whose ID is a set ID.
  out.push(v9(2, [set(0, Buffer.concat([u16(0), u16(1), fields([[8, 4]])])), data(0, 16)]));
  out.push(ipfix(2, [set(2, Buffer.concat([u16(2), u16(1), fields([[8, 4]])])), data(2, 16), set(2, Buffer.concat([u16(3), u16(0)]))]));
  // Zero fields (a zero-length record must not loop forever), and zero-length fields only.
  out.push(v9(3, [set(0, Buffer.concat([u16(300), u16(0)])), data(300, 200)]));
  out.push(ipfix(3, [set(2, Buffer.concat([u16(300), u16(2), fields([[8, 0], [12, 0]])])), data(300, 200)]));
  out.push(v9(3, [set(0, Buffer.concat([u16(301), u16(2), fields([[8, 0], [12, 0]])])), data(301, 200)]));
  // Oversized: a field count far past the set, and fields of 65535 octets (record > datagram).
  out.push(v9(4, [set(0, Buffer.concat([u16(400), u16(0xffff), fields([[8, 4]])]))]));
  out.push(ipfix(4, [set(2, Buffer.concat([u16(400), u16(0xffff), fields([[8, 4]])]))]));
  out.push(v9(4, [set(0, Buffer.concat([u16(401), u16(4), fields([[1, 0xfffe], [2, 0xfffe], [8, 0xfffe], [12, 0xfffe]])])), data(401, 300)]));
  out.push(ipfix(4, [set(2, Buffer.concat([u16(401), u16(3), fields([[1, 0xfffe], [2, 0xfffe], [8, 0xfffe]])])), data(401, 300)]));
  // A template with 1000 fields of 1 octet (large but legal), then data for it.
  out.push(ipfix(5, [set(2, Buffer.concat([u16(500), u16(1000), fields(Array.from({ length: 1000 }, (_, i) => [1 + (i % 200), 1] as [number, number]))])), data(500, 1000)]));
  // Variable-length fields only (RFC 7011 §7): short form 255 then a long form past the end.
  out.push(ipfix(6, [set(2, Buffer.concat([u16(600), u16(3), fields([[82, 0xffff], [83, 0xffff], [84, 0xffff]])])),
    set(600, Buffer.from([3, 0x61, 0x62, 0x63, 255, 0xff, 0xff, 1, 2, 3]))]));
  out.push(ipfix(6, [set(2, Buffer.concat([u16(601), u16(1), fields([[82, 0xffff]])])), set(601, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]))]));
  // Options templates: more scope fields than fields, zero scope fields, scope length not a multiple of 4.
  out.push(ipfix(7, [set(3, Buffer.concat([u16(700), u16(1), u16(5), fields([[149, 4]])])), data(700, 16)]));
  out.push(ipfix(7, [set(3, Buffer.concat([u16(701), u16(2), u16(0), fields([[149, 4], [34, 4]])])), data(701, 16)]));
  out.push(v9(7, [set(1, Buffer.concat([u16(700), u16(0xffff), u16(4), fields([[1, 4]])]))]));
  out.push(v9(7, [set(1, Buffer.concat([u16(701), u16(3), u16(4), fields([[1, 4]]), Buffer.alloc(3)])), data(701, 32)]));
  out.push(v9(7, [set(1, Buffer.concat([u16(702), u16(4), u16(8), fields([[1, 4], [34, 4], [35, 1]])])), data(702, 36)]));
  // Reserved template IDs and withdrawal of everything.
  out.push(v9(8, [set(0, Buffer.concat([u16(5), u16(1), fields([[8, 4]])])), data(5, 8)]));
  out.push(ipfix(8, [set(2, Buffer.concat([u16(255), u16(1), fields([[8, 4]])])), set(2, Buffer.concat([u16(2), u16(0)])), set(3, Buffer.concat([u16(3), u16(0)]))]));
  // Sets of length 0 and 65535, and an IPFIX message length of 0 and 65535.
  out.push(Buffer.concat([v9(9, []), u16(256), u16(0)]));
  out.push(Buffer.concat([v9(9, []), u16(256), u16(0xffff), Buffer.alloc(16)]));
  const m = ipfix(9, [data(256, 8)]);
  const m0 = Buffer.from(m); m0.writeUInt16BE(0, 2); out.push(m0);
  const mx = Buffer.from(m); mx.writeUInt16BE(0xffff, 2); out.push(mx);
  return out;
}

/** A template flood packet: `n` distinct templates from one domain (the store must bound them). */
function floodPacket(r: () => number): Buffer {
  const base = 256 + Math.floor(r() * 60000);
  const tpls: Buffer[] = [];
  for (let i = 0; i < 50; i++) tpls.push(u16(base + i), u16(2), fields([[8, 4], [12, 4]]));
  const domain = Math.floor(r() * 64);
  return r() < 0.5 ? ipfix(domain, [set(2, Buffer.concat(tpls))]) : v9(domain, [set(0, Buffer.concat(tpls))]);
}

/** NetFlow v1 and v7 datagrams (no captures of either exist). */
export function legacyCorpus(): Buffer[] {
  const mk = (version: 1 | 7, count: number): Buffer => {
    const hlen = version === 1 ? 16 : 24, rlen = version === 1 ? 48 : 52;
    const b = Buffer.alloc(hlen + rlen * count);
    b.writeUInt16BE(version, 0); b.writeUInt16BE(count, 2);
    b.writeUInt32BE(3_600_000, 4); b.writeUInt32BE(1_700_000_000, 8);
    for (let i = 0; i < count; i++) {
      const o = hlen + rlen * i;
      b.writeUInt32BE(0x0a000001 + i, o); b.writeUInt32BE(0xc6336400 + i, o + 4);
      b.writeUInt32BE(5 + i, o + 16); b.writeUInt32BE(1500 * (5 + i), o + 20);
      b.writeUInt32BE(3_500_000, o + 24); b.writeUInt32BE(3_599_000, o + 28);
      b[o + 38] = 6;
    }
    return b;
  };
  return [mk(1, 1), mk(1, 24), mk(7, 1), mk(7, 28)];
}

// ---- Mutation -----------------------------------------------------------------------------

export type Mutation = 'none' | 'bitflip' | 'truncate' | 'len16' | 'len32' | 'splice' | 'garbage' | 'append' | 'flood' | 'multi';

function mutate(src: Buffer, corpus: Buffer[], r: () => number, floods: boolean): { buf: Buffer; op: Mutation } {
  const x = r();
  const pick = (n: number) => Math.floor(r() * n);
  // Offsets past the version word most of the time, so the packet reaches its decoder.
  const offset = (len: number) => (len <= 4 ? pick(len) : r() < 0.05 ? pick(4) : 4 + pick(len - 4));
  if (x < 0.05) return { buf: src, op: 'none' };
  if (x < 0.35) {
    const b = Buffer.from(src);
    const flips = 1 + pick(8);
    for (let i = 0; i < flips && b.length > 0; i++) { const o = offset(b.length); b[o]! ^= 1 << pick(8); }
    return { buf: b, op: 'bitflip' };
  }
  if (x < 0.50) return { buf: src.subarray(0, pick(src.length)), op: 'truncate' };
  if (x < 0.65) {
    // A 16-bit field (lengths and counts are 16-bit in NetFlow/IPFIX) set to 0, 65535 or a near miss.
    const b = Buffer.from(src);
    const v = [0, 0xffff, 1, 3, 4, 0xfffe, 0x8000][pick(7)]!;
    if (b.length >= 2) {
      const o = offset(b.length - 1) & ~1;
      if (o >= 0 && o + 2 <= b.length) b.writeUInt16BE(v, o);
    }
    return { buf: b, op: 'len16' };
  }
  if (x < 0.75) {
    // A 32-bit field (sFlow lengths and counts) set to 0, 0xFFFFFFFF or 65535.
    const b = Buffer.from(src);
    const v = [0, 0xffffffff, 0xffff, 0x7fffffff, 1][pick(5)]!;
    if (b.length >= 4) {
      const o = offset(b.length - 3) & ~3;
      if (o >= 0 && o + 4 <= b.length) b.writeUInt32BE(v, o);
    }
    return { buf: b, op: 'len32' };
  }
  if (x < 0.82) {
    const other = corpus[pick(corpus.length)]!;
    return { buf: Buffer.concat([src.subarray(0, pick(src.length + 1)), other.subarray(pick(other.length))]), op: 'splice' };
  }
  if (x < 0.87) {
    const b = Buffer.from(src);
    for (let o = 4 + pick(8); o < b.length; o++) b[o] = pick(256);
    return { buf: b, op: 'garbage' };
  }
  if (x < 0.92) {
    const extra = Buffer.alloc(pick(256));
    for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
    return { buf: Buffer.concat([src, extra]), op: 'append' };
  }
  if (x < 0.95) return floods ? { buf: floodPacket(r), op: 'flood' } : { buf: src, op: 'none' };
  let b = Buffer.from(src);
  for (let i = 0; i < 3; i++) b = Buffer.from(mutate(b, corpus, r, floods).buf);
  return { buf: b, op: 'multi' };
}

// ---- Run ----------------------------------------------------------------------------------

export interface FuzzOptions {
  packets: number;
  seed: number;
  /** Template floods (50 new templates a packet, 3% of packets); default true. */
  floods?: boolean;
  /** Progress callback every `every` packets. */
  onProgress?: (done: number, rssMb: number) => void;
  every?: number;
}

export interface FuzzResult {
  packets: number;
  records: number;
  seconds: number;
  cpuSeconds: number;
  corpusSize: number;
  /** Seed packets per version word (0 = sFlow). */
  corpusByVersion: string;
  rssStartMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  heapStartMb: number;
  heapEndMb: number;
  slowestMs: number;
  slowestPacket: number;
  /** Version word, length and exporter of the slowest packet. */
  slowestWhat: string;
  countedPackets: number;
  errorsByReason: Record<string, number>;
  errorsTotal: number;
  internalErrors: Record<string, number>;
  badRecords: string[];
  /** Records breaking an invariant (finite non-negative counters and times), by protocol. */
  badRecordsBy: Record<string, number>;
  exporters: number;
  escaped: string[];
  decoders: string[];
  /** Each decoder's numeric state at the end (template and domain counts, held data, skipped samples). */
  decoderState: Record<string, Record<string, number>>;
}

const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;

/** A callable GC (setFlagsFromString before the first use makes `gc` available to a new context). */
function gcFn(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ufc-fuzz-'));
  const loaded = loadConfig({ env: { EF_DATA_DIR: dataDir, EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false', EF_LOGGER_LEVEL: 'error' } });
  if (loaded.config === null) throw new Error(loaded.errors.join('\n'));
  const out = new CheckingOutput();
  // Decoders from the configuration (every protocol enabled by default); no enrichers, so what is
  // measured is decoding and its bookkeeping.
  const collector = new Collector(loaded.config, { enrichers: [], outputs: [out] });
  const pipeline = collector.pipeline;
  const gc = gcFn();

  const r = rng(opts.seed);
  const floods = opts.floods ?? true;
  const corpus = [...captureCorpus(), ...legacyCorpus(), ...templateAttacks()];
  // Seeds grouped by their version word and picked group first: the captures hold far more
  // v9/IPFIX than sFlow or v1/v5/v7 datagrams, and each decoder deserves an equal share.
  const groups = new Map<number, Buffer[]>();
  for (const b of corpus) {
    const v = b.readUInt16BE(0);
    const g = groups.get(v) ?? [];
    g.push(b);
    groups.set(v, g);
  }
  const byVersion = [...groups.values()];
  // Exporters: a few addresses, so templates and counters accumulate per exporter as in life.
  const exporters = Array.from({ length: 16 }, (_, i) => (i < 12 ? `10.99.0.${i + 1}` : `2001:db8::${i}`));

  gc();
  const rssStart = process.memoryUsage().rss, heapStart = process.memoryUsage().heapUsed;
  let rssPeak = rssStart, slowest = 0, slowestPacket = -1, slowestWhat = '';
  const escaped: string[] = [];
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  let now = Date.now();
  const every = opts.every ?? 100_000;
  for (let i = 0; i < opts.packets; i++) {
    const group = byVersion[Math.floor(r() * byVersion.length)]!;
    const { buf } = mutate(group[Math.floor(r() * group.length)]!, corpus, r, floods);
    const exporterIp = exporters[Math.floor(r() * exporters.length)]!;
    now += 1; // time moves on: held data and templates age as they would
    const s = performance.now();
    try {
      pipeline.handle(buf, { exporterIp, exporterPort: 2055, receivedAt: now });
    } catch (err) {
      if (escaped.length < 20) escaped.push(`packet ${i}: ${(err as Error).stack ?? String(err)}`);
    }
    const d = performance.now() - s;
    if (d > slowest) { slowest = d; slowestPacket = i; slowestWhat = `${buf.length >= 2 ? 'version ' + buf.readUInt16BE(0) : 'short'}, ${buf.length} bytes, exporter ${exporterIp}`; }
    if ((i + 1) % 10_000 === 0) {
      const rss = process.memoryUsage().rss;
      if (rss > rssPeak) rssPeak = rss;
      if ((i + 1) % every === 0) opts.onProgress?.(i + 1, mb(rss));
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  gc();
  const rssEnd = process.memoryUsage().rss, heapEnd = process.memoryUsage().heapUsed;
  if (rssEnd > rssPeak) rssPeak = rssEnd;

  const errorsByReason: Record<string, number> = {};
  const internalErrors: Record<string, number> = {};
  let errorsTotal = 0;
  const snap = pipeline.stats.snapshot();
  let counted = 0;
  for (const e of snap) {
    counted += e.packets;
    for (const k in e.errors) {
      errorsByReason[k] = (errorsByReason[k] ?? 0) + e.errors[k]!;
      errorsTotal += e.errors[k]!;
      if (k.includes('internal error')) internalErrors[k] = (internalErrors[k] ?? 0) + e.errors[k]!;
    }
  }
  const decoders = [...collector.decoders.keys()];
  const decoderState: Record<string, Record<string, number>> = {};
  for (const [p, d] of collector.decoders) {
    const desc = d.describe?.() ?? {};
    const nums: Record<string, number> = {};
    for (const k in desc) if (typeof desc[k] === 'number') nums[k] = desc[k] as number;
    decoderState[p] = nums;
  }
  await collector.stop();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    packets: opts.packets, records: out.records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, corpusSize: corpus.length, corpusByVersion: [...groups].map(([v, g]) => `v${v}: ${g.length}`).join(', '),
    rssStartMb: mb(rssStart), rssPeakMb: mb(rssPeak), rssEndMb: mb(rssEnd), heapStartMb: mb(heapStart), heapEndMb: mb(heapEnd),
    slowestMs: Math.round(slowest * 100) / 100, slowestPacket, slowestWhat, countedPackets: counted,
    errorsByReason, errorsTotal, internalErrors, badRecords: out.bad, badRecordsBy: out.badBy, exporters: snap.length, escaped, decoders, decoderState,
  };
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const packets = arg('packets', 1_000_000), seed = arg('seed', 1);
  const floods = !process.argv.includes('--no-flood');
  console.log(`fuzz: ${packets} packets, seed ${seed}${floods ? '' : ', no template floods'}`);
  const res = await runFuzz({ packets, seed, floods, every: 100_000, onProgress: (n, rss) => console.log(`  ${n} packets, RSS ${rss} MB`) });
  console.log(`decoders: ${res.decoders.join(', ')}; corpus ${res.corpusSize} seed packets (${res.corpusByVersion}), picked version first`);
  console.log(`packets ${res.packets} (counted by the pipeline: ${res.countedPackets}), records ${res.records}, ${res.seconds.toFixed(1)} s wall, ${res.cpuSeconds.toFixed(1)} CPU-s`);
  console.log(`RSS start ${res.rssStartMb} MB, peak ${res.rssPeakMb} MB, end ${res.rssEndMb} MB; heap after GC ${res.heapStartMb} -> ${res.heapEndMb} MB`);
  console.log(`slowest packet ${res.slowestMs} ms (#${res.slowestPacket}: ${res.slowestWhat}); exporters ${res.exporters}`);
  console.log(`decoder state at the end: ${JSON.stringify(res.decoderState)}`);
  console.log(`malformed packets counted: ${res.errorsTotal}, by reason:`);
  for (const [k, v] of Object.entries(res.errorsByReason).sort((a, b) => b[1] - a[1])) console.log(`  ${String(v).padStart(9)}  ${k}`);
  const failures: string[] = [];
  if (res.escaped.length > 0) failures.push(`${res.escaped.length} exceptions escaped Pipeline.handle:\n${res.escaped.join('\n')}`);
  if (Object.keys(res.internalErrors).length > 0) failures.push(`internal errors (decoder bugs: a non-DecodeError was thrown): ${JSON.stringify(res.internalErrors)}`);
  if (res.badRecords.length > 0) failures.push(`records breaking invariants ${JSON.stringify(res.badRecordsBy)}, e.g. ${res.badRecords.slice(0, 5).join('; ')}`);
  if (res.countedPackets !== res.packets) failures.push(`pipeline counted ${res.countedPackets} packets of ${res.packets}`);
  if (res.slowestMs > 1000) failures.push(`a packet took ${res.slowestMs} ms (#${res.slowestPacket})`);
  if (failures.length > 0) {
    console.log(`FAIL\n${failures.join('\n')}`);
    process.exitCode = 1;
  } else console.log('OK: no crash, no hang, every packet counted');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

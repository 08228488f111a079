/**
 * Records as JSON text, CODEX or ECS names (see fields.ts).
 *
 * Compiled encoder rather than JSON.stringify(toDocument(r)): building an object per record and
 * stringifying it costs ~4 µs a record, the largest cost of the whole pipeline (ARCHITECTURE.md §9).
 * For each view one function is generated from the field expressions in fields.ts: every field's
 * `"name":` fragment is a literal and values are appended by type, with no per-field call or object.
 * The output is byte-identical to JSON.stringify(toDocument(r)), but for integers of 2^53 or more,
 * written with all their digits (see N()); a property test checks it.
 */
import type { FlowRecord } from './flow-record.js';
import { flat } from './flat.js';
import { dropMatcher, fieldDropped, type DropMatch } from './drop-fields.js';
import { FIELDS, FIELD_HELPERS, HELPER_NAMES, ecsExtraName, extraDropped, toDocument, type FieldDef, type ViewOptions } from './fields.js';

// eslint-disable-next-line no-control-regex -- JSON must escape control characters
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal; the common case (nothing to escape) skips JSON.stringify. */
function S(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

function A(v: string[]): string {
  let s = '[';
  for (let i = 0; i < v.length; i++) s += (i > 0 ? ',' : '') + S(v[i]!);
  return s + ']';
}

/** '0'..'999', and the same padded to three digits ('000'..'999'). */
const D3: string[] = [];
const P3: string[] = [];
for (let i = 0; i < 1000; i++) {
  D3.push(String(i));
  P3.push(String(i).padStart(3, '0'));
}

/**
 * A number as JSON. Integers below a billion are put together from three-digit pieces by hand:
 * V8's own conversion keeps every string it makes in a cache of ~16K entries, so a stream of
 * distinct values (client ports, byte counts) kept each one alive past a young-generation
 * collection, to be copied, promoted and later collected with the old generation.
 *
 * From 2^53 on every double is a whole number, and its shortest form is not its value: a counter
 * held at MAX_I64 (9223372036854774784, as the stores keep it) reads 9223372036854775000, which a
 * reader of exact 64-bit integers (Python, jq 1.7, an Elasticsearch long) takes as 216 more. Those
 * are written with all their digits, as BigInt gives them exactly.
 */
function N(v: number): string {
  if (v >= 0 && v < 1e9 && (v | 0) === v) {
    if (v < 1000) return D3[v]!;
    if (v < 1e6) return D3[(v / 1000) | 0]! + P3[v % 1000]!;
    return D3[(v / 1e6) | 0]! + P3[((v / 1000) | 0) % 1000]! + P3[v % 1000]!;
  }
  if (!Number.isFinite(v)) return 'null';
  return v >= 9007199254740992 || v <= -9007199254740992 ? BigInt(v).toString() : '' + v;
}

/** One extra field's `,"name":value` text. */
function extraText(k: string, v: string | number | boolean): string {
  return ',' + S(k) + ':' + (typeof v === 'number' ? N(v) : typeof v === 'boolean' ? String(v) : S(v));
}

function extra(r: FlowRecord, s: string): string {
  for (const k in r.extra!) s += extraText(k, r.extra![k]!);
  return s;
}

/** `extra` for the ECS view (see ecsExtraName in fields.ts). */
function extraEcs(r: FlowRecord, s: string): string {
  for (const k in r.extra!) s += extraText(ecsExtraName(k), r.extra![k]!);
  return s;
}

/** `extra` for an output that drops some of them (a check per extra only where one is configured). */
function extraExcept(drop: DropMatch, ecs: boolean): (r: FlowRecord, s: string) => string {
  return (r, s) => {
    for (const k in r.extra!) {
      const name = ecs ? ecsExtraName(k) : k;
      if (!extraDropped(k, name, drop)) s += extraText(name, r.extra![k]!);
    }
    return s;
  };
}

/** Record properties every record of one datagram shares (or nearly always does). */
const PACKET_PROPS = new Set(['collectTs', 'exportTs', 'kind', 'exporterIp', 'exporterHost', 'exporterSubnetName', 'exporterSubnetTags', 'exportVersion', 'exportType', 'observationDomain', 'ipVersion']);

/** The record properties a field expression reads (`r.name`). */
function propsRead(def: FieldDef): string[] {
  return [...def.expr.matchAll(/\br\.(\w+)/g)].map((m) => m[1]!);
}

/** Whether a field's value depends on datagram-wide properties only (and not on `cs`). */
function perPacket(def: FieldDef): boolean {
  if (/\bcs\b/.test(def.expr)) return false;
  const props = propsRead(def);
  return props.length > 0 && props.every((p) => PACKET_PROPS.has(p));
}

/** Keyword fields whose values rarely repeat: not worth a map entry each. */
const UNIQUE = new Set(['flow.community.id', 'flow.src.mac.addr', 'flow.dst.mac.addr', 'flow.src.host.name', 'flow.dst.host.name', 'flow.client.host.name', 'flow.server.host.name']);
/** Integer values below this have their field's text kept in a table (see `small` in compile()). */
const SMALL_INTS = 4096;
/**
 * Values a keyword field's map keeps; past it the map starts again (a bound, not an LRU). Above the
 * 6,146 IANA service names, so the port-name fields never start again: at 4,096 the client ports'
 * names (ephemeral ports land on registered names) refilled the map every ~40,000 records.
 */
export const MEMO_MAX = 8192;

/** Longest keyword value kept in a memo map (names from short lists are far shorter). */
export const MEMO_VALUE_MAX = 128;

/**
 * Second keys kept under one first key (memoBy with two keys): a latitude has one or a few
 * longitudes, and this keeps the map of maps within MEMO_MAX x MEMO_INNER_MAX entries whatever comes.
 */
const MEMO_INNER_MAX = 16;

/** Keeps `value` under `key`, starting the map again once it holds `max` (a bound, not an LRU). */
function remember<K, T>(m: Map<K, T>, key: K, value: T, max = MEMO_MAX): T {
  if (m.size >= max) m.clear();
  m.set(key, value);
  return value;
}

/**
 * A field's memoBy keys must determine its value: the expression may read no record property the
 * keys do not, and not `cs` (the keys could not tell client from server). Checked when the encoder is
 * made, so a wrong key fails at start-up instead of giving another record's text.
 */
export function checkMemoBy(def: FieldDef): void {
  const keys = new Set(def.memoBy!.flatMap((k) => [...k.matchAll(/\br\.(\w+)/g)].map((m) => m[1]!)));
  const missing = propsRead(def).filter((p) => !keys.has(p));
  if (/\bcs\b/.test(def.expr) || missing.length > 0) {
    throw new Error(`fields.ts: ${def.codex}: memoBy does not determine the value (${missing.length > 0 ? `reads r.${missing.join(', r.')}` : 'uses cs'})`);
  }
}

function formatter(def: FieldDef, ecs: boolean): string {
  if (ecs && def.type === 'date') return `'"' + iso(v) + '"'`;
  // The ECS value replaces v (its CODEX value, already used as a cache key where there is one) and is
  // formatted by its ECS type.
  if (ecs && def.ecsValue !== undefined) return `(v = (${def.ecsValue.expr}), ${typeFormatter(def.ecsValue.type)})`;
  return typeFormatter(def.type);
}

function typeFormatter(type: FieldDef['type']): string {
  switch (type) {
    case 'date':
    case 'long':
    case 'integer':
    case 'double':
      return 'N(v)';
    case 'keyword[]':
      return 'A(v)';
    case 'ip':
      // Address text is always formatted by us (decoders, the socket's address): digits, hex,
      // '.', ':' and at most a '%' zone, none of which JSON escapes.
      return `'"' + v + '"'`;
    default:
      return 'S(v)';
  }
}

type Encoder = (r: FlowRecord) => string;
const compiled = new Map<string, Encoder>();
/**
 * The encoder of each view object: encodeRecord() is called per record (Elasticsearch, Kafka), and
 * an output's view is one long-lived object, so this spares building the id string every time.
 */
const byView = new WeakMap<ViewOptions, Encoder>();

function compile(view: ViewOptions): Encoder {
  let enc = byView.get(view);
  if (enc !== undefined) return enc;
  const id = `${view.ecs}|${view.timestampSource}|${(view.drop ?? []).join(',')}`;
  enc = compiled.get(id);
  if (enc !== undefined) {
    byView.set(view, enc);
    return enc;
  }
  // A dropped field is left out of the generated code, so it costs nothing per record.
  const drop = dropMatcher(view.drop);
  const fields = drop === null ? FIELDS : FIELDS.filter((def) => !fieldDropped(def, drop));
  const tsField = view.timestampSource === 'start' ? 'startTs' : view.timestampSource === 'end' ? 'endTs' : view.timestampSource === 'export' ? 'exportTs' : 'collectTs';
  // @timestamp is always first and always present (collect time at least), so every later field can
  // start with a comma and the text is never sliced (slicing would flatten the string rope).
  const first = fields[0];
  if (first!.codex !== '@timestamp') throw new Error('fields.ts: @timestamp must be the first field');
  // Fields whose value repeats from record to record (every timestamp of a datagram's records is the
  // same collect and export time) keep their last value and its JSON text: formatting a large
  // number or an ISO date costs far more than one comparison. Kept in the encoder's closure.
  let state = '';
  // The cached text includes the field's name, so a repeat costs one concatenation.
  const cached = (i: number, def: FieldDef, name: string): string => {
    state += `let c${i}v = NaN, c${i}s = '';\n`;
    return `(v === c${i}v ? c${i}s : (c${i}v = v, c${i}s = ${name} + ${formatter(def, view.ecs)}))`;
  };
  // Keywords from short lists (protocol and port names, countries, cities, AS names, localities)
  // are the same string objects record after record: their name-and-value text is kept in a
  // bounded map by value, which spares the escape check and two concatenations.
  // A long value (an application name an exporter sent, up to 65,535 octets) is formatted, not kept:
  // the map bounds entries, not their size.
  const memo = (i: number, def: FieldDef, name: string): string => {
    state += `const m${i} = new Map();\n`;
    return `(v.length > ${MEMO_VALUE_MAX} ? ${name} + ${formatter(def, view.ecs)} : m${i}.get(v) ?? remember(m${i}, v, flat(${name} + ${formatter(def, view.ecs)})))`;
  };
  // Integer fields (ports, protocol, TCP flags, ToS, masks, VLANs) mostly hold small values: their
  // name-and-value text is kept in a table by value, up to SMALL_INTS, which spares the number's
  // conversion to text and a concatenation. The table is filled ('' for "not yet") so that V8
  // keeps it a flat array rather than a dictionary.
  const small = (i: number, name: string): string => {
    state += `const a${i} = new Array(${SMALL_INTS}).fill('');\n`;
    return `(v >= 0 && v < ${SMALL_INTS} && (v | 0) === v ? (a${i}[v] || (a${i}[v] = flat(${name} + v))) : ${name} + N(v))`;
  };
  const textOf = (i: number, def: FieldDef, name: string): string => (def.type === 'integer' && formatter(def, view.ecs) === 'N(v)' ? small(i, name) : def.type === 'keyword' && !UNIQUE.has(def.codex) ? memo(i, def, name) : def.type === 'date' || def.type === 'keyword' || def.type === 'ip' ? cached(i, def, name) : `${name} + ${formatter(def, view.ecs)}`);
  let body = 'let mt, mm;\nconst cs = r.orientation === 1 ? true : r.orientation === 2 ? false : undefined;\n';
  body += `let v = ms(r.${tsField}) ?? r.collectTs;\n`;
  body += `let s = ${textOf(0, first!, JSON.stringify('{' + JSON.stringify('@timestamp') + ':'))};\n`;
  const nameOf = (def: FieldDef): string => JSON.stringify(',' + JSON.stringify(view.ecs ? (def.ecs ?? def.codex) : def.codex) + ':');
  // Runs of fields that read only what every record of a datagram shares (exporter, versions,
  // export time) keep their joined text, keyed by the properties they read: one comparison per
  // property and one concatenation for the run instead of a value, a name and a check per field.
  for (let i = 1; i < fields.length;) {
    let end = i;
    while (end < fields.length && perPacket(fields[end]!)) end++;
    if (end - i < 2) {
      const def = fields[i]!;
      if (def.memoBy !== undefined) {
        checkMemoBy(def);
        // The field's text (or '' when absent: adding '' leaves s as it is) kept per key, or per
        // first key and then second key (a map of maps).
        state += `const m${i} = new Map();\n`;
        const [k1, k2] = def.memoBy;
        const text = `v === undefined ? '' : flat(${nameOf(def)} + ${formatter(def, view.ecs)})`;
        if (k2 === undefined) {
          body += `mt = m${i}.get(${k1});\nif (mt === undefined) {\nv = (${def.expr});\nmt = remember(m${i}, ${k1}, ${text});\n}\n`;
        } else {
          body += `mm = m${i}.get(${k1});\nif (mm === undefined) mm = remember(m${i}, ${k1}, new Map());\n`;
          body += `mt = mm.get(${k2});\nif (mt === undefined) {\nv = (${def.expr});\nmt = remember(mm, ${k2}, ${text}, ${MEMO_INNER_MAX});\n}\n`;
        }
        body += 's += mt;\n';
        i++;
        continue;
      }
      body += `v = (${def.expr});\nif (v !== undefined) s += ${textOf(i, def, nameOf(def))};\n`;
      i++;
      continue;
    }
    const run = fields.slice(i, end);
    const props = [...new Set(run.flatMap(propsRead))];
    const g = `g${i}`;
    state += `let ${g}s = '';\n` + props.map((p) => `let ${g}_${p} = NaN;\n`).join('');
    body += `if (${props.map((p) => `r.${p} === ${g}_${p}`).join(' && ')}) s += ${g}s;\nelse {\n${props.map((p) => `${g}_${p} = r.${p};\n`).join('')}let t = '';\n`;
    for (const def of run) body += `v = (${def.expr});\nif (v !== undefined) t += ${nameOf(def)} + ${formatter(def, view.ecs)};\n`;
    body += `${g}s = t;\ns += t;\n}\n`;
    i = end;
  }
  body += 'if (r.extra !== null) s = extra(r, s);\nreturn s + "}";';
  // Generated from our own field table (fields.ts), never from input.
  enc = new Function('S', 'A', 'N', 'extra', 'remember', 'flat', ...HELPER_NAMES, `${state}return function encode(r) {\n${body}\n};`)(S, A, N, drop !== null ? extraExcept(drop, view.ecs) : view.ecs ? extraEcs : extra, remember, flat, ...Object.values(FIELD_HELPERS)) as Encoder;
  compiled.set(id, enc);
  byView.set(view, enc);
  return enc;
}

/** The compiled encoder for a view: hold on to it when encoding many records. */
export function encoderFor(view: ViewOptions): (r: FlowRecord) => string {
  return compile(view);
}

/** One record as a JSON object (no newline). */
export function encodeRecord(r: FlowRecord, view: ViewOptions): string {
  return compile(view)(r);
}

export function toJson(r: FlowRecord, view: ViewOptions, pretty = false): string {
  return pretty ? JSON.stringify(toDocument(r, view), null, 2) : encodeRecord(r, view);
}

/**
 * Lines joined per buffer write: converting one line at a time costs ~25% more, far longer strings
 * get slower again (V8 flattens the whole rope first). Every NDJSON writer goes by this many.
 */
export const LINES_PER_WRITE = 32;

/** batch[from, to) as NDJSON text, each line ending in \n (callers keep to LINES_PER_WRITE lines). */
export function ndjsonLines(enc: (r: FlowRecord) => string, batch: readonly FlowRecord[], from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += enc(batch[i]!) + '\n';
  return text;
}

/**
 * A batch as NDJSON bytes, in a buffer of its own (never the shared pool, so it can be transferred
 * to another thread). A few lines' text goes into the buffer per write: converting one long
 * concatenated string instead costs ~10x more (V8 flattens the whole rope first).
 */
export function toNdjsonBuffer(batch: readonly FlowRecord[], view: ViewOptions, from = 0, to = batch.length): Buffer {
  const enc = compile(view);
  let buf = Buffer.allocUnsafeSlow(Math.max(65536, (to - from) * 1600));
  let off = 0;
  for (let i = from; i < to;) {
    const end = Math.min(to, i + LINES_PER_WRITE);
    const text = ndjsonLines(enc, batch, i, end);
    i = end;
    // A UTF-8 byte is at most 3 per UTF-16 unit; grow before writing so nothing is cut.
    if (off + text.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, off + text.length * 3));
      buf.copy(bigger, 0, 0, off);
      buf = bigger;
    }
    off += buf.write(text, off, 'utf8');
  }
  return buf.subarray(0, off);
}

/** A batch as NDJSON (one record per line, each line ending in \n). */
export function toNdjson(batch: readonly FlowRecord[], view: ViewOptions): string {
  const enc = compile(view);
  let s = '';
  for (let i = 0; i < batch.length; i++) s += enc(batch[i]!) + '\n';
  return s;
}

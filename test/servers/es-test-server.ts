/**
 * A TEST SERVER standing in for Elasticsearch or OpenSearch (no real cluster can run on these
 * machines). It implements, strictly enough for the official clients and to catch our mistakes:
 *
 * - `GET /` and `HEAD /`: cluster info with a version (and `version.distribution: opensearch` for
 *   OpenSearch); Elasticsearch answers carry `x-elastic-product: Elasticsearch`, which the
 *   @elastic/elasticsearch client refuses to work without.
 * - `PUT|POST /_index_template/<name>`: checks the body (index_patterns, template.mappings.properties with
 *   known field types; OpenSearch refuses `subobjects`, which it does not support) and stores it.
 * - Elasticsearch REST API compatibility on every request: a `compatible-with=N` in Accept or
 *   Content-Type must be the server's major or the one before, and the same in both.
 * - `POST /_bulk` (and `/<index>/_bulk`): checks the content type (x-ndjson), parses the NDJSON strictly (every line
 *   JSON, the body ends in "\n", an action line with exactly one of index/create/update/delete and
 *   known metadata keys, `_index` required on /_bulk, a source object after index/create/update),
 *   and answers per item. Each document is checked against the template matching its index, like a
 *   cluster would: values must fit the mapped type (long, integer range, ip, date format, keyword,
 *   geo_point), and a name that is both a value and an object prefix fails unless the mapping has
 *   `subobjects: false` (Elasticsearch only). Failures requested by the test (`itemFault`) are
 *   answered per item (429, 503, 400, ...), the rest indexed and recorded. A long is judged by the
 *   number's text as sent, as a cluster reads it (any integer of int64, -2^63 to 2^63-1): JSON.parse
 *   alone would turn 9223372036854774784 and 9223372036854775808 into the same double.
 * - Authentication: when configured, Basic or `ApiKey` credentials must match, else 401.
 *
 * What it does not do: search, refresh, shards, replicas, aliases, data streams, real analysis.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';

export type Product = 'elasticsearch' | 'opensearch';

export interface EsTestServerOptions {
  product: Product;
  version?: string;
  auth?: { username: string; password: string } | { apiKey: string };
  /** Serve https with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface StoredDoc {
  index: string;
  doc: Record<string, unknown>;
  /** The document's line as it was sent (its numbers' own digits, which `doc` may have rounded). */
  source: string;
  /** The template that matched the index, null when none did. */
  template: string | null;
}

export interface RequestLog {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
}

interface Template {
  name: string;
  patterns: string[];
  priority: number;
  subobjects: boolean;
  properties: Map<string, string>;
  /** dynamic_templates by match_mapping_type: the type a new field of that JSON type gets. */
  dynamicByJsonType: Map<string, string>;
}

const FIELD_TYPES = new Set(['date', 'ip', 'long', 'integer', 'short', 'byte', 'keyword', 'double', 'float', 'geo_point', 'boolean', 'text', 'object']);
const BULK_ACTIONS = new Set(['index', 'create', 'update', 'delete']);
const BULK_META = new Set(['_index', '_id', 'routing', 'pipeline', 'require_alias', 'if_seq_no', 'if_primary_term', 'version', 'version_type', 'dynamic_templates', 'retry_on_conflict']);

class BadRequest extends Error {
  constructor(readonly type: string, reason: string, readonly status = 400) {
    super(reason);
  }
}

export class EsTestServer {
  readonly docs: StoredDoc[] = [];
  readonly templates = new Map<string, Record<string, unknown>>();
  readonly requests: RequestLog[] = [];
  /** Bulk requests answered (each with its item count). */
  readonly bulkSizes: number[] = [];
  authFailures = 0;
  /** Per item: return an HTTP status to fail the item with (e.g. 429, 503, 400), or 0 to index it. */
  itemFault: ((doc: Record<string, unknown>, index: string) => number) | null = null;
  /** An item error of the test's own words (status, type and reason as a real cluster gives them). */
  itemError: ((doc: Record<string, unknown>, index: string) => { status: number; type: string; reason: string } | null) | null = null;
  /** Milliseconds each bulk request takes (a slow cluster). */
  bulkDelayMs = 0;
  /** Largest bulk body taken (http.max_content_length, or a proxy's limit); larger ones get 413 with an empty body, as nginx's client_max_body_size answers. 0: any. */
  maxContentLength = 0;
  /** Per bulk request: return a status to fail the whole request with, or 0. */
  requestFault: (() => number) | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly tpl = new Map<string, Template>();

  constructor(private readonly o: EsTestServerOptions) {}

  get url(): string {
    return `${this.o.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts listening (again, on the same port after stop()). */
  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    const server = this.o.tls ? createHttpsServer({ key: this.o.tls.key, cert: this.o.tls.cert }, handler) : createHttpServer(handler);
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops listening and cuts open connections: the cluster is down. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    if (this.bulkDelayMs > 0 && path.endsWith('/_bulk')) await new Promise((r) => setTimeout(r, this.bulkDelayMs));
    if (this.maxContentLength > 0 && path.endsWith('/_bulk') && Buffer.byteLength(body) > this.maxContentLength) {
      this.requests.push({ method, path, headers: req.headers, status: 413 });
      res.writeHead(413, { 'content-length': '0' }).end();
      return;
    }
    let status = 200;
    let answer: unknown;
    try {
      this.checkAuth(req);
      if (this.o.product === 'elasticsearch') this.checkCompat(req);
      if ((method === 'GET' || method === 'HEAD') && path === '/') answer = this.info();
      else if ((method === 'PUT' || method === 'POST') && path.startsWith('/_index_template/')) answer = this.putTemplate(decodeURIComponent(path.slice('/_index_template/'.length)), body);
      else if ((method === 'POST' || method === 'PUT') && /^\/([^/_][^/]*\/)?_bulk$/.test(path)) answer = this.bulk(req, path, body);
      else throw new BadRequest('no_handler_found_exception', `no handler found for uri [${path}] and method [${method}]`, 404);
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      status = err.status;
      answer = { error: { root_cause: [{ type: err.type, reason: err.message }], type: err.type, reason: err.message }, status };
    }
    if (status === 200 && answer !== null && typeof answer === 'object' && 'status' in answer && typeof answer.status === 'number') status = answer.status;
    this.requests.push({ method, path, headers: req.headers, status });
    const text = JSON.stringify(answer);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=UTF-8' };
    if (this.o.product === 'elasticsearch') {
      headers['x-elastic-product'] = 'Elasticsearch';
      const asked = /compatible-with=(\d+)/.exec(String(req.headers.accept ?? ''));
      if (asked !== null) headers['content-type'] = `application/vnd.elasticsearch+json;compatible-with=${asked[1]}`;
    }
    if (status === 401) headers['www-authenticate'] = 'Basic realm="security" charset="UTF-8", ApiKey';
    res.writeHead(status, headers);
    res.end(method === 'HEAD' ? undefined : text);
  }

  private major(): number {
    return Number((this.o.version ?? (this.o.product === 'elasticsearch' ? '9.1.0' : '2.19.0')).split('.')[0]);
  }

  /**
   * REST API compatibility (Elasticsearch 8+): a `compatible-with=N` in Accept or Content-Type must
   * be this major or the one before, and the same in both when both carry one.
   */
  private checkCompat(req: IncomingMessage): void {
    const found: number[] = [];
    for (const h of [req.headers.accept, req.headers['content-type']]) {
      const m = /compatible-with=(\d+)/.exec(String(h ?? ''));
      if (m !== null) found.push(Number(m[1]));
    }
    this.compatSeen.push(...found);
    for (const v of found) {
      if (v > this.major() || v < this.major() - 1) throw new BadRequest('media_type_header_exception', `Invalid media-type value on headers [Accept, Content-Type]: compatible-with=${v} is not supported by version ${this.major()}`);
    }
    if (found.length === 2 && found[0] !== found[1]) throw new BadRequest('media_type_header_exception', 'A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match.');
  }

  /** compatible-with versions the client asked for. */
  readonly compatSeen: number[] = [];

  private checkAuth(req: IncomingMessage): void {
    const a = this.o.auth;
    if (a === undefined) return;
    const h = String(req.headers.authorization ?? '');
    const want = 'apiKey' in a ? `ApiKey ${a.apiKey}` : `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
    if (h !== want) {
      this.authFailures++;
      throw new BadRequest('security_exception', h === '' ? 'missing authentication credentials for REST request' : 'unable to authenticate user', 401);
    }
  }

  private info(): Record<string, unknown> {
    const number = this.o.version ?? (this.o.product === 'elasticsearch' ? '9.1.0' : '2.19.0');
    const version: Record<string, unknown> = { number, build_type: 'tar', lucene_version: '10.2.2', minimum_wire_compatibility_version: '8.19.0' };
    if (this.o.product === 'opensearch') version.distribution = 'opensearch';
    return { name: 'test-node', cluster_name: 'ufc-test-cluster', cluster_uuid: 'ufc-test-server-0000000001', version, tagline: this.o.product === 'elasticsearch' ? 'You Know, for Search' : 'The OpenSearch Project: https://opensearch.org/' };
  }

  private putTemplate(name: string, body: string): Record<string, unknown> {
    if (name === '' || name.includes('/')) throw new BadRequest('invalid_index_template_exception', `invalid template name [${name}]`);
    let t: Record<string, unknown>;
    try {
      t = JSON.parse(body) as Record<string, unknown>;
    } catch (err) {
      throw new BadRequest('x_content_parse_exception', `template body is not JSON: ${(err as Error).message}`);
    }
    const patterns = t.index_patterns;
    if (!Array.isArray(patterns) || patterns.length === 0 || !patterns.every((p) => typeof p === 'string' && p !== '')) throw new BadRequest('action_request_validation_exception', 'index patterns are missing');
    const template = t.template as { mappings?: Record<string, unknown> } | undefined;
    const mappings = template?.mappings;
    if (mappings === undefined || typeof mappings !== 'object') throw new BadRequest('mapper_parsing_exception', 'template.mappings missing');
    const known = new Set(['dynamic', 'dynamic_templates', 'properties', '_meta', '_source', 'date_detection', 'numeric_detection', ...(this.o.product === 'elasticsearch' ? ['subobjects'] : [])]);
    const unsupported = Object.keys(mappings).filter((k) => !known.has(k));
    if (unsupported.length > 0) throw new BadRequest('mapper_parsing_exception', `Root mapping definition has unsupported parameters: [${unsupported.join(', ')}]`);
    const props = mappings.properties as Record<string, { type?: string }> | undefined;
    if (props === undefined || typeof props !== 'object') throw new BadRequest('mapper_parsing_exception', 'mappings.properties missing');
    const properties = new Map<string, string>();
    for (const [k, v] of Object.entries(props)) {
      if (typeof v?.type !== 'string' || !FIELD_TYPES.has(v.type)) throw new BadRequest('mapper_parsing_exception', `No handler for type [${String(v?.type)}] declared on field [${k}]`);
      properties.set(k, v.type);
    }
    const subobjects = mappings.subobjects !== false;
    if (subobjects) {
      // Without subobjects:false a name cannot be both a value and an object.
      for (const k of properties.keys()) {
        for (const other of properties.keys()) {
          if (other.startsWith(k + '.') && properties.get(k) !== 'object') throw new BadRequest('mapper_parsing_exception', `can't merge a non object mapping [${k}] with an object mapping [${other}]`);
        }
      }
    }
    const dynamicByJsonType = new Map<string, string>();
    for (const d of (mappings.dynamic_templates ?? []) as Record<string, { match_mapping_type?: string; mapping?: { type?: string } }>[]) {
      for (const rule of Object.values(d)) {
        if (typeof rule.match_mapping_type === 'string' && typeof rule.mapping?.type === 'string') dynamicByJsonType.set(rule.match_mapping_type, rule.mapping.type);
      }
    }
    this.tpl.set(name, { name, patterns: patterns as string[], priority: Number(t.priority ?? 0), subobjects, properties, dynamicByJsonType });
    this.templates.set(name, t);
    return { acknowledged: true };
  }

  private templateFor(index: string): Template | null {
    let best: Template | null = null;
    for (const t of this.tpl.values()) {
      if (t.patterns.some((p) => globMatch(p, index)) && (best === null || t.priority > best.priority)) best = t;
    }
    return best;
  }

  private bulk(req: IncomingMessage, path: string, body: string): Record<string, unknown> {
    const ct = String(req.headers['content-type'] ?? '');
    if (this.o.product === 'elasticsearch') {
      if (!/^application\/(x-ndjson|vnd\.elasticsearch\+x-ndjson)/.test(ct)) throw new BadRequest('media_type_header_exception', `Content-Type [${ct}] is not supported for bulk`, 406);
    } else if (!ct.startsWith('application/x-ndjson') && !ct.startsWith('application/json')) {
      throw new BadRequest('illegal_argument_exception', `Content-Type header [${ct}] is not supported`, 406);
    }
    const fault = this.requestFault?.() ?? 0;
    if (fault !== 0) throw new BadRequest(fault === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception', 'injected by the test', fault);
    if (body.length === 0) throw new BadRequest('action_request_validation_exception', 'Validation Failed: 1: no requests added;');
    if (!body.endsWith('\n')) throw new BadRequest('illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
    const defaultIndex = path === '/_bulk' ? null : decodeURIComponent(path.slice(1, path.indexOf('/_bulk')));
    const lines = body.slice(0, -1).split('\n');
    const items: Record<string, unknown>[] = [];
    let errors = false;
    for (let i = 0; i < lines.length; i++) {
      const action = parseLine(lines[i]!, i);
      const keys = Object.keys(action);
      if (keys.length !== 1 || !BULK_ACTIONS.has(keys[0]!)) throw new BadRequest('illegal_argument_exception', `Malformed action/metadata line [${i + 1}], expected one of index, create, update, delete but found [${keys.join(',')}]`);
      const op = keys[0]!;
      const meta = action[op] as Record<string, unknown>;
      if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new BadRequest('illegal_argument_exception', `Malformed action/metadata line [${i + 1}], expected START_OBJECT`);
      for (const k of Object.keys(meta)) if (!BULK_META.has(k)) throw new BadRequest('illegal_argument_exception', `Action/metadata line [${i + 1}] contains an unknown parameter [${k}]`);
      const index = (meta._index as string | undefined) ?? defaultIndex;
      if (typeof index !== 'string' || index === '') throw new BadRequest('action_request_validation_exception', `Validation Failed: 1: index is missing (line ${i + 1});`);
      if (index !== index.toLowerCase() || /[\\/*?"<>| ,#:]/.test(index) || index.startsWith('_') || index.startsWith('-')) throw new BadRequest('invalid_index_name_exception', `Invalid index name [${index}]`);
      if (op === 'delete') {
        items.push({ delete: { _index: index, status: 404, result: 'not_found' } });
        continue;
      }
      if (i + 1 >= lines.length) throw new BadRequest('illegal_argument_exception', `The bulk request must be terminated by a newline [\\n] (no source for line ${i + 1})`);
      const source = lines[++i]!;
      const doc = parseLine(source, i);
      const own = this.itemError?.(doc, index) ?? null;
      if (own !== null) {
        errors = true;
        items.push({ [op]: { _index: index, status: own.status, error: { type: own.type, reason: own.reason } } });
        continue;
      }
      const fault = this.itemFault?.(doc, index) ?? 0;
      const problem = fault === 0 ? this.checkDoc(index, doc, source) : null;
      if (fault !== 0 || problem !== null) {
        errors = true;
        const status = fault !== 0 ? fault : 400;
        const type = fault === 429 ? 'es_rejected_execution_exception' : status >= 500 ? 'unavailable_shards_exception'
          : status === 403 ? 'cluster_block_exception' : status === 404 ? 'index_not_found_exception' : 'document_parsing_exception';
        items.push({ [op]: { _index: index, status, error: { type, reason: problem ?? `injected by the test (${status})` } } });
        continue;
      }
      const t = this.templateFor(index);
      this.docs.push({ index, doc, source, template: t?.name ?? null });
      items.push({ [op]: { _index: index, _id: `doc-${this.docs.length}`, _version: 1, result: 'created', status: 201, _seq_no: this.docs.length - 1, _primary_term: 1 } });
    }
    this.bulkSizes.push(items.length);
    return { took: 1, errors, items };
  }

  /** What a cluster would refuse about this document under the index's template; null if fine. */
  /** Fields each index mapped dynamically (not in its template's properties), with their types. */
  private readonly dynamicMapped = new Map<string, Map<string, string>>();

  dynamicTypes(index: string): Map<string, string> {
    let m = this.dynamicMapped.get(index);
    if (m === undefined) this.dynamicMapped.set(index, (m = new Map()));
    return m;
  }

  private dynamicType(index: string, name: string): string | undefined {
    return this.dynamicMapped.get(index)?.get(name);
  }

  private checkDoc(index: string, doc: Record<string, unknown>, source: string): string | null {
    const t = this.templateFor(index);
    const names = Object.keys(doc);
    if (t === null || t.subobjects) {
      for (const a of names) {
        for (const b of names) {
          if (b.startsWith(a + '.')) return `object mapping for [${a}] tried to parse field [${a}] as object, but found a concrete value`;
        }
      }
    }
    if (t === null) return null;
    const texts = numberTexts(source);
    for (const [name, value] of Object.entries(doc)) {
      let type = t.properties.get(name) ?? this.dynamicType(index, name);
      if (type === undefined && typeof value === 'number') {
        // Dynamic mapping as a real cluster does it: the first number seen fixes the field's type, a
        // whole one `long` and a fraction `float`, unless a dynamic template says otherwise. (A later
        // fraction in a `long` field is refused here; a real cluster indexes it truncated, silently.)
        const json = Number.isInteger(value) ? 'long' : 'double';
        type = t.dynamicByJsonType.get(json) ?? (json === 'long' ? 'long' : 'float');
        this.dynamicTypes(index).set(name, type);
      }
      if (type === undefined) continue;
      const values = Array.isArray(value) ? value : [value];
      for (let j = 0; j < values.length; j++) {
        const bad = badValue(type, values[j], texts.get(name)?.[j]);
        if (bad) return `failed to parse field [${name}] of type [${type}] in document: ${bad}`;
      }
    }
    return null;
  }
}

function parseLine(line: string, i: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new BadRequest('x_content_parse_exception', `[${i + 1}:1] line is not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest('x_content_parse_exception', `[${i + 1}:1] expected an object`);
  return v as Record<string, unknown>;
}

/**
 * The text of each number in a document line, by top-level field (one entry per value, or per element
 * of an array; undefined where it is not a number). JSON.parse gives doubles, and a Node 20 reviver
 * does not see the source text, so the line is read again here; it already parsed, so it is valid JSON.
 */
function numberTexts(line: string): Map<string, (string | undefined)[]> {
  const out = new Map<string, (string | undefined)[]>();
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  let i = 0;
  const space = (): void => {
    while (i < line.length && (line[i] === ' ' || line[i] === '\t' || line[i] === '\r' || line[i] === '\n')) i++;
  };
  const string = (): string => {
    const from = i++;
    while (line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    return JSON.parse(line.slice(from, ++i)) as string;
  };
  // One value; its text when it is a number.
  const value = (): string | undefined => {
    space();
    const c = line[i]!;
    if (c === '"') string();
    else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (line[i] === close) i++;
      else {
        for (;;) {
          if (c === '{') {
            space();
            string();
            space();
            i++; // ':'
          }
          value();
          space();
          if (line[i++] === close) break;
        }
      }
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(line)!;
      i = NUMBER.lastIndex;
      return m[0];
    } else i += line.startsWith('false', i) ? 5 : 4; // true, null
    return undefined;
  };
  space();
  i++; // '{'
  space();
  if (line[i] === '}') return out;
  for (;;) {
    space();
    const name = string();
    space();
    i++; // ':'
    space();
    const texts: (string | undefined)[] = [];
    if (line[i] === '[') {
      i++;
      space();
      if (line[i] === ']') i++;
      else {
        for (;;) {
          texts.push(value());
          space();
          if (line[i++] === ']') break;
        }
      }
    } else texts.push(value());
    // A name given twice: JSON.parse keeps the last value, and so does this.
    out.set(name, texts);
    space();
    if (line[i++] === '}') return out;
  }
}

/** A cluster's long: a 64-bit signed integer. */
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * Whether a number is a long, from its text as sent where there is one: an integer's digits against
 * the int64 range (a double cannot tell 2^63 - 1 from 2^63); a fraction or an exponent by its value,
 * which must be whole and in range (a cluster takes 5.0, and 1e3 as 1000).
 */
function badLong(v: unknown, text: string | undefined): string | null {
  if (typeof v !== 'number') return `[${String(v)}] is not a long`;
  if (text !== undefined && /^-?\d+$/.test(text)) {
    const x = BigInt(text);
    return x >= LONG_MIN && x <= LONG_MAX ? null : `[${text}] is not a long: out of range of long (${LONG_MIN} - ${LONG_MAX})`;
  }
  return Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63 ? null : `[${text ?? String(v)}] is not a long`;
}

function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(s);
}

function badValue(type: string, v: unknown, text: string | undefined): string | null {
  switch (type) {
    case 'long':
      return badLong(v, text);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? null : `[${String(v)}] is not an integer`;
    case 'double':
      return typeof v === 'number' && Number.isFinite(v) ? null : `[${String(v)}] is not a double`;
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0 ? null : `'${String(v)}' is not an IP string literal`;
    case 'date':
      if (typeof v === 'number') return Number.isInteger(v) ? null : `[${v}] is not epoch_millis`;
      return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)) ? null : `[${String(v)}] is not a date`;
    case 'keyword':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? null : `[${JSON.stringify(v)}] is not a keyword`;
    case 'geo_point': {
      if (typeof v !== 'string') return `[${JSON.stringify(v)}] is not a geo_point string`;
      const m = /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(v);
      if (m === null) return `[${v}] is not "lat,lon"`;
      const lat = Number(m[1]);
      const lon = Number(m[2]);
      return Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? null : `[${v}] is out of range`;
    }
    default:
      return null;
  }
}

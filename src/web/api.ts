/**
 * The JSON API under /api/: every number the pages show, from the store's query module (flows,
 * tops, threats) or from the live stages (exporter counters, integrations). Documented in
 * docs/api.md; the pages use nothing else.
 */
import { setMaxListeners } from 'node:events';
import type { ServerResponse } from 'node:http';
import { VERSION } from '../cli/version.js';
import { within } from '../within.js';
import { EXPORT_ROWS_MAX } from '../store/sql.js';
import { QueryInputError, StoreUnavailableError, TOP_FIELDS, flowQueryFrom, type FlowFilter, type FlowQuery, type TopField, type TopNRow } from '../store/query.js';
import { QueryAbandonedError, QueryBusyError } from '../store/query-gate.js';
import { queryScope } from '../store/query-scope.js';
import { portName, protoName } from '../record/names.js';
import { integrationsStatus } from './integrations.js';
import { exportersView } from './exporters-view.js';
import { toCsvRow, CSV_COLUMNS, flowRow } from './flow-rows.js';
import { exactJson } from './exact-json.js';
import type { WebSources } from './sources.js';

/** A request the API refuses, with the status to answer. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface Api {
  handle(path: string, params: URLSearchParams, res: ServerResponse): Promise<void>;
  storeReady(): Promise<{ ok: boolean; store: string | null; error?: string }>;
}

const TOP_LIMIT = 10;
/** At-risk servers and high-risk clients listed by /api/threats (their counts are not limited). */
const THREAT_ENDS_SHOWN = 20;
const PAGE_MAX = 1000;
/** Rows one CSV or NDJSON export may hold (read from one query, streamed). */
export const EXPORT_MAX_ROWS = EXPORT_ROWS_MAX;
/** Chart resolution: about this many points, on a step from the list below. */
const SERIES_POINTS = 120;
/** The most rows /api/exporters?limit= takes (the collector counts at most 10,000 exporters one by one). */
const EXPORTERS_LIMIT_MAX = 100_000;
/** Exporters whose recent flows are looked at for sampling rates (the busiest first). */
const SAMPLING_LOOKUP_EXPORTERS = 50;
/** How long after a bucket ends its flows are surely stored (outputs batch for about a second). */
const SETTLE_MS = 2000;
const STEPS_MS = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

/**
 * API requests answered at once (exports among them); more get 503 with Retry-After. The DuckDB
 * store runs one query at a time (query-gate.ts) and an Overview is a dozen: past this, answers would
 * take minutes. The UI's pages make a few requests each.
 */
const REQUESTS_MAX = 16;
/** Requests that read no store, not counted. */
const UNCOUNTED_PATHS = new Set(['/api/meta', '/api/integrations']);

/** The longest range a query may span (a series over it still has steps of under a year). */
const MAX_SPAN_MS = 100 * 31_557_600_000;

export function chooseStep(spanMs: number): number {
  for (const s of STEPS_MS) if (spanMs / s <= SERIES_POINTS) return s;
  return Math.ceil(spanMs / SERIES_POINTS / 86_400_000) * 86_400_000;
}

function intParam(p: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = p.get(name);
  if (v === null || v.trim() === '') return undefined;
  // Digits only: Number() would also take 1e12, 0x1A and 0b101.
  const n = /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ApiError(400, `${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * A text filter's value, blanks around it taken off; undefined when not given or empty. Only blanks
 * (a no-break space pasted into the field) is refused: read as none, it searched every flow.
 */
function textParam(p: URLSearchParams, name: string): string | undefined {
  const v = p.get(name);
  if (v === null || v === '') return undefined;
  const t = v.trim();
  if (t === '') throw new ApiError(400, `${name}: only blank characters (leave it out, or empty, for every flow)`);
  return t;
}

/** Filters shared by every flow endpoint: ip (address or CIDR), port, proto, exporter, ifIndex, threat, net, tag. */
export function filterFrom(p: URLSearchParams): FlowFilter {
  const f: FlowFilter = {};
  const ip = textParam(p, 'ip');
  if (ip !== undefined) f.ip = ip;
  const port = intParam(p, 'port', 0, 65535);
  if (port !== undefined) f.port = port;
  const proto = intParam(p, 'proto', 0, 255);
  if (proto !== undefined) f.proto = proto;
  const exporter = textParam(p, 'exporter');
  if (exporter !== undefined) f.exporter = exporter;
  const ifIndex = intParam(p, 'ifIndex', 0, 0xffffffff);
  if (ifIndex !== undefined) f.ifIndex = ifIndex;
  const threat = p.get('threat')?.trim() ?? '';
  if (threat === '1' || threat === 'true') f.threat = true;
  else if (threat !== '' && threat !== '0' && threat !== 'false') throw new ApiError(400, `threat: expected 1 or true (0, false or none: every flow), got ${JSON.stringify(threat)}`);
  const net = textParam(p, 'net');
  if (net !== undefined) f.net = net;
  const tag = textParam(p, 'tag');
  if (tag !== undefined) f.tag = tag;
  return f;
}

/**
 * Until the response can take more, or is gone: a client that disconnects or stops reading gets
 * 'close', never 'drain', and waiting for 'drain' alone kept the export's handler for good. A client
 * that stays connected without reading for `stallMs` is cut off: it would hold its export's place
 * (EXPORTS_AT_ONCE) and store query for as long as it liked.
 */
function drainOrClose(res: ServerResponse, stallMs: number): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((ok) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off('drain', done);
      res.off('close', done);
      ok();
    };
    const timer = setTimeout(() => {
      res.destroy();
      done();
    }, stallMs);
    res.on('drain', done);
    res.on('close', done);
  });
}

function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(exactJson(body));
}

/**
 * Networks asked for on each side (the most the store answers): a network's sums and its sent and
 * received bytes are exact while no side has more networks than this in the range.
 */
const NETWORKS_MAX = 1000;

/** Merges two top-N lists by key (traffic of either end), largest `metric` first. */
function mergeTops(a: TopNRow[], b: TopNRow[], limit: number, metric: 'bytes' | 'flows' = 'bytes'): TopNRow[] {
  return eitherEnd(a, b, Infinity, limit, metric).rows;
}

/**
 * Either end's top `limit` from each side's top `each` (a key's two sides summed), and whether that is
 * exact: a side's list shorter than `each` holds every key of that side; a full one bounds the keys it
 * lacks by its last value. So the answer is exact when every key shown has both sides known, and no
 * key left out (on one list, or on neither) could pass the last shown.
 */
export function eitherEnd(a: TopNRow[], b: TopNRow[], each: number, limit: number, metric: 'bytes' | 'flows' = 'bytes'): { rows: TopNRow[]; exact: boolean } {
  const m = new Map<string | number, TopNRow & { sides: number }>();
  for (const [side, list] of [[1, a], [2, b]] as const) {
    for (const r of list) {
      const cur = m.get(r.key);
      if (cur === undefined) m.set(r.key, { ...r, sides: side });
      else {
        cur.bytes += r.bytes;
        cur.packets += r.packets;
        cur.flows += r.flows;
        cur.label ??= r.label;
        cur.sides |= side;
      }
    }
  }
  const fullA = a.length >= each, fullB = b.length >= each;
  const lastA = fullA ? a[a.length - 1]![metric] : 0, lastB = fullB ? b[b.length - 1]![metric] : 0;
  const all = [...m.values()].sort((x, y) => y[metric] - x[metric]);
  const top = all.slice(0, limit);
  const unknown = (r: { sides: number }): number => ((r.sides & 1) === 0 && fullA ? lastA : 0) + ((r.sides & 2) === 0 && fullB ? lastB : 0);
  let exact = top.every((r) => unknown(r) === 0);
  if (exact && (fullA || fullB)) {
    // Nothing left out may pass the last shown: neither a key on one list only (its other side at most
    // that list's last value) nor one on neither (at most both last values), which may fill a short list.
    const lowest = top.length < limit ? 0 : top[top.length - 1]![metric];
    if (top.length < limit || lowest < lastA + lastB) exact = false;
    for (let i = limit; exact && i < all.length; i++) if (all[i]![metric] + unknown(all[i]!) > lowest) exact = false;
  }
  return { rows: top.map(({ sides: _sides, ...r }) => r), exact };
}

/** Keys asked for on each side of an either-end list (talkers, countries, ASNs): see eitherEnd. */
const EITHER_END_EACH = 1000;

const bytesOf = (rows: TopNRow[], key: string | number): number => rows.find((y) => y.key === key)?.bytes ?? 0;

/** The web server's own access settings, for the Integrations page: the login, and HTTPS's certificate. */
export interface WebAccess {
  login: boolean;
  https: { certPath: string; keyPath: string; subject: string; issuer: string; notAfter: number | null; endsFirst: string | null; loadedAt: number | null; error: string | null } | null;
}

/** CSV/NDJSON exports served at once; more are answered 429 (each holds a store query and the main thread's time). */
export const EXPORTS_AT_ONCE = 2;

/** How long an export waits for its client to read more before giving up its place. */
const EXPORT_STALL_MS = 60_000;
/**
 * How long an export may take in all: a client reading a little before each stall cut-off would keep
 * its place for as long as it liked. 100,000 rows of NDJSON (about 50 MB) in 10 minutes is 85 KB/s.
 */
const EXPORT_TOTAL_MS = 600_000;

export function createApi(src: WebSources, access: () => WebAccess | null = () => null, opts: { exportStallMs?: number; exportTotalMs?: number } = {}): Api {
  let exportsRunning = 0;
  let requestsRunning = 0;
  let probing: ReturnType<Api['storeReady']> | null = null;
  /** Whether the store answers a query, on the probe's own connection (not behind the API's queries). */
  const probeStore = async (): ReturnType<Api['storeReady']> => {
    const q = flowQueryFrom(src.outputs);
    if (q === null) return { ok: !src.config.EF_OUTPUT_DUCKDB_ENABLE && !src.config.EF_OUTPUT_CLICKHOUSE_ENABLE, store: null };
    try {
      await queryScope.run({ probe: true }, () => q.exporters({ from: Date.now() - 60_000, to: Date.now() + 1 }));
      const problem = q.problem?.() ?? null;
      return problem === null ? { ok: true, store: q.store } : { ok: false, store: q.store, error: problem };
    } catch (err) {
      return { ok: false, store: q.store, error: q.problem?.() ?? (err as Error).message };
    }
  };
  const query = (): FlowQuery => {
    const q = flowQueryFrom(src.outputs);
    if (q === null) throw new ApiError(503, 'no store to query: enable EF_OUTPUT_DUCKDB_ENABLE or EF_OUTPUT_CLICKHOUSE_ENABLE');
    return q;
  };

  /** from/to from the request; `to` defaults to now, `from` to an hour before; from=0 means "since the oldest stored flow". */
  async function range(p: URLSearchParams): Promise<{ from: number; to: number }> {
    const now = Date.now();
    const to = intParam(p, 'to', 1, 8.64e15) ?? now + 1;
    // Never before the epoch: the stores refuse negative times (to=1 asked for from=-3599999).
    const hourBefore = Math.max(0, to - 3_600_000);
    let from = intParam(p, 'from', 0, 8.64e15) ?? hourBefore;
    if (from === 0 && hourBefore > 0) {
      // From 1: a flow stamped 0 (an exporter without a clock) would stretch the range to 1970.
      from = (await query().oldest({ from: 1, to })) ?? hourBefore;
    }
    if (to <= from) throw new ApiError(400, 'to must be after from');
    // Series steps are chosen from the span (at most a year a step), so spans are bounded too.
    if (to - from > MAX_SPAN_MS) throw new ApiError(400, `from, to: the range may span at most 100 years, got ${Math.round((to - from) / 31_557_600_000)}`);
    return { from, to };
  }

  const top = (q: FlowQuery, field: TopField, r: { from: number; to: number }, filter: FlowFilter, limit = TOP_LIMIT) =>
    q.topN({ ...r, field, metric: 'bytes', limit, filter });

  const routes: Record<string, (p: URLSearchParams, res: ServerResponse) => Promise<void>> = {
    async '/api/meta'(_p, res) {
      const q = flowQueryFrom(src.outputs);
      sendJson(res, { version: VERSION, passiveTotalUrl: src.config.EF_WEBUI_PASSIVETOTAL_URL, store: q?.store ?? null, now: Date.now() });
    },

    async '/api/overview'(p, res) {
      const q = query();
      const r = await range(p);
      const filter = filterFrom(p);
      const stepMs = chooseStep(r.to - r.from);
      const from = Math.floor(r.from / stepMs) * stepMs;
      const [series, srcIp, dstIp, ports, protocols, srcCountry, dstCountry, srcAs, dstAs, srcNet, dstNet, threat] = await Promise.all([
        q.series({ from, to: r.to, stepMs, filter }),
        top(q, 'flow.src.ip.addr', r, filter, EITHER_END_EACH), top(q, 'flow.dst.ip.addr', r, filter, EITHER_END_EACH),
        top(q, 'flow.server.l4.port.id', r, filter),
        // Every protocol (256 at most): their sums are the totals over exactly [from, to).
        top(q, 'l4.proto.id', r, filter, 256),
        top(q, 'flow.src.geo.country.name', r, filter, EITHER_END_EACH), top(q, 'flow.dst.geo.country.name', r, filter, EITHER_END_EACH),
        top(q, 'flow.src.as.asn', r, filter, EITHER_END_EACH), top(q, 'flow.dst.as.asn', r, filter, EITHER_END_EACH),
        // Up to NETWORKS_MAX each: a network's sent and received bytes are read from both lists.
        top(q, 'flow.src.ip.subnet.name', r, filter, NETWORKS_MAX), top(q, 'flow.dst.ip.subnet.name', r, filter, NETWORKS_MAX),
        q.count({ ...r, filter: { ...filter, threat: true } }),
      ]);
      const sec = stepMs / 1000;
      // Not from the series: its first step starts at or before `from`, and holds flows from before it.
      const totals = { flows: 0, bytes: 0, packets: 0, threatFlows: threat };
      for (const x of protocols) {
        totals.flows += x.flows;
        totals.bytes += x.bytes;
        totals.packets += x.packets;
      }
      const talkers = eitherEnd(srcIp, dstIp, EITHER_END_EACH, TOP_LIMIT);
      const countries = eitherEnd(srcCountry, dstCountry, EITHER_END_EACH, TOP_LIMIT);
      const asns = eitherEnd(srcAs, dstAs, EITHER_END_EACH, TOP_LIMIT);
      const networks = eitherEnd(srcNet, dstNet, NETWORKS_MAX, TOP_LIMIT);
      const approximate = Object.entries({ talkers, countries, asns, networks }).filter(([, v]) => !v.exact).map(([k]) => k);
      sendJson(res, {
        from: r.from, to: r.to, stepMs, totals,
        // Per-second rates over each bucket.
        // The bucket still filling (and the output's batch deadline behind it) would read as a drop: left out.
        series: series.filter((s) => s.ts + stepMs <= r.to - SETTLE_MS || r.to < Date.now() - SETTLE_MS)
          .map((s) => ({ t: s.ts, flows: s.flows / sec, bytes: s.bytes / sec, packets: s.packets / sec })),
        top: {
          talkers: talkers.rows.map((x) => ({ ip: String(x.key), bytes: x.bytes, packets: x.packets, flows: x.flows })),
          ports: ports.map((x) => ({ port: Number(x.key), service: portName(6, Number(x.key)) || portName(17, Number(x.key)), bytes: x.bytes, packets: x.packets, flows: x.flows })),
          protocols: protocols.slice(0, TOP_LIMIT).map((x) => ({ proto: Number(x.key), name: x.label ?? String(x.key), bytes: x.bytes, packets: x.packets, flows: x.flows })),
          countries: countries.rows.map((x) => ({ name: String(x.key), bytes: x.bytes, packets: x.packets, flows: x.flows })),
          asns: asns.rows.map((x) => ({ asn: Number(x.key), org: x.label ?? '', bytes: x.bytes, packets: x.packets, flows: x.flows })),
          // Named in the address metadata file; bytes it sent (as the source) and received too.
          networks: networks.rows.map((x) => ({
            name: String(x.key), bytes: x.bytes, packets: x.packets, flows: x.flows,
            outBytes: bytesOf(srcNet, x.key), inBytes: bytesOf(dstNet, x.key),
          })),
          // The either-end lists above that may not be the exact top 10 (see eitherEnd): rare, in ranges of very many keys.
          approximate,
        },
      });
    },

    async '/api/top'(p, res) {
      const field = p.get('field') as TopField | null;
      if (field === null || !(TOP_FIELDS as readonly string[]).includes(field)) throw new ApiError(400, `field: one of ${TOP_FIELDS.join(', ')}`);
      const metric = p.get('metric') ?? 'bytes';
      if (metric !== 'bytes' && metric !== 'packets' && metric !== 'flows') throw new ApiError(400, 'metric: one of bytes, packets, flows');
      const r = await range(p);
      const rows = await query().topN({ ...r, field, metric, limit: intParam(p, 'limit', 1, 1000) ?? TOP_LIMIT, filter: filterFrom(p) });
      sendJson(res, { from: r.from, to: r.to, field, metric, rows });
    },

    async '/api/conversations'(p, res) {
      const metric = p.get('metric') ?? 'bytes';
      if (metric !== 'bytes' && metric !== 'packets' && metric !== 'flows') throw new ApiError(400, 'metric: one of bytes, packets, flows');
      const r = await range(p);
      const rows = await query().conversations({ ...r, metric, limit: intParam(p, 'limit', 1, 1000) ?? TOP_LIMIT, filter: filterFrom(p) });
      sendJson(res, { from: r.from, to: r.to, metric, conversations: rows.map((c) => ({ ...c, protoName: protoName(c.proto), service: portName(c.proto, c.port) })) });
    },

    async '/api/interfaces'(p, res) {
      const r = await range(p);
      const interfaces = await query().interfaces({ ...r, filter: filterFrom(p), limit: intParam(p, 'limit', 1, 10_000) ?? 50 });
      sendJson(res, { from: r.from, to: r.to, interfaces });
    },

    async '/api/interface-counters'(p, res) {
      const exporter = p.get('exporter')?.trim();
      const ifIndex = intParam(p, 'ifIndex', 0, 0xffffffff);
      if (!exporter || ifIndex === undefined) throw new ApiError(400, 'exporter and ifIndex: both required (one interface of one exporter)');
      const r = await range(p);
      sendJson(res, { from: r.from, to: r.to, exporter, ifIndex, ...(await query().interfaceCounters({ ...r, exporter, ifIndex })) });
    },

    async '/api/series'(p, res) {
      const r = await range(p);
      const stepMs = intParam(p, 'step', 1000, 86_400_000) ?? chooseStep(r.to - r.from);
      const from = Math.floor(r.from / stepMs) * stepMs;
      if ((r.to - from) / stepMs > 10_000) throw new ApiError(400, 'step: too small for this range (at most 10,000 points)');
      const points = await query().series({ from, to: r.to, stepMs, filter: filterFrom(p) });
      sendJson(res, { from, to: r.to, stepMs, points });
    },

    async '/api/threats'(p, res) {
      const q = query();
      const r = await range(p);
      const limit = intParam(p, 'limit', 1, PAGE_MAX) ?? 50;
      const threat: FlowFilter = { threat: true };
      const [recent, byName, servers, clients, endCounts, all, feeds, srcNets, dstNets] = await Promise.all([
        q.threatFlows({ ...r, limit }),
        q.topN({ ...r, field: 'sec.threat.name', metric: 'flows', limit: 20, filter: threat }),
        q.atRiskServers({ ...r, limit: THREAT_ENDS_SHOWN }),
        q.highRiskClients({ ...r, limit: THREAT_ENDS_SHOWN }),
        q.threatEndCounts(r),
        q.count(r),
        q.topN({ ...r, field: 'sec.threat.feed.name', metric: 'flows', limit: 20, filter: threat }),
        q.topN({ ...r, field: 'flow.src.ip.subnet.name', metric: 'flows', limit: NETWORKS_MAX, filter: threat }),
        q.topN({ ...r, field: 'flow.dst.ip.subnet.name', metric: 'flows', limit: NETWORKS_MAX, filter: threat }),
      ]);
      const rows = recent.rows.map(flowRow);
      const byFeed = feeds.map((x) => ({ feed: String(x.key), flows: x.flows, bytes: x.bytes }));
      let tBytes = 0;
      // Bytes of all threat flows: summed by the store over the threat filter.
      const bytesRows = await q.topN({ ...r, field: 'l4.proto.id', metric: 'bytes', limit: 256, filter: threat });
      for (const b of bytesRows) tBytes += b.bytes;
      sendJson(res, {
        from: r.from, to: r.to,
        totals: { flows: recent.total, bytes: tBytes, allFlows: all, atRiskServers: endCounts.atRiskServers, highRiskClients: endCounts.highRiskClients },
        byName: byName.map((x) => ({ name: String(x.key), flows: x.flows, bytes: x.bytes })),
        byFeed,
        // The address metadata file's networks with an end in threat flows (ours, mostly).
        byNetwork: mergeTops(srcNets, dstNets, 20, 'flows').map((x) => ({ network: String(x.key), flows: x.flows, bytes: x.bytes })),
        atRiskServers: servers.map((x) => ({ ip: x.ip, network: x.network, peers: x.clients, flows: x.flows, bytes: x.bytes, packets: x.packets, names: x.threatNames })),
        highRiskClients: clients.map((x) => ({ ip: x.ip, network: x.network, peers: x.servers, flows: x.flows, bytes: x.bytes, packets: x.packets, names: x.threatNames })),
        recent: rows,
      });
    },

    async '/api/flows'(p, res) {
      const q = query();
      const r = await range(p);
      const filter = filterFrom(p);
      const format = p.get('format') ?? 'json';
      if (format === 'json') {
        const limit = intParam(p, 'limit', 1, PAGE_MAX) ?? 50;
        const offset = intParam(p, 'offset', 0, 1_000_000) ?? 0;
        const result = await q.search({ ...r, filter, limit, offset });
        sendJson(res, { from: r.from, to: r.to, total: result.total, limit, offset, exportLimit: EXPORT_MAX_ROWS, rows: result.rows.map(flowRow) });
        return;
      }
      if (format !== 'csv' && format !== 'ndjson') throw new ApiError(400, 'format: one of json, csv, ndjson');
      const max = Math.min(intParam(p, 'limit', 1, EXPORT_MAX_ROWS) ?? EXPORT_MAX_ROWS, EXPORT_MAX_ROWS);
      if (p.get('offset') !== null) throw new ApiError(400, 'offset: exports start at the newest flow of the range; narrow the range (to=) instead');
      // Headers go out with the first rows, so a bad filter or a failing store still gets its status.
      const head = () => {
        if (res.headersSent) return;
        res.writeHead(200, {
          'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          'content-disposition': `attachment; filename="flows.${format}"`,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        if (format === 'csv') res.write(CSV_COLUMNS.join(',') + '\n');
      };
      if (res.req.method === 'HEAD') {
        head();
        res.end();
        return;
      }
      if (exportsRunning >= EXPORTS_AT_ONCE) {
        res.setHeader('retry-after', '10');
        throw new ApiError(429, `${EXPORTS_AT_ONCE} exports are running; try again when one has ended`);
      }
      exportsRunning++;
      // Given up when the client goes, not when the handler ends: the store query is interrupted
      // then (query.ts), and a third export waited for it to stop.
      let holding = true;
      const release = (): void => {
        if (holding) exportsRunning--;
        holding = false;
      };
      res.once('close', release);
      const deadline = Date.now() + (opts.exportTotalMs ?? EXPORT_TOTAL_MS);
      try {
        // The rows come in pieces of up to EXPORT_PIECE_ROWS (query.ts), the event loop given back
        // after each: the probes, /metrics and the decoding (on this thread when the DuckDB output
        // is on) wait on it while rows become text.
        await q.exportSearch({ ...r, filter, limit: max }, async (docs) => {
          head();
          if (res.destroyed) return false;
          const lines = docs.map((doc) => (format === 'csv' ? toCsvRow(flowRow(doc)) : exactJson(doc)));
          if (!res.write(lines.join('\n') + '\n')) await drainOrClose(res, Math.max(0, Math.min(opts.exportStallMs ?? EXPORT_STALL_MS, deadline - Date.now())));
          await new Promise((resume) => setImmediate(resume));
          return !res.destroyed;
        });
        head();
        res.end();
      } finally {
        res.off('close', release);
        release();
      }
    },

    async '/api/exporters'(p, res) {
      // Read before the work: a bad parameter gets its 400 at once.
      const limit = intParam(p, 'limit', 1, EXPORTERS_LIMIT_MAX);
      const find = p.get('q')?.trim().toLowerCase() ?? '';
      const lookup = p.get('sampling')?.trim() ?? 'stored';
      if (lookup !== 'stored' && lookup !== 'decoders') throw new ApiError(400, `sampling: expected stored (the default) or decoders, got ${JSON.stringify(lookup)}`);
      // Fresh decoder state from the workers, but never wait long on them.
      if (src.pool) await within(src.pool.sync(), 1000);
      const all = exportersView(src);
      // The page's totals are over every exporter, whatever the rows sent are.
      const sums = { packets: 0, bytes: 0, records: 0, errorCount: 0 };
      for (const e of all) {
        sums.packets += e.packets;
        sums.bytes += e.bytes;
        sums.records += e.records;
        sums.errorCount += e.errorCount;
      }
      const matching = find === '' ? all : all.filter((e) => e.exporter.toLowerCase().includes(find) || e.host.toLowerCase().includes(find) || e.network.toLowerCase().includes(find));
      // The list is busiest first, so a limit keeps the busiest: 10,000 rows were 5.85 MB, and the
      // page that drew them froze for seconds at each refresh.
      const exporters = limit === undefined ? matching : matching.slice(0, limit);
      // Rates applied to recently stored flows complete what decoders describe (sFlow carries its rate per sample).
      const q = flowQueryFrom(src.outputs);
      if (q !== null && lookup === 'stored') {
        const now = Date.now();
        await Promise.all(exporters.slice(0, SAMPLING_LOOKUP_EXPORTERS).map(async (e) => {
          try {
            const recent = await q.search({ from: now - 3_600_000, to: now + 1, filter: { exporter: e.exporter }, limit: 100 });
            const rates = new Set(e.samplingRates);
            for (const d of recent.rows) if (typeof d['flow.sampling.rate'] === 'number' && d['flow.sampling.rate'] > 0) rates.add(d['flow.sampling.rate']);
            e.samplingRates = [...rates].sort((a, b) => a - b);
          } catch {
            // The counters alone still make the page.
          }
        }));
      }
      sendJson(res, { now: Date.now(), total: all.length, matched: matching.length, sums, exporters });
    },

    async '/api/integrations'(_p, res) {
      const s = integrationsStatus(src.enrichers, src.outputs);
      const c = s.riskiqOutput.counters;
      const sum = (re: RegExp) => Object.entries(c).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
      sendJson(res, {
        now: Date.now(),
        feeds: s.feeds.map((f) => ({ ...f, details: undefined })),
        files: src.fileStatuses?.() ?? [],
        web: access(),
        riskiqOutput: { ...s.riskiqOutput, sent: sum(/^(records_)?sent$/), skipped: sum(/^(records_)?skipped/), dropped: sum(/^dropped/) },
      });
    },
  };

  return {
    async handle(path, params, res) {
      const fn = routes[path];
      if (fn === undefined) throw new ApiError(404, `no such endpoint: ${path}`);
      // Each parameter once: which of two values a filter took would be a guess.
      for (const name of new Set(params.keys())) {
        if (params.getAll(name).length > 1) throw new ApiError(400, `${name}: given more than once`);
      }
      // Past the bound, refused at once rather than queued for minutes behind the others' queries.
      const counted = !UNCOUNTED_PATHS.has(path);
      if (counted && requestsRunning >= REQUESTS_MAX) {
        res.setHeader('retry-after', '5');
        throw new ApiError(503, `busy: ${requestsRunning} API requests are running; try again in a few seconds`);
      }
      if (counted) requestsRunning++;
      // The store's queries for a client that has gone are not run, or are stopped (query-gate.ts).
      const gone = new AbortController();
      // Each of a request's queries (an Overview's dozen) listens on it while it waits or runs: past
      // Node's default of 10, a warning about a leak that is none would reach standard error.
      setMaxListeners(64, gone.signal);
      res.once('close', () => {
        if (!res.writableFinished) gone.abort();
      });
      try {
        await queryScope.run({ signal: gone.signal }, () => fn(params, res));
      } catch (err) {
        if (err instanceof QueryInputError) throw new ApiError(400, err.message);
        if (err instanceof QueryBusyError) res.setHeader('retry-after', '5');
        if (err instanceof StoreUnavailableError) throw new ApiError(503, err.message);
        // Nobody to answer; not worth a log line either.
        if (err instanceof QueryAbandonedError) throw new ApiError(503, err.message);
        throw err;
      } finally {
        if (counted) requestsRunning--;
      }
    },
    storeReady() {
      // Probes close together share one query.
      probing ??= probeStore().finally(() => {
        probing = null;
      });
      return probing;
    },
  };
}

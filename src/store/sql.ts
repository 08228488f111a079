/**
 * The query module's SQL, written once for both stores. A Dialect covers what differs between
 * DuckDB and ClickHouse (absent strings are NULL in one and '' in the other, list functions, IP
 * parsing, paging syntax). Every caller value becomes a `?` parameter; only identifiers that come
 * from our own tables (column names, the configured table name, checked at start) are spliced in.
 */
import { QueryInputError, parseIpOrCidr } from './ip-filter.js';
import { canonicalIp } from '../canonical-ip.js';
import { ipv6At } from '../decode/ip.js';
import type { ConversationQuery, FlowFilter, InterfaceCountersQuery, SearchQuery, SeriesQuery, ThreatQuery, TimeRange, TopField, TopNQuery } from './query.js';

export type Param = number | string;

export interface BuiltQuery {
  sql: string;
  params: Param[];
}

export interface Dialect {
  name: 'duckdb' | 'clickhouse';
  /** True when a string expression holds a value. */
  present(e: string): string;
  /** One row per comma-separated name in a string expression (a select-list item). */
  explodeNames(e: string): string;
  /** Distinct values present (an absent string is NULL in DuckDB, '' in ClickHouse). */
  countDistinct(e: string): string;
  /** Sum of a 64-bit counter that cannot wrap (ClickHouse's sum of UInt64 wraps past 2^64). */
  sum(e: string): string;
  /** A text column in an ascending ORDER BY, absent values first in both stores. */
  ascText(e: string): string;
  /** Distinct values of a string expression joined with ','. */
  joinDistinct(e: string): string;
  idiv(a: string, b: string): string;
  /** True when a string expression starts with a `?` parameter. */
  startsWith(e: string): string;
  /**
   * IPv4 text `e` within [lo, hi], a range narrower than the whole octets `within` (a prefix test,
   * or `isV4`) already match: the SQL, and its parameters. `n` is the first octet that differs.
   */
  v4Within(e: string, within: string, n: number, lo: number, hi: number): { sql: string; params: Param[] };
  /** `test` for rows where `cond` holds, and false for the others (DuckDB does not evaluate it for them; ClickHouse 18.16 does). */
  onlyWhere(cond: string, test: string): string;
  /**
   * IPv6 text `e`, known by `within` to start with the text of its first n - 1 groups, whose n-th
   * group is within [lo, hi] (4 hex digits each; that group's text is '' where the '::' starts there,
   * a zero group): the SQL, and its parameters. `whole` is the range as 32 hex digits, for a store
   * that parses the address instead.
   */
  v6GroupWithin(e: string, within: string, n: number, lo: string, hi: string, whole: { lo: string; hi: string }): { sql: string; params: Param[] };
  /** True for IPv4-mapped text, `::ffff:` and a dotted quad (the only way records write such an address). */
  isMappedV4(e: string): string;
  /** The dotted quad of IPv4-mapped text (what follows `::ffff:`); only applied where `isMappedV4` holds. */
  mappedV4(e: string): string;
  /** IPv6 text to 32 lower-case hex digits; only applied where `isV6` holds. */
  ip6hex(e: string): string;
  isV4(e: string): string;
  isV6(e: string): string;
  /**
   * Every column of a page of rows: `where`, `order` and paging (whose `?`s follow the where's)
   * applied to `table`.
   */
  page(table: string, where: string, order: string): string;
  /** Any value of a string expression (used for labels). */
  anyStr(e: string): string;
  /** `e` of the group's newest row (largest ts). */
  newest(e: string): string;
  /** `e` of the group's newest row among those where `cond` holds. */
  newestWhere(e: string, cond: string): string;
  /** The string `key` at the top of the `rest` JSON (a FlowRecord property name); only where hasRest(key) holds. */
  restText(key: string): string;
  /** True where `rest` holds `key`: a substring test, far cheaper than parsing the JSON, that most rows fail. */
  hasRest(key: string): string;
  /** True where the comma-joined list `e` (subnet tags: a tag holds no comma) has the element `?`. */
  listHas(e: string): string;
}

export const DUCKDB_DIALECT: Dialect = {
  name: 'duckdb',
  present: (e) => `(${e} IS NOT NULL AND ${e} <> '')`,
  explodeNames: (e) => `unnest(list_distinct(list_filter(string_split(coalesce(${e}, ''), ','), x -> x <> '')))`,
  countDistinct: (e) => `count(DISTINCT ${e})`,
  // A BIGINT sum is a HUGEINT: exact.
  sum: (e) => `sum(${e})`,
  ascText: (e) => `${e} ASC NULLS FIRST`,
  joinDistinct: (e) => `string_agg(DISTINCT ${e}, ',')`,
  idiv: (a, b) => `(${a} // ${b})`,
  startsWith: (e) => `starts_with(${e}, ?)`,
  // That octet's number, only for rows the prefix matched (parsing all four took 0.6-0.7 s over 3M rows).
  v4Within: (e, within, n, lo, hi) => ({
    sql: `CASE WHEN ${within} THEN TRY_CAST(split_part(${e}, '.', ${n}) AS INTEGER) BETWEEN ? AND ? ELSE false END`,
    params: [(lo >>> (32 - 8 * n)) & 255, (hi >>> (32 - 8 * n)) & 255],
  }),
  onlyWhere: (c, t) => `CASE WHEN ${c} THEN ${t} ELSE false END`,
  // That group's text, padded to 4 digits (which then order as numbers): parsing the whole address
  // took 2.3-4.4 s over 1M rows whose text most started like the prefix's.
  v6GroupWithin: (e, within, n, lo, hi) => ({
    sql: `CASE WHEN ${within} THEN lpad(split_part(${e}, ':', ${n}), 4, '0') BETWEEN ? AND ? ELSE false END`,
    params: [lo, hi],
  }),
  isMappedV4: (e) => `(starts_with(${e}, '::ffff:') AND strpos(${e}, '.') > 0)`,
  mappedV4: (e) => `substr(${e}, 8)`,
  ip6hex: (e) => `ufc_ip6hex(${e})`,
  isV4: (e) => `(${e} IS NOT NULL AND strpos(${e}, '.') > 0 AND strpos(${e}, ':') = 0)`,
  isV6: (e) => `(${e} IS NOT NULL AND strpos(${e}, ':') > 0)`,
  // The page's row ids first, from the few columns the filter and order need, then its rows: a
  // plain SELECT * read and decompressed every column of every row in range before filtering
  // (370-520 ms for 100 rows of one address among 3M, against 120-130 ms).
  page: (table, where, order) => `SELECT * FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} ${where} ORDER BY ${order} LIMIT ? OFFSET ?) ORDER BY ${order}`,
  anyStr: (e) => `max(${e})`,
  newest: (e) => `arg_max(${e}, ts)`,
  newestWhere: (e, c) => `arg_max(${e}, ts) FILTER (WHERE ${c})`,
  // TRY: a `rest` DuckDB's JSON parser refuses (a lone surrogate, which JSON.stringify writes) is NULL, not a failed query.
  restText: (key) => `TRY(json_extract_string(rest, '$.${key}'))`,
  hasRest: (key) => `contains(rest, '"${key}":')`,
  listHas: (e) => `list_contains(string_split(${e}, ','), ?)`,
};

/**
 * Macros DuckDB needs for IP ranges (temporary: created on each query connection). The IPv6 one
 * turns an embedded IPv4 tail (`::ffff:10.0.0.1`, RFC 4291 section 2.2 form 3) into two hex groups,
 * pads a leading or trailing '::', replaces '::' with the missing zero groups (8 minus the colons
 * present), and left-pads every group to 4 digits: the same digits as v6ToHex (ip-filter.ts).
 * A macro's argument is copied into its body wherever it is named, and these nest: each binds its
 * argument once through a one-element list_transform, or the IPv6 expression grew to a 691 KB plan
 * that took seconds to plan for every query with an IPv6 filter.
 */
export const DUCKDB_MACROS = [
  `CREATE OR REPLACE TEMP MACRO ufc_ip4(s) AS (
     TRY_CAST(split_part(s, '.', 1) AS BIGINT) * 16777216 + TRY_CAST(split_part(s, '.', 2) AS BIGINT) * 65536
     + TRY_CAST(split_part(s, '.', 3) AS BIGINT) * 256 + TRY_CAST(split_part(s, '.', 4) AS BIGINT))`,
  `CREATE OR REPLACE TEMP MACRO ufc_ip6pad(s) AS (
     list_transform([s], u -> list_transform([CASE WHEN left(u, 1) = ':' THEN '0' || u ELSE u END],
       t -> CASE WHEN right(t, 1) = ':' THEN t || '0' ELSE t END)[1])[1])`,
  `CREATE OR REPLACE TEMP MACRO ufc_ip6full(p) AS (
     list_transform([p], q -> replace(q, '::', ':' || repeat('0:', 8 - (length(q) - length(replace(q, ':', ''))))))[1])`,
  `CREATE OR REPLACE TEMP MACRO ufc_ip6v4tail(s) AS (
     list_transform([s], u -> CASE WHEN strpos(u, '.') = 0 THEN u
       ELSE list_transform([right(u, strpos(reverse(u), ':') - 1)],
         v4 -> left(u, length(u) - strpos(reverse(u), ':') + 1) || lower(hex(ufc_ip4(v4) // 65536)) || ':' || lower(hex(ufc_ip4(v4) % 65536)))[1] END)[1])`,
  `CREATE OR REPLACE TEMP MACRO ufc_ip6hex(s) AS (
     array_to_string(list_transform(string_split(ufc_ip6full(ufc_ip6pad(ufc_ip6v4tail(lower(s)))), ':'), g -> lpad(g, 4, '0')), ''))`,
];

export const CLICKHOUSE_DIALECT: Dialect = {
  name: 'clickhouse',
  present: (e) => `(${e} != '')`,
  // arrayReduce('groupUniqArray', ...) rather than arrayDistinct: the latter is newer than 18.16.
  explodeNames: (e) => `arrayJoin(arrayFilter(x -> x != '', arrayReduce('groupUniqArray', splitByChar(',', ${e}))))`,
  countDistinct: (e) => `uniqExactIf(${e}, ${e} != '')`,
  // Decimal128 holds any sum of UInt64 counters exactly (checked on 18.16); plain sum() wraps past 2^64.
  sum: (e) => `sum(toDecimal128(${e}, 0))`,
  ascText: (e) => e,
  joinDistinct: (e) => `arrayStringConcat(groupUniqArray(${e}), ',')`,
  idiv: (a, b) => `intDiv(${a}, ${b})`,
  startsWith: (e) => `startsWith(${e}, ?)`,
  // Its own parser is quick: 230 ms over 3M rows against 593 ms splitting out the octet.
  v4Within: (e, within, _n, lo, hi) => ({ sql: `${within} AND IPv4StringToNum(${e}) BETWEEN ? AND ?`, params: [lo, hi] }),
  // 18.16 has no boolean literals.
  onlyWhere: (c, t) => `if(${c}, ${t}, 0)`,
  // Its own parser, as for IPv4 (18.16 has no leftPad to pad the group with).
  v6GroupWithin: (e, within, _n, _lo, _hi, whole) => ({ sql: `if(${within}, lower(hex(IPv6StringToNum(${e}))) BETWEEN ? AND ?, 0)`, params: [whole.lo, whole.hi] }),
  isMappedV4: (e) => `(startsWith(${e}, '::ffff:') AND position(${e}, '.') > 0)`,
  mappedV4: (e) => `substring(${e}, 8)`,
  ip6hex: (e) => `lower(hex(IPv6StringToNum(${e})))`,
  isV4: (e) => `(position(${e}, '.') > 0 AND position(${e}, ':') = 0)`,
  isV6: (e) => `(position(${e}, ':') > 0)`,
  // ClickHouse reads the other columns only for rows that pass the filter (PREWHERE) by itself. It
  // predates LIMIT n OFFSET m in 18.16; "LIMIT offset, n" works on every version.
  page: (table, where, order) => `SELECT * FROM ${table} ${where} ORDER BY ${order} LIMIT ?, ?`,
  // max, as in DuckDB: absent strings are '' here (NULL there), and any() could pick one of those.
  anyStr: (e) => `max(${e})`,
  newest: (e) => `argMax(${e}, ts)`,
  newestWhere: (e, c) => `argMaxIf(${e}, ts, ${c})`,
  // visitParamExtractString takes the first `"key":` anywhere in the text, so it reads only the text
  // before `"extra":`: restJson writes the record's own keys first and `extra` last, and a key of
  // `extra` (raw elements, the address metadata's fields) may be named like one of them. (A value's
  // own `"extra":` is escaped, `\"extra\":`, and does not match.)
  restText: (key) => `visitParamExtractString(substring(rest, 1, position(concat(rest, '"extra":'), '"extra":') - 1), '${key}')`,
  hasRest: (key) => `position(rest, '"${key}":') > 0`,
  listHas: (e) => `has(splitByChar(',', ${e}), ?)`,
};

/** A port, or 0 for ICMP and ICMPv6, whose exporters put the type and code there (a ping's request and reply are one conversation). */
const ICMP_NO_PORT = (port: string): string => `CASE WHEN proto = 1 OR proto = 58 THEN 0 ELSE ${port} END`;

/** Client and server ends from the orientation (1: source is the client, 2: destination is); unknown counts source as client. */
const CLIENT = (a: string, b: string): string => `CASE WHEN orientation = 2 THEN ${b} ELSE ${a} END`;
const SERVER = (a: string, b: string): string => `CASE WHEN orientation = 2 THEN ${a} ELSE ${b} END`;

interface KeyDef {
  expr: (d: Dialect) => string;
  numeric: boolean;
  /** Excludes the "unknown" value (AS 0, empty strings). */
  skipZero?: boolean;
  explode?: boolean;
  label?: string;
}

const KEYS: Record<TopField, KeyDef> = {
  'flow.src.ip.addr': { expr: () => 'src_ip', numeric: false },
  'flow.dst.ip.addr': { expr: () => 'dst_ip', numeric: false },
  'flow.client.ip.addr': { expr: () => CLIENT('src_ip', 'dst_ip'), numeric: false },
  'flow.server.ip.addr': { expr: () => SERVER('src_ip', 'dst_ip'), numeric: false },
  'flow.src.l4.port.id': { expr: () => 'src_port', numeric: true },
  'flow.dst.l4.port.id': { expr: () => 'dst_port', numeric: true },
  'flow.server.l4.port.id': { expr: () => SERVER('src_port', 'dst_port'), numeric: true },
  'l4.proto.id': { expr: () => 'proto', numeric: true },
  'flow.src.as.asn': { expr: () => 'src_as', numeric: true, skipZero: true, label: 'src_as_org' },
  'flow.dst.as.asn': { expr: () => 'dst_as', numeric: true, skipZero: true, label: 'dst_as_org' },
  'flow.src.geo.country.name': { expr: () => 'src_country', numeric: false },
  'flow.dst.geo.country.name': { expr: () => 'dst_country', numeric: false },
  'sec.threat.name': { expr: (d) => d.explodeNames(d.name === 'duckdb' ? `coalesce(src_threat_name, '') || ',' || coalesce(dst_threat_name, '')` : `concat(src_threat_name, ',', dst_threat_name)`), numeric: false, explode: true },
  'flow.src.sec.threat.name': { expr: (d) => d.explodeNames('src_threat_name'), numeric: false, explode: true },
  'flow.dst.sec.threat.name': { expr: (d) => d.explodeNames('dst_threat_name'), numeric: false, explode: true },
  'sec.threat.feed.name': { expr: (d) => d.explodeNames(d.name === 'duckdb' ? `coalesce(src_threat_feed, '') || ',' || coalesce(dst_threat_feed, '')` : `concat(src_threat_feed, ',', dst_threat_feed)`), numeric: false, explode: true },
  'flow.export.ip.addr': { expr: () => 'exporter', numeric: false },
  'flow.src.ip.subnet.name': { expr: () => 'src_net', numeric: false },
  'flow.dst.ip.subnet.name': { expr: () => 'dst_net', numeric: false },
  'flow.src.ip.subnet.tags': { expr: (d) => d.explodeNames(restList(d, 'srcSubnetTags')), numeric: false, explode: true },
  'flow.dst.ip.subnet.tags': { expr: (d) => d.explodeNames(restList(d, 'dstSubnetTags')), numeric: false, explode: true },
};

/** A comma-joined list kept in `rest` (subnet tags), '' where absent; parsed only on rows holding its key. */
function restList(d: Dialect, key: string): string {
  return d.name === 'duckdb' ? `CASE WHEN ${d.hasRest(key)} THEN ${d.restText(key)} ELSE '' END` : `if(${d.hasRest(key)}, ${d.restText(key)}, '')`;
}

export function isNumericTopField(f: TopField): boolean {
  return KEYS[f].numeric;
}

/** A top-N field's key: its SQL over a flows row, and the column naming its label (AS organisations). */
export function topKey(d: Dialect, f: TopField): { expr: string; numeric: boolean; label?: string } {
  const key = KEYS[f];
  if (key === undefined) throw new QueryInputError(`unknown field ${JSON.stringify(f)}`);
  return { expr: key.expr(d), numeric: key.numeric, ...(key.label !== undefined ? { label: key.label } : {}) };
}

/**
 * The end of a top-N query over rows `k, b, p, f[, lb]` (`from`): absent keys left out, summed per
 * key, the busiest first by `metric`, ties by key. Its one `?` is the limit.
 */
export function topNOver(d: Dialect, f: TopField, metric: TopNQuery['metric'], from: string, sums: { b: string; p: string; f: string }): string {
  const key = KEYS[f];
  if (metric !== 'bytes' && metric !== 'packets' && metric !== 'flows') throw new QueryInputError('metric must be bytes, packets or flows');
  const keep = key.numeric ? (key.skipZero ? 'WHERE k <> 0' : '') : `WHERE ${d.present('k')}`;
  const order = metric === 'bytes' ? 'b' : metric === 'packets' ? 'p' : 'f';
  return `SELECT k, ${sums.b} AS b, ${sums.p} AS p, ${sums.f} AS f${key.label !== undefined ? `, ${d.anyStr('lb')} AS label` : ''}
        FROM (${from}) AS t
        ${keep} GROUP BY k ORDER BY ${order} DESC, k LIMIT ?`;
}

// ---- input checks ----------------------------------------------------------------------------

export function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new QueryInputError(`${name} must be a whole number from ${min} to ${max}`);
  return v;
}

function checkRange(q: TimeRange): void {
  checkInt('from', q.from, 0, 8.64e15);
  checkInt('to', q.to, 0, 8.64e15);
  if (q.to <= q.from) throw new QueryInputError('to must be after from');
}

/**
 * Validates an exporter address (exact match, so no CIDR) and writes it as exporters are stored:
 * IPv6 in RFC 5952 form and IPv4-mapped as IPv4 (canonicalIp), so `2001:DB8::1`,
 * `0:0:0:0:0:0:0:1` or a dual-stack tool's `::ffff:192.0.2.1` find the exporter they name.
 */
function checkIp(name: string, v: string): string {
  if (v.includes('/')) throw new QueryInputError(`${name} takes an address, not a CIDR`);
  parseIpOrCidr(v);
  const text = v.trim();
  // A link-local exporter is stored with the zone its datagrams came in by (fe80::1%eth0), which is kept.
  const zone = text.indexOf('%');
  const addr = canonicalIp(zone >= 0 ? text.slice(0, zone) : text) ?? text;
  return zone >= 0 && addr.includes(':') ? addr + text.slice(zone) : addr;
}

/** A name to match exactly (a network's): not empty, no longer than any name worth typing. */
function checkName(name: string, v: string): string {
  if (v === '' || [...v].length > 256) throw new QueryInputError(`${name} must be a name of 1 to 256 characters`);
  return v;
}

/** A network tag to match exactly: a name, without the comma that separates a network's tags. */
function checkTag(v: string): string {
  checkName('tag', v);
  if (v.includes(',')) throw new QueryInputError('tag must not hold a comma (the address metadata file refuses such tags)');
  return v;
}

// ---- WHERE -----------------------------------------------------------------------------------

class Where {
  readonly parts: string[] = [];
  readonly params: Param[] = [];

  add(sql: string, ...params: Param[]): void {
    this.parts.push(sql);
    this.params.push(...params);
  }

  sql(): string {
    return this.parts.length === 0 ? '' : `WHERE ${this.parts.join(' AND ')}`;
  }
}

/** The dotted text of the first `n` octets of a 32-bit address, each followed by a dot. */
function octetsPrefix(a: number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += `${(a >>> (24 - 8 * i)) & 255}.`;
  return out;
}

/** The first 96 bits of an IPv4-mapped address (::ffff:0:0/96, RFC 4291 section 2.5.5.2), as ip-filter.ts writes IPv6. */
const MAPPED_HEX = '00000000000000000000ffff';
/** How records write an IPv4-mapped address before its dotted quad (decode/ip.ts ipv6At). */
const MAPPED_TEXT = '::ffff:';

/**
 * Stored IPv4 text (plain, or after `lead`: '::ffff:' for IPv4-mapped text) within an IPv4 range.
 * Stored IPv4 text is always dotted decimal without leading zeros (our decoders write it), so the
 * whole octets of a prefix compare as text: an address is one equality, an aligned CIDR a prefix
 * test, and any other CIDR a prefix test and a number (Dialect.v4Within). Parsing every row's four
 * octets in DuckDB took 0.6-0.7 s over 3M rows against 30-55 ms.
 */
function v4Cond(d: Dialect, col: string, lo: number, hi: number, lead: string, w: { params: Param[] }): string {
  const len = 32 - Math.log2(hi - lo + 1);
  const whole = Math.floor(len / 8);
  if (whole === 4) {
    w.params.push(lead + octetsPrefix(lo, 4).slice(0, -1));
    return `${col} = ?`;
  }
  const plain = lead === '';
  const within = whole > 0 ? d.startsWith(col) : plain ? d.isV4(col) : d.isMappedV4(col);
  if (whole > 0) w.params.push(lead + octetsPrefix(lo, whole));
  if (len % 8 === 0) return within;
  const range = d.v4Within(plain ? col : d.mappedV4(col), within, whole + 1, lo, hi);
  w.params.push(...range.params);
  return range.sql;
}

/** A 16-bit group's text as stored IPv6 text writes it (RFC 5952 section 4.1: lower case, no leading zeros). */
const groupText = (g: number): string => g.toString(16);

/** The length of the prefix parseIpOrCidr made [lo, hi] of (32 hex digits each). */
function v6PrefixLen(lo: string, hi: string): number {
  let i = 0;
  while (i < 32 && lo[i] === hi[i]) i++;
  return i === 32 ? 128 : 4 * i + 4 - Math.log2(parseInt(hi[i]!, 16) - parseInt(lo[i]!, 16) + 1);
}

/**
 * How stored IPv6 text (RFC 5952, as decode/ip.ts ipv6At writes it) shows that its address lies in
 * the prefix of `len` bits at `lo` (32 hex digits): text prefixes, one of which every such text
 * starts with, and whether starting with one of them is also enough (`exact`). A text's groups can
 * be read off it only up to its '::', and where that falls depends on the whole address, so a
 * group counts as read only when it cannot be part of the '::': not zero, or a lone zero followed by
 * a fixed group that is not (a run of one zero is never compressed, section 4.2.2).
 *
 * - The prefix's fixed groups all readable (`2001:db8:aaaa::/48`, `2001:db8:0:1::/64`): every text
 *   starts with them and a colon, and only those texts do.
 * - Fixed groups ending in a run of one or two zeros after readable ones (`2001:db8::/48`,
 *   `2001:db8::/64`, `::/32`): either that run is the '::' (`2001:db8::`, a run of at least two
 *   zeros, section 4.2.2, so both groups are zero) or it is written out (`2001:db8:0:0:`).
 * - A length inside a group (`2001:db8:aa00::/40`, `2001:db8::/33`, `2000::/3`): the text of the
 *   fixed groups before it, read off as above (when that group's range leaves out zero, it is written
 *   out, so a zero may end them), then that group's text in its range (`group`: which, and the
 *   range in 4 hex digits).
 * - Anything else (a longer run of zeros, a run inside the prefix that a longer one after it may
 *   take the '::' from): the longest readable fixed groups, or `::` and `0:` when the first group is
 *   zero, are only a filter before the exact test.
 */
export function v6TextPrefixes(lo: string, len: number): { prefixes: string[]; exact: boolean; group?: { n: number; lo: string; hi: string } } {
  // ::/0: every IPv6 text, mapped ones too (they hold a colon, IPv4 text none).
  if (len === 0) return { prefixes: [], exact: true };
  const k = len >> 4;
  const g: number[] = [];
  for (let i = 0; i < k; i++) g.push(parseInt(lo.slice(4 * i, 4 * i + 4), 16));
  // The first j groups are read off the text as they are: the last not zero, no two zeros side by side.
  const readable = (j: number): boolean => g[j - 1] !== 0 && g.slice(0, j - 1).every((x, i) => x !== 0 || g[i + 1] !== 0);
  const text = (j: number): string => g.slice(0, j).map(groupText).join(':');
  const at = parseInt(lo.slice(4 * k, 4 * k + 4), 16);
  if (len % 16 !== 0 && (at !== 0 ? g.every((x, i) => x !== 0 || g[i + 1] !== 0) : k === 0 || readable(k))) {
    // The fixed groups before the one the length ends in are read off the text (when that group
    // cannot be zero, a zero last among them is a lone one): the text up to that group, then that
    // group's own text within its range, '' where the '::' starts there (a zero group, in the range
    // only when it starts from zero).
    const hex4 = (x: number): string => x.toString(16).padStart(4, '0');
    return { prefixes: k === 0 ? [] : [`${text(k)}:`], exact: true, group: { n: k + 1, lo: hex4(at), hi: hex4(at + 2 ** (16 - (len % 16)) - 1) } };
  }
  if (len % 16 === 0) {
    if (readable(k)) return { prefixes: [`${text(k)}:`], exact: true };
    let s = k;
    while (s > 0 && g[s - 1] === 0) s--;
    if (k - s <= 2 && (s === 0 || readable(s))) {
      const head = s === 0 ? '' : `${text(s)}:`;
      return { prefixes: [s === 0 ? '::' : `${head}:`, head + '0:'.repeat(k - s)], exact: true };
    }
  }
  for (let j = k; j > 0; j--) if (readable(j)) return { prefixes: [`${text(j)}:`], exact: false };
  return { prefixes: k > 0 ? ['::', '0:'] : [], exact: false };
}

/**
 * A stored address (text) within an IPv4 or IPv6 range. An IPv4-mapped address (::ffff:a.b.c.d) is
 * its IPv4 address, as locality, threats and address metadata take it: an IPv4 filter also matches
 * mapped text, one more text test per row (never a parse of every row), and an IPv6 filter inside
 * ::ffff:0:0/96 is that IPv4 range. Other IPv6 filters compare text too, as stored (RFC 5952, one
 * text per address: the decoders write nothing else): an address is one equality with its own
 * RFC 5952 text, however the filter spelled it, and a prefix one or two prefix tests where its text
 * tells (v6TextPrefixes). Where it does not, the prefix tests pick the rows whose 32 hex digits are
 * then compared, behind CASE so that DuckDB parses only those (an AND inside the OR was evaluated for
 * every row: 0.4-0.5 s against 50 ms). Parsing every IPv6 row took 2-5 s over 1M rows, 70% IPv6.
 */
function ipCond(d: Dialect, col: string, input: string, w: { params: Param[] }): string {
  const m = parseIpOrCidr(input);
  if (m.kind === 'v4' || (m.lo.startsWith(MAPPED_HEX) && m.hi.startsWith(MAPPED_HEX))) {
    const lo = m.kind === 'v4' ? m.lo : parseInt(m.lo.slice(MAPPED_HEX.length), 16);
    const hi = m.kind === 'v4' ? m.hi : parseInt(m.hi.slice(MAPPED_HEX.length), 16);
    const plain = v4Cond(d, col, lo, hi, '', w);
    return `((${plain}) OR (${v4Cond(d, col, lo, hi, MAPPED_TEXT, w)}))`;
  }
  if (m.lo === m.hi) {
    w.params.push(ipv6At(Buffer.from(m.lo, 'hex'), 0));
    return `${col} = ?`;
  }
  const { prefixes, exact, group } = v6TextPrefixes(m.lo, v6PrefixLen(m.lo, m.hi));
  w.params.push(...prefixes);
  const within = prefixes.length === 0 ? d.isV6(col) : `(${prefixes.map(() => d.startsWith(col)).join(' OR ')})`;
  if (group !== undefined) {
    const r = d.v6GroupWithin(col, within, group.n, group.lo, group.hi, m);
    w.params.push(...r.params);
    return `(${r.sql})`;
  }
  if (exact) return within;
  w.params.push(m.lo, m.hi);
  return `(${d.onlyWhere(within, `${d.ip6hex(col)} BETWEEN ? AND ?`)})`;
}

function baseWhere(d: Dialect, q: TimeRange, f: FlowFilter | undefined): Where {
  checkRange(q);
  const w = new Where();
  w.add(`ts >= ? AND ts < ?`, q.from, q.to);
  w.add(`kind = 'flow'`);
  if (f === undefined) return w;
  if (f.ip !== undefined) {
    const p: { params: Param[] } = { params: [] };
    const a = ipCond(d, 'src_ip', f.ip, p);
    const b = ipCond(d, 'dst_ip', f.ip, p);
    w.add(`(${a} OR ${b})`, ...p.params);
  }
  if (f.srcIp !== undefined) {
    const p: { params: Param[] } = { params: [] };
    w.add(ipCond(d, 'src_ip', f.srcIp, p), ...p.params);
  }
  if (f.dstIp !== undefined) {
    const p: { params: Param[] } = { params: [] };
    w.add(ipCond(d, 'dst_ip', f.dstIp, p), ...p.params);
  }
  if (f.port !== undefined) {
    const port = checkInt('port', f.port, 0, 65535);
    w.add('(src_port = ? OR dst_port = ?)', port, port);
  }
  if (f.srcPort !== undefined) w.add('src_port = ?', checkInt('srcPort', f.srcPort, 0, 65535));
  if (f.dstPort !== undefined) w.add('dst_port = ?', checkInt('dstPort', f.dstPort, 0, 65535));
  if (f.proto !== undefined) w.add('proto = ?', checkInt('proto', f.proto, 0, 255));
  if (f.exporter !== undefined) w.add('exporter = ?', checkIp('exporter', f.exporter));
  if (f.ifIndex !== undefined) {
    const i = checkInt('ifIndex', f.ifIndex, 0, 0xffffffff);
    w.add('(in_if = ? OR out_if = ?)', i, i);
  }
  if (f.threat === true) w.add(`(${d.present('src_threat_name')} OR ${d.present('dst_threat_name')})`);
  if (f.net !== undefined) {
    const net = checkName('net', f.net);
    w.add('(src_net = ? OR dst_net = ?)', net, net);
  }
  if (f.tag !== undefined) {
    // Tags stay in `rest` (no column of their own: each costs every append); the substring test
    // skips the JSON parse on the rows without tags, most of them.
    const tag = checkTag(f.tag);
    const end = (key: string): string => d.onlyWhere(d.hasRest(key), d.listHas(d.restText(key)));
    w.add(`(${end('srcSubnetTags')} OR ${end('dstSubnetTags')})`, tag, tag);
  }
  return w;
}

// ---- queries ---------------------------------------------------------------------------------

export type QueryKind = 'topN' | 'series' | 'search' | 'export' | 'count' | 'atRiskServers' | 'highRiskClients' | 'threatEndCounts' | 'exporters' | 'oldest' | 'interfaces' | 'interfaceNames' | 'conversations' | 'interfaceCounters';

const MAX_BUCKETS = 10_000;
/** Rows one export may hold. */
export const EXPORT_ROWS_MAX = 100_000;

/** At-risk servers or high-risk clients, one row per address, in no order and not limited. */
function threatEnds(d: Dialect, kind: 'atRiskServers' | 'highRiskClients', t: TimeRange, table: string): BuiltQuery {
  // Both lists need a listed client, so rows with no listed end are left out before the CASEs work
  // out each row's client and server (the threats page over a day of 1M flows on ClickHouse 18.16:
  // 442 ms to 262 ms, bench:queries).
  const w = baseWhere(d, t, { threat: true });
  const inner = `SELECT ${CLIENT('src_ip', 'dst_ip')} AS cip, ${SERVER('src_ip', 'dst_ip')} AS sip,
      ${CLIENT('src_threat_name', 'dst_threat_name')} AS cthreat, ${SERVER('src_threat_name', 'dst_threat_name')} AS sthreat,
      ${SERVER('src_locality', 'dst_locality')} AS sloc, ${CLIENT('src_net', 'dst_net')} AS cnet, ${SERVER('src_net', 'dst_net')} AS snet, bytes, packets
    FROM ${table} ${w.sql()}`;
  const sql = kind === 'atRiskServers'
    ? `SELECT sip AS k, count(*) AS f, ${d.sum('bytes')} AS b, ${d.sum('packets')} AS p, ${d.countDistinct('cip')} AS peers, ${d.joinDistinct('cthreat')} AS names, ${d.anyStr('snet')} AS net
       FROM (${inner}) AS t
       WHERE ${d.present('cthreat')} AND NOT ${d.present('sthreat')} AND (sloc = 'private' OR NOT ${d.present('sloc')})
       GROUP BY sip`
    : `SELECT cip AS k, count(*) AS f, ${d.sum('bytes')} AS b, ${d.sum('packets')} AS p, ${d.countDistinct('sip')} AS peers, ${d.joinDistinct('cthreat')} AS names, ${d.anyStr('cnet')} AS net
       FROM (${inner}) AS t
       WHERE ${d.present('cthreat')}
       GROUP BY cip`;
  return { sql, params: w.params };
}

export function buildQuery(d: Dialect, kind: QueryKind, q: unknown, table: string): BuiltQuery {
  switch (kind) {
    case 'topN': {
      const t = q as TopNQuery;
      const key = topKey(d, t.field);
      const limit = checkInt('limit', t.limit ?? 10, 1, 1000);
      const w = baseWhere(d, t, t.filter);
      const label = key.label !== undefined ? `, ${key.label} AS lb` : '';
      const sql = topNOver(d, t.field, t.metric, `SELECT ${key.expr} AS k, bytes, packets${label} FROM ${table} ${w.sql()}`, { b: d.sum('bytes'), p: d.sum('packets'), f: 'count(*)' });
      return { sql, params: [...w.params, limit] };
    }
    case 'series': {
      const s = q as SeriesQuery;
      const step = checkInt('stepMs', s.stepMs, 1, 366 * 86_400_000);
      const w = baseWhere(d, s, s.filter);
      if ((s.to - s.from) / step > MAX_BUCKETS) throw new QueryInputError(`stepMs too small: at most ${MAX_BUCKETS} buckets`);
      const sql = `SELECT ${d.idiv('ts', '?')} * ? AS t, ${d.sum('bytes')} AS b, ${d.sum('packets')} AS p, count(*) AS f
        FROM ${table} ${w.sql()} GROUP BY t ORDER BY t`;
      return { sql, params: [step, step, ...w.params] };
    }
    case 'search':
    case 'export': {
      // An export is one query (one consistent view of the store) read as a stream, so it may be long.
      const s = q as SearchQuery;
      const limit = checkInt('limit', s.limit ?? 100, 1, kind === 'export' ? EXPORT_ROWS_MAX : 1000);
      const offset = checkInt('offset', s.offset ?? 0, 0, 1_000_000);
      const w = baseWhere(d, s, s.filter);
      const page = d.name === 'clickhouse' ? [offset, limit] : [limit, offset];
      // Every small column after the first few: flows that tie on all of an order have none (ClickHouse
      // then gave some flows on two pages and others on none, and the two stores different orders).
      // Not `rest`, the JSON of the other fields: the page's first query would read it for every flow
      // in range, where it reads these few columns (see DUCKDB_DIALECT.page).
      const order = `ts DESC, exporter, ${d.ascText('src_ip')}, ${d.ascText('dst_ip')}, src_port, dst_port, bytes, packets, proto, in_if, out_if, start_ts, end_ts, export_ts, tcp_flags, tos, sampling_rate, src_as, dst_as, src_mask, dst_mask`;
      // An export too picks its rows by these columns first: sorting whole rows (`rest` and the
      // names with them) over the range, DuckDB took 1.7 GB for one export of 100,000 of 3M flows.
      const sql = d.page(table, w.sql(), order);
      return { sql, params: [...w.params, ...page] };
    }
    case 'count': {
      const s = q as SearchQuery;
      const w = baseWhere(d, s, s.filter);
      return { sql: `SELECT count(*) AS n FROM ${table} ${w.sql()}`, params: w.params };
    }
    case 'atRiskServers':
    case 'highRiskClients': {
      const t = q as ThreatQuery;
      const limit = checkInt('limit', t.limit ?? 10, 1, 1000);
      const ends = threatEnds(d, kind, t, table);
      return { sql: `${ends.sql} ORDER BY f DESC, k LIMIT ?`, params: [...ends.params, limit] };
    }
    case 'threatEndCounts': {
      // How many rows each list has without its limit (the page shows the busiest few).
      const t = q as TimeRange;
      const servers = threatEnds(d, 'atRiskServers', t, table);
      const clients = threatEnds(d, 'highRiskClients', t, table);
      return {
        sql: `SELECT (SELECT count(*) FROM (${servers.sql}) AS s) AS servers, (SELECT count(*) FROM (${clients.sql}) AS c) AS clients`,
        params: [...servers.params, ...clients.params],
      };
    }
    case 'interfaces': {
      // With `names`, each interface's newest name on that side too (else see interfaceNames).
      const t = q as TimeRange & { filter?: FlowFilter; side: 'in' | 'out'; names?: boolean };
      const w = baseWhere(d, t, t.filter);
      const col = t.side === 'in' ? 'in_if' : 'out_if';
      const key = t.side === 'in' ? 'inIfName' : 'outIfName';
      const name = t.names === true ? `, ${d.newestWhere(d.restText(key), d.hasRest(key))} AS n` : '';
      return { sql: `SELECT exporter AS e, ${col} AS k, ${d.sum('bytes')} AS b, ${d.sum('packets')} AS p, count(*) AS f${name} FROM ${table} ${w.sql()} GROUP BY exporter, ${col}`, params: w.params };
    }
    case 'interfaceNames': {
      // The newest name each interface has on that side, from the few rows that carry one.
      const t = q as TimeRange & { filter?: FlowFilter; side: 'in' | 'out' };
      const key = t.side === 'in' ? 'inIfName' : 'outIfName';
      const w = baseWhere(d, t, t.filter);
      w.add(d.hasRest(key));
      const col = t.side === 'in' ? 'in_if' : 'out_if';
      return { sql: `SELECT exporter AS e, ${col} AS k, ${d.newest(d.restText(key))} AS n FROM ${table} ${w.sql()} GROUP BY exporter, ${col}`, params: w.params };
    }
    case 'conversations': {
      const t = q as ConversationQuery;
      const limit = checkInt('limit', t.limit ?? 10, 1, 1000);
      const metric = t.metric ?? 'bytes';
      if (metric !== 'bytes' && metric !== 'packets' && metric !== 'flows') throw new QueryInputError('metric must be bytes, packets or flows');
      const w = baseWhere(d, t, t.filter);
      // Flows with both addresses (an sFlow sample of a non-IP frame has none).
      w.add(`${d.present('src_ip')} AND ${d.present('dst_ip')}`);
      const order = metric === 'bytes' ? 'b' : metric === 'packets' ? 'p' : 'f';
      const sql = `SELECT c, s, sp, pr, ${d.sum('bytes')} AS b, ${d.sum('packets')} AS p, count(*) AS f
        FROM (SELECT ${CLIENT('src_ip', 'dst_ip')} AS c, ${SERVER('src_ip', 'dst_ip')} AS s, ${ICMP_NO_PORT(SERVER('src_port', 'dst_port'))} AS sp, proto AS pr, bytes, packets FROM ${table} ${w.sql()}) AS t
        GROUP BY c, s, sp, pr ORDER BY ${order} DESC, c, s, sp, pr LIMIT ?`;
      return { sql, params: [...w.params, limit] };
    }
    case 'interfaceCounters': {
      // Counter rows, not flows: the time range and the data source only (no flow filter applies).
      const t = q as InterfaceCountersQuery & { limit: number };
      checkRange(t);
      const w = new Where();
      w.add('ts >= ? AND ts < ?', t.from, t.to);
      w.add(`kind = 'counter'`);
      w.add('exporter = ?', checkIp('exporter', t.exporter));
      w.add('in_if = ?', checkInt('ifIndex', t.ifIndex, 0, 0xffffffff));
      return { sql: `SELECT ts, rest FROM ${table} ${w.sql()} ORDER BY ts LIMIT ?`, params: [...w.params, t.limit] };
    }
    case 'oldest': {
      const w = baseWhere(d, q as TimeRange, undefined);
      return { sql: `SELECT min(ts) AS first FROM ${table} ${w.sql()}`, params: w.params };
    }
    case 'exporters': {
      const t = q as TimeRange;
      const w = baseWhere(d, t, undefined);
      const sql = `SELECT exporter AS k, count(*) AS f, ${d.sum('bytes')} AS b, ${d.sum('packets')} AS p, min(ts) AS first, max(ts) AS last,
          ${d.newest('export_type')} AS et, ${d.newest('export_version')} AS ev
        FROM ${table} ${w.sql()} GROUP BY exporter ORDER BY f DESC, k`;
      return { sql, params: w.params };
    }
  }
}

/**
 * Builds the effective configuration from the environment (and optional env files), reporting
 * every problem at once.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { OPTIONS, OPTION_NAMES, specOf, type Config } from './schema.js';
import type { OptionSpec } from './spec.js';
import { catalogueFeed } from '../threat/feeds/catalogue.js';
import { FIELDS } from '../record/fields.js';
import { mayNameExtra } from '../decode/extra-names.js';
import { checkPair } from './validate.js';
import { percentDecoded } from '../percent-decoded.js';

export interface ConfigResult {
  config: Config | null;
  errors: string[];
  warnings: string[];
  /** Names the user set (environment or file). */
  set: Set<string>;
}

/** What earlier files gave, read on by the next (loadConfig's --env-file list): the values, and those set by units' Environment= lines. */
export interface UnitValues {
  values: Record<string, string>;
  fromUnits: string[];
  /** What KEY=value files gave: an empty Environment= uncovers it where a unit's line hid it. */
  fromFiles: Record<string, string>;
}

/**
 * Parses `KEY=value` lines (an env file), or a systemd unit or drop-in: there only the `[Service]`
 * section's `Environment=` lines count, unquoted as systemd does (`Environment="A=b" "C=d"`, C escapes,
 * `\ ` for a space, `%%` for `%`; an empty `Environment=` clears what Environment= lines set before it,
 * in this file and in the units `before` holds, as a drop-in's clears the unit's), and other keys
 * (`ExecStart=`, `[Unit]` lines) are not options. Comments and blank lines are ignored.
 */
export function parseEnvFile(text: string, ignored: string[] = [], bad: string[] = [], before?: UnitValues): Record<string, string> {
  const out: Record<string, string> = before?.values ?? {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  // A file with a section header is a unit or drop-in: systemd reads nothing above its first header.
  const unit = lines.some((l) => /^\[.*\]$/.test(l.trim()));
  // systemd joins a line that ends in a backslash with the next, the backslash read as a space, and
  // skips comment lines inside such a run (systemd.syntax(7)); the joined line keeps the first one's
  // number, and the lines taken into it are left empty.
  if (unit) {
    for (let n = 0; n < lines.length; n++) {
      if (/^\s*[#;]/.test(lines[n]!)) continue;
      let k = n + 1;
      while (/\\\s*$/.test(lines[n]!) && k < lines.length) {
        const next = lines[k]!;
        lines[k++] = '';
        if (/^\s*[#;]/.test(next)) continue;
        lines[n] = `${lines[n]!.replace(/\\\s*$/, '')} ${next.trim()}`;
      }
    }
  }
  let section: string | null = null;
  let noHeaderNoted = false;
  // Keys Environment= lines set, here and (for a unit) in the units read before: an empty one clears
  // them all. In a KEY=value file such a line stays within the file, as systemd's EnvironmentFile=
  // knows no Environment= at all.
  const fromUnit: string[] = unit ? before?.fromUnits ?? [] : [];
  // A key a KEY=value file sets is no longer the units' to clear.
  const fromFile = (key: string): void => {
    if (unit || before === undefined) return;
    before.fromFiles[key] = out[key]!;
    for (let i = before.fromUnits.indexOf(key); i >= 0; i = before.fromUnits.indexOf(key)) before.fromUnits.splice(i, 1);
  };
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    if (unit && section !== 'Service') {
      if (/^Environment\s*=/.test(line) || (section === null && /^\w+=/.test(line))) {
        ignored.push(`line ${n + 1} ${section === null ? 'is above the first section header' : `is in [${section}]`}: systemd reads Environment= only in [Service]; ignored`);
      }
      continue;
    }
    const env = /^Environment\s*=\s*(.*)$/.exec(line);
    // Read all the same (`ufc run --env-file` with the page's lines), but a drop-in needs the header.
    if (env && !unit && !noHeaderNoted) {
      noHeaderNoted = true;
      ignored.push(`line ${n + 1}: Environment= lines in a file with no [Service] line: read here, but as a systemd drop-in the service gets none of them (systemd: "Assignment outside of section. Ignoring"); put [Service] above them`);
    }
    if (env) {
      if (env[1] === '') {
        for (const k of fromUnit) {
          const below = unit ? before?.fromFiles[k] : undefined;
          if (below !== undefined) out[k] = below;
          else delete out[k];
        }
        fromUnit.length = 0;
        continue;
      }
      for (const assignment of splitSystemdWords(env[1]!)) {
        const key = addAssignment(out, assignment, false);
        if (key !== null) {
          fromUnit.push(key);
          fromFile(key);
        } else bad.push(`line ${n + 1}: an Environment= word is not NAME=value`);
      }
      continue;
    }
    if (section !== null) {
      // Another directive of the unit (ExecStart=, User=, ...); an option's name there is a line that
      // lost its Environment= (systemd: "Unknown key ... Ignoring").
      if (/^EF_\w*\s*=/.test(line)) ignored.push(`line ${n + 1}: ${line.slice(0, line.indexOf('=')).trim()}= in [${section}] is no directive: systemd ignores it; write Environment="${line.slice(0, line.indexOf('=')).trim()}=..."`);
      continue;
    }
    // Only the line number: a line that is no assignment may still hold a secret (a YAML
    // `EF_..._KEY: 'value=='` line from a compose file split at its '=' named the key's text).
    // A bare NAME (Docker's env files): "take it from the environment", which wins over the file anyway.
    if (VARIABLE_NAME.test(line.replace(/^export\s+/, ''))) continue;
    const key = addAssignment(out, line.replace(/^export\s+/, ''), true);
    if (key !== null) fromFile(key);
    else {
      bad.push(`line ${n + 1}: not NAME=value${/^[\s-]*\w+\s*:/.test(line) ? ' (a YAML line? write EF_NAME=value, one a line)' : ''}`);
    }
  }
  return out;
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Sets NAME=value, or returns null when `text` is none (no '=', or what comes before it is no
 * variable name); an env file's value may be wrapped in quotes (a unit's were removed already).
 */
function addAssignment(out: Record<string, string>, text: string, unquote: boolean): string | null {
  const eq = text.indexOf('=');
  if (eq <= 0) return null;
  const key = text.slice(0, eq).trim();
  if (!VARIABLE_NAME.test(key)) return null;
  let value = text.slice(eq + 1);
  if (unquote) {
    value = value.trim();
    if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) value = value.slice(1, -1);
  }
  out[key] = value;
  return key;
}

const C_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', s: ' ' };

/**
 * systemd's word splitting for Environment=: whitespace separates words; double or single quotes
 * group; a backslash escapes the next character (C escapes such as \n, \t; anything else stands for
 * itself, so `\"`, `\\` and `\ ` are a quote, a backslash and a space); `%%` is a `%` (units expand
 * specifiers, and a literal percent sign must be written twice).
 */
function splitSystemdWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[++i]!;
      cur += C_ESCAPES[next] ?? next;
      any = true;
    } else if (ch === '%' && s[i + 1] === '%') {
      cur += '%';
      i++;
      any = true;
    } else if (quote !== '') {
      if (ch === quote) quote = '';
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (any || cur !== '') words.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any || cur !== '') words.push(cur);
  return words;
}

/** Names before 6.0.0 carried `_FLOW`; map them to today's name (or null when none fits). */
export function replacementFor(name: string): string | null {
  const candidates: string[] = [];
  if (name.startsWith('EF_FLOW_OUTPUT_')) candidates.push('EF_OUTPUT_' + name.slice('EF_FLOW_OUTPUT_'.length));
  if (name.startsWith('EF_FLOW_DECODER_ENRICH_')) {
    const rest = name.slice('EF_FLOW_DECODER_ENRICH_'.length);
    candidates.push('EF_PROCESSOR_ENRICH_' + rest, 'EF_PROCESSOR_ENRICH_IPADDR_' + rest);
  }
  if (name.startsWith('EF_FLOW_DECODER_')) candidates.push('EF_PROCESSOR_DECODE_' + name.slice('EF_FLOW_DECODER_'.length));
  if (name.startsWith('EF_FLOW_LOG_')) candidates.push('EF_LOGGER_' + name.slice('EF_FLOW_LOG_'.length));
  if (name.startsWith('EF_FLOW_')) candidates.push('EF_' + name.slice('EF_FLOW_'.length));
  for (const c of candidates) if (specOf(c)) return c;
  return null;
}

function isDeprecatedName(name: string): boolean {
  return /^EF_FLOW_(OUTPUT|DECODER|LOG)_/.test(name) || (name.startsWith('EF_FLOW_') && !name.startsWith('EF_FLOW_SERVER_') && replacementFor(name) !== null);
}

function distance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

export function closestName(name: string): string {
  let best: string = OPTION_NAMES[0]!;
  let bestD = Infinity;
  for (const n of OPTION_NAMES) {
    const d = distance(name, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return best;
}

export interface LoadOptions {
  env: Record<string, string | undefined>;
  /** Env files or systemd units and drop-ins, read in order: a later file's value wins. */
  envFile?: string | readonly string[];
}

export function loadConfig(opts: LoadOptions): ConfigResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const raw: Record<string, string> = {};
  // In order, a later file over an earlier one: the unit, its drop-ins, then its EnvironmentFile=
  // reproduce what systemd gives the service (EnvironmentFile= values override Environment=).
  const read: UnitValues = { values: raw, fromUnits: [], fromFiles: {} };
  for (const file of typeof opts.envFile === 'string' ? [opts.envFile] : opts.envFile ?? []) {
    try {
      const ignored: string[] = [];
      const bad: string[] = [];
      parseEnvFile(readFileSync(file, 'utf8'), ignored, bad, read);
      for (const why of ignored) warnings.push(`--env-file ${file}: ${why}`);
      for (const why of bad) errors.push(`--env-file ${file}: ${why}`);
    } catch (err) {
      errors.push(`--env-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
  }
  // Real environment variables win over every file.
  for (const [k, v] of Object.entries(opts.env)) if (k.startsWith('EF_') && v !== undefined) raw[k] = v;

  const set = new Set<string>();
  for (const name of Object.keys(raw).sort()) {
    if (specOf(name)) {
      set.add(name);
      continue;
    }
    if (isDeprecatedName(name)) {
      const repl = replacementFor(name);
      errors.push(repl
        ? `${name}: this name was removed in 6.0.0; use ${repl} instead`
        : `${name}: this name was removed in 6.0.0 (names no longer carry _FLOW); see docs/configuration.md for the current name`);
      continue;
    }
    const store = /^EF_OUTPUT_(DUCKDB|CLICKHOUSE)_ECS_ENABLE$/.exec(name);
    if (store !== null) {
      // Other outputs have it; a store has columns of its own, which its queries and the web UI read.
      warnings.push(`${name}: ignored; the ${store[1] === 'DUCKDB' ? 'DuckDB' : 'ClickHouse'} store writes its own columns (docs/stores.md), not CODEX or ECS documents`);
      continue;
    }
    warnings.push(name.startsWith('EF_') ? `${name}: unknown option, ignored; did you mean ${closestName(name)}?` : `${name}: not an EF_ option, ignored`);
  }

  const values: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    const spec = OPTIONS[name] as OptionSpec;
    const text = raw[name] ?? spec.defaultText;
    const parsed = spec.schema.safeParse(text);
    if (parsed.success) values[name] = parsed.data;
    else {
      // A value that did not parse may be anything: all before its last `@` goes when it may hold
      // credentials (no password pattern to trust).
      const shown = spec.secret ? '***' : JSON.stringify(mayHoldCredentials(text) ? `***${text.slice(text.lastIndexOf('@'))}` : text);
      // Messages may quote the value's bad parts (a list's items): masked as the value is.
      const why = parsed.error.issues.map((i) => (spec.secret ? i.message : maskItems(i.message, text))).join('; ');
      errors.push(`${name}=${shown}: ${why}`);
    }
  }
  // Run even when some values failed, so that one bad value does not hide a missing required one: a
  // rule is checked when the options it reads parsed (the others are absent from `values`).
  crossChecks(values as Partial<Config>, errors, warnings);
  return { config: errors.length === 0 ? (values as Config) : null, errors, warnings, set };
}

/**
 * Files the collector reads at start-up when a feature is on, each with the options that turn it on.
 * Checked with the configuration, so a missing file is listed with every other problem (and by
 * `ufc config`) instead of stopping start-up later, one file at a time. What is in them is checked
 * when they are read.
 */
const READ_AT_START: ReadonlyArray<{ path: keyof Config; when: Array<keyof Config>; trimmed: boolean }> = [
  // `trimmed`: whether the code that reads the file trims the option's value first (else it is read as given).
  { path: 'EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH', when: ['EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE'], trimmed: false },
  { path: 'EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH', when: ['EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE'], trimmed: false },
  { path: 'EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH', when: ['EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE'], trimmed: false },
  { path: 'EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH', when: ['EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE'], trimmed: false },
  { path: 'EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH', when: ['EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE'], trimmed: false },
  { path: 'EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH', when: ['EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE'], trimmed: true },
  { path: 'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH', when: ['EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE'], trimmed: true },
  { path: 'EF_OUTPUT_ELASTICSEARCH_TLS_CA_CERT_FILEPATH', when: ['EF_OUTPUT_ELASTICSEARCH_ENABLE'], trimmed: false },
  { path: 'EF_OUTPUT_OPENSEARCH_TLS_CA_CERT_FILEPATH', when: ['EF_OUTPUT_OPENSEARCH_ENABLE'], trimmed: false },
  { path: 'EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH', when: ['EF_OUTPUT_KAFKA_ENABLE', 'EF_OUTPUT_KAFKA_TLS_ENABLE'], trimmed: false },
  { path: 'EF_OUTPUT_CLICKHOUSE_TLS_CA_CERT_FILEPATH', when: ['EF_OUTPUT_CLICKHOUSE_ENABLE'], trimmed: false },
  { path: 'EF_WEBUI_TLS_CERT_FILEPATH', when: ['EF_WEBUI_ENABLE', 'EF_WEBUI_TLS_ENABLE'], trimmed: false },
  { path: 'EF_WEBUI_TLS_KEY_FILEPATH', when: ['EF_WEBUI_ENABLE', 'EF_WEBUI_TLS_ENABLE'], trimmed: false },
];

/**
 * Why a CA file is not one or more PEM certificates, or null: Node's TLS takes any text as "no CA"
 * and every connection then fails as an unknown certificate, far from the option that caused it.
 */
function notCertificates(path: string): string | null {
  const pems = readFileSync(path, 'latin1').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) return 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  for (const pem of pems) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      return `a certificate in it does not parse (${(err as Error).message.split('\n')[0]})`;
    }
  }
  return null;
}

/** Why `path` cannot be read as a file, or null when it can. */
function unreadableFile(path: string): string | null {
  try {
    if (!statSync(path).isFile()) return 'not a file';
    accessSync(path, constants.R_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable by this user' : (err as Error).message;
  }
}

/**
 * Options that have a default and cannot be empty: always (an empty bind address would mean every
 * interface, an empty port list no socket at all, an empty data directory the working directory:
 * the store and the caches written into / under systemd), or while the feature that uses them is on
 * (an empty address list left nothing to send to). Empty while the feature is off is fine.
 */
const NOT_EMPTY: ReadonlyArray<readonly [keyof Config, keyof Config | null]> = [
  ['EF_FLOW_SERVER_UDP_IP', null],
  ['EF_FLOW_SERVER_UDP_PORT', null],
  ['EF_DATA_DIR', null],
  ['EF_WEBUI_IP', 'EF_WEBUI_ENABLE'],
  ['EF_OUTPUT_ELASTICSEARCH_ADDRESSES', 'EF_OUTPUT_ELASTICSEARCH_ENABLE'],
  ['EF_OUTPUT_OPENSEARCH_ADDRESSES', 'EF_OUTPUT_OPENSEARCH_ENABLE'],
  ['EF_OUTPUT_ELASTICSEARCH_INDEX_PREFIX', 'EF_OUTPUT_ELASTICSEARCH_ENABLE'],
  ['EF_OUTPUT_OPENSEARCH_INDEX_PREFIX', 'EF_OUTPUT_OPENSEARCH_ENABLE'],
  ['EF_OUTPUT_CLICKHOUSE_ADDRESSES', 'EF_OUTPUT_CLICKHOUSE_ENABLE'],
  ['EF_OUTPUT_CLICKHOUSE_DATABASE', 'EF_OUTPUT_CLICKHOUSE_ENABLE'],
  ['EF_OUTPUT_CLICKHOUSE_TABLE', 'EF_OUTPUT_CLICKHOUSE_ENABLE'],
  ['EF_OUTPUT_KAFKA_BROKERS', 'EF_OUTPUT_KAFKA_ENABLE'],
  ['EF_OUTPUT_KAFKA_TOPIC', 'EF_OUTPUT_KAFKA_ENABLE'],
  ['EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT', 'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE'],
  ['EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL', 'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE'],
  ['EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL', 'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE'],
];

const DROP_FIELDS_OPTIONS = ['EF_OUTPUT_STDOUT_DROP_FIELDS', 'EF_OUTPUT_FILE_DROP_FIELDS', 'EF_OUTPUT_KAFKA_DROP_FIELDS', 'EF_OUTPUT_ELASTICSEARCH_DROP_FIELDS', 'EF_OUTPUT_OPENSEARCH_DROP_FIELDS'] as const;

/** Whether a DROP_FIELDS entry can match anything: a schema field (CODEX or ECS name) or an extra. */
function namesSomething(entry: string): boolean {
  const prefix = entry.endsWith('*');
  const stem = prefix ? entry.slice(0, -1) : entry;
  const hit = (n: string | null): boolean => n !== null && n !== '@timestamp' && (prefix ? n.startsWith(stem) : n === stem);
  return FIELDS.some((f) => hit(f.codex) || hit(f.ecs)) || mayNameExtra(stem, prefix);
}

/** Rules that span options; `c` lacks the options whose values did not parse. */
function crossChecks(c: Partial<Config>, errors: string[], warnings: string[]): void {
  for (const [name, when] of NOT_EMPTY) {
    const v = c[name];
    if (v === undefined || (when !== null && c[when] !== true)) continue;
    if (Array.isArray(v) ? v.length > 0 : String(v).trim() !== '') continue;
    const spec = OPTIONS[name] as OptionSpec;
    errors.push(`${name}="": ${when === null ? 'cannot be empty' : `required when ${when}=true`}; ${spec.allowed} (unset it for the default ${spec.defaultText})`);
  }
  if (c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE === true) {
    if (c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER?.trim() === '')
      errors.push('EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER="": required when EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=true; set the PassiveTotal account e-mail');
    if (c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY?.trim() === '')
      errors.push('EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY="": required when EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=true; set the PassiveTotal API key');
  }
  if (c.EF_OUTPUT_RISKIQ_ENABLE === true) {
    if (c.EF_OUTPUT_RISKIQ_HOST?.trim() === '')
      errors.push('EF_OUTPUT_RISKIQ_HOST="": required when EF_OUTPUT_RISKIQ_ENABLE=true; the RiskIQ collector\'s host name or address');
    if (c.EF_OUTPUT_RISKIQ_CUSTOMER_UUID === '')
      errors.push('EF_OUTPUT_RISKIQ_CUSTOMER_UUID="": required when EF_OUTPUT_RISKIQ_ENABLE=true; a UUID such as 527dd194-a116-11af-8380-034aba1ce438');
    if (c.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY === '')
      errors.push('EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY="": required when EF_OUTPUT_RISKIQ_ENABLE=true; base64 of 16, 24 or 32 bytes');
  }
  exampleCredentials(c, warnings);
  if (c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE === true) {
    for (const [name, what] of [
      ['EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID', 'the Entra ID tenant ID'],
      ['EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID', 'the application (client) ID'],
      ['EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET', 'the client secret'],
    ] as const) {
      if (c[name]?.trim() === '') errors.push(`${name}="": required when EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE=true; ${what} of the app registration`);
    }
  }
  if (c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE === true) {
    // A keyed feed named in _FEEDS needs its key (left out of the default set when it has none).
    const keys = { abuseipdb: 'EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY', otx: 'EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY' } as const;
    for (const name of c.EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS ?? []) {
      const key = catalogueFeed(name)?.key;
      if (key === undefined) continue;
      const option = keys[key];
      if (c[option]?.trim() === '') errors.push(`${option}="": required when EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS names ${name}; the feed's API key`);
    }
  }
  if (c.EF_WEBUI_ENABLE === true) webChecks(c, errors, warnings);
  if (c.EF_OUTPUT_KAFKA_ENABLE === true && c.EF_OUTPUT_KAFKA_SASL_ENABLE === true) {
    if (c.EF_OUTPUT_KAFKA_SASL_USERNAME?.trim() === '') errors.push('EF_OUTPUT_KAFKA_SASL_USERNAME="": required when EF_OUTPUT_KAFKA_SASL_ENABLE=true; the SASL user');
    if (c.EF_OUTPUT_KAFKA_SASL_PASSWORD === '') errors.push('EF_OUTPUT_KAFKA_SASL_PASSWORD="": required when EF_OUTPUT_KAFKA_SASL_ENABLE=true; the SASL password');
  }
  if (c.EF_OUTPUT_KAFKA_ENABLE === true && c.EF_OUTPUT_KAFKA_PARTITION_KEY === 'community_id' && c.EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE === false)
    warnings.push('EF_OUTPUT_KAFKA_PARTITION_KEY=community_id with EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE=false: no record has a Community ID, so every message goes without a key, spread over the partitions (one flow\'s records no longer share one)');
  if (c.EF_OUTPUT_FILE_ENABLE === true && c.EF_OUTPUT_FILE_PATH?.trim() === '')
    errors.push('EF_OUTPUT_FILE_PATH="": required when EF_OUTPUT_FILE_ENABLE=true; the file to append flows to');
  if (c.EF_OUTPUT_CLICKHOUSE_ENABLE === true && (c.EF_OUTPUT_CLICKHOUSE_ADDRESSES?.length ?? 0) > 1)
    warnings.push(`EF_OUTPUT_CLICKHOUSE_ADDRESSES: only the first address (${maskUrlCredentials(c.EF_OUTPUT_CLICKHOUSE_ADDRESSES![0]!)}) is used; the store writes to one server`);
  if (c.EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE === true && c.EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH?.trim() === '')
    errors.push('EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH="": required when EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE=true; the file of sampling rates per exporter');
  if (c.EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE === true && c.EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH?.trim() === '')
    errors.push('EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH="": required when EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE=true; the file of interface names per exporter');
  if (c.EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE === true && c.EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH?.trim() === '')
    errors.push('EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH="": required when EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE=true; the file of what you know about your addresses');
  for (const { path: pathName, when, trimmed } of READ_AT_START) {
    const path = c[pathName] as string | undefined;
    if (!when.every((e) => c[e] === true) || path === undefined || path.trim() === '') continue;
    const problem = unreadableFile(trimmed ? path.trim() : path) ?? (pathName.endsWith('_TLS_CA_CERT_FILEPATH') ? notCertificates(path) : null);
    if (problem !== null) errors.push(`${pathName}=${JSON.stringify(path)}: ${problem} (read at start-up because ${when.map((e) => `${e}=true`).join(' and ')})`);
  }
  for (const name of DROP_FIELDS_OPTIONS) {
    const unknown = (c[name] ?? []).filter((e) => !namesSomething(e));
    const them = unknown.length === 1 ? 'it' : 'them';
    // The address metadata file's fields are the user's own: known only once the file is read.
    const unless = c.EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE === true ? `unless the address metadata file adds ${them}, ` : '';
    if (unknown.length > 0) warnings.push(`${name}: ${unknown.join(', ')} ${unknown.length === 1 ? 'names' : 'name'} no field of the schema (docs/schema.md) and no extra a decoder keeps; ${unless}nothing is dropped for ${them}`);
  }
  if (c.EF_OUTPUT_RISKIQ_ENABLE !== undefined && c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE !== undefined && c.EF_OUTPUT_RISKIQ_ENABLE !== c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE) {
    warnings.push(c.EF_OUTPUT_RISKIQ_ENABLE
      ? 'EF_OUTPUT_RISKIQ_ENABLE=true but EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=false: the RiskIQ integration needs both the output and the threat enricher'
      : 'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=true but EF_OUTPUT_RISKIQ_ENABLE=false: the RiskIQ integration needs both the output and the threat enricher');
  }
}

/**
 * The example values of the vendor's RiskIQ PassiveTotal page (docs/riskiq.md): its snippets load as
 * they are (pasted verbatim, they must work), but they belong to no account.
 */
const EXAMPLE_CUSTOMER_UUID = '527dd194-a116-11af-8380-034aba1ce438';
const EXAMPLE_ENCRYPTION_KEY = 'twBovkmV8YIxx0QyulybZg==';
const EXAMPLE_API_KEY = '0ff5abcdefdaf9ef12345675c4c11abcdef61bfe7ad1234568ec395bb288639';

/** Warnings for a RiskIQ feature switched on with the vendor page's example values (secrets not echoed). */
function exampleCredentials(c: Partial<Config>, warnings: string[]): void {
  const page = 'the example printed on the vendor\'s RiskIQ PassiveTotal page, not your account\'s';
  if (c.EF_OUTPUT_RISKIQ_ENABLE === true) {
    if (c.EF_OUTPUT_RISKIQ_CUSTOMER_UUID?.trim().toLowerCase() === EXAMPLE_CUSTOMER_UUID) {
      warnings.push(`EF_OUTPUT_RISKIQ_CUSTOMER_UUID=${EXAMPLE_CUSTOMER_UUID}: ${page}; flows would be sent to RiskIQ under an example customer. Set the UUID from the "ElastiFlow Integration" pop-up of your PassiveTotal account (Integrations)`);
    }
    const key = c.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY;
    // Compared as bytes: the key may be written without its `=` padding.
    if (key !== undefined && key !== '' && Buffer.from(key, 'base64').equals(Buffer.from(EXAMPLE_ENCRYPTION_KEY, 'base64'))) {
      warnings.push(`EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: ${page}; flows sent to RiskIQ would be encrypted with a key printed in public. Set the key from the "ElastiFlow Integration" pop-up of your PassiveTotal account (Integrations)`);
    }
  }
  if (c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE === true && c.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY?.trim() === EXAMPLE_API_KEY) {
    warnings.push(`EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: ${page}; PassiveTotal will refuse the blocklist download. Set the KEY of your account's API Access section`);
  }
}

/** The web server's login and HTTPS: both halves of each, and warnings where flows or a password would cross a network unprotected. */
function webChecks(c: Partial<Config>, errors: string[], warnings: string[]): void {
  const user = c.EF_WEBUI_AUTH_USERNAME, pass = c.EF_WEBUI_AUTH_PASSWORD;
  if (user !== undefined && user.includes(':')) errors.push(`EF_WEBUI_AUTH_USERNAME=${JSON.stringify(user)}: HTTP Basic user names cannot hold ':'`);
  if (user !== undefined && pass !== undefined && (user === '') !== (pass === '')) {
    errors.push(user === '' ? 'EF_WEBUI_AUTH_USERNAME="": required when EF_WEBUI_AUTH_PASSWORD is set; the user name the login asks for'
      : 'EF_WEBUI_AUTH_PASSWORD="": required when EF_WEBUI_AUTH_USERNAME is set; the password the login asks for');
  }
  if (c.EF_WEBUI_TLS_ENABLE === true) {
    const cert = c.EF_WEBUI_TLS_CERT_FILEPATH, key = c.EF_WEBUI_TLS_KEY_FILEPATH;
    if (cert === '') errors.push('EF_WEBUI_TLS_CERT_FILEPATH="": required when EF_WEBUI_TLS_ENABLE=true; the server\'s certificate (PEM)');
    if (key === '') errors.push('EF_WEBUI_TLS_KEY_FILEPATH="": required when EF_WEBUI_TLS_ENABLE=true; the certificate\'s private key (PEM)');
    // Both readable (READ_AT_START says when not): they must make a pair, so that `ufc config` finds what start-up would.
    if (cert !== undefined && key !== undefined && cert !== '' && key !== '' && unreadableFile(cert) === null && unreadableFile(key) === null) {
      try {
        checkPair({ cert: readFileSync(cert), key: readFileSync(key) });
      } catch (err) {
        errors.push(`EF_WEBUI_TLS_CERT_FILEPATH=${JSON.stringify(cert)} and EF_WEBUI_TLS_KEY_FILEPATH=${JSON.stringify(key)}: not a certificate and its key (${(err as Error).message.split('\n')[0]})`);
      }
    }
  }
  const ip = c.EF_WEBUI_IP?.trim();
  if (ip === undefined || ip === '' || isLoopback(ip)) return;
  if (user === '') warnings.push(`EF_WEBUI_IP=${ip}: the web UI and API serve other machines with no login; set EF_WEBUI_AUTH_USERNAME and EF_WEBUI_AUTH_PASSWORD, or put a reverse proxy with one in front`);
  else if (user !== undefined && c.EF_WEBUI_TLS_ENABLE === false) warnings.push(`EF_WEBUI_IP=${ip}: the login's password crosses the network in clear text; set EF_WEBUI_TLS_ENABLE=true with a certificate, or put a reverse proxy with HTTPS in front`);
}

/** 127.0.0.0/8, ::1 and ::ffff:127.x: addresses no other machine reaches. */
function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('127.') || ip === '::1';
}

/** The effective configuration as `NAME=value` lines, secrets shown as ***. */
export function renderConfig(c: Config): string {
  const lines: string[] = [];
  for (const name of OPTION_NAMES) {
    const spec = OPTIONS[name] as OptionSpec;
    const v = c[name] as unknown;
    const text = Array.isArray(v) ? v.join(',') : String(v);
    lines.push(`${name}=${spec.secret && text !== '' ? '***' : maskUrlCredentials(text, spec.list === true)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * `text` (an option's value; `list`: a comma-separated list, masked item by item) with the passwords
 * in it shown as *** (credentials()): for `ufc config`, warnings and error lines.
 */
function maskUrlCredentials(text: string, list = true): string {
  return credentials(text, list).text;
}

/**
 * `text` masked, and the passwords it held (for the log redactor). Values here passed their checks
 * (error lines mask on their own: mayHoldCredentials); a list option's items are masked one by one.
 * - A URL (`scheme://...`) that parses: its password (or a lone user token) as the URL parser reads
 *   it, up to the authority's last `@`; an `@` in its path or query is no password and stays, unless
 *   the authority reads `user:` and no port (then a password holding `/ ? #`, hidden to the last `@`).
 * - A URL that does not parse (an option checked only as `http(s)://...`, its password holding a
 *   character that ends the authority): all from the scheme to the last `@`, keeping the user.
 * - A list item without a scheme (`user:password@broker:9092`): from its first `:` to its last `@`
 *   when a `:` comes before the `@` (an e-mail address has none, and stays).
 */
function credentials(text: string, list: boolean): { text: string; secrets: string[] } {
  const secrets: string[] = [];
  if (!text.includes('@')) return { text, secrets };
  const parts = list ? text.split(/(,)/) : [text];
  for (let i = 0; i < parts.length; i += 2) parts[i] = maskItem(parts[i]!, list, secrets);
  return { text: parts.join(''), secrets };
}

/** One item (or a whole single value) masked; its passwords pushed to `secrets`. */
function maskItem(item: string, list: boolean, secrets: string[]): string {
  const lead = item.length - item.trimStart().length;
  const body = item.slice(lead);
  const scheme = body.indexOf('://');
  if (scheme > 0 && /^[a-z][a-z0-9+.-]*$/i.test(body.slice(0, scheme))) {
    const from = lead + scheme + 3;
    const rest = item.slice(from);
    const at = rest.lastIndexOf('@');
    if (at < 0) return item;
    let url: URL | null = null;
    try {
      url = new URL(body.trim());
    } catch {
      // not one: hidden to the last `@` below
    }
    const authEnd = rest.search(/[/?#\\]/);
    if (url !== null && url.username === '' && url.password === '') {
      // `scheme://a:b/c@d`: the parser reads host a, port b, and an `@` in the path; written so, it
      // is most likely a password holding `/ ? #` (not percent-encoded), shown as one.
      const c = rest.indexOf(':');
      if (authEnd < 0 || c < 0 || c > authEnd || at < authEnd || rest.startsWith('[')) return item;
      secrets.push(rest.slice(c + 1, at));
      return `${item.slice(0, from + c + 1)}***${rest.slice(at)}`;
    }
    // The parser's userinfo ends at the authority's last `@` (the authority ends at / ? # or `\`);
    // one that does not parse, at the item's last `@`.
    const end = url === null ? at : (authEnd < 0 ? rest : rest.slice(0, authEnd)).lastIndexOf('@');
    const info = rest.slice(0, end);
    const colon = info.indexOf(':');
    secrets.push(colon < 0 ? info : info.slice(colon + 1));
    return `${item.slice(0, from)}${colon < 0 ? '***' : `${info.slice(0, colon)}:***`}${rest.slice(end)}`;
  }
  if (!list) return item;
  const at = item.lastIndexOf('@');
  const colon = item.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return item;
  secrets.push(item.slice(colon + 1, at));
  return `${item.slice(0, colon + 1)}***${item.slice(at)}`;
}

/** Whether `text` may hold credentials: an `@` with a `:` before it (`user:pass@`, `scheme://token@`); `@timestamp` or an e-mail address has none. */
function mayHoldCredentials(text: string): boolean {
  const at = text.lastIndexOf('@');
  return at >= 0 && text.slice(0, at).includes(':');
}

/** A list's error message: the items it quotes (bad ones, ones given twice) are left out when the value may hold credentials. */
function maskItems(message: string, value: string): string {
  if (!mayHoldCredentials(value)) return message;
  return message.replace(/ \((bad|twice): .*\)$/, (_m, kind: string) => ` (the ${kind === 'bad' ? 'bad items' : 'items given twice'} are not shown: the value may hold credentials)`);
}

/** Every secret value set, for the log redactor. */
export function secretValues(c: Config): string[] {
  const out: string[] = [];
  for (const name of OPTION_NAMES) {
    const spec = OPTIONS[name] as OptionSpec;
    const v = c[name] as unknown;
    if (spec.secret && typeof v === 'string' && v.length >= 4) out.push(v);
    // A password written into a URL option (http://user:password@host) is as secret as the option for it.
    for (const text of Array.isArray(v) ? v : [v]) {
      if (typeof text !== 'string') continue;
      for (const secret of credentials(text, spec.list === true).secrets) if (secret.length >= 4) out.push(secret, percentDecoded(secret));
      const basic = basicOfUrl(text);
      if (basic !== null) out.push(basic);
    }
    // The HTTP Basic form of a user and password option pair, which a server may echo in an error body.
    const user = name.endsWith('_PASSWORD') ? c[name.replace(/_PASSWORD$/, '_USERNAME') as keyof Config] : undefined;
    if (typeof user === 'string' && user !== '' && typeof v === 'string' && v.length >= 4) out.push(Buffer.from(`${user}:${v}`).toString('base64'));
  }
  return out;
}

/** The HTTP Basic form (base64 of user:password) of the credentials in a URL, or null. */
function basicOfUrl(text: string): string | null {
  if (!text.includes('@')) return null;
  try {
    const u = new URL(text.trim());
    return u.password.length >= 4 ? Buffer.from(`${percentDecoded(u.username)}:${percentDecoded(u.password)}`).toString('base64') : null;
  } catch {
    return null;
  }
}

/**
 * Secret redaction for everything the process logs or shows: every configured secret (API keys,
 * passwords, the RiskIQ encryption key) is replaced by *** in each string, whatever field or message
 * carries it, as written and URL-encoded (a key in a query string is logged in its encoded form).
 * Values are redacted before they are serialized, so a line stays valid JSON whatever the secret is.
 */
const secrets: string[] = [];

export function registerSecrets(values: readonly string[]): void {
  for (const v of values) {
    if (v.length < 4) continue;
    for (const form of [v, encodeURIComponent(v)]) if (!secrets.includes(form)) secrets.push(form);
  }
  // Longest first, so a secret containing another is replaced whole.
  secrets.sort((a, b) => b.length - a.length);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}

/** Nesting followed by redactDeep; deeper values are replaced by a marker (logs and statuses are shallow). */
const MAX_DEPTH = 8;

/**
 * `v` with every string in it redacted, as JSON.stringify would write it: a value with toJSON (URL,
 * Date) by what that gives, other objects by their own enumerable properties; errors stay errors
 * (pino writes their type, message and stack) with their other properties (code, errno, cause).
 */
export function redactDeep(v: unknown, depth = 0): unknown {
  if (secrets.length === 0) return v;
  if (typeof v === 'string') return redact(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth + 1));
  if (v instanceof Error) {
    const e = new Error(redact(v.message));
    e.name = v.name;
    e.stack = redact(v.stack ?? '');
    for (const [k, x] of Object.entries(v)) (e as unknown as Record<string, unknown>)[k] = redactDeep(x, depth + 1);
    if (v.cause !== undefined) e.cause = redactDeep(v.cause, depth + 1);
    return e;
  }
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return redactDeep(toJSON.call(v), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = redactDeep(x, depth + 1);
  return out;
}

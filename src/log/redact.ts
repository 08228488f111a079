/**
 * Secret redaction for everything the process logs: every configured secret (API keys, passwords,
 * the RiskIQ encryption key) is replaced by *** in each line, whatever field or message carries it.
 */
const secrets: string[] = [];

export function registerSecrets(values: readonly string[]): void {
  for (const v of values) if (v.length >= 4 && !secrets.includes(v)) secrets.push(v);
  // Longest first, so a secret containing another is replaced whole.
  secrets.sort((a, b) => b.length - a.length);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('***');
    // The JSON-escaped form (a secret with / or " inside shows escaped in a log line).
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s && out.includes(escaped)) out = out.split(escaped).join('***');
  }
  return out;
}

// Number, size, rate and time formatting shared by every page.

const nf = new Intl.NumberFormat('en-US');
export const num = (n) => (n === null || n === undefined || Number.isNaN(n) ? '–' : nf.format(Math.round(n)));

const small = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
/** Three significant digits: 999.5 rounds to 1000, and so moves up a unit. */
const round3 = (v) => Number(v.toPrecision(3));

function scaled(n, units, base) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  const sign = n < 0 ? '-' : '';
  let i = 0;
  let v = Math.abs(n);
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  // Past the last unit (no counter reaches it: 2^64 is 18.4 E): a power of ten, never a row of digits.
  if (v >= base) return Number.isFinite(v) ? `${sign}${v.toExponential(2).replace('e+', 'e')} ${units[i]}` : '–';
  // Whole counts stay whole; fractions (rates) keep 3 significant digits, also below 1 (0.0005 flows/s).
  if (i === 0 && Number.isInteger(v)) return `${sign}${v} ${units[0]}`;
  if (v > 0 && v < 1) return `${sign}${small.format(v)} ${units[i]}`;
  if (round3(v) >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  const r = round3(v);
  return `${sign}${r.toFixed(r >= 100 ? 0 : r >= 10 ? 1 : 2)} ${units[i]}`;
}

// Up to zetta and yotta: a 64-bit counter holds 18.4 EB, and a sum of them (or 8 times it, in bits) more.
export const bytes = (n) => scaled(n, ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'], 1000);
export const bits = (n) => scaled(n, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s', 'Pbit/s', 'Ebit/s', 'Zbit/s', 'Ybit/s'], 1000);
export const count = (n) => scaled(n, ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'], 1000).replace(' ', '');
export const rate = (n, unit) => `${count(n)} ${unit}/s`;

/**
 * A name cut to `max` characters for display, with "…" when cut: a threat feed's name of 100 KB made
 * the tables 700,000 px wide. Show the whole name in a title.
 */
export function clip(text, max = 64) {
  const t = String(text);
  if (t.length <= max) return t;
  // Not between the two halves of a character beyond U+FFFF.
  const end = /[\ud800-\udbff]/.test(t[max - 1]) ? max - 1 : max;
  return `${t.slice(0, end)}…`;
}

export function time(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  const pad = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(ms, now = Date.now()) {
  if (!ms) return 'never';
  const s = Math.round((now - ms) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  if (a < 2) return 'just now';
  const txt = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 172800 ? `${(a / 3600).toFixed(1)} h` : `${Math.round(a / 86400)} days`;
  return future ? `in ${txt}` : `${txt} ago`;
}

export function pct(part, whole) {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–';
}

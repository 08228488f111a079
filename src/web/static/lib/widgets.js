/* global document, location, URLSearchParams */
// Building blocks the pages share: address links into PassiveTotal, tables, cards, the time range.
import { h, fill, isolate } from './dom.js';
import * as fmt from './format.js';
import { pushUrl } from './history.js';

let ptBase = 'https://community.riskiq.com/research?query=';
export function setPassiveTotalUrl(url) {
  ptBase = url;
}

/** An address linking in-context to PassiveTotal (the vendor's dashboards do the same). */
export function ipLink(ip) {
  if (!ip) return h('span', { class: 'muted' }, '–');
  // IPv6 may break anywhere (it has no spaces and can be 39 characters); IPv4 never does, or
  // `127.0.0.1` on one line and `2` on the next reads as another address.
  return h('a', {
    class: ip.includes(':') ? 'ip v6' : 'ip', href: ptBase + encodeURIComponent(ip), target: '_blank', rel: 'noopener noreferrer',
    title: `Research ${ip} in PassiveTotal (opens a new tab)`,
  }, ip);
}

export function threatTags(names) {
  if (!names || names.length === 0) return null;
  const list = Array.isArray(names) ? names : String(names).split(',');
  return list.filter((n) => n).map((n) => tag('tag threat', n));
}

/** A name as a pill, cut to 64 characters when longer (a feed's names have no bound), whole in its title. */
export function tag(cls, name, attrs = {}) {
  const shown = fmt.clip(name);
  return h(attrs.href ? 'a' : 'span', { class: cls, ...attrs, title: attrs.title ?? (shown !== name ? isolate(name) : undefined) }, shown);
}

/** columns: [{ label, value: (row) => node|string, num?: true, title? }] */
export function table(columns, rows, opts = {}) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, title: c.title }, c.label))));
  const body = h('tbody', null, rows.length === 0
    ? h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, opts.empty ?? 'No data in this time range.'))
    : rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.value(r))))));
  return h('div', { class: 'table-wrap' }, h('table', { class: opts.compact ? 'compact' : null, 'aria-label': opts.label }, opts.caption ? h('caption', null, opts.caption) : null, head, body));
}

/** A share-of-total bar behind a number (top-N lists). Width is set through CSSOM: the CSP forbids style attributes. */
export function bar(value, max, text) {
  const b = h('span', { class: 'bar' });
  b.style.width = `${max > 0 ? Math.max(1, Math.round((100 * value) / max)) : 0}%`;
  return h('span', { class: 'bar-cell' }, b, h('span', { class: 'bar-text' }, text));
}

export function card(title, ...children) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', null, title), ...children);
}

export function stat(label, value, sub, id) {
  return h('div', { class: 'stat', id }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), sub ? h('div', { class: 'stat-sub' }, sub) : null);
}

export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, String(err && err.message ? err.message : err));
}

export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter((p) => p).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export const RANGES = [
  ['15m', 'Last 15 minutes', 15 * 60e3],
  ['1h', 'Last hour', 3600e3],
  ['6h', 'Last 6 hours', 6 * 3600e3],
  ['24h', 'Last 24 hours', 24 * 3600e3],
  ['7d', 'Last 7 days', 7 * 24 * 3600e3],
  ['all', 'All stored', 0],
];

/** The selected time range lives in the URL (?range=1h) so every view can be linked and reloaded. */
export function currentRange() {
  const key = new URLSearchParams(location.search).get('range') ?? '1h';
  const r = RANGES.find((x) => x[0] === key) ?? RANGES[1];
  const to = Date.now();
  // "All stored": from=0 asks the API to start at the oldest stored flow; `to` is left to the API (now).
  return { key: r[0], label: r[1], from: r[2] === 0 ? 0 : to - r[2], to: r[2] === 0 ? undefined : to };
}

/** A range choice updates the URL, then calls onChange (the page drops what the old range pinned). */
export function rangeControl(onChange) {
  const cur = currentRange().key;
  const sel = h('select', { id: 'range', 'aria-label': 'Time range' }, RANGES.map(([k, label]) => h('option', { value: k, selected: k === cur }, label)));
  sel.addEventListener('change', () => {
    const u = new URL(location.href);
    u.searchParams.set('range', sel.value);
    // Another range is another result set: page 1 of it.
    u.searchParams.delete('offset');
    // A history entry of its own: Back goes to the range before.
    pushUrl(u);
    for (const a of document.querySelectorAll('header nav a')) keepRange(a);
    onChange();
  });
  return h('label', { class: 'range-label' }, h('span', null, 'Time range'), sel);
}

/**
 * `path` with `params` and what of the page's own URL `keep` names (its time range; a flow search's
 * pinned times too, for links that should show the same flows).
 */
export function withRange(path, params, keep = ['range']) {
  const q = new URLSearchParams(params);
  const here = new URLSearchParams(location.search);
  for (const k of keep) {
    const v = here.get(k);
    if (v) q.set(k, v);
  }
  return `${path}${[...q].length > 0 ? `?${q}` : ''}`;
}

/** Carries the range across page links. */
export function keepRange(a) {
  const r = new URLSearchParams(location.search).get('range');
  const u = new URL(a.getAttribute('href'), location.href);
  if (r) u.searchParams.set('range', r);
  else u.searchParams.delete('range');
  a.setAttribute('href', u.pathname + u.search);
}

export function setStatus(text) {
  const el = document.getElementById('foot-status');
  if (el) fill(el, text);
}

export { fmt };

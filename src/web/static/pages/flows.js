/* global location, URLSearchParams, FormData */
// Flow search: address or CIDR, network name or tag, port, protocol, exporter, interface and time filters, paging, and export of
// the same query as CSV or NDJSON. The filters live in the URL, so a search can be linked; so do
// its times, pinned in epoch milliseconds when it runs: paging walks one fixed set of flows (with
// `to` recomputed as now, "Older" showed newer flows and skipped some), and a link finds the same.
import { h, fill } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { currentRange, errorBox, fmt } from '../lib/widgets.js';
import { flowTable } from './flow-table.js';
import { pushUrl, replaceUrl } from '../lib/history.js';

const PAGE_SIZE = 50;
/** Exporters offered in the Exporter field's list, the busiest by records. */
const EXPORTERS_SUGGESTED = 200;
const FILTERS = ['ip', 'net', 'tag', 'port', 'proto', 'exporter', 'ifIndex', 'threat'];
const HOUR_MS = 3_600_000;
/**
 * How far before now a search's `to` is pinned when the user gave none: flows stamped in the last
 * moment are still on their way into the store (outputs batch for about a second; the API waits as
 * long before it shows a step), and arriving after page 1 was read they pushed its rows onto the next.
 */
const SETTLE_MS = 2000;
/** The API's offset bound. */
const OFFSET_MAX = 1_000_000;
/** 9999-12-31T00:00Z: later times do not fit a datetime-local input (nor toISOString in every zone). */
const TIME_MAX = 253_402_214_400_000;

/** A time from the URL in epoch ms, or undefined when absent or not one the page can use (said in `notes`). */
function urlTime(q, name, min, notes) {
  const v = q.get(name);
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  if (Number.isSafeInteger(n) && n >= min && n <= TIME_MAX) return n;
  notes?.push(`${name}=${v} is ignored: expected epoch milliseconds from ${min} to ${TIME_MAX} (year 9999).`);
  return undefined;
}

function urlOffset(q) {
  const n = Number(q.get('offset') ?? 0);
  return Number.isSafeInteger(n) && n >= 0 && n <= OFFSET_MAX ? n : 0;
}

/** Local wall time to the second, as a datetime-local input takes it; 0 ("since the oldest flow") shows empty. */
function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 19);
}

export function mount(root, _info, shell) {
  const q = new URLSearchParams(location.search);
  const notes = [];
  const fromMs = urlTime(q, 'from', 0, notes);
  const toMs = urlTime(q, 'to', 1, notes);
  if (notes.length > 0) {
    const u = new URL(location.href);
    if (fromMs === undefined) u.searchParams.delete('from');
    if (toMs === undefined) u.searchParams.delete('to');
    replaceUrl(u);
  }
  const field = (id, label, attrs, hint) => h('div', { class: 'field' },
    h('label', { for: id }, label), h('input', { id, name: id, value: q.get(id) ?? '', ...attrs }), hint ? h('small', null, hint) : null);
  const exporterList = h('datalist', { id: 'exporter-list' });
  const netList = h('datalist', { id: 'net-list' });
  const tagList = h('datalist', { id: 'tag-list' });
  const protos = [['', 'Any'], ['6', 'TCP (6)'], ['17', 'UDP (17)'], ['1', 'ICMP (1)'], ['58', 'IPv6-ICMP (58)'], ['47', 'GRE (47)'], ['50', 'ESP (50)'], ['132', 'SCTP (132)']];
  // A protocol the list does not name (a link's proto=4) is an option of its own: shown as "Any",
  // the form hid the filter in use, and Search dropped it.
  const urlProto = q.get('proto')?.trim() ?? '';
  if (urlProto !== '' && !protos.some(([v]) => v === urlProto)) protos.push([urlProto, `Protocol ${urlProto}`]);
  const proto = h('select', { id: 'proto', name: 'proto' }, protos.map(([v, l]) => h('option', { value: v, selected: urlProto === v }, l)));
  // As the API reads it: 1 or true.
  const threat = h('input', { type: 'checkbox', id: 'threat', name: 'threat', value: '1', checked: ['1', 'true'].includes(q.get('threat')?.trim() ?? '') });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Flow filters' },
    h('div', { class: 'pair three' },
      field('ip', 'IP address or CIDR', { placeholder: '10.0.0.0/8, 2001:db8::1', autocomplete: 'off', spellcheck: 'false' }),
      field('net', 'Network', { list: 'net-list', placeholder: 'any', autocomplete: 'off', maxlength: 256, title: 'a network named in the address metadata file, on either end' }),
      field('tag', 'Tag', { list: 'tag-list', placeholder: 'any', autocomplete: 'off', maxlength: 256, pattern: '[^,]+', title: 'a tag of a network in the address metadata file, on either end' })),
    field('port', 'Port', { inputmode: 'numeric', placeholder: '443', pattern: '[0-9]{1,5}' }),
    h('div', { class: 'field' }, h('label', { for: 'proto' }, 'Protocol'), proto),
    // One grid cell for both: an interface is an exporter's, and the form keeps its two rows.
    h('div', { class: 'pair' },
      field('exporter', 'Exporter', { list: 'exporter-list', placeholder: 'any', autocomplete: 'off' }),
      field('ifIndex', 'Interface', { inputmode: 'numeric', placeholder: 'ifIndex', pattern: '[0-9]{1,10}', autocomplete: 'off', title: 'an interface index, in or out' })),
    field('from', 'From', { type: 'datetime-local', step: 1, value: fromMs === undefined ? '' : toLocalInput(fromMs) }, 'empty: the time range above'),
    field('to', 'To', { type: 'datetime-local', step: 1, value: toMs === undefined ? '' : toLocalInput(toMs) }, 'empty: now, or an hour after From'),
    h('div', { class: 'field check' }, threat, h('label', { for: 'threat' }, 'Only flows touching listed addresses')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'reset', onclick: (e) => { e.preventDefault(); clearForm(); } }, 'Clear')),
    exporterList, netList, tagList);
  const input = (name) => form.elements.namedItem(name);
  // What each time input stands for while it shows what it was filled with: read back from its
  // local minutes and seconds, a link's milliseconds were lost, and across a DST fall-back its hour.
  const exact = {};
  const remember = (name, ms) => {
    exact[name] = { text: input(name).value, ms };
  };
  remember('from', fromMs);
  remember('to', toMs);
  const inputTime = (name) => {
    const v = input(name).value.trim();
    if (v === exact[name].text) return exact[name].ms;
    const ms = v === '' ? NaN : new Date(v).getTime();
    return Number.isFinite(ms) ? ms : undefined;
  };
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
  const exportLinks = h('div', { class: 'export' });
  const results = h('div', { class: 'results' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Result pages' });
  // Why another page of the shown search failed, above the page still shown.
  const turnError = h('div', { class: 'turn-error' });
  // append() writes a null child as the text "null": only the notice that exists goes in.
  root.append(...[form, notes.length > 0 ? h('div', { class: 'notice', role: 'alert' }, notes.join(' ')) : null,
    h('div', { class: 'result-bar' }, summary, exportLinks), turnError, results, pager].filter((el) => el !== null));

  function clearForm() {
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === 'checkbox') el.checked = false;
      else el.value = '';
    }
    remember('from', undefined);
    remember('to', undefined);
    search();
  }

  /** A new search: the form's filters and times, page 1; times left empty are pinned anew by refresh(). */
  function search() {
    const u = new URL(location.href);
    const fd = new FormData(form);
    for (const k of FILTERS) {
      const v = String(fd.get(k) ?? '').trim();
      if (v === '') u.searchParams.delete(k);
      else u.searchParams.set(k, v);
    }
    for (const k of ['from', 'to']) {
      const ms = inputTime(k);
      remember(k, ms);
      if (ms === undefined) u.searchParams.delete(k);
      else u.searchParams.set(k, String(ms));
    }
    u.searchParams.delete('offset');
    // A search is an entry of the browser's history of its own, so Back shows the one before it.
    pushUrl(u);
    return shell.refresh();
  }

  /**
   * Another page of the same search: same filters, same pinned times. The page's URL (a history
   * entry of its own) is made once it has been shown, so a failed turn leaves Back as it was.
   */
  function turnTo(offset) {
    turning = offset;
    return shell.refresh();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });

  // The busiest exporters as suggestions (any address can be typed): all 10,000 were 5.85 MB and as many
  // options, and the rates looked up in the store for the Exporters page queued ahead of this search.
  getJson('/api/exporters', { limit: EXPORTERS_SUGGESTED, sampling: 'decoders' }).then((d) => fill(exporterList, d.exporters.map((x) => h('option', { value: x.exporter })))).catch(() => {});
  // The networks and tags flows of the time range above were in, as suggestions (either end; the busiest 200 of each).
  const range = currentRange();
  const suggest = (list, fields) => Promise.all(fields.map((field) => getJson('/api/top', { from: range.from, to: range.to, field, limit: 200 })))
    .then((tops) => fill(list, [...new Set(tops.flatMap((t) => t.rows.map((x) => String(x.key))))].sort().map((name) => h('option', { value: name }))))
    .catch(() => {});
  suggest(netList, ['flow.src.ip.subnet.name', 'flow.dst.ip.subnet.name']);
  suggest(tagList, ['flow.src.ip.subnet.tags', 'flow.dst.ip.subnet.tags']);

  /** The search in the URL, with its times pinned there first when missing. */
  function pinned() {
    const u = new URL(location.href);
    const sp = u.searchParams;
    let from = urlTime(sp, 'from', 0);
    let to = urlTime(sp, 'to', 1);
    if (from === undefined && to === undefined) {
      // The whole range moves back with its end, so it keeps its length ("All stored" keeps from=0).
      const r = currentRange();
      to = (r.to ?? Date.now()) - SETTLE_MS;
      from = r.from === 0 ? 0 : Math.max(0, r.from - SETTLE_MS);
    } else if (from === undefined) {
      from = Math.max(0, to - HOUR_MS);
    } else if (to === undefined) {
      to = Math.max(from + 1, Date.now() - SETTLE_MS);
    }
    sp.set('from', String(from));
    sp.set('to', String(to));
    replaceUrl(u);
    const p = {};
    for (const k of FILTERS) {
      const v = sp.get(k)?.trim();
      if (v) p[k] = v;
    }
    return { p: { ...p, from: String(from), to: String(to) }, offset: urlOffset(sp) };
  }

  // The search on the page (its filters and times) and its page's offset; the offset of the page
  // turn the next refresh is to show, or null (set by turnTo, taken by the refresh it starts).
  let shown = null;
  let turning = null;

  return {
    async refresh(signal) {
      const pin = pinned();
      const { p } = pin;
      const turn = turning !== null;
      const offset = turning ?? pin.offset;
      turning = null;
      const search = JSON.stringify(p);
      let d;
      try {
        d = await getJson('/api/flows', { ...p, limit: PAGE_SIZE, offset }, signal);
      } catch (err) {
        if (!signal?.aborted && turn && shown !== null && shown.search === search) {
          // Another page of the search shown failed (the API busy, 503): the page shown stays, with
          // the error above it, and so does its URL, so "Older" can be pressed again.
          fill(turnError, errorBox(err));
        } else if (!signal?.aborted) {
          shown = null;
          fill(turnError);
          fill(results, errorBox(err));
          fill(summary);
          fill(pager);
          fill(exportLinks);
        }
        throw err;
      }
      shown = { search, offset };
      if (turn) {
        const u = new URL(location.href);
        if (offset > 0) u.searchParams.set('offset', String(offset));
        else u.searchParams.delete('offset');
        pushUrl(u);
      }
      fill(turnError);
      const first = d.rows.length === 0 ? 0 : offset + 1;
      const last = offset + d.rows.length;
      const span = `${fmt.time(d.from)} to ${fmt.time(d.to)}`;
      // A link or bookmark whose offset is past the end (fewer flows in its range by now, retention)
      // is not "no flows match": it says so, and "Newer" goes to the last page there is.
      const pastEnd = d.rows.length === 0 && offset > 0 && d.total > 0;
      const lastPage = Math.max(0, Math.ceil(d.total / PAGE_SIZE) - 1) * PAGE_SIZE;
      fill(summary, pastEnd ? `No flows on this page: the search has ${fmt.num(d.total)}, ${span}.`
        : d.rows.length === 0 ? `No flows match. Searched ${span}.` : `Flows ${fmt.num(first)}–${fmt.num(last)} of ${fmt.num(d.total)}, ${span}`);
      const qs = new URLSearchParams(p);
      fill(exportLinks, 'Export: ',
        h('a', { href: `/api/flows?${qs}&format=csv`, download: 'flows.csv', id: 'export-csv' }, 'CSV'), ' · ',
        h('a', { href: `/api/flows?${qs}&format=ndjson`, download: 'flows.ndjson', id: 'export-ndjson' }, 'NDJSON'),
        h('small', { class: 'muted' }, ` (up to ${fmt.num(d.exportLimit)} rows)`));
      fill(results, flowTable(d.rows, 'Flows', pastEnd ? 'No flows on this page.' : 'No flows match these filters.'));
      fill(pager,
        h('button', { type: 'button', disabled: offset === 0, onclick: () => turnTo(pastEnd ? lastPage : Math.max(0, offset - PAGE_SIZE)) }, '← Newer'),
        h('span', null, `Page ${fmt.num(Math.floor(offset / PAGE_SIZE) + 1)} of ${fmt.num(Math.max(1, Math.ceil(d.total / PAGE_SIZE)))}`),
        h('button', { type: 'button', disabled: last >= d.total || last >= OFFSET_MAX, onclick: () => turnTo(offset + PAGE_SIZE) }, 'Older →'));
    },

    /** A new time range replaces the search's times and goes back to page 1. */
    rangeChanged() {
      input('from').value = '';
      input('to').value = '';
      remember('from', undefined);
      remember('to', undefined);
      const u = new URL(location.href);
      for (const k of ['from', 'to', 'offset']) u.searchParams.delete(k);
      replaceUrl(u);
    },
  };
}

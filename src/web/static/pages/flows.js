/* global location, history, URLSearchParams, FormData */
// Flow search: address or CIDR, port, protocol, exporter and time filters, paging, and export of
// the same query as CSV or NDJSON. The filters live in the URL, so a search can be linked.
import { h, fill } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { currentRange, errorBox, fmt } from '../lib/widgets.js';
import { flowTable } from './flow-table.js';

const PAGE_SIZE = 50;
const FIELDS = ['ip', 'port', 'proto', 'exporter', 'from', 'to', 'threat'];

function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

export function mount(root) {
  const q = new URLSearchParams(location.search);
  const field = (id, label, attrs, hint) => h('div', { class: 'field' },
    h('label', { for: id }, label), h('input', { id, name: id, value: q.get(id) ?? '', ...attrs }), hint ? h('small', null, hint) : null);
  const exporterList = h('datalist', { id: 'exporter-list' });
  const proto = h('select', { id: 'proto', name: 'proto' },
    [['', 'Any'], ['6', 'TCP (6)'], ['17', 'UDP (17)'], ['1', 'ICMP (1)'], ['58', 'IPv6-ICMP (58)'], ['47', 'GRE (47)'], ['50', 'ESP (50)'], ['132', 'SCTP (132)']]
      .map(([v, l]) => h('option', { value: v, selected: (q.get('proto') ?? '') === v }, l)));
  const threat = h('input', { type: 'checkbox', id: 'threat', name: 'threat', value: '1', checked: q.get('threat') === '1' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Flow filters' },
    field('ip', 'IP address or CIDR', { placeholder: '10.0.0.0/8 or 2001:db8::1', autocomplete: 'off', spellcheck: 'false' }),
    field('port', 'Port', { inputmode: 'numeric', placeholder: '443', pattern: '[0-9]{1,5}' }),
    h('div', { class: 'field' }, h('label', { for: 'proto' }, 'Protocol'), proto),
    field('exporter', 'Exporter', { list: 'exporter-list', placeholder: 'any', autocomplete: 'off' }),
    field('from', 'From', { type: 'datetime-local', value: q.get('from') ? toLocalInput(Number(q.get('from'))) : '' }, 'empty: the time range above'),
    field('to', 'To', { type: 'datetime-local', value: q.get('to') ? toLocalInput(Number(q.get('to'))) : '' }),
    h('div', { class: 'field check' }, threat, h('label', { for: 'threat' }, 'Only flows touching listed addresses')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Search'),
      h('button', { type: 'reset', onclick: (e) => { e.preventDefault(); clearForm(); } }, 'Clear')),
    exporterList);
  const summary = h('p', { class: 'summary', role: 'status', 'aria-live': 'polite' });
  const exportLinks = h('div', { class: 'export' });
  const results = h('div', { class: 'results' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Result pages' });
  root.append(form, h('div', { class: 'result-bar' }, summary, exportLinks), results, pager);

  function clearForm() {
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.type === 'checkbox') el.checked = false;
      else el.value = '';
    }
    submit(0);
  }

  let offset = Number(q.get('offset') ?? 0) || 0;

  function params() {
    const p = {};
    const fd = new FormData(form);
    for (const k of FIELDS) {
      const v = String(fd.get(k) ?? '').trim();
      if (v === '') continue;
      p[k] = k === 'from' || k === 'to' ? String(new Date(v).getTime()) : v;
    }
    const r = currentRange();
    if (p.from === undefined) p.from = String(r.from);
    if (p.to === undefined && r.to !== undefined) p.to = String(r.to);
    return p;
  }

  function submit(newOffset) {
    offset = newOffset;
    const u = new URL(location.href);
    for (const k of [...FIELDS, 'offset']) u.searchParams.delete(k);
    const fd = new FormData(form);
    for (const k of FIELDS) {
      const v = String(fd.get(k) ?? '').trim();
      if (v !== '') u.searchParams.set(k, k === 'from' || k === 'to' ? String(new Date(v).getTime()) : v);
    }
    if (offset > 0) u.searchParams.set('offset', String(offset));
    history.replaceState(null, '', u);
    return view.refresh();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(0);
  });

  getJson('/api/exporters').then((d) => fill(exporterList, d.exporters.map((x) => h('option', { value: x.exporter })))).catch(() => {});

  const view = {
    async refresh() {
      const p = params();
      let d;
      try {
        d = await getJson('/api/flows', { ...p, limit: PAGE_SIZE, offset });
      } catch (err) {
        fill(results, errorBox(err));
        fill(summary);
        fill(pager);
        fill(exportLinks);
        throw err;
      }
      const first = d.rows.length === 0 ? 0 : offset + 1;
      const last = offset + d.rows.length;
      fill(summary, d.rows.length === 0 ? 'No flows match.' : `Flows ${fmt.num(first)}–${fmt.num(last)} of ${fmt.num(d.total)}`);
      const qs = new URLSearchParams(p);
      fill(exportLinks, 'Export: ',
        h('a', { href: `/api/flows?${qs}&format=csv`, download: 'flows.csv', id: 'export-csv' }, 'CSV'), ' · ',
        h('a', { href: `/api/flows?${qs}&format=ndjson`, download: 'flows.ndjson', id: 'export-ndjson' }, 'NDJSON'),
        h('small', { class: 'muted' }, ` (up to ${fmt.num(d.exportLimit)} rows)`));
      fill(results, flowTable(d.rows, 'Flows', 'No flows match these filters.'));
      fill(pager,
        h('button', { type: 'button', disabled: offset === 0, onclick: () => submit(Math.max(0, offset - PAGE_SIZE)) }, '← Newer'),
        h('span', null, `Page ${fmt.num(Math.floor(offset / PAGE_SIZE) + 1)} of ${fmt.num(Math.max(1, Math.ceil(d.total / PAGE_SIZE)))}`),
        h('button', { type: 'button', disabled: last >= d.total, onclick: () => submit(offset + PAGE_SIZE) }, 'Older →'));
    },
  };
  return view;
}

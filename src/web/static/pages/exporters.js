// Exporters: per device the protocol, packets, records, what its sequence numbers say went missing,
// errors by reason, templates, sampling rates and when it was last heard from (the collector's live
// counters, not the store). The busiest ROWS_SHOWN are listed, and a search finds any other.
/* global location, URLSearchParams */
import { h, fill, isolate } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { pushUrl, replaceUrl } from '../lib/history.js';
import { card, errorBox, fmt, ipLink, stat, table } from '../lib/widgets.js';

/**
 * Rows asked for, the busiest by records (the API's order). With all of 10,000 exporters, the answer
 * was 5.85 MB and the table 190,000 elements, drawn again at every live refresh: the tab froze for
 * seconds each time.
 */
const ROWS_SHOWN = 200;
/** Typing waits this long for the next key before searching, so a word is one request, not one per letter. */
const TYPING_MS = 300;

const PROTOCOL_LABEL = { netflow1: 'NetFlow v1', netflow5: 'NetFlow v5', netflow7: 'NetFlow v7', netflow9: 'NetFlow v9', ipfix: 'IPFIX', sflow5: 'sFlow v5', unknown: 'unknown' };

/** What the list shows of all exporters, when not all of them; '' when it shows every one. */
function shownText(d, find) {
  const n = d.exporters.length;
  if (find === '') return n < d.matched ? `Showing the busiest ${fmt.num(n)} of ${fmt.num(d.total)} exporters (by records); search to find the others.` : '';
  if (n < d.matched) return `Showing the busiest ${fmt.num(n)} of ${fmt.num(d.matched)} exporters matching “${find}”; search for more to narrow it.`;
  return `${fmt.num(d.matched)} of ${fmt.num(d.total)} exporters match “${find}”.`;
}

export function mount(root, _info, shell) {
  const stats = h('div', { class: 'stats' });
  // The search is in the URL (q=), so a found exporter can be linked.
  const box = h('input', {
    type: 'search', id: 'exporter-q', name: 'q', value: new URLSearchParams(location.search).get('q') ?? '',
    placeholder: 'address, host name or network', autocomplete: 'off', spellcheck: 'false', maxlength: 256,
  });
  const form = h('form', { class: 'find', role: 'search', 'aria-label': 'Find exporters' }, h('label', { for: 'exporter-q' }, 'Find an exporter'), box);
  const summary = h('p', { class: 'summary', id: 'exporters-shown', role: 'status', 'aria-live': 'polite' });
  const list = h('div');
  root.append(stats, h('div', { class: 'result-bar' }, summary, form), list);
  let typing = null;
  // A search is a history entry (Back shows the list before it), as in Flow search: the first change
  // typed makes one, the next keystrokes refine it in place, and Enter starts the next one.
  let refining = false;
  const search = (submitted) => {
    clearTimeout(typing);
    typing = null;
    const u = new URL(location.href);
    const find = box.value.trim();
    if (find === '') u.searchParams.delete('q');
    else u.searchParams.set('q', find);
    if (u.href !== location.href) {
      if (refining) replaceUrl(u);
      else pushUrl(u);
    }
    refining = !submitted;
    return shell.refresh();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search(true);
  });
  box.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => search(false), TYPING_MS);
  });
  return {
    async refresh(signal) {
      const find = box.value.trim();
      let d;
      try {
        d = await getJson('/api/exporters', { limit: ROWS_SHOWN, q: find }, signal);
      } catch (err) {
        if (!signal?.aborted) fill(list, errorBox(err));
        throw err;
      }
      // The totals are the API's, over every exporter: the rows are only the busiest.
      fill(stats,
        stat('Exporters', fmt.num(d.total), null, 'stat-exporters'),
        stat('Packets', fmt.count(d.sums.packets), null, 'stat-exporter-packets'),
        stat('Records', fmt.count(d.sums.records), null, 'stat-exporter-records'),
        // No share of packets: errors count datagrams, data sets or records, by reason (a datagram's
        // several data sets that never got their template are several errors).
        stat('Errors', fmt.num(d.sums.errorCount), null, 'stat-exporter-errors'));
      fill(summary, shownText(d, find));
      fill(list, card('Exporters', table([
        // Its DNS name and its network's name from the address metadata file, each on a line below, when known.
        { label: 'Exporter', value: (x) => (x.host || x.network
          ? h('span', { class: 'end' }, ipLink(x.exporter),
            x.host ? h('span', { class: 'host muted', title: x.host }, x.host) : null,
            x.network ? h('span', { class: 'host muted net', title: `network ${isolate(x.network)}` }, x.network) : null)
          : ipLink(x.exporter)) },
        { label: 'Protocol', value: (x) => (x.protocols.length > 0 ? x.protocols : [x.protocol]).map((p) => PROTOCOL_LABEL[p] ?? p).join(', ') },
        { label: 'Packets', num: true, value: (x) => fmt.num(x.packets) },
        { label: 'Records', num: true, value: (x) => fmt.num(x.records) },
        { label: 'Bytes', num: true, value: (x) => fmt.bytes(x.bytes) },
        // Sent by the exporter and never decoded here, by its own numbering (sequence-gaps.ts).
        { label: 'Missing', value: (x) => {
          const q = x.sequence ?? {};
          const parts = [[q.missingDatagrams, 'datagrams'], [q.missingRecords, 'records'], [q.agentDrops, 'samples dropped by the agent'], [q.late, 'late'], [q.resets, 'restarts']].filter(([n]) => n > 0);
          if (parts.length === 0) return h('span', { class: 'muted', title: 'no gap in its sequence numbers' }, 'none');
          return h('ul', { class: 'reasons' }, parts.map(([n, what]) => h('li', null, h('span', { class: what === 'late' || what === 'restarts' ? 'tag muted' : 'tag warn' }, fmt.num(n)), ' ', what)));
        } },
        // Errors (datagrams lost), then the records kept with their times changed (a clock far off).
        { label: 'Errors', value: (x) => {
          const changed = Object.entries(x.timesChanged ?? {});
          if (x.errorCount === 0 && changed.length === 0) return h('span', { class: 'muted' }, 'none');
          const byCount = (a, b) => b[1] - a[1];
          return h('ul', { class: 'reasons' },
            Object.entries(x.errors).sort(byCount).map(([k, v]) => h('li', null, h('span', { class: 'tag warn' }, fmt.num(v)), ' ', k)),
            changed.sort(byCount).map(([k, v]) => h('li', { title: 'records kept, their times changed' }, h('span', { class: 'tag muted' }, fmt.num(v)), ' ', k)));
        } },
        { label: 'Templates', num: true, value: (x) => (x.templates === null ? h('span', { class: 'muted' }, '–') : x.interfaceNames > 0
          ? h('span', null, fmt.num(x.templates), h('small', { class: 'muted block' }, `${fmt.num(x.interfaceNames)} interface${x.interfaceNames === 1 ? '' : 's'} named`))
          : fmt.num(x.templates)) },
        { label: 'Sampling', value: (x) => (x.samplingRates.length === 0 ? h('span', { class: 'muted' }, 'none known') : x.samplingRates.map((n) => `1:${n}`).join(', ')) },
        { label: 'Last seen', value: (x) => h('span', { class: 'nowrap', title: fmt.time(x.lastSeen) }, fmt.ago(x.lastSeen, d.now)) },
      ], d.exporters, { label: 'Exporters', empty: find === '' ? 'No exporter has sent anything yet.' : `No exporter matches “${find}”.` })));
    },
  };
}

/* global location, URLSearchParams */
// Overview: traffic rates over time and the top talkers, ports, protocols, countries and ASNs, and
// the busiest exporter interfaces.
import { h, fill } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { lineChart } from '../lib/chart.js';
import { bar, card, currentRange, errorBox, fmt, ipLink, stat, table } from '../lib/widgets.js';

export function mount(root) {
  const stats = h('div', { class: 'stats' });
  const charts = h('div', { class: 'grid charts' });
  const tops = h('div', { class: 'grid tops' });
  root.append(stats, charts, tops);

  return {
    async refresh(signal) {
      const r = currentRange();
      // Asked beside the overview and shown when it comes: over long ranges it reads every flow
      // (the overview's lists come from hourly summaries there), so the page does not wait for it.
      const ifs = getJson('/api/interfaces', { from: r.from, to: r.to, limit: 10 }, signal);
      ifs.catch(() => {});
      let d;
      try {
        d = await getJson('/api/overview', { from: r.from, to: r.to }, signal);
      } catch (err) {
        if (!signal?.aborted) fill(stats, errorBox(err));
        throw err;
      }
      const seconds = Math.max(1, (d.to - d.from) / 1000);
      fill(stats,
        stat('Flows', fmt.count(d.totals.flows), `${fmt.rate(d.totals.flows / seconds, 'flows')} average`, 'stat-flows'),
        stat('Bytes', fmt.bytes(d.totals.bytes), `${fmt.bits((8 * d.totals.bytes) / seconds)} average`, 'stat-bytes'),
        stat('Packets', fmt.count(d.totals.packets), `${fmt.rate(d.totals.packets / seconds, 'pkts')} average`, 'stat-packets'),
        stat('Threat flows', fmt.count(d.totals.threatFlows ?? 0), h('a', { href: `/threats${location.search}` }, 'See threats →'), 'stat-threats'));
      fill(charts,
        lineChart('Flows per second', d.series.map((p) => ({ t: p.t, v: p.flows })), (v) => fmt.count(v)),
        lineChart('Bits per second', d.series.map((p) => ({ t: p.t, v: 8 * p.bytes })), (v) => fmt.bits(v), { tone: 'blue' }),
        lineChart('Packets per second', d.series.map((p) => ({ t: p.t, v: p.packets })), (v) => fmt.count(v), { tone: 'violet' }));
      const t = d.top;
      const maxOf = (rows) => Math.max(0, ...rows.map((x) => x.bytes));
      fill(tops,
        card('Top talkers', table([
          { label: 'Address', value: (x) => ipLink(x.ip) },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.talkers), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.talkers, { compact: true, label: 'Top talkers' })),
        card('Top ports', table([
          { label: 'Server port', value: (x) => String(x.port) },
          { label: 'Service', value: (x) => x.service || '' },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.ports), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.ports, { compact: true, label: 'Top ports' })),
        card('Countries', table([
          { label: 'Country', value: (x) => (x.name ? `${x.name}${x.iso ? ` (${x.iso})` : ''}` : h('span', { class: 'muted' }, 'unknown / private')) },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.countries), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.countries, { compact: true, label: 'Countries' })),
        card('Protocols', table([
          { label: 'Protocol', value: (x) => x.name || String(x.proto) },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.protocols), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.protocols, { compact: true, label: 'Protocols' })),
        card('Autonomous systems', table([
          { label: 'ASN', value: (x) => (x.asn ? `AS${x.asn}` : h('span', { class: 'muted' }, 'unknown')) },
          { label: 'Organisation', value: (x) => x.org || '' },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.asns), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.asns, { compact: true, label: 'Autonomous systems' })));
      const ifCard = card('Interfaces', h('p', { class: 'muted' }, 'Loading…'));
      tops.append(ifCard);
      let list;
      try {
        list = (await ifs).interfaces;
      } catch (err) {
        if (!signal?.aborted) ifCard.replaceWith(card('Interfaces', errorBox(err)));
        return;
      }
      const busiest = Math.max(0, ...list.map((x) => Math.max(x.inBytes, x.outBytes)));
      const flowsOf = (exporter, ifIndex) => {
        const q = new URLSearchParams(location.search);
        q.set('exporter', exporter);
        if (ifIndex !== undefined) q.set('ifIndex', String(ifIndex));
        else q.delete('ifIndex');
        return `/flows?${q}`;
      };
      ifCard.replaceWith(card('Interfaces', table([
        { label: 'Exporter', value: (x) => h('a', { href: flowsOf(x.exporter), title: `Flows from ${x.exporter}` }, x.exporter) },
        { label: 'Interface', value: (x) => (x.ifIndex <= 0 ? h('span', { class: 'muted', title: 'the exporter sent no interface index' }, 'unknown')
          : h('a', { href: flowsOf(x.exporter, x.ifIndex), title: `Flows in or out of ifIndex ${x.ifIndex} of ${x.exporter}` },
            ...(x.name ? [x.name, ' ', h('span', { class: 'muted' }, `(${x.ifIndex})`)] : [String(x.ifIndex)]))) },
        { label: 'In', num: true, value: (x) => bar(x.inBytes, busiest, fmt.bits((8 * x.inBytes) / seconds)) },
        { label: 'Out', num: true, value: (x) => bar(x.outBytes, busiest, fmt.bits((8 * x.outBytes) / seconds)) },
      ], list, { compact: true, label: 'Interfaces', empty: 'No flows in this range.' })));
    },
  };
}

// Threats: flows touching listed addresses, at-risk servers (a listed client reaching one of
// ours), high-risk clients (ours reaching a listed server), and the breakdown by threat and feed.
import { h, fill, isolate } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { bar, card, currentRange, errorBox, fmt, ipLink, stat, table, tag, threatTags, withRange } from '../lib/widgets.js';
import { flowTable } from './flow-table.js';

/** The tables hold the busiest few; says so when there are more. */
function shownOf(shown, total) {
  return total > shown ? h('p', { class: 'hint' }, `The ${fmt.num(shown)} with most flows of ${fmt.num(total)}.`) : null;
}

export function mount(root) {
  const stats = h('div', { class: 'stats' });
  const breakdown = h('div', { class: 'grid two' });
  const ends = h('div', { class: 'grid two' });
  const recent = h('div');
  root.append(stats, breakdown, ends, recent);

  return {
    async refresh(signal) {
      const r = currentRange();
      let d;
      try {
        d = await getJson('/api/threats', { from: r.from, to: r.to, limit: 50 }, signal);
      } catch (err) {
        if (!signal?.aborted) fill(stats, errorBox(err));
        throw err;
      }
      fill(stats,
        stat('Threat flows', fmt.num(d.totals.flows), `${fmt.pct(d.totals.flows, d.totals.allFlows)} of all flows`, 'stat-threat-flows'),
        stat('Threat bytes', fmt.bytes(d.totals.bytes), null, 'stat-threat-bytes'),
        stat('At-risk servers', fmt.num(d.totals.atRiskServers), 'reached by listed clients', 'stat-at-risk'),
        stat('High-risk clients', fmt.num(d.totals.highRiskClients), 'listed addresses opening flows', 'stat-high-risk'));
      const maxFlows = (rows) => Math.max(0, ...rows.map((x) => x.flows));
      // Every card in one fill, so the keyboard focus in any of them stays where it was.
      fill(breakdown,
        card('By threat name', table([
          { label: 'Threat', value: (x) => tag('tag threat', x.name) },
          { label: 'Flows', num: true, value: (x) => bar(x.flows, maxFlows(d.byName), fmt.num(x.flows)) },
          { label: 'Bytes', num: true, value: (x) => fmt.bytes(x.bytes) },
        ], d.byName, { compact: true, label: 'By threat name', empty: 'No flow touched a listed address in this time range.' })),
        card('By feed', table([
          { label: 'Feed', value: (x) => tag('tag feed', x.feed) },
          { label: 'Flows', num: true, value: (x) => bar(x.flows, maxFlows(d.byFeed), fmt.num(x.flows)) },
          { label: 'Bytes', num: true, value: (x) => fmt.bytes(x.bytes) },
        ], d.byFeed, { compact: true, label: 'By feed', empty: 'No flow touched a listed address in this time range.' })),
        // Networks named in the address metadata file: which of ours talk to listed addresses.
        d.byNetwork.length > 0 ? card('By network', table([
          { label: 'Network', value: (x) => h('a', { href: withRange('/flows', { net: x.network, threat: '1' }), class: 'wrap', title: `threat flows of network ${isolate(x.network)}` }, x.network) },
          { label: 'Flows', num: true, value: (x) => bar(x.flows, maxFlows(d.byNetwork), fmt.num(x.flows)) },
          { label: 'Bytes', num: true, value: (x) => fmt.bytes(x.bytes) },
        ], d.byNetwork, { compact: true, label: 'By network' })) : null);
      const endCols = (peerLabel) => [
        { label: 'Address', value: (x) => (x.network ? h('span', { class: 'end' }, ipLink(x.ip), h('span', { class: 'host muted net', title: `network ${isolate(x.network)}` }, x.network)) : ipLink(x.ip)) },
        { label: peerLabel, num: true, value: (x) => fmt.num(x.peers) },
        { label: 'Threats', value: (x) => threatTags(x.names) },
        { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        { label: 'Bytes', num: true, value: (x) => fmt.bytes(x.bytes) },
      ];
      fill(ends,
        card('At-risk servers', h('p', { class: 'hint' }, 'Our servers (not listed) that a listed client reached.'),
          shownOf(d.atRiskServers.length, d.totals.atRiskServers),
          table(endCols('Listed clients'), d.atRiskServers, { compact: true, label: 'At-risk servers', empty: 'None in this time range.' })),
        card('High-risk clients', h('p', { class: 'hint' }, 'Listed addresses that opened flows, and how many servers each reached.'),
          shownOf(d.highRiskClients.length, d.totals.highRiskClients),
          table(endCols('Servers reached'), d.highRiskClients, { compact: true, label: 'High-risk clients', empty: 'None in this time range.' })));
      fill(recent, card('Recent threat flows', flowTable(d.recent, 'Recent threat flows', 'No flow touched a listed address in this time range.')));
    },
  };
}

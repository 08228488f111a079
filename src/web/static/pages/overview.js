/* global location, URLSearchParams */
// Overview: traffic rates over time and the top talkers, ports, protocols, countries, ASNs and named
// networks, and the busiest exporter interfaces; of all flows, or of those the URL's filters keep (one interface's).
import { h, fill, isolate, swap } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { lineChart } from '../lib/chart.js';
import { bar, card, currentRange, errorBox, fmt, ipLink, stat, table, withRange } from '../lib/widgets.js';

/** Filters the Overview takes from its URL, named as flow search names them, and how the bar says each. */
const FILTERS = [['exporter', 'from exporter'], ['ifIndex', 'through interface'], ['ip', 'of address'], ['net', 'of network'], ['tag', 'of networks tagged'], ['port', 'on port'], ['proto', 'of protocol'], ['threat', 'touching listed addresses']];

function urlFilters() {
  const q = new URLSearchParams(location.search);
  const f = {};
  for (const [k] of FILTERS) {
    const v = q.get(k)?.trim();
    // threat as the API reads it: only 1 or true filter.
    if (k === 'threat') { if (v === '1' || v === 'true') f[k] = '1'; } else if (v) f[k] = v;
  }
  return f;
}

const flowsLink = (params) => withRange('/flows', params);
/** The Overview of one network's flows (the address metadata file's name), in the same time range. */
const overviewOf = (net) => withRange('/', { net });

/**
 * What a filtered Overview shows, with links to those flows and back to all traffic. `ifLabel` holds
 * the interface's index, and its name once the Interfaces card knows it. update() sets the links'
 * time range anew (the range control changes the URL, not the page).
 */
function filterBar(f, ifLabel) {
  const parts = FILTERS.filter(([k]) => f[k] !== undefined).map(([k, label]) => (k === 'threat' ? [label] : k === 'ifIndex' ? [`${label} `, ifLabel] : [`${label} ${f[k]}`]));
  const flows = h('a', null, 'These flows →');
  const all = h('a', null, 'All traffic');
  const el = h('p', { class: 'filter-bar', role: 'status' }, 'Only flows ', ...parts.flatMap((p, i) => (i > 0 ? [', ', ...p] : p)), '. ', flows, ' · ', all);
  const update = () => {
    flows.setAttribute('href', flowsLink(f));
    all.setAttribute('href', withRange('/', {}));
  };
  update();
  return { el, update };
}

/**
 * The interface's own counters (sFlow counter samples): its exact traffic in and out, next to the
 * sampled flows' estimate above, with its speed, state, errors and discards over the range.
 */
function interfaceCounters(c) {
  const series = (key) => c.points.map((p) => ({ t: p.ts, v: p[key] ?? 0 }));
  const peak = (key) => Math.max(0, ...c.points.map((p) => p[key] ?? 0));
  const l = c.latest;
  const util = (key) => (l && l.speed > 0 ? ` (${fmt.pct(peak(key), l.speed)} of ${fmt.bits(l.speed)})` : '');
  const state = l === null ? '' : (l.status & 2) !== 0 ? 'up' : (l.status & 1) !== 0 ? 'down (administratively up)' : 'down';
  const t = c.totals;
  return card('Interface counters (sFlow)',
    h('p', { class: 'muted', id: 'counters-summary' },
      `${fmt.num(c.samples)} counter samples; ${l && l.speed > 0 ? `speed ${fmt.bits(l.speed)}, ` : ''}${state ? `${state}; ` : ''}`,
      `peak in ${fmt.bits(peak('inBps'))}${util('inBps')}, out ${fmt.bits(peak('outBps'))}${util('outBps')}; `,
      `errors ${fmt.num(t.inErrors)} in, ${fmt.num(t.outErrors)} out; discards ${fmt.num(t.inDiscards)} in, ${fmt.num(t.outDiscards)} out`,
      c.resets > 0 ? `; ${fmt.num(c.resets)} agent restart${c.resets === 1 ? '' : 's'} (no rate across them)` : '',
      // Several data sources give this ifIndex (a VLAN or SAP of the port): the rates are of one.
      c.sources > 1 && c.source ? `; ${fmt.num(c.sources)} data sources give this ifIndex, shown: ${c.source.type === 0 && c.source.index === c.ifIndex ? 'the interface' : `source ${c.source.type}:${c.source.index}`}${c.source.domain ? ` of sub-agent ${c.source.domain}` : ''}` : '',
      c.truncated ? '; more samples than shown: narrow the time range for its end' : ''),
    h('div', { class: 'grid charts' },
      lineChart('In, bits per second (counters)', series('inBps'), (v) => fmt.bits(v), { tone: 'blue' }),
      lineChart('Out, bits per second (counters)', series('outBps'), (v) => fmt.bits(v), { tone: 'violet' })));
}

/**
 * Asks for what a card shows without the refresh waiting for it, one request at a time. While one
 * is out for the same time range, a timed refresh asks nothing (started anew every 10 s, a slow API
 * piled them up, each holding one of the API's 16 request slots); another range abandons it, so an
 * answer for the older range never draws over the newer one.
 */
function oneAtATime() {
  let out = null;
  return (key, request, draw, failed) => {
    if (out !== null && out.key === key) return;
    out?.ac.abort();
    const ac = new AbortController();
    const mine = { key, ac };
    out = mine;
    request(ac.signal).then((d) => {
      if (out !== mine) return;
      out = null;
      draw(d);
    }, (err) => {
      if (out !== mine) return;
      out = null;
      failed(err);
    });
  };
}

/** A card on the page (or to be put there) and the time range it shows; show() puts another in its place. */
function keptCard() {
  const k = {
    el: null,
    range: null,
    show(range, next) {
      if (k.el !== null) swap(k.el, next);
      k.el = next;
      k.range = range;
    },
  };
  return k;
}

/** A chart step as words: "2-hour", "30-second", "1-day". */
function stepName(ms) {
  for (const [unit, size] of [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000]]) {
    if (ms >= size && ms % size === 0) return `${ms / size}-${unit}`;
  }
  return `${Math.max(1, Math.round(ms / 1000))}-second`;
}

/** The top conversations card. */
function conversationsCard(c) {
  const busiest = Math.max(0, ...c.conversations.map((x) => x.bytes));
  return card('Top conversations', table([
    { label: 'Client', value: (x) => ipLink(x.client) },
    { label: 'Server', value: (x) => ipLink(x.server) },
    // ICMP has no ports (the API answers 0).
    { label: 'Port', num: true, value: (x) => (x.proto === 1 || x.proto === 58 ? '' : String(x.port)) },
    { label: 'Service', value: (x) => x.service || x.protoName || String(x.proto) },
    { label: 'Bytes', num: true, value: (x) => bar(x.bytes, busiest, fmt.bytes(x.bytes)) },
    { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
  ], c.conversations, { compact: true, label: 'Top conversations', empty: 'No flows in this range.' }));
}

export function mount(root) {
  const filters = urlFilters();
  const filtered = Object.keys(filters).length > 0;
  const stats = h('div', { class: 'stats' });
  const charts = h('div', { class: 'grid charts' });
  const tops = h('div', { class: 'grid tops' });
  // An interface's own Overview (exporter and ifIndex, nothing else): its sFlow counters, when the agent polls it.
  const oneInterface = filters.exporter !== undefined && filters.ifIndex !== undefined && Object.keys(filters).length === 2;
  const counters = h('div', { class: 'counters' });
  const ifLabel = h('span', null, filters.ifIndex ?? '');
  const note = filtered ? filterBar(filters, ifLabel) : null;
  root.append(...(note !== null ? [note.el] : []), stats, charts, counters, tops);
  const askConversations = oneAtATime();
  const askCounters = oneAtATime();
  // The conversations and Interfaces cards: a refresh keeps each until its new answer comes, rather
  // than showing "Loading…" every 10 s.
  const conv = keptCard();
  const ifaces = keptCard();

  return {
    async refresh(signal) {
      note?.update();
      const r = currentRange();
      // Asked beside the overview and shown when it comes: over long ranges it reads every flow
      // (the overview's lists come from hourly summaries there), so the page does not wait for it.
      const ifs = getJson('/api/interfaces', { from: r.from, to: r.to, limit: 10, ...filters }, signal);
      ifs.catch(() => {});
      // The page's filters are its own while it is open: the range key tells one question from another.
      askConversations(r.key, (s) => getJson('/api/conversations', { from: r.from, to: r.to, limit: 10, ...filters }, s),
        (c) => conv.show(r.key, conversationsCard(c)),
        (err) => conv.show(r.key, card('Top conversations', errorBox(err))));
      if (oneInterface) {
        askCounters(r.key, (s) => getJson('/api/interface-counters', { from: r.from, to: r.to, ...filters }, s),
          (c) => fill(counters, ...(c.points.length > 0 ? [interfaceCounters(c)] : [])),
          () => fill(counters));
      }
      let d;
      try {
        d = await getJson('/api/overview', { from: r.from, to: r.to, ...filters }, signal);
      } catch (err) {
        if (!signal?.aborted) fill(stats, errorBox(err));
        throw err;
      }
      const seconds = Math.max(1, (d.to - d.from) / 1000);
      fill(stats,
        stat('Flows', fmt.count(d.totals.flows), `${fmt.rate(d.totals.flows / seconds, 'flows')} average`, 'stat-flows'),
        stat('Bytes', fmt.bytes(d.totals.bytes), `${fmt.bits((8 * d.totals.bytes) / seconds)} average`, 'stat-bytes'),
        stat('Packets', fmt.count(d.totals.packets), `${fmt.rate(d.totals.packets / seconds, 'pkts')} average`, 'stat-packets'),
        stat('Threat flows', fmt.count(d.totals.threatFlows ?? 0), filtered
          ? h('a', { href: flowsLink({ ...filters, threat: '1' }) }, 'See these flows →')
          : h('a', { href: `/threats${location.search}` }, 'See threats →'), 'stat-threats'));
      // The API leaves out the step still filling: flows in the totals and none in the steps are all in it
      // (a 7-day range's first two hours), not "no data".
      const empty = d.totals.flows > 0 ? `The current ${stepName(d.stepMs)} step is still filling` : undefined;
      fill(charts,
        lineChart('Flows per second', d.series.map((p) => ({ t: p.t, v: p.flows })), (v) => fmt.count(v), { empty }),
        lineChart('Bits per second', d.series.map((p) => ({ t: p.t, v: 8 * p.bytes })), (v) => fmt.bits(v), { tone: 'blue', empty }),
        lineChart('Packets per second', d.series.map((p) => ({ t: p.t, v: p.packets })), (v) => fmt.count(v), { tone: 'violet', empty }));
      const t = d.top;
      const maxOf = (rows) => Math.max(0, ...rows.map((x) => x.bytes));
      // An either-end list that may not be the exact top 10 (the API's top.approximate) says so.
      const approx = (list) => ((t.approximate ?? []).includes(list)
        ? h('p', { class: 'muted', 'data-approximate': list }, 'Approximate: more than 1,000 on one side in this range; narrow it for exact figures.') : null);
      const loading = (title) => card(title, h('p', { class: 'muted' }, 'Loading…'));
      if (ifaces.range !== r.key) ifaces.show(r.key, loading('Interfaces'));
      if (conv.range !== r.key) conv.show(r.key, loading('Top conversations'));
      // Every card in one fill, so the keyboard focus in any of them stays where it was.
      fill(tops,
        card('Top talkers', table([
          { label: 'Address', value: (x) => ipLink(x.ip) },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.talkers), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.talkers, { compact: true, label: 'Top talkers' }), approx('talkers')),
        card('Top ports', table([
          { label: 'Server port', value: (x) => String(x.port) },
          { label: 'Service', value: (x) => x.service || '' },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.ports), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.ports, { compact: true, label: 'Top ports' })),
        card('Countries', table([
          { label: 'Country', value: (x) => (x.name ? [x.name, x.iso ? ` (${x.iso})` : ''] : h('span', { class: 'muted' }, 'unknown / private')) },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.countries), fmt.bytes(x.bytes)) },
          { label: 'Flows', num: true, value: (x) => fmt.num(x.flows) },
        ], t.countries, { compact: true, label: 'Countries' }), approx('countries')),
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
        ], t.asns, { compact: true, label: 'Autonomous systems' }), approx('asns')),
        // Networks named in the address metadata file: shown once flows carry a name (or one is filtered).
        t.networks.length > 0 || filters.net !== undefined || filters.tag !== undefined ? card('Networks', table([
          // Four columns in a third of the page: the flows are a click away (the network's own Overview).
          { label: 'Network', value: (x) => h('a', { class: 'wrap', href: overviewOf(x.name), title: `the traffic of network ${isolate(x.name)}: ${fmt.num(x.flows)} flows` }, x.name) },
          { label: 'Bytes', num: true, value: (x) => bar(x.bytes, maxOf(t.networks), fmt.bytes(x.bytes)) },
          { label: 'Sent', num: true, value: (x) => fmt.bytes(x.outBytes) },
          { label: 'Received', num: true, value: (x) => fmt.bytes(x.inBytes) },
        ], t.networks, { compact: true, label: 'Networks' }), approx('networks')) : null,
        ifaces.el, conv.el);
      let list;
      try {
        list = (await ifs).interfaces;
      } catch (err) {
        if (!signal?.aborted) ifaces.show(r.key, card('Interfaces', errorBox(err)));
        return;
      }
      const busiest = Math.max(0, ...list.map((x) => Math.max(x.inBytes, x.outBytes)));
      // The filtered interface by its name, when its exporter is known and named it.
      // Compared as the API reads them (ifIndex=01 is 1); one exporter in the answer is the filtered one.
      const exporters = new Set(list.map((x) => x.exporter));
      const named = filters.exporter !== undefined && exporters.size === 1 && list.find((x) => x.ifIndex === Number(filters.ifIndex) && x.name);
      // The name apart from its index: a name's own direction (an override it leaves open) ends with it.
      if (named) fill(ifLabel, fmt.clip(named.name), ` (${named.ifIndex})`);
      // An exporter's flows; an interface's own Overview (its traffic over time, its talkers...).
      const linkTo = (path, exporter, ifIndex) => {
        const q = new URLSearchParams(location.search);
        for (const [k] of FILTERS) q.delete(k);
        q.set('exporter', exporter);
        if (ifIndex !== undefined) q.set('ifIndex', String(ifIndex));
        return `${path}?${q}`;
      };
      ifaces.show(r.key, card('Interfaces', table([
        { label: 'Exporter', value: (x) => h('a', { href: linkTo('/flows', x.exporter), title: `Flows from ${x.exporter}` }, x.exporter) },
        { label: 'Interface', value: (x) => (x.ifIndex <= 0 ? h('span', { class: 'muted', title: 'the exporter sent no interface index' }, 'unknown')
          // A name breaks anywhere and is cut to 64 characters: 255 without a space pushed In and Out out of view.
          : h('a', { class: 'wrap', href: linkTo('/', x.exporter, x.ifIndex), title: `Traffic in or out of ${x.name && fmt.clip(x.name) !== x.name ? `${isolate(x.name)}, ` : ''}ifIndex ${x.ifIndex} of ${x.exporter}` },
            ...(x.name ? [fmt.clip(x.name), ' ', h('span', { class: 'muted' }, `(${x.ifIndex})`)] : [String(x.ifIndex)]))) },
        { label: 'In', num: true, value: (x) => bar(x.inBytes, busiest, fmt.bits((8 * x.inBytes) / seconds)) },
        { label: 'Out', num: true, value: (x) => bar(x.outBytes, busiest, fmt.bits((8 * x.outBytes) / seconds)) },
      ], list, { compact: true, label: 'Interfaces', empty: 'No flows in this range.' })));
    },
  };
}

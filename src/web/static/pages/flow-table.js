// The flow row table shared by Threats and Flow search.
import { h, isolate } from '../lib/dom.js';
import { fmt, ipLink, table, tag, threatTags, withRange } from '../lib/widgets.js';

/** Flow search for flows with `params` (a network, a tag): in a search, with its pinned times. */
const searchFor = (params) => withRange('/flows', params, ['range', 'from', 'to']);

/**
 * A flow end: its address (and port), its threat tags, and on a line below its host name by reverse DNS
 * and its network's name and tags from the address metadata file, when known; each links to its flows.
 */
function end(ip, port, threat, host, net, netTags) {
  const tags = netTags ?? [];
  return h('span', { class: 'end' }, ipLink(ip), port ? h('span', { class: 'port' }, `:${port}`) : null, threatTags(threat),
    host ? h('span', { class: 'host muted', title: host }, host) : null,
    net || tags.length > 0 ? h('span', { class: 'host muted' },
      net ? h('a', { class: 'muted net', title: `network ${isolate(net)}`, href: searchFor({ net }) }, net) : null,
      ...tags.map((t) => tag('muted tag', t, { title: `tag ${isolate(t)}`, href: searchFor({ tag: t }) }))) : null);
}

/**
 * One interface: the exporter's name for it when known (its index on hover), else its index. A name
 * breaks anywhere and is cut to 64 characters (the whole in its title): 255 characters without a space
 * pushed the columns after it out of view.
 */
function iface(index, name) {
  if (name) {
    const shown = fmt.clip(name);
    return h('span', { class: 'wrap', title: shown === name ? `ifIndex ${index}` : `${isolate(name)}, ifIndex ${index}` }, shown);
  }
  return index ? String(index) : h('span', { class: 'muted', title: 'unknown' }, '–');
}

export function flowTable(rows, label, empty) {
  return table([
    { label: 'Time', value: (r) => h('span', { class: 'nowrap' }, fmt.time(r.ts)) },
    { label: 'Exporter', value: (r) => (r.exporterHost
      ? h('span', { class: 'end' }, ipLink(r.exporter), h('span', { class: 'host muted', title: r.exporterHost }, r.exporterHost))
      : ipLink(r.exporter)) },
    { label: 'Source', value: (r) => end(r.srcIp, r.srcPort, r.srcThreat, r.srcHost, r.srcNet, r.srcNetTags) },
    { label: 'Destination', value: (r) => end(r.dstIp, r.dstPort, r.dstThreat, r.dstHost, r.dstNet, r.dstNetTags) },
    { label: 'Proto', value: (r) => r.protoName || String(r.proto) },
    { label: 'In → out', value: (r) => (r.inIf || r.outIf || r.inIfName || r.outIfName
      ? h('span', { class: 'nowrap' }, iface(r.inIf, r.inIfName), ' → ', iface(r.outIf, r.outIfName)) : '') },
    { label: 'Bytes', num: true, value: (r) => fmt.bytes(r.bytes) },
    { label: 'Packets', num: true, value: (r) => fmt.num(r.packets) },
  ], rows, { label, empty });
}

/**
 * Where the fields a decoder keeps beyond the schema (a record's `extra`) get their names: an
 * element's registry name under its namespace (`ipfix.`, a vendor's), a raw `ie.<pen>.<id>`, a
 * NetFlow v9 scope, an sFlow structure's, and a few fixed names. Configuration uses it to tell a name
 * that can only be a typo from one an exporter may yet send (EF_OUTPUT_*_DROP_FIELDS).
 */
import { IANA_IES } from './template/ie-registry.js';
import { VENDOR_IES, PEN, vendorPrefix } from './template/vendor-ies.js';

/** Extras the decoders set under a fixed name (a test checks that each in the sources is accepted). */
export const FIXED_EXTRA_NAMES: readonly string[] = [
  'flow.bgp.communities', 'flow.biflow_direction', 'flow.dst.as.path', 'mpls.labels',
  'tunnel.src.ip.addr', 'tunnel.dst.ip.addr', 'tunnel.src.l4.port.id', 'vxlan.vni',
];

/** First segments (with their dot) under which extras are named. */
export const EXTRA_NAMESPACES: ReadonlySet<string> = (() => {
  const s = new Set(['ipfix.', 'netflow.', 'sflow.', 'ie.']);
  for (const pen of Object.values(PEN)) {
    const p = vendorPrefix(pen);
    if (p !== undefined) s.add(p + '.');
  }
  for (const table of [IANA_IES, VENDOR_IES]) {
    for (const def of table.values()) {
      const dot = def.name.indexOf('.');
      if (dot > 0) s.add(def.name.slice(0, dot + 1));
    }
  }
  return s;
})();

/** Whether an extra may be named `name` (or, for a prefix, some extra's name starts with it). */
export function mayNameExtra(name: string, prefix: boolean): boolean {
  if (FIXED_EXTRA_NAMES.some((n) => (prefix ? n.startsWith(name) : n === name))) return true;
  for (const ns of EXTRA_NAMESPACES) if (name.startsWith(ns) || (prefix && ns.startsWith(name))) return true;
  return false;
}

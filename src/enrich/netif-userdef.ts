/**
 * User-defined interface names (EF_PROCESSOR_ENRICH_NETIF_METADATA_*): NetFlow v5, sFlow and many
 * v9/IPFIX exporters send no interface table, so their flows carry indexes only. The user names the
 * interfaces in a YAML file, by exporter address and then interface index, in the layout of
 * ElastiFlow's interface metadata file:
 *
 *   192.0.2.1:
 *     1:
 *       ifName: Gi0/0
 *       ifDescr: uplink to the ISP
 *
 * `ifName` names the interface, else `ifDescr` (as in options data: interfaceName, else
 * interfaceDescription). A name from the file wins over one the exporter sent. The other attributes
 * such a file may hold (ifAlias, ifSpeed, tags, metadata, ...) are accepted and not used; the start-up
 * log names them. Counter records (sFlow) are named too: each is about one interface. Reading and
 * re-reading the file: see user-file.ts (parsing costs about 70 µs an interface, 0.8 s for 10,000,
 * on the thread that decodes: an unchanged file is not parsed again).
 */
import { parse as parseYaml } from 'yaml';
import { cutText } from '../cut-text.js';
import { log } from '../log/logger.js';
import { canonicalIp } from '../canonical-ip.js';
import { UserFileEnricher } from './user-file.js';
import type { Enricher } from '../pipeline/types.js';
import type { FlowRecord } from '../record/flow-record.js';

/** Exporter address (as records spell it) → interface index → name. */
export type NetifTable = Map<string, Map<number, string>>;

/** UTF-16 units kept of a name, as for names from options data (an ifDescr is at most 255 octets). */
const MAX_NAME = 255;
/** Interface indexes are unsigned 32-bit in NetFlow v9, IPFIX (IE 10, 14) and sFlow. */
const MAX_IF_INDEX = 0xffffffff;

/** What a parse found besides the table: attributes it did not use, interfaces it could not name. */
export interface NetifParseNotes {
  unused: Set<string>;
  unnamed: number;
}

/**
 * Parses the YAML text; throws naming the bad entry. Every scalar is read as text (YAML's failsafe
 * schema): a name such as `1.10` or `007` keeps its spelling, and an index is digits only.
 */
export function parseNetifTable(text: string, source = 'interface file', notes?: NetifParseNotes): NetifTable {
  const doc: unknown = parseYaml(text, { schema: 'failsafe' });
  const table: NetifTable = new Map();
  if (doc === null || doc === undefined || doc === '') return table;
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(doc)) throw new Error(`${source}: expected a map of exporter address to a map of interface index to attributes (ifName, ifDescr)`);
  for (const [key, ifs] of Object.entries(doc)) {
    const addr = canonicalIp(key.trim());
    if (addr === null) throw new Error(`${source}: ${key}: not an IP address`);
    if (ifs === null || ifs === '') continue;
    if (!isMap(ifs)) throw new Error(`${source}: ${key}: expected a map of interface index to attributes`);
    let names = table.get(addr);
    for (const [ifKey, attrs] of Object.entries(ifs)) {
      const ifIndex = /^\s*\d+\s*$/.test(ifKey) ? Number(ifKey) : NaN;
      if (!(ifIndex >= 1 && ifIndex <= MAX_IF_INDEX)) throw new Error(`${source}: ${key}: ${ifKey}: not an interface index (a whole number from 1 to ${MAX_IF_INDEX}; 0 is what flows without one carry)`);
      if (!isMap(attrs)) throw new Error(`${source}: ${key}: ${ifKey}: expected attributes such as ifName: Gi0/0`);
      for (const a of Object.keys(attrs)) if (a !== 'ifName' && a !== 'ifDescr') notes?.unused.add(a);
      for (const v of [attrs['ifName'], attrs['ifDescr']]) {
        if (typeof v === 'object' && v !== null) throw new Error(`${source}: ${key}: ${ifKey}: ifName and ifDescr are text, not ${Array.isArray(v) ? 'a list' : 'a map'}`);
      }
      const name = [attrs['ifName'], attrs['ifDescr']].find((v): v is string => typeof v === 'string' && v.trim() !== '');
      if (name === undefined) {
        if (notes) notes.unnamed++;
        continue;
      }
      if (names === undefined) table.set(addr, (names = new Map()));
      names.set(ifIndex, cutText(name.trim(), MAX_NAME));
    }
  }
  return table;
}

export class NetifNamesEnricher extends UserFileEnricher<NetifTable, NetifParseNotes> implements Enricher {
  readonly name = 'netif-userdef';

  constructor(path: string, refreshMinutes = 15) {
    super(path, 'EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH', 'interface names', refreshMinutes, new Map());
  }

  protected parse(text: string, notes?: NetifParseNotes): NetifTable {
    return parseNetifTable(text, this.path, notes);
  }

  protected entriesOf(table: NetifTable): number {
    let n = 0;
    for (const m of table.values()) n += m.size;
    return n;
  }

  protected override holds(table: NetifTable): string {
    return `${this.entriesOf(table)} interfaces of ${table.size} exporters`;
  }

  protected newNotes(): NetifParseNotes {
    return { unused: new Set(), unnamed: 0 };
  }

  protected report(notes: NetifParseNotes): void {
    let named = 0;
    for (const m of this.table.values()) named += m.size;
    log.info(`interface names: ${named} interfaces of ${this.table.size} exporters from ${this.path}`);
    if (notes.unused.size > 0) log.info(`interface names: ${this.path}: ${[...notes.unused].sort().join(', ')} not used (only ifName, else ifDescr, names an interface)`);
    if (notes.unnamed > 0) log.warn(`interface names: ${this.path}: ${notes.unnamed} interfaces have neither ifName nor ifDescr and stay unnamed`);
  }

  enrich(batch: FlowRecord[]): void {
    const table = this.table;
    if (table.size === 0) return;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const names = table.get(r.exporterIp);
      if (names === undefined) continue;
      const inName = names.get(r.inIf);
      if (inName !== undefined) r.inIfName = inName;
      const outName = names.get(r.outIf);
      if (outName !== undefined) r.outIfName = outName;
    }
  }
}

/**
 * The Exporters page's rows: the pipeline's per-exporter counters joined with what each decoder
 * tells about the exporter (templates, sampling rates) through Decoder.describe().
 */
import type { WebSources } from './sources.js';
import type { SequenceCounts } from '../decode/sequence-gaps.js';
import { exporterLabels, mergeExporterLabels } from '../pipeline/exporter-labels.js';

export interface ExporterView {
  exporter: string;
  /** Its host name by reverse DNS ('' unknown: DNS names off, or no answer yet). */
  host: string;
  /** Its network's name in the address metadata file's entries for exporters ('' none). */
  network: string;
  /** The protocol of its latest datagram. */
  protocol: string;
  /** Every protocol it has sent, most packets first ('unknown' only when nothing was recognised). */
  protocols: string[];
  packets: number;
  bytes: number;
  records: number;
  errors: Record<string, number>;
  errorCount: number;
  /** What its sequence numbers told: loss before the collector, late datagrams, restarts. */
  sequence: SequenceCounts;
  firstSeen: number;
  lastSeen: number;
  /** Data and options templates known for the exporter (all its domains), null when the protocol has none. */
  templates: number | null;
  /** Interfaces its options data named (all its domains; flow.in/out.netif.name). */
  interfaceNames: number;
  samplingRates: number[];
  /** Per observation domain, as the decoder describes it. */
  domains: Record<string, unknown>[];
  /** Records whose times the decoders had to change, by `time: ...` reason (the records were kept). */
  timesChanged: Record<string, number>;
}

/** Adds a description's per-exporter `time: ...` counts (`byExporter`, flow-decoder.ts and record-layout.ts) to `out`. */
function collectTimeCounts(description: unknown, out: Map<string, Record<string, number>>): void {
  if (description === null || typeof description !== 'object') return;
  const by = (description as { byExporter?: unknown }).byExporter;
  if (by === null || typeof by !== 'object') return;
  for (const [exporter, reasons] of Object.entries(by as Record<string, unknown>)) {
    if (reasons === null || typeof reasons !== 'object') continue;
    for (const [reason, n] of Object.entries(reasons as Record<string, unknown>)) {
      if (!reason.startsWith('time: ') || typeof n !== 'number') continue;
      let row = out.get(exporter);
      if (row === undefined) out.set(exporter, (row = {}));
      row[reason] = (row[reason] ?? 0) + n;
    }
  }
}

interface DomainInfo {
  exporter: string;
  [k: string]: unknown;
}

/** Finds every object with an `exporter` field anywhere in a decoder's description. */
function collectDomains(v: unknown, out: DomainInfo[], depth = 0): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) collectDomains(x, out, depth + 1);
    return;
  }
  const o = v as Record<string, unknown>;
  if (typeof o.exporter === 'string') {
    out.push(o as DomainInfo);
    return;
  }
  for (const x of Object.values(o)) collectDomains(x, out, depth + 1);
}

const countOf = (v: unknown): number => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : 0);

export function exportersView(src: WebSources): ExporterView[] {
  const domains: DomainInfo[] = [];
  // Each found domain is tagged with its decoder's protocol: one address may send NetFlow v9 and
  // IPFIX, each with an observation domain 0 of its own.
  const times = new Map<string, Record<string, number>>();
  const collectFrom = (protocol: string, description: unknown): void => {
    collectTimeCounts(description, times);
    const from = domains.length;
    collectDomains(description, domains);
    for (let i = from; i < domains.length; i++) domains[i] = { protocol, ...domains[i]! };
  };
  for (const [protocol, d] of src.decoders) {
    try {
      collectFrom(protocol, d.describe?.());
    } catch {
      // A decoder that cannot describe itself still has its counters shown.
    }
  }
  // With decode workers, the templates live in the workers' decoders (one description per protocol).
  if (src.pool) for (const worker of src.pool.decoders()) for (const [protocol, description] of Object.entries(worker)) collectFrom(protocol, description);
  const snapshot = src.pipeline.stats.snapshot();
  // The main thread's enrichers (no decode workers) and the workers' (as of the sync before this).
  const labels = exporterLabels(src.enrichers, snapshot.map((e) => e.exporter));
  if (src.pool?.exporterLabels) mergeExporterLabels(labels, src.pool.exporterLabels());
  // Grouped once: a filter per exporter was 10,000 x 10,000 comparisons at the bounds.
  const byExporter = new Map<string, DomainInfo[]>();
  for (const d of domains) {
    const list = byExporter.get(d.exporter);
    if (list === undefined) byExporter.set(d.exporter, [d]);
    else list.push(d);
  }
  return snapshot
    .sort((a, b) => b.records - a.records || a.exporter.localeCompare(b.exporter))
    .map((e) => {
      const mine = byExporter.get(e.exporter) ?? [];
      let templates: number | null = null;
      let interfaceNames = 0;
      const rates = new Set<number>();
      for (const d of mine) {
        if (typeof d.interfaceNames === 'number') interfaceNames += d.interfaceNames;
        if (d.templates !== undefined || d.optionsTemplates !== undefined) templates = (templates ?? 0) + countOf(d.templates) + countOf(d.optionsTemplates);
        if (typeof d.samplingRate === 'number' && d.samplingRate > 0) rates.add(d.samplingRate);
        // Per sampler and per interface (sampling.ts) as well as for the whole domain.
        for (const byKey of [d.samplerRates, d.interfaceRates]) {
          if (byKey === null || typeof byKey !== 'object') continue;
          for (const r of Object.values(byKey as Record<string, unknown>)) if (typeof r === 'number' && r > 0) rates.add(r);
        }
      }
      let errorCount = 0;
      for (const k in e.errors) errorCount += e.errors[k]!;
      const sent = Object.entries(e.byProtocol).sort((a, b) => b[1].packets - a[1].packets).map(([p]) => p);
      const known = sent.filter((p) => p !== 'unknown');
      return {
        exporter: e.exporter, host: labels[e.exporter]?.host ?? '', network: labels[e.exporter]?.network ?? '', protocol: e.protocol, protocols: known.length > 0 ? known : sent, packets: e.packets, bytes: e.bytes, records: e.records,
        errors: e.errors, errorCount, sequence: e.sequence, firstSeen: e.firstSeen, lastSeen: e.lastSeen,
        templates, interfaceNames, samplingRates: [...rates].sort((a, b) => a - b), domains: mine, timesChanged: times.get(e.exporter) ?? {},
      };
    });
}

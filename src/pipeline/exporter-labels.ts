/**
 * Exporter labels (a DNS name, a network name from the address metadata file) as the enrichers of one
 * thread know them, for the Exporters page: each decode worker answers for its own exporters when the
 * page syncs the workers, the main thread for what it enriches itself.
 */
import type { Enricher, ExporterLabel } from './types.js';

/** Each exporter's label from `enrichers`, the first enricher to say a part winning; exporters with none are left out. */
export function exporterLabels(enrichers: readonly Enricher[], exporters: readonly string[]): Record<string, ExporterLabel> {
  const out: Record<string, ExporterLabel> = {};
  for (const ip of exporters) {
    let label: ExporterLabel | null = null;
    for (const e of enrichers) {
      const l = e.exporterLabel?.(ip);
      if (l === null || l === undefined) continue;
      label = { ...l, ...(label ?? {}) };
    }
    if (label !== null) out[ip] = label;
  }
  return out;
}

/** Adds `from` into `to`, parts already in `to` kept. */
export function mergeExporterLabels(to: Record<string, ExporterLabel>, from: Record<string, ExporterLabel>): void {
  for (const [ip, l] of Object.entries(from)) to[ip] = { ...l, ...to[ip] };
}

/**
 * Prometheus metrics at /metrics. Every value is read from the live stages when scraped (the
 * pipeline's per-exporter counters, each output's counters, the threat feeds' status), so the hot
 * path pays nothing for metrics.
 *
 * The collector's counters only ever grow; they are exposed as Prometheus counters by setting each
 * series to the current total at scrape time (reset, then inc by the total).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebSources } from './sources.js';
import { integrationsStatus } from './integrations.js';
import { logLinesLost } from '../log/logger.js';
import type { ExporterCounters } from '../pipeline/exporter-stats.js';
import { OVERFLOW } from '../pipeline/exporter-table.js';
import { isEnricherLevel } from '../pipeline/worker-protocol.js';

/** Output counter names that are levels (current depth), not running totals. */
const DEPTH_KEYS = new Set(['queued', 'inflight', 'queued_records', 'inflight_records', 'queue', 'queue_depth', 'queueDepth', 'pending', 'spill_pending', 'spilled_bytes', 'spill_bytes']);

export function isDepthCounter(key: string): boolean {
  return DEPTH_KEYS.has(key);
}

export function createMetrics(src: WebSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ufc_' });

  // One snapshot of the exporter counters serves every metric of a scrape (prom-client collects them
  // all in one turn of the event loop): with thousands of exporters, taking it once per metric cost
  // seconds. The next turn takes a fresh one.
  let snap: ReturnType<typeof src.pipeline.stats.snapshot> | null = null;
  const exporters = (): ReturnType<typeof src.pipeline.stats.snapshot> => {
    if (snap === null) {
      snap = src.pipeline.stats.snapshot();
      setImmediate(() => {
        snap = null;
      });
    }
    return snap;
  };
  const exporterLabels = ['exporter', 'protocol'] as const;
  new Counter({
    name: 'ufc_exporter_packets_total', help: 'Datagrams received per exporter.', labelNames: exporterLabels, registers: [registry],
    collect() {
      this.reset();
      for (const e of exporters()) for (const [protocol, c] of Object.entries(e.byProtocol)) this.inc({ exporter: e.exporter, protocol }, c.packets);
    },
  });
  new Counter({
    name: 'ufc_exporter_bytes_total', help: 'UDP payload bytes received per exporter.', labelNames: exporterLabels, registers: [registry],
    collect() {
      this.reset();
      for (const e of exporters()) for (const [protocol, c] of Object.entries(e.byProtocol)) this.inc({ exporter: e.exporter, protocol }, c.bytes);
    },
  });
  new Counter({
    name: 'ufc_exporter_records_total', help: 'Flow records decoded per exporter.', labelNames: exporterLabels, registers: [registry],
    collect() {
      this.reset();
      for (const e of exporters()) for (const [protocol, c] of Object.entries(e.byProtocol)) this.inc({ exporter: e.exporter, protocol }, c.records);
    },
  });
  new Counter({
    name: 'ufc_exporter_errors_total', help: 'Malformed, unknown or undecodable datagrams per exporter and reason.', labelNames: ['exporter', 'reason'], registers: [registry],
    collect() {
      this.reset();
      for (const e of exporters()) for (const [reason, n] of Object.entries(e.errors)) this.inc({ exporter: e.exporter, reason }, n);
    },
  });
  // Only exporters whose numbers told something get series: most never miss anything.
  new Counter({
    name: 'ufc_exporter_sequence_missing_total', help: 'Datagrams or records an exporter numbered and the collector never decoded (lost on the network, in the socket buffer or a full decode queue), from its sequence numbers.', labelNames: ['exporter', 'unit'], registers: [registry],
    collect() {
      this.reset();
      for (const e of exporters()) {
        if (e.sequence.missingDatagrams > 0) this.inc({ exporter: e.exporter, unit: 'datagrams' }, e.sequence.missingDatagrams);
        if (e.sequence.missingRecords > 0) this.inc({ exporter: e.exporter, unit: 'records' }, e.sequence.missingRecords);
      }
    },
  });
  // One series per exporter whose count is not zero.
  const perExporter = (name: string, help: string, value: (e: ExporterCounters) => number): void => {
    new Counter({
      name, help, labelNames: ['exporter'], registers: [registry],
      collect() {
        this.reset();
        for (const e of exporters()) if (value(e) > 0) this.inc({ exporter: e.exporter }, value(e));
      },
    });
  };
  perExporter('ufc_exporter_sequence_late_total', 'Datagrams that came after ones the exporter numbered later (reordered or repeated).', (e) => e.sequence.late);
  perExporter('ufc_exporter_sequence_resets_total', 'Sequence numbers that were neither loss nor lateness: exporter restarts, or numbers that mean nothing.', (e) => e.sequence.resets);
  perExporter('ufc_exporter_sflow_agent_drops_total', 'Samples an sFlow agent dropped for lack of resources, from the growth of its flow samples\' drops counters.', (e) => e.sequence.agentDrops);
  new Counter({
    name: 'ufc_decode_errors_total', help: 'Decode errors by reason, all exporters together.', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      const byReason = new Map<string, number>();
      // Forgotten exporters' counts too: this series must not go down when one is forgotten.
      for (const e of [...exporters(), src.pipeline.stats.forgotten()]) for (const [reason, n] of Object.entries(e.errors)) byReason.set(reason, (byReason.get(reason) ?? 0) + n);
      for (const [reason, n] of byReason) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'ufc_udp_receive_dropped_total', help: 'Datagrams dropped after the socket because the pipeline was behind by more than EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE (kernel drops are in /proc/net/udp).', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.receiveDropped?.() ?? 0);
    },
  });
  new Counter({
    name: 'ufc_udp_receive_restarts_total', help: 'Times the UDP receive thread stopped on its own (a crash; the log says why); each time it is started again on the ports it had. Datagrams sent meanwhile were not received.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.receiveRestarts?.() ?? 0);
    },
  });
  new Counter({
    name: 'ufc_log_lines_lost_total', help: 'Log lines that could not be written (stderr a file on a full disk, or a closed pipe).', registers: [registry],
    collect() {
      this.reset();
      this.inc(logLinesLost());
    },
  });
  new Gauge({
    name: 'ufc_udp_receive_realtime', help: 'Whether the UDP receive thread runs in the real-time scheduling class (EF_FLOW_SERVER_UDP_RECEIVE_PRIORITY): 1 yes, 0 no (also without a receive thread).', registers: [registry],
    collect() {
      this.set(src.receiveRealtime?.() === true ? 1 : 0);
    },
  });
  new Counter({
    name: 'ufc_enricher_events_total', help: 'Enricher counters, running totals over this thread and the decode workers (as they last reported, once a second). dns: lookups started, and named / unnamed (no such name) / failed; deferred: addresses not looked up because 1,000 lookups were in flight.', labelNames: ['enricher', 'counter'], registers: [registry],
    collect() {
      this.reset();
      for (const [enricher, counters] of Object.entries(src.enricherCounters?.() ?? {})) {
        for (const [counter, v] of Object.entries(counters)) if (!isEnricherLevel(counter)) this.inc({ enricher, counter }, v);
      }
    },
  });
  new Gauge({
    name: 'ufc_enricher_cache_entries', help: 'Addresses in each enricher\'s lookup cache now, summed over this thread and the running decode workers (as they last reported, once a second). GeoIP and ASN share one cache: each shows its size.', labelNames: ['enricher'], registers: [registry],
    collect() {
      this.reset();
      for (const [enricher, counters] of Object.entries(src.enricherCounters?.() ?? {})) {
        if (counters['cacheSize'] !== undefined) this.set({ enricher }, counters['cacheSize']);
      }
    },
  });
  new Gauge({
    name: 'ufc_worker_heap_bytes', help: "Each decode worker's V8 heap, as the worker last reported it (once a second): used, total (reserved) and external (buffers outside the heap).", labelNames: ['worker', 'space'], registers: [registry],
    collect() {
      this.reset();
      (src.workerHeaps?.() ?? []).forEach((h, worker) => {
        if (h === null) return;
        for (const space of ['used', 'total', 'external'] as const) this.set({ worker: String(worker), space }, h[space]);
      });
    },
  });
  new Gauge({
    name: 'ufc_decode_results_waiting', help: 'Messages from the decode workers (mostly decoded batches) waiting for the main thread, which hands records to the outputs: a number that keeps growing means the main thread is behind.', registers: [registry],
    collect() {
      this.set(src.workerResultsWaiting?.() ?? 0);
    },
  });
  new Counter({
    name: 'ufc_decode_worker_restarts_total', help: 'Times a decode worker stopped on its own (a crash; the log says why); each time a new one is started in its place.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.workerRestarts?.().restarts ?? 0);
    },
  });
  new Counter({
    name: 'ufc_decode_worker_lost_datagrams_total', help: 'Datagrams lost with crashed decode workers: those a worker had queued, those that came for it while no successor ran and did not fit, and those still held for it when the collector stopped.', registers: [registry],
    collect() {
      this.reset();
      this.inc(src.workerRestarts?.().lostDatagrams ?? 0);
    },
  });
  new Gauge({
    name: 'ufc_exporters', help: 'Exporters counted now: seen since start, less those forgotten after their silence (their series go with them).', registers: [registry],
    collect() {
      // The overflow entry holds exporters not counted one by one: no exporter of its own.
      this.set(exporters().filter((e) => e.exporter !== OVERFLOW).length);
    },
  });

  new Gauge({
    name: 'ufc_output_queue_depth', help: 'Records (or bytes, per the counter name) waiting in each output.', labelNames: ['output', 'counter'], registers: [registry],
    collect() {
      this.reset();
      for (const o of src.outputs) for (const [k, v] of Object.entries(o.counters())) if (isDepthCounter(k)) this.set({ output: o.name, counter: k }, v);
    },
  });
  new Counter({
    name: 'ufc_output_events_total', help: 'Output outcomes (sent, batches, failures, dropped by reason, ...) per output.', labelNames: ['output', 'outcome'], registers: [registry],
    collect() {
      this.reset();
      for (const o of src.outputs) for (const [k, v] of Object.entries(o.counters())) if (!isDepthCounter(k)) this.inc({ output: o.name, outcome: k }, v);
    },
  });

  new Gauge({
    name: 'ufc_threat_blocklist_entries', help: 'Addresses and CIDRs in the active threat list, per feed.', labelNames: ['feed'], registers: [registry],
    collect() {
      this.reset();
      for (const f of integrationsStatus(src.enrichers, src.outputs).feeds) if (f.entries !== null) this.set({ feed: f.feed }, f.entries);
    },
  });
  new Gauge({
    name: 'ufc_threat_blocklist_age_seconds', help: 'Seconds since the active threat list was last loaded, per feed.', labelNames: ['feed'], registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const f of integrationsStatus(src.enrichers, src.outputs).feeds) if (f.lastRefresh !== null) this.set({ feed: f.feed }, Math.max(0, (now - f.lastRefresh) / 1000));
    },
  });
  new Gauge({
    name: 'ufc_threat_blocklist_refresh_failed', help: '1 when the last refresh of the feed failed (the previous list stays active).', labelNames: ['feed'], registers: [registry],
    collect() {
      this.reset();
      for (const f of integrationsStatus(src.enrichers, src.outputs).feeds) this.set({ feed: f.feed }, f.lastError === null ? 0 : 1);
    },
  });
  new Gauge({
    name: 'ufc_enrich_file_entries', help: 'Entries of the table each enricher fed by a file of yours (sampling rates, interface names, address metadata) is using, by the option naming the file.', labelNames: ['option'], registers: [registry],
    collect() {
      this.reset();
      for (const f of src.fileStatuses?.() ?? []) if (f.entries !== null) this.set({ option: f.option }, f.entries);
    },
  });
  new Gauge({
    name: 'ufc_enrich_file_read_failed', help: '1 when the last read of a file of yours an enricher reads (those above, and MaxMind databases) failed: the previous table or database stays in use, the log says why; else 0.', labelNames: ['option'], registers: [registry],
    collect() {
      this.reset();
      for (const f of src.fileStatuses?.() ?? []) this.set({ option: f.option }, f.error === null ? 0 : 1);
    },
  });
  new Counter({
    name: 'ufc_riskiq_output_events_total', help: 'RiskIQ output counters: records and frames sent, records skipped (private, counter samples), dropped by reason.', labelNames: ['counter'], registers: [registry],
    collect() {
      this.reset();
      const s = integrationsStatus(src.enrichers, src.outputs).riskiqOutput;
      for (const [k, v] of Object.entries(s.counters)) if (!isDepthCounter(k)) this.inc({ counter: k }, v);
    },
  });
  return registry;
}

/**
 * Swapping in a 1,000,000-entry DB while flows are being enriched: the pipeline keeps running
 * (the longest event-loop pause is measured with monitorEventLoopDelay and reported), every flow
 * sees either the old DB or the new one whole, never neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger, setLogger } from '../src/log/logger.js';
import { RiskiqThreatEnricher } from '../src/enrich/riskiq-threat.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { startPassiveTotalEmulator } from '../src/dev/passivetotal-emulator.js';
import { testConfig } from './helpers/collect.js';

const ENTRIES = 1_000_000;
/** A generous bound for a shared 2-core machine; the figure itself is printed as a diagnostic. */
const MAX_PAUSE_MS = 400;

test(`swap of a ${ENTRIES.toLocaleString()}-entry DB: flows keep being enriched, the longest loop pause is bounded`, { timeout: 120_000 }, async (t) => {
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  const emu = await startPassiveTotalEmulator({ user: 'u@example.com', key: 'swap-key-0123456789', entries: 1000, seed: 1, format: 'text' });
  try {
    const config = testConfig({
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'u@example.com',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'swap-key-0123456789',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: emu.url,
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT: '60',
    });
    const e = new RiskiqThreatEnricher({ config, dataDir: config.EF_DATA_DIR, autoRefresh: false });
    await e.start();
    assert.equal(await e.refresh(), true);
    const oldHit = emu.list.sample[0]!;
    const big = emu.setList({ entries: ENTRIES, seed: 2, format: 'text' });
    const newHit = big.sample[0]!;

    // The "pipeline": a timer enriching a batch every millisecond.
    let batches = 0;
    let sawOld = 0;
    let sawNew = 0;
    let sawNeither = 0;
    const tick = setInterval(() => {
      const r = new FlowRecord();
      r.srcIp = oldHit.addr;
      r.dstIp = newHit.addr;
      e.enrich([r]);
      batches++;
      if (r.srcThreatName === oldHit.name && r.dstThreatName === '') sawOld++;
      else if (r.dstThreatName === newHit.name) sawNew++;
      else sawNeither++;
    }, 1);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    assert.equal(await e.refresh(), true);
    const ms = performance.now() - t0;
    h.disable();
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    await e.stop();

    const maxPause = h.max / 1e6;
    t.diagnostic(`download+parse+index+swap of ${big.entries} entries (${big.body.length} bytes): ${ms.toFixed(0)} ms; longest event-loop pause ${maxPause.toFixed(1)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms; ${batches} batches enriched meanwhile`);
    assert.equal(e.matcher.listSize >= ENTRIES * 0.99, true, `${e.matcher.listSize} entries active`);
    assert.equal(sawNeither, 0, 'no batch saw a half-swapped or empty DB');
    assert.ok(sawOld > 10, `batches enriched from the old DB during the rebuild: ${sawOld}`);
    assert.ok(sawNew > 0);
    assert.ok(maxPause < MAX_PAUSE_MS, `longest pause ${maxPause.toFixed(1)} ms`);
    assert.ok(lines.some((l) => l.includes('"msg":"RiskIQ Threats: DB successfully populated."') && l.includes(`"entries":${e.matcher.listSize}`)));
  } finally {
    await emu.close();
  }
});

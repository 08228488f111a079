/**
 * Through the Collector: templates learnt before a restart are persisted in EF_DATA_DIR on stop()
 * and reloaded by the next Collector, so the first data packet after the restart decodes (akvorado's
 * Cisco v9 capture: options template, options data with the sampling rate, template, then data).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import { CaptureOutput, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

const pcap = (name: string) => readFileSync(join(TESTDATA, 'akvorado', 'netflow', name));

test('v9 templates and sampling rates survive a collector restart', async () => {
  const config = testConfig();
  const out1 = new CaptureOutput();
  const c1 = new Collector(config, { outputs: [out1], enrichers: [] });
  await c1.start();
  for (const f of ['options-template.pcap', 'options-data.pcap', 'template.pcap']) c1.replay(pcap(f));
  assert.equal(out1.records.length, 0, 'templates and options only');
  await c1.stop();
  assert.ok(existsSync(join(c1.dataDir, 'templates-netflow9.json')));

  const out2 = new CaptureOutput();
  const c2 = new Collector(config, { outputs: [out2], enrichers: [] });
  await c2.start();
  c2.replay(pcap('data.pcap'));
  await c2.stop();
  assert.equal(out2.records.length, 4);
  // The rate came from options data seen before the restart (akvorado TestDecode: 30000).
  assert.ok(out2.records.every((r) => r.samplingRate === 30000));
  assert.equal(out2.records[0]!.srcIp, '198.38.121.178');
  assert.equal(out2.records[0]!.bytes, 1500 * 30000);
});

test('without the cache, data before its template is held, and released when the template comes in time', async () => {
  // In the capture the template comes 62 s after the data.
  const config = testConfig({ EF_PROCESSOR_DECODE_PENDING_TIMEOUT: '120' });
  const out = new CaptureOutput();
  const c = new Collector(config, { outputs: [out], enrichers: [] });
  await c.start();
  c.replay(pcap('data.pcap'));
  assert.equal(out.records.length, 0);
  c.replay(pcap('template.pcap'));
  await c.stop();
  assert.equal(out.records.length, 4);
  assert.equal(out.records[0]!.srcIp, '198.38.121.178');
  assert.ok(out.records.every((r) => r.samplingRate === 0), 'no options data seen: rate unknown');
});

test('held data older than EF_PROCESSOR_DECODE_PENDING_TIMEOUT expires and is counted', async () => {
  const config = testConfig({ EF_PROCESSOR_DECODE_PENDING_TIMEOUT: '60' });
  const out = new CaptureOutput();
  const c = new Collector(config, { outputs: [out], enrichers: [] });
  await c.start();
  c.replay(pcap('data.pcap'));
  c.replay(pcap('template.pcap'));
  await c.stop();
  assert.equal(out.records.length, 0);
  const counters = (c.decoders.get('netflow9')!.describe!() as { counters: Record<string, number> }).counters;
  assert.equal(counters['data without template: held'], 1);
  assert.equal(counters['data without template: expired'], 1);
});

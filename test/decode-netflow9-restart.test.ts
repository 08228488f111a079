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

test('templates saved by decode workers are found after a restart with another number of workers, or none', async () => {
  const { readUdpDatagrams } = await import('../src/input/pcap.js');
  const dgram = await import('node:dgram');
  const payloads = (name: string) => readUdpDatagrams(pcap(name)).map((d) => d.payload);
  // Four exporters, so that two workers both hold some (by address hash).
  const exporters = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const socks = await Promise.all(exporters.map((addr) => new Promise<import('node:dgram').Socket>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, addr, () => resolve(s));
  })));
  const first = testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '2' });
  const run = async (workers: string, files: string[]): Promise<CaptureOutput> => {
    const out = new CaptureOutput();
    const c = new Collector({ ...first, EF_FLOW_SERVER_WORKERS: workers } as typeof first, { outputs: [out], enrichers: [] });
    await c.start();
    const [port] = await c.listen();
    for (const f of files) for (const p of payloads(f)) for (const s of socks) await new Promise<void>((r) => s.send(p, port!, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 300));
    await c.flush();
    await c.stop();
    return out;
  };
  try {
    assert.equal((await run('2', ['options-template.pcap', 'options-data.pcap', 'template.pcap'])).records.length, 0);
    for (const workers of ['0', '3', '1']) {
      const out = await run(workers, ['data.pcap']);
      for (const e of exporters) {
        const recs = out.records.filter((r) => r.exporterIp === e);
        assert.equal(recs.length, 4, `EF_FLOW_SERVER_WORKERS=${workers}: ${e}'s data decoded with the templates saved before`);
        assert.ok(recs.every((r) => r.samplingRate === 30000));
      }
    }
  } finally {
    for (const s of socks) s.close();
  }
});

test('two caches hold the same template: the one seen last wins, whichever file was written last; owns() picks exporters', async () => {
  const { mkdirSync, writeFileSync, utimesSync } = await import('node:fs');
  const { Netflow9Decoder } = await import('../src/decode/netflow9/decoder.js');
  const { tempDir } = await import('./helpers/collect.js');
  const dir = tempDir();
  const now = Date.now();
  const cache = (fields: number[][], lastSeen: number, exporter = '192.0.2.1') => JSON.stringify({ format: 1, domains: [{ exporter, domain: 0, templates: [{ id: 256, scope: 0, options: false, lastSeen, fields }] }] });
  mkdirSync(join(dir, 'worker-0'));
  // worker-0's copy is the later template (8 + 12 + 1 bytes) but the older file; the top level's is stale.
  writeFileSync(join(dir, 'worker-0', 'templates-netflow9.json'), cache([[8, 0, 4], [12, 0, 4], [4, 0, 1]], now - 1000));
  utimesSync(join(dir, 'worker-0', 'templates-netflow9.json'), new Date(now - 60_000), new Date(now - 60_000));
  writeFileSync(join(dir, 'templates-netflow9.json'), cache([[8, 0, 4]], now - 5000));
  const opts = { templateLifetimeS: 3600, pendingMax: 10, pendingTimeoutS: 60, stateDir: dir, dataDir: dir };
  const d = new Netflow9Decoder(opts);
  // A v9 packet of one data set for template 256 holding one 9-byte record.
  const pkt = Buffer.alloc(20 + 4 + 12);
  pkt.writeUInt16BE(9, 0);
  pkt.writeUInt16BE(1, 2);
  pkt.writeUInt32BE(Math.floor(now / 1000), 8);
  pkt.writeUInt16BE(256, 20);
  pkt.writeUInt16BE(16, 22);
  Buffer.from([198, 51, 100, 1, 203, 0, 113, 2, 17]).copy(pkt, 24);
  const out: import('../src/record/flow-record.js').FlowRecord[] = [];
  d.decode(pkt, { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now }, out);
  assert.deepEqual(out.map((r) => [r.srcIp, r.dstIp, r.proto]), [['198.51.100.1', '203.0.113.2', 17]]);
  await d.close();
  const none = new Netflow9Decoder({ ...opts, stateDir: join(dir, 'worker-1'), owns: () => false });
  assert.equal(none.describe().templates, 0, 'an exporter another worker owns is not loaded');
  await none.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Collector } from '../src/collector.js';
import { packRecords, unpackRecords } from '../src/pipeline/record-transfer.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { CaptureOutput, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

test('records survive packing for another thread unchanged', () => {
  fc.assert(fc.property(fc.array(fc.record({ srcIp: fc.ipV4(), dstIp: fc.ipV6(), bytes: fc.maxSafeNat(), srcPort: fc.nat(65535), srcLat: fc.double(), application: fc.string(), extra: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())), { nil: null }) }), { maxLength: 20 }), (rows) => {
    const batch = rows.map((row) => Object.assign(new FlowRecord(), row));
    const back = unpackRecords(packRecords(batch));
    assert.equal(back.length, batch.length);
    back.forEach((r, i) => {
      assert.ok(r instanceof FlowRecord);
      assert.deepEqual({ ...r, extra: JSON.stringify(r.extra) }, { ...batch[i]!, extra: JSON.stringify(batch[i]!.extra) });
    });
  }));
});

test('two decode workers: every exporter decoded in order, counters merged, flush waits for the workers', async () => {
  const capture = new CaptureOutput();
  const config = testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '2' });
  const c = new Collector(config, { outputs: [capture] });
  await c.start();
  const [port] = await c.listen();
  assert.equal(c.pool?.size, 2);
  const payload = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const exporters = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const socks = await Promise.all(exporters.map((addr) => new Promise<dgram.Socket>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, addr, () => resolve(s));
  })));
  const perExporter = 20;
  for (let i = 0; i < perExporter; i++) {
    for (const s of socks) {
      const p = Buffer.from(payload);
      p.writeUInt32BE(i, 16); // sequence number: order check below
      await new Promise<void>((r) => s.send(p, port!, '127.0.0.1', () => r()));
    }
  }
  for (const s of socks) s.close();
  await new Promise((r) => setTimeout(r, 300));
  await c.flush();
  assert.equal(capture.records.length, exporters.length * perExporter * 30);
  for (const e of exporters) {
    const seqs = capture.records.filter((r) => r.exporterIp === e).map((r) => r.sequence);
    assert.equal(seqs.length, perExporter * 30);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${e} in order`);
  }
  const stats = c.pipeline.stats.snapshot();
  for (const e of exporters) {
    const s = stats.find((x) => x.exporter === e)!;
    assert.equal(s.packets, perExporter);
    assert.equal(s.records, perExporter * 30);
  }
  await c.stop();
});

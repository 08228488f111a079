/**
 * Data held for a template that never comes expires, and is counted, when no later datagram of its
 * protocol arrives: the pipeline sweeps the decoders every second (on the main thread and in each
 * decode worker). What is still held at stop is counted as `data without template: held at stop`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { Collector } from '../src/collector.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { tempDir, testConfig, until } from './helpers/collect.js';

/** A NetFlow v9 datagram (RFC 3954 §5.1 header, 20 bytes) of `sets` data flowsets of template `tid`, 8 bytes of data each. */
function v9DataOnly(tid: number, sets: number, unixSecs: number): Buffer {
  const b = Buffer.alloc(20 + sets * 12);
  b.writeUInt16BE(9, 0);
  b.writeUInt16BE(sets, 2);
  b.writeUInt32BE(1000, 4);
  b.writeUInt32BE(unixSecs, 8);
  b.writeUInt32BE(1, 12);
  for (let i = 0; i < sets; i++) {
    // RFC 3954 §5.3: a data flowset's ID is its template's, its length counts the 4-byte header.
    b.writeUInt16BE(tid, 20 + i * 12);
    b.writeUInt16BE(12, 22 + i * 12);
  }
  return b;
}

const decoder = (pendingTimeoutS: number): Netflow9Decoder => new Netflow9Decoder({ templateLifetimeS: 86400, pendingMax: 100, pendingTimeoutS, stateDir: '' });

test('held data expires on a sweep with no datagram after it: counted for its exporter', () => {
  const d = decoder(60);
  const t0 = 1_700_000_000_000;
  const out: FlowRecord[] = [];
  d.decode(v9DataOnly(300, 5, t0 / 1000), { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: t0 }, out);
  assert.deepEqual(d.takeLosses(), null, 'held, not lost yet');
  d.sweep(t0 + 30_000);
  assert.equal(d.takeLosses(), null, 'within the timeout');
  d.sweep(t0 + 70_000);
  assert.deepEqual(d.takeLosses(), new Map([['192.0.2.1', new Map([['data without template: expired', 5]])]]), 'expired by the sweep alone');
});

test('the pipeline sweeps every second: held data expires into the exporter\'s errors with no more datagrams', async () => {
  const p = new Pipeline(new Map([['netflow9', decoder(1)]]), [], []);
  try {
    const now = Date.now();
    p.handle(v9DataOnly(300, 5, Math.floor(now / 1000)), { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now });
    const expired = (): number => p.stats.snapshot().find((e) => e.exporter === '192.0.2.1')?.errors['netflow9: data without template: expired'] ?? 0;
    await until(() => expired() > 0, 5000);
    assert.equal(expired(), 5, 'the 5 sets, counted by the timer\'s sweep');
  } finally {
    await p.close();
  }
});

test('held data ages by the datagrams\' clock: a timed sweep moves it on by the wall time since the latest datagram', () => {
  const p = new Pipeline(new Map([['netflow9', decoder(60)]]), [], []);
  // Sent a year ago: held, not expired at once by the wall clock.
  const t0 = Date.now() - 365 * 86400_000;
  p.handle(v9DataOnly(300, 2, Math.floor(t0 / 1000)), { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: t0 });
  const wall = Date.now();
  const expired = (): number => p.stats.snapshot().find((e) => e.exporter === '192.0.2.1')?.errors['netflow9: data without template: expired'] ?? 0;
  p.sweep(wall);
  p.sweep(wall + 30_000);
  assert.equal(expired(), 0, '30 s after the capture\'s latest datagram');
  p.sweep(wall + 61_000);
  assert.equal(expired(), 2, '61 s after it');
});

test('what is still held at stop is counted as "held at stop", and still shown as pending', async () => {
  const d = decoder(60);
  const p = new Pipeline(new Map([['netflow9', d]]), [], []);
  const now = Date.now();
  p.handle(v9DataOnly(300, 3, Math.floor(now / 1000)), { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now });
  await p.close();
  const errors = p.stats.snapshot().find((e) => e.exporter === '192.0.2.1')?.errors ?? {};
  assert.equal(errors['netflow9: data without template: held at stop'], 3, JSON.stringify(errors));
  assert.equal(errors['netflow9: data without template: expired'], undefined, 'none had expired');
  assert.equal(d.describe()['pending'], 3, 'what it held when it stopped');
});

test('in a decode worker: held data expires with no more datagrams, what is held at stop is counted, both in the main thread\'s counts', async () => {
  const dir = tempDir('ufc-sweep-');
  const c = new Collector(testConfig({
    EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '1', EF_PROCESSOR_DECODE_PENDING_TIMEOUT: '1',
    EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'),
  }));
  const errorsOf = (exporter: string): Record<string, number> => c.pipeline.stats.snapshot().find((e) => e.exporter === exporter)?.errors ?? {};
  try {
    await c.start();
    await c.listen();
    const now = Date.now();
    for (let i = 0; i < 10; i++) c.pool!.dispatch(v9DataOnly(300, 1, Math.floor(now / 1000)), '127.0.0.2', 2055, now);
    await c.flush();
    await until(() => errorsOf('127.0.0.2')['netflow9: data without template: expired'] !== undefined, 5000);
    assert.equal(errorsOf('127.0.0.2')['netflow9: data without template: expired'], 10, JSON.stringify(errorsOf('127.0.0.2')));
    // Dated 10 s ahead: a slow machine cannot see it expire before the stop.
    c.pool!.dispatch(v9DataOnly(300, 2, Math.floor(now / 1000)), '127.0.0.3', 2055, Date.now() + 10_000);
    await c.flush();
  } finally {
    await c.stop();
  }
  assert.equal(errorsOf('127.0.0.3')['netflow9: data without template: held at stop'], 2, JSON.stringify(errorsOf('127.0.0.3')));
});

test('decoding on the main thread: what is held at stop is counted in the collector\'s counts too', async () => {
  const dir = tempDir('ufc-sweep-');
  const c = new Collector(testConfig({
    EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '0',
    EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'),
  }));
  try {
    await c.start();
    const now = Date.now();
    c.pipeline.handle(v9DataOnly(300, 4, Math.floor(now / 1000)), { exporterIp: '127.0.0.4', exporterPort: 2055, receivedAt: now });
  } finally {
    await c.stop();
  }
  const errors = c.pipeline.stats.snapshot().find((e) => e.exporter === '127.0.0.4')?.errors ?? {};
  assert.equal(errors['netflow9: data without template: held at stop'], 4, JSON.stringify(errors));
});

/** A NetFlow v9 datagram holding template `tid`: IN_BYTES and IN_PKTS, 4 bytes each (the 8 bytes v9DataOnly sends). */
function v9Template(tid: number, unixSecs: number): Buffer {
  const b = Buffer.alloc(20 + 16);
  b.writeUInt16BE(9, 0);
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(1000, 4);
  b.writeUInt32BE(unixSecs, 8);
  b.writeUInt32BE(2, 12);
  // RFC 3954 §5.2: flowset 0, its length, then template ID, field count, (type, length) pairs.
  b.writeUInt16BE(0, 20); b.writeUInt16BE(16, 22); b.writeUInt16BE(tid, 24); b.writeUInt16BE(2, 26);
  b.writeUInt16BE(1, 28); b.writeUInt16BE(4, 30); b.writeUInt16BE(2, 32); b.writeUInt16BE(4, 34);
  return b;
}

test('a replay paused longer than the timeout (its outputs catching up) still releases held data to a template a moment later in the capture', async () => {
  const dir = tempDir('ufc-sweep-');
  const c = new Collector(testConfig({
    EF_PROCESSOR_DECODE_PENDING_TIMEOUT: '1', EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'flows.ndjson'),
  }));
  const t0 = Date.now() - 365 * 86400_000;
  const stats = () => c.pipeline.stats.snapshot().find((e) => e.exporter === '192.0.2.7');
  try {
    await c.start('replay');
    c.pipeline.handle(v9DataOnly(300, 1, Math.floor(t0 / 1000)), { exporterIp: '192.0.2.7', exporterPort: 2055, receivedAt: t0 });
    await new Promise((ok) => setTimeout(ok, 3500));
    c.pipeline.handle(v9Template(300, Math.floor(t0 / 1000)), { exporterIp: '192.0.2.7', exporterPort: 2055, receivedAt: t0 + 100 });
  } finally {
    await c.stop();
  }
  assert.equal(stats()?.errors['netflow9: data without template: expired'], undefined, JSON.stringify(stats()?.errors));
  assert.equal(stats()?.records, 1, 'the held record was released by its template');
});

test('held data expiring on a timed sweep does not make a silent exporter seen again', () => {
  const p = new Pipeline(new Map([['netflow9', decoder(60)]]), [], []);
  const t0 = Date.now();
  p.handle(v9DataOnly(300, 2, Math.floor(t0 / 1000)), { exporterIp: '192.0.2.8', exporterPort: 2055, receivedAt: t0 });
  p.sweep(t0);
  p.sweep(t0 + 61_000);
  const e = p.stats.snapshot().find((x) => x.exporter === '192.0.2.8');
  assert.equal(e?.errors['netflow9: data without template: expired'], 2, JSON.stringify(e?.errors));
  assert.equal(e?.lastSeen, t0, 'last seen when it last sent');
});

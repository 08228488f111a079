/**
 * Kafka output (kafkajs) against the Kafka TEST BROKER (test/servers/kafka-test-broker.ts; no real
 * Kafka can run here). kafkajs talks the real protocol over TCP to it: ApiVersions, SASL PLAIN,
 * Metadata, Produce with record batches v2 whose CRC-32C the broker checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { FlowRecord } from '../src/record/flow-record.js';
import { encodeRecord } from '../src/record/json.js';
import type { ViewOptions } from '../src/record/fields.js';
import { KafkaOutput, type KafkaOutputOptions } from '../src/output/kafka/output.js';
import { crc32c, KafkaTestBroker, type StoredMessage } from './servers/kafka-test-broker.js';
import { fixtureRecords, replayFixtures } from './servers/fixture-records.js';
import { hasIpv6Loopback, needTool } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const CODEX: ViewOptions = { ecs: false, timestampSource: 'collect' };

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function options(broker: KafkaTestBroker, over: Partial<KafkaOutputOptions> = {}): KafkaOutputOptions {
  return {
    brokers: [broker.address],
    topic: 'flows',
    partitionKey: 'exporter',
    clientId: 'ufc-test',
    tls: { enable: false, skipVerification: false, caCertPath: '' },
    view: CODEX,
    deadlineMs: 20,
    batchRecords: 200,
    requestTimeoutMs: 3000,
    ...over,
  };
}

/** Per key, the values in arrival order (offset order within each partition). */
function byKey(msgs: readonly StoredMessage[]): Map<string, string[]> {
  const sorted = [...msgs].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const m = new Map<string, string[]>();
  for (const x of sorted) {
    const k = x.key?.toString() ?? '';
    m.set(k, [...(m.get(k) ?? []), x.value!.toString()]);
  }
  return m;
}

function expectedByExporter(records: readonly FlowRecord[], view: ViewOptions): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of records) m.set(r.exporterIp, [...(m.get(r.exporterIp) ?? []), encodeRecord(r, view)]);
  return m;
}

test('CRC-32C: the test broker uses the Castagnoli check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('replayed fixture → JSON messages keyed by exporter, SASL PLAIN, client ID; batches pass the CRC-32C check', async () => {
  const broker = new KafkaTestBroker({ topics: { 'elastiflow-flow-codex': 4 }, sasl: { username: 'ufc', password: 'kafka-secret' } });
  await broker.start();
  try {
    const { records, outputs } = await replayFixtures({
      EF_OUTPUT_KAFKA_ENABLE: 'true',
      EF_OUTPUT_KAFKA_BROKERS: broker.address,
      EF_OUTPUT_KAFKA_CLIENT_ID: 'ufc-kafka-test',
      EF_OUTPUT_KAFKA_SASL_ENABLE: 'true',
      EF_OUTPUT_KAFKA_SASL_MECHANISM: 'plain',
      EF_OUTPUT_KAFKA_SASL_USERNAME: 'ufc',
      EF_OUTPUT_KAFKA_SASL_PASSWORD: 'kafka-secret',
      EF_OUTPUT_KAFKA_BATCH_DEADLINE: '20',
    });
    assert.deepEqual(broker.protocolErrors, []);
    assert.equal(broker.crcFailures, 0);
    assert.equal(broker.authFailures, 0);
    assert.ok(broker.requests.length > 0 && broker.requests.every((r) => r.clientId === 'ufc-kafka-test'));
    assert.ok(broker.requests.some((r) => r.apiKey === 36), 'SASL authenticated');
    assert.equal(broker.messages.length, records.length, 'every record produced once');
    assert.ok(broker.messages.every((m) => m.topic === 'elastiflow-flow-codex' && m.headers.length === 0));
    // One exporter, one partition: the key picks it.
    const partitionOf = new Map<string, number>();
    for (const m of broker.messages) {
      const k = m.key!.toString();
      assert.equal(partitionOf.get(k) ?? m.partition, m.partition, `${k} always in one partition`);
      partitionOf.set(k, m.partition);
    }
    assert.deepEqual(byKey(broker.messages), expectedByExporter(records, CODEX), 'per exporter: all records, in order, as JSON');
    assert.equal(outputs[0]!.counters().produced, records.length);
  } finally {
    await broker.stop();
  }
});

test('ECS messages, keyed by source address', async () => {
  const broker = new KafkaTestBroker({ topics: { ecs: 3 } });
  await broker.start();
  const out = new KafkaOutput(options(broker, { topic: 'ecs', partitionKey: 'src_ip', view: { ecs: true, timestampSource: 'collect' } }));
  try {
    await out.start();
    const records = await fixtureRecords();
    out.write(records);
    await out.flush();
    assert.equal(broker.messages.length, records.length);
    const got = new Map<string, number>();
    for (const m of broker.messages) {
      const doc = JSON.parse(m.value!.toString()) as Record<string, unknown>;
      assert.equal(m.key!.toString(), doc['source.ip'] ?? '');
      got.set(m.value!.toString(), (got.get(m.value!.toString()) ?? 0) + 1);
    }
    const want = new Map<string, number>();
    for (const r of records) {
      const v = encodeRecord(r, { ecs: true, timestampSource: 'collect' });
      want.set(v, (want.get(v) ?? 0) + 1);
    }
    assert.deepEqual(got, want);
  } finally {
    await out.close();
    await broker.stop();
  }
});

test('wrong SASL password: nothing produced, the broker counts the failure, records held on disk', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 1 }, sasl: { username: 'ufc', password: 'right' } });
  await broker.start();
  const dir = tempDir('ufc-kafka-spill-');
  const out = new KafkaOutput(options(broker, { sasl: { mechanism: 'plain', username: 'ufc', password: 'wrong' }, spill: { dir, maxBytes: 1 << 26 } }));
  try {
    await out.start();
    out.write((await fixtureRecords()).slice(0, 30));
    await until(() => out.counters().failures! > 0, 10_000, 'a failed send');
    await out.close();
    assert.equal(broker.messages.length, 0);
    assert.ok(broker.authFailures > 0);
    assert.equal(out.counters().spill_pending, 30);
  } finally {
    await broker.stop();
  }
});

test('a corrupted record batch fails the CRC-32C check and is refused (CORRUPT_MESSAGE)', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 1 } });
  await broker.start();
  // A proxy that flips the last byte of every Produce request (inside the last record).
  const socks = new Set<Socket>();
  const proxy = createServer((client) => {
    socks.add(client);
    const upstream = connect(Number(broker.address.split(':')[1]), '127.0.0.1');
    socks.add(upstream);
    let buf = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = Buffer.from(buf.subarray(0, 4 + buf.readInt32BE(0)));
        buf = buf.subarray(frame.length);
        if (frame.readInt16BE(4) === 0) frame[frame.length - 1] ^= 0x01;
        upstream.write(frame);
      }
    });
    upstream.on('data', (d) => client.write(d));
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const proxyPort = (proxy.address() as { port: number }).port;
  broker.advertisedPort = proxyPort;
  const dir = tempDir('ufc-kafka-spill-');
  const out = new KafkaOutput({ ...options(broker, { spill: { dir, maxBytes: 1 << 26 } }), brokers: [`127.0.0.1:${proxyPort}`] });
  try {
    await out.start();
    out.write((await fixtureRecords()).slice(0, 20));
    await until(() => broker.crcFailures > 0 && out.counters().failures! > 0, 10_000, 'a CRC failure');
    assert.equal(broker.messages.length, 0, 'nothing stored from a corrupted batch');
  } finally {
    await out.close();
    for (const s of socks) s.destroy();
    await new Promise<void>((r) => proxy.close(() => r()));
    await broker.stop();
  }
});

test('outage: the broker goes away for a few seconds; records spill and every one arrives exactly once, in order per exporter', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 3 } });
  await broker.start();
  const dir = tempDir('ufc-kafka-spill-');
  const records = await fixtureRecords();
  const stream: FlowRecord[] = [];
  for (let i = 0; i < 3; i++) stream.push(...records);
  const out = new KafkaOutput(options(broker, { spill: { dir, maxBytes: 1 << 26 } }));
  try {
    await out.start();
    const chunk = 40;
    let k = 0;
    const third = Math.floor(stream.length / chunk / 3);
    const writeChunks = async (n: number): Promise<void> => {
      for (let i = 0; i < n && k < stream.length; i++, k += chunk) {
        out.write(stream.slice(k, k + chunk));
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await writeChunks(third);
    await broker.stop();
    const down = Date.now();
    await writeChunks(third);
    while (Date.now() - down < 2500) await new Promise((r) => setTimeout(r, 50));
    assert.ok(out.counters().spilled! > 0, 'spilled while the broker was down');
    await broker.start();
    await writeChunks(Number.MAX_SAFE_INTEGER);
    await until(() => broker.messages.length >= stream.length, 30_000, 'all messages');
    await out.flush();
    assert.equal(broker.messages.length, stream.length, 'no duplicates');
    assert.deepEqual(byKey(broker.messages), expectedByExporter(stream, CODEX));
    assert.equal(out.counters().spill_dropped, 0);
  } finally {
    await out.close();
    await broker.stop();
  }
});

test('spill survives a restart of the output', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 2 } });
  await broker.start();
  await broker.stop();
  const dir = tempDir('ufc-kafka-spill-');
  const records = await fixtureRecords();
  const a = new KafkaOutput(options(broker, { spill: { dir, maxBytes: 1 << 26 } }));
  await a.start();
  for (let i = 0; i < records.length; i += 64) a.write(records.slice(i, i + 64));
  await until(() => a.counters().failures! > 0, 10_000, 'a failed send');
  await a.close();
  assert.equal(a.counters().spill_pending, records.length);
  await broker.start();
  const b = new KafkaOutput(options(broker, { spill: { dir, maxBytes: 1 << 26 } }));
  try {
    await b.start();
    await until(() => broker.messages.length >= records.length, 20_000, 'replay');
    await b.flush();
    assert.equal(broker.messages.length, records.length);
    assert.deepEqual(byKey(broker.messages), expectedByExporter(records, CODEX));
  } finally {
    await b.close();
    await broker.stop();
  }
});

test('TLS to the broker: CA file trusted, unknown CA refused', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const dir = tempDir('ufc-kafka-tls-');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const broker = new KafkaTestBroker({ topics: { flows: 1 }, tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
  await broker.start();
  const records = (await fixtureRecords()).slice(0, 25);
  try {
    const trusted = new KafkaOutput(options(broker, { tls: { enable: true, skipVerification: false, caCertPath: join(dir, 'cert.pem') } }));
    await trusted.start();
    trusted.write(records);
    await trusted.close();
    assert.equal(broker.messages.length, 25, 'produced over TLS');
    const untrusted = new KafkaOutput(options(broker, { tls: { enable: true, skipVerification: false, caCertPath: '' }, spill: { dir: join(dir, 'spill'), maxBytes: 1 << 24 } }));
    await untrusted.start();
    untrusted.write(records);
    await until(() => untrusted.counters().failures! > 0, 10_000, 'a refused handshake');
    await untrusted.close();
    assert.equal(broker.messages.length, 25, 'nothing more');
    assert.equal(untrusted.counters().spill_pending, 25);
  } finally {
    await broker.stop();
  }
});

// kafkajs 2.2.4 splits a seed broker on ':', so [::1]:port was looked up as the host "[" (getaddrinfo
// ENOTFOUND [) and nothing was ever sent. The records go through the config (the form is accepted)
// and the output as the collector builds them; the broker announces itself in Metadata as "::1", and
// the produce requests go to that announced leader (kafkajs opens a connection of its own to it).
test('IPv6 literal seed broker [::1]:port: records arrive, through the broker announced in Metadata', async (t) => {
  if (!(await hasIpv6Loopback())) return t.skip('no IPv6 loopback (::1) on this host');
  const broker = new KafkaTestBroker({ topics: { 'elastiflow-flow-codex': 2 }, host: '::1' });
  await broker.start();
  try {
    assert.match(broker.address, /^\[::1\]:\d+$/);
    const { records, outputs } = await replayFixtures({ EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_BROKERS: broker.address, EF_OUTPUT_KAFKA_BATCH_DEADLINE: '20' });
    assert.deepEqual(broker.protocolErrors, []);
    assert.ok(broker.requests.some((r) => r.apiKey === 3), 'Metadata asked');
    assert.equal(broker.messages.length, records.length, 'every record produced once');
    assert.deepEqual(byKey(broker.messages), expectedByExporter(records, CODEX));
    assert.equal(outputs[0]!.counters().produced, records.length);
  } finally {
    await broker.stop();
  }
});

// TLS to an IP literal sends no server name and checks the certificate's IP address: the stand-in
// name kafkajs holds for [::1] must not reach tls.connect (the certificate names only IP ::1).
test('IPv6 literal seed broker over TLS: the certificate is checked against ::1', async (t) => {
  if (!(await hasIpv6Loopback())) return t.skip('no IPv6 loopback (::1) on this host');
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const dir = tempDir('ufc-kafka-tls6-');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=ufc-test', '-addext', 'subjectAltName=IP:::1'], { stdio: 'ignore' });
  const broker = new KafkaTestBroker({ topics: { flows: 1 }, host: '::1', tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
  await broker.start();
  const out = new KafkaOutput(options(broker, { tls: { enable: true, skipVerification: false, caCertPath: join(dir, 'cert.pem') }, spill: { dir: join(dir, 'spill'), maxBytes: 1 << 24 } }));
  try {
    await out.start();
    out.write((await fixtureRecords()).slice(0, 25));
    await until(() => broker.messages.length >= 25 || out.counters().failures! > 0, 10_000, 'the records or a failed send');
    assert.deepEqual(broker.protocolErrors, []);
    assert.equal(out.counters().failures, 0, 'no failed send');
    assert.equal(broker.messages.length, 25, 'produced over TLS to [::1]');
  } finally {
    await out.close();
    await broker.stop();
  }
});

test('one partition refusing (retriable NOT_LEADER and non-retriable MESSAGE_TOO_LARGE): only its records are sent again; every record once, in order per exporter', async () => {
  const records = await fixtureRecords();
  // More exporters than the fixtures have, so the batch spans partitions.
  const stream = records.map((r, i) => Object.assign(Object.create(Object.getPrototypeOf(r) as object) as FlowRecord, r, { exporterIp: `192.0.2.${i % 9}` }));
  for (const code of [6, 10]) {
    const broker = new KafkaTestBroker({ topics: { flows: 4 } });
    await broker.start();
    let refusals = 0;
    broker.produceFault = (_t, p) => (p === 2 && refusals < 2 ? (refusals++, code) : 0);
    const out = new KafkaOutput(options(broker, { batchRecords: 5000, spill: { dir: tempDir('ufc-kafka-spill-'), maxBytes: 1 << 26 } }));
    try {
      await out.start();
      out.write(stream);
      await until(() => broker.messages.length >= stream.length, 15_000, 'all messages');
      await out.flush();
      assert.equal(refusals, 2, 'the fault was hit');
      assert.equal(broker.messages.length, stream.length, `code ${code}: no duplicates`);
      assert.deepEqual(byKey(broker.messages), expectedByExporter(stream, CODEX));
      assert.ok(new Set(broker.messages.map((m) => m.partition)).size > 1, 'several partitions');
    } finally {
      await out.close();
      await broker.stop();
    }
  }
});

test('a record the broker refuses for what it holds (INVALID_RECORD, MESSAGE_TOO_LARGE, CORRUPT_MESSAGE from brokers before 2.5) is found by halving the request, dropped and counted; the rest are written once, in order, also from the spill', async () => {
  for (const [code, spill] of [[87, false], [10, true], [2, false]] as const) {
    const broker = new KafkaTestBroker({ topics: { flows: 1 } });
    await broker.start();
    broker.recordFault = (v) => (v?.includes('poison.example') ? code : 0);
    const out = new KafkaOutput(options(broker, { batchRecords: 1000, ...(spill ? { spill: { dir: tempDir('ufc-kafka-spill-'), maxBytes: 1 << 26 } } : {}) }));
    try {
      await out.start();
      const records = Array.from({ length: 700 }, (_, i) => Object.assign(new FlowRecord(), {
        collectTs: 1_700_000_000_000 + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 6, bytes: i, packets: 1,
        // Two at the head too: refused alone before anything is taken (a review found them holding the output for ever).
        dstCity: [0, 1, 123, 601].includes(i) ? 'poison.example' : 'Paris',
      }));
      out.write(records);
      await out.flush();
      const expected = records.filter((_, i) => ![0, 1, 123, 601].includes(i));
      assert.deepEqual(broker.messages.map((m) => m.value!.toString()), expected.map((r) => encodeRecord(r, CODEX)), `code ${code}: every other record once, in order`);
      const c = out.counters();
      assert.deepEqual([c.sent, c.dropped_refused, c.failures], [696, 4, 0], `code ${code}`);
      assert.ok(c.produce_requests! < 60, `code ${code}: halving, not one request a record (${c.produce_requests})`);
    } finally {
      await out.close();
      await broker.stop();
    }
  }
});

test('a topic limit under the request size (max.message.bytes) is learned from the halves taken: later requests fit, every record once, in order; tried again after an hour', async () => {
  const { createLogger, setLogger } = await import('../src/log/logger.js');
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  const broker = new KafkaTestBroker({ topics: { flows: 1 }, messageMaxBytes: 200_000 });
  await broker.start();
  const out = new KafkaOutput(options(broker, { batchRecords: 1000 }));
  const record = (i: number) => Object.assign(new FlowRecord(), {
    collectTs: 1_700_000_000_000 + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 6, bytes: i, packets: 1, dstCity: 'x'.repeat(800),
  });
  try {
    await out.start();
    const records = Array.from({ length: 4000 }, (_, i) => record(i));
    for (let k = 0; k < 4; k++) {
      out.write(records.slice(k * 1000, (k + 1) * 1000));
      await out.flush();
    }
    assert.deepEqual(broker.messages.map((m) => m.value!.toString()), records.map((r) => encodeRecord(r, CODEX)), 'every record once, in order');
    // 900 kB refused, then 450 kB, then 225 kB; the 112 kB halves are taken, and later requests are of that size.
    assert.equal(broker.refusedTooLarge, 3, `refused requests: only the first send's (${broker.refusedTooLarge})`);
    assert.equal(out.counters().dropped_refused, 0, 'nothing dropped');
    assert.equal(lines.filter((l) => l.includes('as too large and took its halves')).length, 1, 'logged once');
    // The wall clock stepped two hours on (an NTP correction) is not an hour gone by.
    const realNow = Date.now;
    Date.now = () => realNow() + 7_200_000;
    try {
      out.write(Array.from({ length: 500 }, (_, i) => record(10_000 + i)));
      await out.flush();
    } finally {
      Date.now = realNow;
    }
    assert.equal(broker.refusedTooLarge, 3, 'no request refused after a wall-clock step');
    // An hour on, full-size requests are tried again (the limit may have been raised).
    (out as unknown as { learned: { at: number } }).learned.at -= 3_600_000;
    out.write([record(4000)].concat(Array.from({ length: 999 }, (_, i) => record(4001 + i))));
    await out.flush();
    assert.equal(broker.messages.length, 5500, 'the later records too');
    assert.equal(broker.refusedTooLarge, 6, 'the limit found again');
  } finally {
    await out.close();
    await broker.stop();
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
});

test('INVALID_TIMESTAMP (the collector\'s clock against the broker\'s: kafkajs stamps the send time) drops nothing: the records wait in the spill', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 1 } });
  await broker.start();
  broker.produceFault = () => 32;
  const out = new KafkaOutput(options(broker, { spill: { dir: tempDir('ufc-kafka-spill-'), maxBytes: 1 << 26 } }));
  try {
    await out.start();
    out.write(Array.from({ length: 50 }, (_, i) => Object.assign(new FlowRecord(), { collectTs: 1_700_000_000_000 + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 6, bytes: i })));
    await until(() => out.counters().failures! > 0, 10_000, 'a refused request');
  } finally {
    await out.close();
    await broker.stop();
  }
  const c = out.counters();
  assert.deepEqual([broker.messages.length, c.dropped_refused, c.spill_pending], [0, 0, 50]);
});

test('request size is counted in bytes (non-ASCII text is 2-3 bytes a character); a record no request can carry is dropped and counted', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 1 } });
  await broker.start();
  const out = new KafkaOutput(options(broker));
  try {
    await out.start();
    const city = '東京都千代田区'.repeat(72); // 504 characters, 1,512 bytes
    const records = Array.from({ length: 600 }, (_, i) => Object.assign(new FlowRecord(), {
      collectTs: 1_700_000_000_000 + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 6, bytes: i, packets: 1, dstCity: city,
    }));
    const huge = Object.assign(new FlowRecord(), { collectTs: 1_700_000_001_000, exporterIp: '192.0.2.1', srcIp: '10.0.0.2', dstIp: '8.8.8.8', proto: 6, dstCity: 'x'.repeat(1_000_000) });
    out.write([...records.slice(0, 300), huge, ...records.slice(300)]);
    await out.flush();
    assert.equal(broker.messages.length, 600);
    const c = out.counters();
    assert.deepEqual([c.sent, c.dropped_too_large, c.failures], [600, 1, 0]);
  } finally {
    await out.close();
    await broker.stop();
  }
});

test('partition key community_id: a record without a Community ID gets a null key, not an empty one', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 3 } });
  await broker.start();
  const out = new KafkaOutput(options(broker, { partitionKey: 'community_id' }));
  try {
    await out.start();
    const ids = ['1:LQU9qZlK+B5F3KDmev6m5PMibrg=', '', '1:3MlNXUp5D0kiPA7EnVR1Wf/9JYE=', ''];
    const records = ids.map((communityId, i) => Object.assign(new FlowRecord(), {
      collectTs: 1_700_000_000_000 + i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 6, srcPort: 40_000 + i, dstPort: 443, bytes: i, packets: 1, communityId,
    }));
    out.write(records);
    await out.flush();
    assert.equal(broker.messages.length, 4, 'every record produced');
    const keyOf = new Map<string, Buffer | null>();
    for (const m of broker.messages) keyOf.set(m.value!.toString(), m.key);
    for (const r of records) {
      const key = keyOf.get(encodeRecord(r, CODEX));
      if (r.communityId === '') assert.equal(key, null, `no Community ID: null key, got ${key === undefined ? 'no message' : JSON.stringify(key?.toString())}`);
      else assert.equal(key?.toString(), r.communityId, 'the Community ID is the key');
    }
  } finally {
    await out.close();
    await broker.stop();
  }
});

test('a record\'s size against maxRequestBytes counts the record batch overhead above its key and value', async () => {
  const broker = new KafkaTestBroker({ topics: { flows: 1 } });
  await broker.start();
  const r = Object.assign(new FlowRecord(), { collectTs: 1_700_000_000_000, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '8.8.8.8', proto: 6, bytes: 1, packets: 1 });
  // Key (the exporter) and value fit with 5 bytes to spare; with the lengths, offsets and headers a record carries, they do not.
  const maxRequestBytes = Buffer.byteLength(r.exporterIp) + Buffer.byteLength(encodeRecord(r, CODEX)) + 5;
  const out = new KafkaOutput(options(broker, { maxRequestBytes }));
  try {
    await out.start();
    out.write([r]);
    await out.flush();
    const c = out.counters();
    assert.deepEqual({ sent: c.sent, dropped_too_large: c.dropped_too_large, produced: broker.messages.length }, { sent: 0, dropped_too_large: 1, produced: 0 }, 'refused as too large, not sent');
  } finally {
    await out.close();
    await broker.stop();
  }
});

test('a topic the brokers do not have is named in the log, and its records are kept until it exists', async () => {
  const { createLogger, setLogger } = await import('../src/log/logger.js');
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  const broker = new KafkaTestBroker({ topics: { other: 1 } });
  await broker.start();
  const out = new KafkaOutput(options(broker, { spill: { dir: tempDir('ufc-kafka-spill-'), maxBytes: 1 << 26 } }));
  try {
    await out.start();
    out.write((await fixtureRecords()).slice(0, 5));
    await until(() => out.counters().failures! > 0, 15_000, 'a failed send');
    assert.ok(lines.some((l) => l.includes('EF_OUTPUT_KAFKA_TOPIC: the brokers have no topic flows')), lines.join('\n'));
    assert.equal(out.counters().dropped_refused ?? 0, 0, 'nothing dropped');
  } finally {
    await out.close();
    await broker.stop();
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
});

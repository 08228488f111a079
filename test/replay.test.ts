/**
 * `ufc replay` and Collector.replayFile: a capture larger than the outputs' queues is fed at the pace
 * the outputs take it (nothing dropped), only the ports asked for are used, and the command's summary
 * and exit code say what was skipped or lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { Collector, ReplayError } from '../src/collector.js';
import { CaptureReader, readUdpDatagrams } from '../src/input/pcap.js';
import { BatchingOutput } from '../src/output/batching.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { v5Datagram } from '../bench/store-traffic.js';
import { eth, ipv4Udp, pcap, udpBytes } from './helpers/capture.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

/** An output that takes a batch every few milliseconds, with room for 20,000 records. */
class SlowOutput extends BatchingOutput {
  readonly name = 'slow';
  received = 0;
  constructor() {
    super({ batchMax: 5000, deadlineMs: 50, queueMax: 20_000 });
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    this.received += batch.length;
  }
}

/** `count` NetFlow v5 datagrams of 30 records from 192.0.2.1 to `port`. */
function v5Capture(count: number, port = 2055): Buffer {
  const frames = [];
  for (let i = 0; i < count; i++) frames.push({ data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', port, v5Datagram(i * 30, 30, 1_700_000_000_000, i * 30))) });
  return pcap(frames);
}

test('a capture far larger than an output queue is replayed whole: the replay waits for the output', async () => {
  const file = join(tempDir('ufc-replay-'), 'big.pcap');
  writeFileSync(file, v5Capture(3000)); // 90,000 records against a queue of 20,000
  const out = new SlowOutput();
  const c = new Collector(testConfig(), { outputs: [out] });
  await c.start('replay');
  const counts = await c.replayFile(file, null);
  await c.stop();
  assert.equal(counts.datagrams, 3000);
  assert.equal(out.received, 90_000);
  assert.equal(out.counters().dropped_queue_full, 0);
  assert.deepEqual(c.outputDrops(), {});
});

test('--port keeps datagrams to those ports only; the others are counted', async () => {
  const file = join(tempDir('ufc-replay-'), 'mixed.pcap');
  const dns = Buffer.alloc(40);
  dns.writeUInt16BE(5, 0); // a DNS answer whose id reads like NetFlow v5
  writeFileSync(file, pcap([
    { data: eth(ipv4Udp('192.0.2.53', '192.0.2.9', 53, dns)) },
    { data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, v5Datagram(0, 30, 1_700_000_000_000, 0))) },
  ]));
  const out = new SlowOutput();
  const c = new Collector(testConfig(), { outputs: [out] });
  await c.start('replay');
  const counts = await c.replayFile(file, new Set([2055]));
  await c.stop();
  assert.deepEqual([counts.datagrams, counts.otherPorts, counts.byPort], [1, 1, { 2055: 1 }]);
  assert.equal(out.received, 30);
  assert.deepEqual(c.pipeline.stats.snapshot().map((e) => e.exporter), ['192.0.2.1']);
});

/** `v5Capture(count)` followed by a record whose captured length (0x7fffffff) says the file is damaged. */
function damagedCapture(count: number): Buffer {
  const bad = Buffer.alloc(16);
  bad.writeUInt32LE(0x7fffffff, 8);
  return Buffer.concat([v5Capture(count), bad, Buffer.alloc(100)]);
}

test('a damaged record: the whole packets before it are replayed, in the same piece too, and the error says what was', async () => {
  const file = join(tempDir('ufc-replay-'), 'damaged.pcap');
  writeFileSync(file, damagedCapture(3)); // all in the first 1 MiB piece
  const out = new SlowOutput();
  const c = new Collector(testConfig(), { outputs: [out] });
  await c.start('replay');
  const err = await c.replayFile(file, null).then(() => null, (e: unknown) => e);
  await c.stop();
  assert.ok(err instanceof ReplayError, String(err));
  assert.match(err.message, /packet record at byte \d+ has an impossible length 2147483647: the file is damaged/);
  assert.deepEqual([err.counts.frames, err.counts.datagrams, err.counts.byPort], [3, 3, { 2055: 3 }]);
  assert.equal(out.received, 90);
});

test('a gzip-compressed capture is replayed as the capture inside it; one cut short is an error after what it held', async () => {
  const gzPath = join(TESTDATA, 'community-id-spec', 'pcaps', 'combined.pcap.gz');
  const gz = readFileSync(gzPath);
  const inside = readUdpDatagrams(gunzipSync(gz));
  const c = new Collector(testConfig(), { outputs: [] });
  await c.start('replay');
  const counts = await c.replayFile(gzPath, null);
  assert.equal(counts.datagrams, inside.length);
  assert.ok(counts.datagrams > 0 && counts.notUdp > 0, JSON.stringify(counts));
  // A large capture, compressed and cut: what was decompressed before the cut is replayed.
  const big = gzipSync(v5Capture(2000));
  const cut = join(tempDir('ufc-replay-'), 'cut.pcap.gz');
  writeFileSync(cut, big.subarray(0, big.length >> 1));
  const err = await c.replayFile(cut, null).then(() => null, (e: unknown) => e);
  await c.stop();
  assert.ok(err instanceof ReplayError, String(err));
  assert.match(err.message, /the gzip-compressed file is damaged or cut short: unexpected end of file/);
  assert.ok(err.counts.datagrams > 0 && err.counts.datagrams < 2000, `${err.counts.datagrams} datagrams before the cut`);
});

test('a gzip-compressed capture cut short counts the bytes of its cut record and the datagrams it never completed, as a plain one does', async () => {
  // The first fragment of a datagram whose last is never read, then 2,000 NetFlow v5 datagrams, compressed and cut.
  const udp = udpBytes(2055, v5Datagram(0, 30, 1_700_000_000_000, 0));
  const frames = [{ data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, Buffer.alloc(0), { id: 7, off: 0, more: true, data: udp.subarray(0, 800) })) }];
  for (let i = 0; i < 2000; i++) frames.push({ data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, v5Datagram(i * 30, 30, 1_700_000_000_000, i * 30))) });
  const gz = gzipSync(pcap(frames));
  const cut = join(tempDir('ufc-replay-'), 'cut.pcap.gz');
  writeFileSync(cut, gz.subarray(0, gz.length >> 1));
  // What the cut stream decompresses to, read as a plain capture cut there.
  const plain = new CaptureReader(() => {});
  plain.push(gunzipSync(gz.subarray(0, gz.length >> 1), { finishFlush: zlibConstants.Z_SYNC_FLUSH }));
  plain.end();
  assert.ok(plain.counts.trailingBytes > 0, 'the cut is inside a record');
  const c = new Collector(testConfig(), { outputs: [] });
  await c.start('replay');
  const err = await c.replayFile(cut, null).then(() => null, (e: unknown) => e);
  await c.stop();
  assert.ok(err instanceof ReplayError, String(err));
  assert.deepEqual([err.counts.frames, err.counts.trailingBytes, err.counts.fragmentsIncomplete],
    [plain.counts.frames, plain.counts.trailingBytes, 1]);
});

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')];

test('ufc replay: a damaged file\'s packets before the damage are replayed and in the summary; an untimed Simple Packet Block is warned of', () => {
  const dir = tempDir('ufc-replay-');
  writeFileSync(join(dir, 'damaged.pcap'), damagedCapture(2));
  // pcapng: section header, Ethernet interface, then a Simple Packet Block with no packet before it.
  const block = (type: number, body: Buffer): Buffer => {
    const b = Buffer.alloc(12 + body.length + ((4 - (body.length % 4)) % 4));
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(b.length, 4);
    body.copy(b, 8);
    b.writeUInt32LE(b.length, b.length - 4);
    return b;
  };
  const frame = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, v5Datagram(0, 30, 1_700_000_000_000, 0)));
  const spbHead = Buffer.alloc(4);
  spbHead.writeUInt32LE(frame.length);
  writeFileSync(join(dir, 'spb.pcapng'), Buffer.concat([block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex')),
    block(1, Buffer.from('0100000000000000', 'hex')), block(3, Buffer.concat([spbHead, frame]))]));
  const env = { PATH: process.env.PATH, EF_DATA_DIR: join(dir, 'data'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_LOGGER_LEVEL: 'warn' };
  const r = spawnSync(process.execPath, [...CLI, 'replay', join(dir, 'damaged.pcap'), join(dir, 'spb.pcapng')], { encoding: 'utf8', env });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /damaged\.pcap: packet record at byte \d+ has an impossible length 2147483647: the file is damaged \(after 2 packets, 2 datagrams replayed\)/);
  assert.match(r.stderr, /spb\.pcapng: 1 Simple Packet Block\(s\) came before any packet with a time/);
  const s = JSON.parse(r.stderr.split('\n').find((l) => l.includes('replay finished'))!) as Record<string, unknown>;
  assert.deepEqual([s.files, s.failedFiles, s.frames, s.datagrams, s.records, s.untimed], [2, 1, 3, 3, 90, 1]);
});

test('ufc replay: a link type that is not read is named; with no IP packet read, the hint says so, not that the captures are of the traffic itself', () => {
  const dir = tempDir('ufc-replay-');
  const v5 = eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, v5Datagram(0, 30, 1_700_000_000_000, 0)));
  writeFileSync(join(dir, 'user0.pcap'), pcap([{ data: v5 }, { data: v5 }], 147));
  const env = { PATH: process.env.PATH, EF_DATA_DIR: join(dir, 'data'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_LOGGER_LEVEL: 'warn' };
  const r = spawnSync(process.execPath, [...CLI, 'replay', join(dir, 'user0.pcap'), join(TESTDATA, 'community-id-spec', 'pcaps', 'arp.pcap')], { encoding: 'utf8', env });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /user0\.pcap: its link type is not one ufc reads \(147 \(LINKTYPE_USER0\): 2 packets\): nothing in it was replayed/);
  assert.match(r.stderr, /the captures held no IP packet ufc could read: of their \d+ packets, 2 of a link type ufc does not read \(named above\); \d+ holding no IPv4 or IPv6 packet/);
  assert.doesNotMatch(r.stderr, /not of the traffic itself/);
  const s = JSON.parse(r.stderr.split('\n').find((l) => l.includes('replay finished'))!) as Record<string, unknown>;
  assert.deepEqual([s.failedFiles, s.datagrams, s.unsupportedLinkType, s.notIp], [1, 0, 2, s.frames as number - 2]);
});

test('ufc replay: a cut file and a missing one are reported, the other files still replayed, exit code 1', () => {
  const dir = tempDir('ufc-replay-');
  const whole = v5Capture(2);
  writeFileSync(join(dir, 'cut.pcap'), whole.subarray(0, whole.length - 100));
  writeFileSync(join(dir, 'ok.pcap'), v5Capture(1));
  const env = { PATH: process.env.PATH, EF_DATA_DIR: join(dir, 'data'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_OUTPUT_FILE_ENABLE: 'true', EF_LOGGER_LEVEL: 'warn' };
  const r = spawnSync(process.execPath, [...CLI, 'replay', '--port', '2055', join(dir, 'cut.pcap'), join(dir, 'missing.pcap'), join(dir, 'ok.pcap')], { encoding: 'utf8', env });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cut\.pcap: the file ends inside a packet record/);
  assert.match(r.stderr, /missing\.pcap: .*no such file/i);
  const line = r.stderr.split('\n').find((l) => l.includes('replay finished'));
  assert.ok(line !== undefined, r.stderr);
  const s = JSON.parse(line) as Record<string, unknown>;
  assert.equal(s.level, 'warn');
  assert.deepEqual([s.files, s.failedFiles, s.datagrams, s.records, s.trailingBytes], [3, 1, 2, 60, 16 + 14 + 20 + 8 + 24 + 30 * 48 - 100]);
  assert.deepEqual(s.ports, { 2055: 2 });
  const bad = spawnSync(process.execPath, [...CLI, 'replay', '--port', '70000', join(dir, 'ok.pcap')], { encoding: 'utf8', env });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--port: "70000" is not a port number/);
});

test('ufc replay: data sets whose template the capture never held are reported', () => {
  const env = { PATH: process.env.PATH, EF_DATA_DIR: tempDir('ufc-replay-'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_LOGGER_LEVEL: 'warn' };
  const r = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'ndpi', 'pcap', 'netflowv9.pcap')], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stderr.split('\n').find((l) => l.includes('replay finished'))!) as Record<string, number>;
  assert.deepEqual([s.datagrams, s.records], [10, 0]);
  assert.ok(s.heldForTemplates! > 0, r.stderr);
  assert.match(r.stderr, /data set\(s\) still wait for a template the captures did not hold/);
});

test('ufc replay: what the exporters numbered and the captures lack is reported; a whole capture says nothing of it', () => {
  const env = { PATH: process.env.PATH, EF_DATA_DIR: tempDir('ufc-replay-'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_LOGGER_LEVEL: 'warn' };
  // An IPFIX capture from a router (pmacct's tests) with messages cut out: 63 then 76 (12 records
  // missing after the one record of the message numbered 63), then 86 after 76 and its one record (9).
  const cut = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'pmacct-test-automation', '104-IPFIXv10-IPv6-CISCO-sampling_option', 'traffic-00.pcap')], { encoding: 'utf8', env });
  assert.equal(cut.status, 0, cut.stderr);
  assert.match(cut.stderr, /the exporters' sequence numbers say 21 record\(s\) were sent and are not in the captures/);
  const whole = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env });
  assert.equal(whole.status, 0, whole.stderr);
  assert.doesNotMatch(whole.stderr, /sequence numbers/);
});

test('a full disk under the log or the stdout output (/dev/full) does not end the process: log lines are lost, stdout records are retried, then counted as dropped', () => {
  const env = { PATH: process.env.PATH, EF_DATA_DIR: tempDir('ufc-replay-'), EF_OUTPUT_DUCKDB_ENABLE: 'false' };
  const capture = join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap');
  const full = openSync('/dev/full', 'w');
  try {
    const log = spawnSync(process.execPath, [...CLI, 'replay', capture], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', full], timeout: 60_000 });
    assert.equal(log.status, 0, 'every log line failed with ENOSPC, the replay did not');
    const out = spawnSync(process.execPath, [...CLI, 'replay', capture], { encoding: 'utf8', env: { ...env, EF_OUTPUT_STDOUT_ENABLE: 'true' }, stdio: ['ignore', full, 'pipe'], timeout: 60_000 });
    assert.equal(out.status, 1, out.stderr);
    assert.match(out.stderr, /stdout output: stopped with 29 records not delivered/);
    assert.match(out.stderr, /replay: outputs dropped records: stdout 29/);
  } finally {
    closeSync(full);
  }
});

test('data lost waiting for a template is counted with the exporter\'s decoding errors (held sets are not)', async () => {
  const c = new Collector(testConfig({ EF_PROCESSOR_DECODE_PENDING_MAX: '2', EF_PROCESSOR_DECODE_PENDING_TIMEOUT: '60' }), { outputs: [] });
  await c.start('replay');
  // NetFlow v9 datagrams holding only a data set for template 256, which never comes.
  const v9 = (seq: number) => {
    const b = Buffer.alloc(20 + 8);
    b.writeUInt16BE(9, 0); b.writeUInt16BE(1, 2); b.writeUInt32BE(1000, 4); b.writeUInt32BE(1_700_000_000, 8); b.writeUInt32BE(seq, 12);
    b.writeUInt16BE(256, 20); b.writeUInt16BE(8, 22);
    return b;
  };
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 5; i++) c.pipeline.handle(v9(i), { exporterIp: '192.0.2.4', exporterPort: 2055, receivedAt: t0 + i });
  const errors = () => c.pipeline.stats.snapshot().find((e) => e.exporter === '192.0.2.4')!.errors;
  assert.deepEqual(errors(), { 'netflow9: data without template: evicted (EF_PROCESSOR_DECODE_PENDING_MAX)': 3 });
  // 61 s on, another exporter's datagram runs the sweep: the two still held expire, counted on their exporter.
  c.pipeline.handle(v9(9), { exporterIp: '192.0.2.5', exporterPort: 2055, receivedAt: t0 + 61_000 });
  assert.deepEqual(errors(), { 'netflow9: data without template: evicted (EF_PROCESSOR_DECODE_PENDING_MAX)': 3, 'netflow9: data without template: expired': 2 });
  await c.stop();
});

test('ufc replay: a capture of the traffic itself (no UDP datagram) is a warning with a hint; one store held by a running collector is one line, no stack trace', async () => {
  const dir = tempDir('ufc-replay-');
  const env = { PATH: process.env.PATH, EF_DATA_DIR: join(dir, 'data'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_LOGGER_LEVEL: 'warn' };
  const r = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'community-id-spec', 'pcaps', 'tcp.pcap')], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stderr.split('\n').find((l) => l.includes('replay finished'))!) as Record<string, unknown>;
  assert.equal(s.level, 'warn');
  assert.deepEqual([s.datagrams, s.notUdp], [0, 12]);
  assert.match(r.stderr, /the captures held no UDP datagram: are they captures of flow export/);
  // Flow export to another port than --port names: the hint says so instead.
  const other = spawnSync(process.execPath, [...CLI, 'replay', '--port', '9999', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env });
  assert.match(other.stderr, /no UDP datagram went to port 9999; 1 went to other ports: check --port/);
  assert.doesNotMatch(other.stderr, /not of the traffic itself/);
  // A collector that cannot be made (its data dir under a file) is one line too.
  writeFileSync(join(dir, 'plain'), '');
  const noDir = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env: { ...env, EF_DATA_DIR: join(dir, 'plain', 'sub') } });
  assert.equal(noDir.status, 1);
  assert.match(noDir.stderr, /start-up failed: .*ENOTDIR/);
  assert.doesNotMatch(noDir.stderr, /\n\s+at /, 'no stack trace');

  // The store is held (DuckDB's file lock) by another process, as by `ufc run` on the same data dir.
  const shared = { ...env, EF_OUTPUT_DUCKDB_ENABLE: 'true' };
  const first = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env: shared });
  assert.equal(first.status, 0, first.stderr);
  const holder = spawn(process.execPath, ['-e', `
    const { DuckDBInstance } = require(${JSON.stringify(createRequire(import.meta.url).resolve('@duckdb/node-api'))});
    DuckDBInstance.create(${JSON.stringify(join(dir, 'data', 'flows.duckdb'))}).then(() => { console.log('held'); setTimeout(() => {}, 60000); });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => holder.stdout.on('data', () => resolve()));
    const busy = spawnSync(process.execPath, [...CLI, 'replay', join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')], { encoding: 'utf8', env: shared, timeout: 30_000 });
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, new RegExp(`the store .*flows\\.duckdb is in use by process ${holder.pid} .*stop it, or give this one its own EF_DATA_DIR`));
    assert.doesNotMatch(busy.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    holder.kill();
  }
});

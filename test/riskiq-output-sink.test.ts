/**
 * `ufc riskiq-sink` as a user runs it: listens on UDP or TCP, checks the customer UUID, decrypts
 * with the key, refuses tampered frames, wrong keys and unknown customers with counted errors, and
 * prints one JSON row per record.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeRow, ROW_LEN, sealFrame, uuidToBytes, type RiskiqRow } from '../src/output/riskiq/frame.js';
import { RiskiqOutput } from '../src/output/riskiq/output.js';
import { RiskiqReceiver } from '../src/output/riskiq/receiver.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { REPO_ROOT } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const CLI = [join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(REPO_ROOT, 'src', 'cli', 'main.ts')];
const UUID = '527dd194-a116-11af-8380-034aba1ce438';
const KEY_B64 = 'twBovkmV8YIxx0QyulybZg==';
const KEY = Buffer.from(KEY_B64, 'base64');

const ROW: RiskiqRow = {
  start_ms: 1680626655000, end_ms: 1680626664000, bytes: 10262, packets: 7, src_ip: '173.194.4.8', src_port: 443,
  dst_ip: null, dst_port: null, tcp_flags: 27, protocol: 6, community_id: '1:hxRuY9st9YFTQ3zMQ/7vZSiRFSQ=',
};

let counter = 0;
function frame(rows: RiskiqRow[], key = KEY, uuid = UUID): Buffer {
  const plain = Buffer.alloc(rows.length * ROW_LEN);
  rows.forEach((r, i) => encodeRow(r, plain, i * ROW_LEN));
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(++counter, 8);
  return sealFrame(key, uuidToBytes(uuid), nonce, plain, rows.length);
}

interface Sink {
  child: ChildProcessWithoutNullStreams;
  port: number;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    EF_DATA_DIR: tempDir('ufc-sink-'),
    EF_OUTPUT_DUCKDB_ENABLE: 'false',
    EF_WEBUI_ENABLE: 'false',
    EF_OUTPUT_RISKIQ_CUSTOMER_UUID: UUID,
    EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: KEY_B64,
    ...extra,
  };
}

/** Starts the sink on a free loopback port and waits for its "listening" line. */
async function startSink(args: string[], e: NodeJS.ProcessEnv = env()): Promise<Sink> {
  const child = spawn(process.execPath, [...CLI, 'riskiq-sink', '--listen', '127.0.0.1:0', ...args], { env: e });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sink did not start: ${stderr}`)), 20_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', () => reject(new Error(`sink exited: ${stderr}`)));
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  const killer = setTimeout(() => child.kill('SIGTERM'), 20_000);
  killer.unref();
  return { child, port, done };
}

function counters(stderr: string): Record<string, number> {
  const line = stderr.split('\n').find((l) => l.startsWith('{"riskiq_sink"'));
  assert.ok(line, `counters line in stderr: ${stderr}`);
  return (JSON.parse(line) as { riskiq_sink: Record<string, number> }).riskiq_sink;
}

test('UDP: good frames print one JSON row per record; tampered, wrong-key, unknown-customer and replayed frames are refused and counted', async () => {
  const sink = await startSink(['--transport', 'udp', '--count', '3']);
  const sock = createSocket('udp4');
  const send = (b: Buffer) => new Promise<void>((r) => sock.send(b, sink.port, '127.0.0.1', () => r()));
  const second: RiskiqRow = { ...ROW, src_ip: null, src_port: null, dst_ip: '2001:4860:4860::8888', dst_port: 53, protocol: 17 };
  const first = frame([ROW, second]);
  await send(first);
  const tampered = frame([ROW]);
  tampered[50] = tampered[50]! ^ 0x80;
  await send(tampered);
  const tamperedHeader = frame([ROW]);
  tamperedHeader[30] = tamperedHeader[30]! ^ 0x01; // a nonce byte: authenticated as AAD and as the IV
  await send(tamperedHeader);
  await send(frame([ROW], Buffer.alloc(16, 7)));
  await send(frame([ROW], KEY, '00000000-0000-4000-8000-000000000000'));
  await send(Buffer.from('not a frame at all, but long enough to have a header and a tag........'));
  await send(first); // a replay: authentic, but seen before
  await send(frame([{ ...ROW, bytes: 1 }]));
  const r = await sink.done;
  sock.close();
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as RiskiqRow);
  assert.deepEqual(rows, [ROW, second, { ...ROW, bytes: 1 }]);
  const c = counters(r.stderr);
  assert.equal(c.frames, 2);
  assert.equal(c.records, 3);
  assert.equal(c.rejected_auth_failed, 3);
  assert.equal(c.rejected_unknown_customer, 1);
  assert.equal(c.rejected_bad_magic, 1);
  assert.equal(c.rejected_replayed, 1);
  assert.equal(c.rejected, 6);
  // Said while it runs, once per reason (three auth failures, one line).
  assert.equal(r.stderr.split('\n').filter((l) => l.includes('refused a frame (auth_failed: a wrong key')).length, 1, r.stderr);
  assert.match(r.stderr, /refused a frame \(unknown_customer: a customer UUID this sink has no key for\)/);
  assert.ok(!r.stderr.includes(KEY_B64), 'the key is never logged');
});

test('TCP: a connection that closes inside a frame is counted as cut_at_close', async () => {
  const sink = await startSink(['--transport', 'tcp', '--count', '1']);
  const good = frame([ROW]);
  const cut = frame([ROW]);
  const prefix = (b: Buffer) => {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(b.length);
    return p;
  };
  await new Promise<void>((resolve, reject) => {
    const s = connect(sink.port, '127.0.0.1', () => s.end(Buffer.concat([prefix(cut), cut.subarray(0, 50)])));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  await new Promise<void>((resolve, reject) => {
    const s = connect(sink.port, '127.0.0.1', () => s.end(Buffer.concat([prefix(good), good])));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
  const r = await sink.done;
  assert.equal(r.code, 0, r.stderr);
  const c = counters(r.stderr);
  assert.deepEqual([c.frames, c.records, c.rejected, c.rejected_cut_at_close], [1, 1, 1, 1]);
  assert.match(r.stderr, /refused a frame \(cut_at_close: a TCP connection closed inside a frame\)/);
});

test('TCP: the RiskIQ output sends to the sink, which prints exactly the projected rows', async () => {
  const sink = await startSink(['--transport', 'tcp', '--count', '20']);
  const out = new RiskiqOutput({
    host: '127.0.0.1', port: sink.port, customerUuid: UUID, key: KEY, transport: 'tcp', maxFrameBytes: 1400, deadlineMs: 50, queueSize: 1000,
    auditPath: '', nonceStatePath: join(tempDir('ufc-sink-'), 'nonce'),
  });
  await out.start();
  const batch: FlowRecord[] = [];
  for (let i = 0; i < 30; i++) {
    const r = new FlowRecord();
    r.srcIp = i % 3 === 0 ? '10.0.0.1' : '8.8.4.4';
    r.dstIp = i % 3 === 0 ? '192.168.1.1' : '9.9.9.9';
    r.proto = 17;
    r.srcPort = 5000 + i;
    r.dstPort = 53;
    r.bytes = 100 + i;
    r.packets = 1;
    batch.push(r);
  }
  out.write(batch);
  await out.flush();
  const r = await sink.done;
  await out.close();
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as RiskiqRow);
  assert.equal(rows.length, 20, 'the 10 records with both ends private were not sent');
  assert.deepEqual(rows.map((x) => x.src_port), batch.filter((_, i) => i % 3 !== 0).map((x) => x.srcPort));
  assert.ok(rows.every((x) => x.src_ip === '8.8.4.4' && x.dst_ip === '9.9.9.9' && x.community_id !== null));
  assert.equal(counters(r.stderr).rejected, 0);
});

test('several customers from --customers FILE, rows tagged with --with-customer; a key on the command line is refused', async () => {
  const dir = tempDir('ufc-sink-');
  const other = '11111111-2222-4333-8444-555555555555';
  const otherKey = Buffer.alloc(32, 9);
  const file = join(dir, 'customers');
  writeFileSync(file, `# uuid key\n${UUID} ${KEY_B64}\n${other} ${otherKey.toString('base64')}\n`);
  const sink = await startSink(['--transport', 'tcp', '--customers', file, '--with-customer', '--count', '2'], env({ EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: '' }));
  const sock = connect(sink.port, '127.0.0.1');
  await new Promise<void>((r) => sock.on('connect', () => r()));
  for (const f of [frame([ROW]), frame([{ ...ROW, bytes: 2 }], otherKey, other)]) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.length);
    sock.write(Buffer.concat([len, f]));
  }
  const r = await sink.done;
  sock.destroy();
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as RiskiqRow & { customer: string });
  assert.deepEqual(lines.map((l) => [l.customer, l.bytes]), [[UUID, 10262], [other, 2]]);

  const bad = spawnSync(process.execPath, [...CLI, 'riskiq-sink', '--key', KEY_B64], { env: env(), encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--key is not accepted/);
  const badKey = spawnSync(process.execPath, [...CLI, 'riskiq-sink'], { env: env({ EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: Buffer.alloc(10).toString('base64') }), encoding: 'utf8' });
  assert.equal(badKey.status, 2);
  assert.match(badKey.stderr, /EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY.*decodes to 10 bytes/);
});

test('TCP: a length beyond any frame is refused once (oversize), not also as a frame cut at close', async () => {
  const refused: string[] = [];
  const rx = new RiskiqReceiver({ transport: 'tcp', host: '127.0.0.1', port: 0, keys: new Map([[UUID, KEY]]), onRow: () => {}, onRefused: (r) => refused.push(r) });
  const port = await rx.start();
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
    setTimeout(() => reject(new Error('the receiver kept the connection')), 5000).unref();
  });
  await new Promise((r) => setTimeout(r, 100));
  await rx.stop();
  assert.deepEqual(refused, ['oversize']);
  assert.deepEqual([rx.counters().rejected, rx.counters().rejected_oversize, rx.counters().rejected_cut_at_close], [1, 1, undefined]);
});

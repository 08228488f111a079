/**
 * The RiskIQ audit file (EF_OUTPUT_RISKIQ_AUDIT_PATH) on a disk that fills up: the rows wait in the
 * output's queue and are written once there is room, no line is left cut short in the file, and a
 * stop while the disk is still full says so.
 */
import assert from 'node:assert/strict';
import fs, { fstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger, setLogger } from '../src/log/logger.js';
import { RiskiqOutput } from '../src/output/riskiq/output.js';
import { AuditTransport } from '../src/output/riskiq/transport.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir } from './helpers/collect.js';

const UUID = '527dd194-a116-11af-8380-034aba1ce438';
const KEY = Buffer.from('twBovkmV8YIxx0QyulybZg==', 'base64');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

/** Public flows whose destination ports run from `first`: each row in the file names its record. */
function flows(first: number, n: number): FlowRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const r = new FlowRecord();
    r.srcIp = '8.8.8.8';
    r.dstIp = '1.1.1.1';
    r.proto = 6;
    r.srcPort = 443;
    r.dstPort = first + i;
    r.bytes = 1000;
    r.packets = 1;
    r.startTs = 1_700_000_000_000;
    r.endTs = r.startTs + 10;
    return r;
  });
}

function output(path: string): RiskiqOutput {
  return new RiskiqOutput({
    host: '127.0.0.1', port: 9, customerUuid: UUID, key: KEY, transport: 'udp', maxFrameBytes: 1400, deadlineMs: 20,
    queueSize: 10_000, auditPath: path, nonceStatePath: join(tempDir('ufc-audit-'), 'nonce'), flushTimeoutMs: 500,
    customTransport: new AuditTransport(path, { backoffMinMs: 20, backoffMaxMs: 100 }),
  });
}

/** The destination port of each line of the file (every line must be whole JSON). */
function portsIn(path: string): number[] {
  const text = readFileSync(path, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { dst_port: number }).dst_port);
}

const range = (first: number, n: number) => Array.from({ length: n }, (_, i) => first + i);

/**
 * The disk under `path`: it takes `room` more bytes of the file's writes, then refuses them with
 * ENOSPC until `room` is raised (Infinity: space freed). Both the descriptor writes and a stream's
 * are caught; other descriptors (the log, the test runner's) write as usual.
 */
function diskUnder(path: string): { room: number; restore(): void } {
  const disk = { room: Infinity, restore };
  const orig = { writeSync: fs.writeSync, write: fs.write, writev: fs.writev };
  const ofFile = (fd: number): boolean => {
    try {
      return fstatSync(fd).ino === statSync(path).ino;
    } catch {
      return false;
    }
  };
  const take = (len: number): number => {
    if (disk.room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const n = Math.min(len, disk.room);
    disk.room -= n;
    return n;
  };
  fs.writeSync = ((fd: number, buf: Buffer, off?: number, len?: number, pos?: number | null) => {
    if (!Buffer.isBuffer(buf) || !ofFile(fd)) return (orig.writeSync as (...a: unknown[]) => number)(fd, buf, off, len, pos);
    return orig.writeSync(fd, buf, off ?? 0, take(len ?? buf.length - (off ?? 0)), pos);
  }) as typeof fs.writeSync;
  fs.write = ((fd: number, buf: Buffer, off: number, len: number, pos: number | null, cb: (e: Error | null, n?: number) => void) => {
    if (!Buffer.isBuffer(buf) || !ofFile(fd) || typeof cb !== 'function') return (orig.write as (...a: unknown[]) => void)(fd, buf, off, len, pos, cb);
    let n: number;
    try {
      n = take(len);
    } catch (err) {
      process.nextTick(cb, err);
      return;
    }
    orig.write(fd, buf, off, n, pos, cb);
  }) as typeof fs.write;
  fs.writev = ((fd: number, bufs: Buffer[], pos: number | null, cb: (e: Error | null, n?: number) => void) => {
    if (!ofFile(fd) || typeof cb !== 'function') return (orig.writev as (...a: unknown[]) => void)(fd, bufs, pos, cb);
    const all = Buffer.concat(bufs);
    let n: number;
    try {
      n = take(all.length);
    } catch (err) {
      process.nextTick(cb, err);
      return;
    }
    orig.writev(fd, [all.subarray(0, n)], pos, cb);
  }) as typeof fs.writev;
  syncBuiltinESMExports();
  function restore(): void {
    Object.assign(fs, orig);
    syncBuiltinESMExports();
  }
  return disk;
}

test('audit file: a full disk keeps the rows queued, leaves no cut line, and they are written once there is room', async (t) => {
  const path = join(tempDir('ufc-audit-'), 'audit.ndjson');
  const out = output(path);
  await out.start();
  const disk = diskUnder(path);
  t.after(async () => {
    disk.restore();
    await out.close();
  });
  out.write(flows(1000, 300));
  await until(() => out.counters().records_sent === 300, 3000);
  assert.deepEqual(portsIn(path), range(1000, 300), 'before the disk fills: every row written');

  // Room for some 20 more rows: the write that fills the disk stops inside a line.
  disk.room = 5000;
  out.write(flows(2000, 300));
  await sleep(300);
  let c = out.counters();
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'), 'while the disk is full the file ends on a whole line');
  const whileFull = portsIn(path);
  assert.equal(whileFull.length, c.records_sent, 'the rows in the file are the ones counted as sent');
  assert.ok(c.records_sent! < 600, `records_sent ${c.records_sent}: not all written yet`);
  assert.equal(c.dropped_send_error, 0, 'a refused write drops nothing');
  assert.equal(c.queued_records! + c.inflight_records!, 600 - c.records_sent!, 'the rest wait in the queue');

  disk.room = Infinity;
  out.write(flows(3000, 300));
  await until(() => out.counters().records_sent === 900, 3000);
  c = out.counters();
  assert.deepEqual(portsIn(path), [...range(1000, 300), ...range(2000, 300), ...range(3000, 300)], 'once there is room: every row once, in order, every line whole');
  assert.equal(c.records_sent, 900, 'all counted as sent');
  assert.equal(c.dropped_send_error! + c.dropped_queue_full! + c.dropped_shutdown!, 0, 'nothing dropped');
});

test('audit file: a line cut short by an earlier run is cut off at start, and the next row is not glued to it', async () => {
  const path = join(tempDir('ufc-audit-'), 'audit.ndjson');
  writeFileSync(path, '{"dst_port":1}\n{"start_ms":17000000');
  const out = output(path);
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  try {
    await out.start();
    out.write(flows(5000, 3));
    await out.close();
  } finally {
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
  assert.deepEqual(portsIn(path), [1, 5000, 5001, 5002], 'the whole line kept, the cut one gone, the new rows after it');
  assert.ok(lines.some((l) => l.includes(`audit file ${path} ended inside a line`) && l.includes('cut back 20 bytes')), `the cut is logged:\n${lines.join('\n')}`);
});

test('audit file: a stop while the disk stays full says so, leaves whole lines, and counts every row', async () => {
  const path = join(tempDir('ufc-audit-'), 'audit.ndjson');
  const out = output(path);
  await out.start();
  const disk = diskUnder(path);
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  try {
    // Room for two frames of 14 rows and part of a third.
    disk.room = 8000;
    out.write(flows(1000, 300));
    await sleep(200);
    await out.close();
  } finally {
    disk.restore();
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
  const c = out.counters();
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'), 'no cut line left at the end');
  const kept = portsIn(path);
  assert.equal(kept.length, 28, 'the two frames the disk took whole are in the file');
  assert.deepEqual(kept, range(1000, kept.length), 'the rows written are whole and in order');
  assert.equal(c.records_sent, kept.length, 'sent: the rows in the file');
  assert.equal(c.records_sent! + c.dropped_send_error! + c.dropped_shutdown!, 300, 'every other row counted as dropped');
  assert.ok(lines.some((l) => l.includes(`at stop the audit file ${path} still refused writes (ENOSPC`)), `the stop names the full disk:\n${lines.join('\n')}`);
  assert.ok(lines.some((l) => l.includes('still queued at stop, the audit file refusing writes: ENOSPC')), `the output's stop report names the full disk too:\n${lines.join('\n')}`);
  assert.ok(!lines.some((l) => l.includes('the receiver away')), 'no receiver is blamed for a file');
});

test('audit file: a backlog of more than 1 MiB is written in turns of the event loop, every row', async () => {
  const path = join(tempDir('ufc-audit-'), 'audit.ndjson');
  const out = output(path);
  await out.start();
  out.write(flows(10_000, 9000));
  let turns = 0;
  while (out.counters().records_sent! < 9000 && turns < 1000) {
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  await out.close();
  assert.ok(statSync(path).size > 1 << 20, `${statSync(path).size} bytes: more than one turn's worth`);
  assert.ok(turns >= 2, `${turns} turns: not all written in one`);
  assert.deepEqual(portsIn(path), range(10_000, 9000), 'every row once, in order');
});

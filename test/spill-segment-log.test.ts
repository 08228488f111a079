/** The on-disk spill log: checksums, order, restart, disk cap, damage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, truncateSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import { FlowRecord } from '../src/record/flow-record.js';
import { crc32, crc32Table } from '../src/output/spill/crc32.js';
import { encodeRecords, RECORD_KEYS, RecordDecoder } from '../src/output/spill/record-codec.js';
import { SpillLog } from '../src/output/spill/segment-log.js';
import { tempDir } from './helpers/collect.js';
import { drain } from './helpers/spill-target.js';

function rec(exporter: string, seq: number): FlowRecord {
  const r = new FlowRecord();
  r.exporterIp = exporter;
  r.sequence = seq;
  r.srcIp = '10.0.0.1';
  r.dstIp = '2001:db8::1';
  r.bytes = seq * 100;
  r.collectTs = 1_700_000_000_000 + seq;
  return r;
}

function batch(from: number, n: number, exporter = '192.0.2.1'): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) out.push(rec(exporter, from + i));
  return out;
}

const tmp = (): string => tempDir('ufc-spill-');


test('crc32: zlib and the table agree, and match the CRC-32 check value', () => {
  const check = Buffer.from('123456789');
  assert.equal(crc32Table(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
  for (let i = 0; i < 50; i++) {
    const b = randomBytes(1 + (i * 37) % 3000);
    assert.equal(crc32Table(b), crc32(b));
    if (typeof (zlib as { crc32?: unknown }).crc32 === 'function') assert.equal(crc32(b), zlib.crc32(b) >>> 0);
  }
});

test('record codec: round trip gives FlowRecord instances with the same properties (NaN, extra)', () => {
  const a = rec('192.0.2.9', 7);
  a.srcLat = 51.5;
  a.srcLon = -0.12;
  a.srcThreatName = 'bad,worse';
  a.setExtra('ipfix.ie.9.1234', 42);
  a.setExtra('flag', true);
  const b = rec('192.0.2.9', 8); // lat/lon NaN
  const out: FlowRecord[] = [];
  new RecordDecoder(RECORD_KEYS).decode(encodeRecords([a, b]), out);
  assert.equal(out.length, 2);
  assert.ok(out[0] instanceof FlowRecord);
  assert.deepEqual({ ...out[0] }, { ...a });
  assert.deepEqual({ ...out[1] }, { ...b });
  assert.ok(Number.isNaN(out[1]!.srcLat));
  // Rows written by a build with an extra column and without `bytes` still load by name.
  const keys = [...RECORD_KEYS.filter((k) => k !== 'bytes'), 'someFutureField'];
  const payload = Buffer.from(JSON.stringify([keys.map((k) => (k === 'someFutureField' ? 'x' : (a as unknown as Record<string, unknown>)[k]))]));
  const old: FlowRecord[] = [];
  new RecordDecoder(keys).decode(payload, old);
  assert.equal(old[0]!.bytes, 0);
  assert.equal(old[0]!.sequence, 7);
  assert.equal((old[0] as unknown as Record<string, unknown>).someFutureField, undefined);
});

test('spill log: records come back oldest first across segments', () => {
  const dir = tmp();
  const log = new SpillLog({ dir, maxBytes: 1 << 30, segmentBytes: 4096, entryRecords: 10 });
  for (let i = 0; i < 20; i++) log.append(batch(i * 25, 25));
  assert.equal(log.pendingRecords, 500);
  assert.ok(readdirSync(dir).filter((n) => n.endsWith('.seg')).length > 3, 'several segments');
  const seqs = drain(log, 37);
  assert.deepEqual(seqs, Array.from({ length: 500 }, (_, i) => i));
  assert.equal(log.pendingRecords, 0);
  assert.equal(log.c.replayed, 500);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.seg')), [], 'delivered segments are removed');
  log.close();
});

test('spill log: peek without commit hands the same records again (rewind)', () => {
  const log = new SpillLog({ dir: tmp(), maxBytes: 1 << 30 });
  log.append(batch(0, 5));
  const a = log.peek(100).map((r) => r.sequence);
  log.rewind();
  const b = log.peek(100).map((r) => r.sequence);
  assert.deepEqual(a, [0, 1, 2, 3, 4]);
  assert.deepEqual(b, a);
  log.commit();
  assert.equal(log.pendingRecords, 0);
});

test('spill log: prepend puts records before everything on disk', () => {
  const log = new SpillLog({ dir: tmp(), maxBytes: 1 << 30, entryRecords: 4 });
  log.append(batch(100, 10));
  log.prepend([batch(0, 3), batch(3, 7)]);
  log.append(batch(110, 5));
  assert.deepEqual(drain(log), Array.from({ length: 115 - 100 + 10 }, (_, i) => (i < 10 ? i : 100 + i - 10)));
});

test('spill log: a prepend larger than the cap keeps its newest records up to the cap, in order, after a restart too (it went whole)', () => {
  const dir = tmp();
  const maxBytes = 256 << 10;
  const log = new SpillLog({ dir, maxBytes, segmentBytes: 16 << 10, entryRecords: 20 });
  // An outage's memory: far more than the cap holds, in the batches it was queued in.
  log.prepend([batch(0, 2000), batch(2000, 2000)]);
  assert.ok(log.bytes <= maxBytes, `${log.bytes} bytes on disk`);
  const kept = log.pendingRecords;
  assert.ok(kept > 500, `${kept} records kept`);
  assert.equal(log.c.dropped + kept, 4000, 'every record either kept or counted');
  // Prepended again (a second stop) before what is there, and the oldest still go first.
  log.prepend([batch(-100, 100)]);
  assert.ok(log.bytes <= maxBytes);
  log.close();
  const again = new SpillLog({ dir, maxBytes, entryRecords: 20 });
  const got = drain(again, 1000);
  assert.equal(got.length, again.c.recovered);
  assert.deepEqual(got, [...got].sort((a, b) => a - b), 'oldest first');
  assert.equal(got[got.length - 1], 3999, 'the newest record kept');
  assert.deepEqual(got.slice(-kept + 200), Array.from({ length: kept - 200 }, (_, i) => 4000 - kept + 200 + i), 'a run of the newest, without holes');
});

test('spill log: survives a restart and resumes after what was delivered', () => {
  const dir = tmp();
  const a = new SpillLog({ dir, maxBytes: 1 << 30, segmentBytes: 8192, entryRecords: 10 });
  a.append(batch(0, 300));
  // Deliver the first 40 only.
  for (let i = 0; i < 4; i++) {
    assert.equal(a.peek(10).length, 10);
    a.commit();
  }
  a.close();
  const b = new SpillLog({ dir, maxBytes: 1 << 30, entryRecords: 10 });
  assert.equal(b.pendingRecords, 260);
  assert.equal(b.c.recovered, 260);
  b.append(batch(300, 20));
  assert.deepEqual(drain(b), Array.from({ length: 280 }, (_, i) => 40 + i));
  b.close();
  const c = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(c.pendingRecords, 0, 'nothing replayed twice');
});

test('spill log: past the disk cap the oldest are dropped, and every drop is counted', () => {
  const dir = tmp();
  const log = new SpillLog({ dir, maxBytes: 64 * 1024, segmentBytes: 8 * 1024, entryRecords: 10 });
  const written = 2000;
  for (let i = 0; i < written; i += 20) log.append(batch(i, 20));
  const size = readdirSync(dir).filter((n) => n.endsWith('.seg')).reduce((s, n) => s + statSync(join(dir, n)).size, 0);
  assert.ok(size <= 64 * 1024, `disk use ${size} within the cap`);
  assert.ok(log.c.dropped > 0, 'some dropped');
  assert.equal(log.c.dropped + log.pendingRecords, written, 'dropped + kept = written');
  const seqs = drain(log);
  assert.equal(seqs.length, written - log.c.dropped);
  // What is left is the newest, contiguous and in order.
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => written - seqs.length + i));
});

test('spill log: a damaged entry is detected by its checksum; the rest of its segment is dropped and counted', () => {
  const dir = tmp();
  const a = new SpillLog({ dir, maxBytes: 1 << 30, segmentBytes: 1 << 20, entryRecords: 10 });
  a.append(batch(0, 30)); // segment 1: three entries
  a.close();
  const b0 = new SpillLog({ dir, maxBytes: 1 << 30, entryRecords: 10 });
  b0.append(batch(30, 10)); // segment 2
  b0.close();
  const segs = readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
  assert.equal(segs.length, 2);
  const p = join(dir, segs[0]!);
  const buf = readFileSync(p);
  buf[buf.length - 5] ^= 0xff; // inside the last entry's payload
  writeFileSync(p, buf);
  const b = new SpillLog({ dir, maxBytes: 1 << 30 });
  const seqs = drain(b);
  assert.deepEqual(seqs, [...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 30 + i)]);
  assert.equal(b.c.corrupt, 1);
  assert.equal(b.c.dropped, 10);
});

test('spill log: a torn last entry (crash mid-write) ends the segment at the last complete entry', () => {
  const dir = tmp();
  const a = new SpillLog({ dir, maxBytes: 1 << 30, entryRecords: 10 });
  a.append(batch(0, 30));
  a.close();
  const seg = readdirSync(dir).find((n) => n.endsWith('.seg'))!;
  truncateSync(join(dir, seg), statSync(join(dir, seg)).size - 3);
  const b = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(b.pendingRecords, 20);
  assert.deepEqual(drain(b), Array.from({ length: 20 }, (_, i) => i));
});

test('spill log: a damaged entry header (length or count) never yields made-up record counts after a restart', () => {
  for (const damage of ['length-huge', 'count-huge', 'length-small'] as const) {
    const dir = tmp();
    const a = new SpillLog({ dir, maxBytes: 1 << 30, segmentBytes: 1 << 20, entryRecords: 10 });
    a.append(batch(0, 100)); // ten entries of ten records
    a.close();
    const p = join(dir, readdirSync(dir).find((n) => n.endsWith('.seg'))!);
    const buf = readFileSync(p);
    // The fourth entry's header: walk three entries from the data start (right after the file header).
    let off = 8 + 4 + buf.readUInt32BE(8);
    for (let i = 0; i < 3; i++) off += 12 + buf.readUInt32BE(off);
    if (damage === 'length-huge') buf.writeUInt32BE(0x7fffffff, off);
    else if (damage === 'count-huge') buf.writeUInt32BE(0xffffffff, off + 4);
    else buf.writeUInt32BE(buf.readUInt32BE(off) - 7, off);
    writeFileSync(p, buf);
    const b = new SpillLog({ dir, maxBytes: 1 << 30 });
    assert.equal(b.pendingRecords, 30, `${damage}: the three intact entries before the damage`);
    assert.deepEqual(drain(b), Array.from({ length: 30 }, (_, i) => i), damage);
    assert.ok(b.c.dropped <= 70, `${damage}: dropped ${b.c.dropped}, never more than the segment held`);
    assert.equal(b.c.recovered, 30);
  }
});

test('spill log: an entry whose header count disagrees with its records (checksum intact) is corrupt: dropped and counted, not delivered', () => {
  const dir = tmp();
  const a = new SpillLog({ dir, maxBytes: 1 << 30, segmentBytes: 1 << 20, entryRecords: 10 });
  a.append(batch(0, 20)); // two entries of ten records
  a.close();
  const p = join(dir, readdirSync(dir).find((n) => n.endsWith('.seg'))!);
  const buf = readFileSync(p);
  // The second entry's header (after the file header and the first entry); its count is the u32 after the length.
  let off = 8 + 4 + buf.readUInt32BE(8);
  off += 12 + buf.readUInt32BE(off);
  assert.equal(buf.readUInt32BE(off + 4), 10, 'the second entry holds ten records');
  // Nine: a count its payload could hold, so the scan at open takes it; the CRC covers the payload only.
  buf.writeUInt32BE(9, off + 4);
  writeFileSync(p, buf);
  const b = new SpillLog({ dir, maxBytes: 1 << 30 });
  assert.equal(b.pendingRecords, 19, 'counted from the headers at open');
  assert.deepEqual(drain(b), Array.from({ length: 10 }, (_, i) => i), 'the intact first entry only');
  assert.deepEqual({ corrupt: b.c.corrupt, dropped: b.c.dropped, damaged: b.c.damaged, replayed: b.c.replayed, pending: b.pendingRecords }, { corrupt: 1, dropped: 9, damaged: 9, replayed: 10, pending: 0 }, 'the damaged entry dropped as its header counts it');
  b.close();
});

test('spill log: a prepend that fails on a full disk leaves no file and no open descriptor', { skip: !existsSync('/proc/self/fd') && 'no /proc/self/fd' }, async () => {
  const fs = (await import('node:fs')).default;
  const { syncBuiltinESMExports } = await import('node:module');
  const dir = tmp();
  const log = new SpillLog({ dir, maxBytes: 1 << 30, entryRecords: 10 });
  const fds = (): number => readdirSync('/proc/self/fd').length;
  const before = fds();
  const writeSync = fs.writeSync;
  fs.writeSync = (() => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
  try {
    for (let i = 0; i < 20; i++) assert.throws(() => log.prepend([batch(0, 5)]), /ENOSPC/);
  } finally {
    fs.writeSync = writeSync;
    syncBuiltinESMExports();
  }
  assert.equal(fds(), before, 'no descriptor left open');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.seg')), []);
  assert.equal(log.pendingRecords, 0);
  assert.equal(log.bytes, 0);
  log.close();
});

test('a full disk that takes part of an entry leaves no hole: what is appended once there is room reads back after it', (t) => {
  // A small tmpfs is the only way to get a real short write; mounting one needs root (CI runs as root).
  if (process.getuid?.() !== 0) {
    if (process.env.UFC_REQUIRE_TOOLS === '1') assert.fail('mounting a tmpfs needs root (UFC_REQUIRE_TOOLS=1)');
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  const mnt = tmp();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  try {
    const dir = join(mnt, 'spill');
    const log = new SpillLog({ dir, maxBytes: 64 << 20, entryRecords: 50 });
    let appended = 0, failed = 0;
    for (let i = 0; i < 400 && failed === 0; i++) {
      try {
        log.append(batch(appended, 50));
        appended += 50;
      } catch {
        failed++;
      }
    }
    assert.equal(failed, 1, 'the disk filled up');
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.seg')).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    assert.equal(onDisk, log.bytes, 'the files hold exactly the whole entries');
    execFileSync('mount', ['-o', 'remount,size=4m', mnt]);
    log.append(batch(appended, 50));
    appended += 50;
    assert.deepEqual(drain(log), Array.from({ length: appended }, (_, i) => i));
    assert.equal(log.c.corrupt, 0);
    log.close();
  } finally {
    // Lazily: a failed assertion leaves the log's descriptor open, which would keep the mount busy.
    execFileSync('umount', ['-l', mnt]);
  }
});

/**
 * Child process for test/output-stdout-disk-full.test.ts: the stdout output with descriptor 1 a
 * regular file on a disk that fills part-way through a batch. Each write to descriptor 1 takes at most
 * 40 bytes (a write that takes part of what it is given), the disk has room for 100 bytes, then
 * refuses with ENOSPC until 300 ms on, when room is freed. Five records (source 10.0.0.1 to
 * 10.0.0.5) go out in one batch. At the end, on stderr: the output's counters, and the text the file
 * should hold (base64), as the output would write it with room all along.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const PER_WRITE = 40;
let room = 100;
const orig = fs.writeSync;
fs.writeSync = ((fd: number, buf: Buffer, off?: number, len?: number, pos?: number | null) => {
  if (fd !== 1 || !Buffer.isBuffer(buf)) return (orig as (...a: unknown[]) => number)(fd, buf, off, len, pos);
  if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const n = Math.min(len ?? buf.length - (off ?? 0), PER_WRITE, room);
  room -= n;
  return orig(fd, buf, off ?? 0, n, pos);
}) as typeof fs.writeSync;
syncBuiltinESMExports();

const { StdoutOutput } = await import('../../src/output/stdout/stdout.js');
const { FlowRecord } = await import('../../src/record/flow-record.js');
const { toNdjsonBuffer } = await import('../../src/record/json.js');

const view = { ecs: false, timestampSource: 'collect' } as const;
const out = new StdoutOutput(view, false);
await out.start();
const records = Array.from({ length: 5 }, (_, i) => {
  const r = new FlowRecord();
  r.srcIp = `10.0.0.${i + 1}`;
  r.dstIp = '192.0.2.1';
  r.proto = 17;
  r.srcPort = 5000 + i;
  r.dstPort = 53;
  r.bytes = 100;
  r.packets = 1;
  r.startTs = 1_700_000_000_000;
  r.endTs = r.startTs + 10;
  return r;
});
const expected = Buffer.from(toNdjsonBuffer(records, view)).toString('base64');
out.write(records);
setTimeout(() => (room = Infinity), 300);
await out.close(5000);
process.stderr.write(`counters ${JSON.stringify(out.counters())}\nexpected ${expected}\n`);

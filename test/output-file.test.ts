import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import { FileOutput } from '../src/output/file/file.js';
import { BatchingOutput } from '../src/output/batching.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { CODEX_VIEW, plainRecord } from './helpers/plain-record.js';
import { TESTDATA } from './helpers/tools.js';
import { createLogger, setLogger } from '../src/log/logger.js';

const view = CODEX_VIEW;
const rec = plainRecord;

test('file output: NDJSON, rotated by size, keeps at most MAX_FILES rotated files, loses no record before rotation', async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  const out = new FileOutput({ path, maxBytes: 4000, maxFiles: 2, view });
  await out.start();
  for (let i = 0; i < 200; i++) {
    out.write([rec(i)]);
    if (i % 20 === 19) await out.flush();
  }
  await out.close();
  const files = readdirSync(dir).sort();
  assert.deepEqual(files, ['flows.ndjson', 'flows.ndjson.1', 'flows.ndjson.2']);
  const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'));
  for (const f of files) assert.ok(readFileSync(join(dir, f)).length <= 4000, `${f} within the size`);
  const ports = lines.map((l) => (JSON.parse(l) as Record<string, number>)['flow.src.l4.port.id']!).sort((a, b) => a - b);
  // The newest three files hold the newest records, each exactly once.
  assert.equal(new Set(ports).size, ports.length);
  assert.equal(ports[ports.length - 1], 199);
});

test('replay through the file output (ECS view)', async () => {
  const dir = tempDir('ufc-file-');
  const config = testConfig({ EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'f.ndjson'), EF_OUTPUT_FILE_ECS_ENABLE: 'true' });
  const c = new Collector(config);
  await c.start();
  c.replay(readFileSync(join(TESTDATA, 'akvorado', 'netflow', 'nfv5.pcap')));
  await c.stop();
  const docs = readFileSync(join(dir, 'f.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(docs.length, 29);
  assert.equal(docs[0]!['source.ip'], '161.202.212.212');
  assert.equal(docs[0]!['network.transport'], 'tcp');
  assert.equal(docs[0]!['event.start'], new Date(1680626679000 - 15000).toISOString());
});

class FailingOutput extends BatchingOutput {
  readonly name = 'failing';
  fail = true;
  got: FlowRecord[] = [];
  constructor() {
    super({ batchMax: 10, deadlineMs: 5, queueMax: 50 });
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    if (this.fail) throw new Error('target down');
    this.got.push(...batch);
  }
}

test('batching: a failing target is retried, the queue is bounded and drops are counted', async () => {
  const o = new FailingOutput();
  for (let i = 0; i < 100; i++) o.write([rec(i)]);
  await new Promise((r) => setTimeout(r, 50));
  const c = o.counters();
  assert.ok(c.failures! >= 1);
  assert.equal(c.dropped_queue_full! + c.queued! + 10, 100, 'one batch in flight, the rest queued or dropped');
  o.fail = false;
  await o.flush();
  assert.equal(o.got.length + o.counters().dropped_queue_full!, 100);
  assert.deepEqual(o.got.map((r) => r.srcPort), o.got.map((r) => r.srcPort).sort((a, b) => a - b), 'order kept');
  await o.close();
});

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/**
 * Makes the output's file handle write `firstBytes` of its next write (none when 0) and refuse every
 * write after that: a disk that fills up and stays full.
 */
function diskStaysFull(out: FileOutput, firstBytes = 0): void {
  const fh = (out as unknown as { fh: { writev(b: Buffer[]): Promise<{ bytesWritten: number }> } }).fh;
  const writev = fh.writev.bind(fh);
  let first = firstBytes > 0;
  fh.writev = async (bufs) => {
    if (!first) throw enospc();
    first = false;
    return writev([Buffer.concat(bufs).subarray(0, firstBytes)]);
  };
}

/** Makes the output's file handle write only `firstBytes` of the next write, then refuse the one after (a disk filling up). */
function fillDiskOnce(out: FileOutput, firstBytes: number): void {
  const fh = (out as unknown as { fh: { writev(b: Buffer[]): Promise<{ bytesWritten: number }>; write(b: Buffer, o: number, l: number): Promise<{ bytesWritten: number }> } }).fh;
  const writev = fh.writev.bind(fh);
  const write = fh.write.bind(fh);
  let step = 0;
  fh.writev = async (bufs) => {
    step++;
    if (step === 1) return writev([Buffer.concat(bufs).subarray(0, firstBytes)]);
    if (step === 2) throw enospc();
    return writev(bufs);
  };
  fh.write = async (b, o, l) => {
    step++;
    if (step === 1) return write(b, o, Math.min(l, firstBytes));
    if (step === 2) throw enospc();
    return write(b, o, l);
  };
}

test('file output: a write cut short by a full disk is resumed where it stopped: no line twice, none cut', async () => {
  for (const maxBytes of [0, 3000]) {
    const dir = tempDir('ufc-file-');
    const path = join(dir, 'flows.ndjson');
    const out = new FileOutput({ path, maxBytes, maxFiles: 50, view });
    await out.start();
    fillDiskOnce(out, 1234);
    out.write(Array.from({ length: 100 }, (_, i) => rec(i)));
    await out.flush();
    await out.close();
    const lines = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== ''));
    const ports = lines.map((l) => (JSON.parse(l) as Record<string, number>)['flow.src.l4.port.id']!).sort((a, b) => a - b);
    assert.deepEqual(ports, Array.from({ length: 100 }, (_, i) => i), `maxBytes ${maxBytes}: every record once, every line whole`);
    assert.equal(out.counters().sent, 100);
    assert.equal(out.counters().failures, 1);
  }
});

test('file output: a stop while every write fails ends within its deadline, counting and logging what was not written', async () => {
  const dir = tempDir('ufc-file-');
  const out = new FileOutput({ path: join(dir, 'flows.ndjson'), maxBytes: 0, maxFiles: 1, view });
  await out.start();
  diskStaysFull(out);
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  out.write(Array.from({ length: 50 }, (_, i) => rec(i)));
  const t0 = Date.now();
  try {
    await out.close(300);
  } finally {
    setLogger(createLogger({ level: 'info', encoding: 'json' }));
  }
  assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
  // The failure names the file and the option that sets it (Node's ENOSPC message names neither).
  assert.ok(lines.some((l) => l.includes(`file output: write to ${join(dir, 'flows.ndjson')} (EF_OUTPUT_FILE_PATH) failed, will retry`)), lines.join('\n'));
  assert.equal(out.counters().dropped_retries, 50);
  assert.equal(out.counters().queued, 0);
});

test('file output: a stop that gives up inside a line (the disk stayed full) leaves the file on a whole line, and the next run appends cleanly', async () => {
  const dir = tempDir('ufc-file-');
  const path = join(dir, 'flows.ndjson');
  const out = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
  await out.start();
  diskStaysFull(out, 1234);
  out.write(Array.from({ length: 100 }, (_, i) => rec(i)));
  await new Promise((r) => setTimeout(r, 50));
  await out.close(300);
  assert.ok(readFileSync(path, 'utf8').endsWith('\n'), 'no cut line left at the end');
  // The whole lines the disk took are written, not lost: counted as sent, the rest as dropped.
  const kept = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').length;
  assert.ok(kept > 0, `${kept} whole lines in the 1234 bytes written`);
  assert.equal(out.counters().sent, kept, 'sent: the lines in the file');
  assert.equal(out.counters().dropped_retries, 100 - kept, 'dropped: the rest');
  const next = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view });
  await next.start();
  next.write([rec(1000)]);
  await next.close();
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  for (const l of lines) JSON.parse(l);
  assert.equal((JSON.parse(lines.at(-1)!) as Record<string, number>)['flow.src.l4.port.id'], 1000);
});

test('file output: records that arrive while it closes are counted as dropped, and the close still ends', async () => {
  const dir = tempDir('ufc-file-');
  const out = new FileOutput({ path: join(dir, 'flows.ndjson'), maxBytes: 0, maxFiles: 1, view });
  await out.start();
  diskStaysFull(out);
  out.write([rec(1)]);
  const closing = out.close(200);
  await new Promise((r) => setTimeout(r, 300));
  out.write([rec(2), rec(3)]);
  await closing;
  assert.equal(out.counters().dropped_retries, 3);
});

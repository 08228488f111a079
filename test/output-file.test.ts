import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import { FileOutput } from '../src/output/file/file.js';
import { BatchingOutput } from '../src/output/batching.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';

const view = { ecs: false, timestampSource: 'collect' as const };

function rec(i: number): FlowRecord {
  const r = new FlowRecord();
  r.collectTs = 1_700_000_000_000 + i;
  r.srcIp = '198.51.100.1';
  r.dstIp = '203.0.113.2';
  r.srcPort = i;
  r.proto = 17;
  r.bytes = 100;
  r.packets = 1;
  return r;
}

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

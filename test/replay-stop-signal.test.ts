/**
 * A stop signal to `ufc replay`: no further packets are read, the outputs and the store are flushed
 * and closed as at the end of a replay, the summary says it was interrupted, and the exit code is
 * 128 + the signal's number (130 for SIGINT).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import type { Output } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { v5Datagram } from '../bench/store-traffic.js';
import { eth, ipv4Udp, pcap } from './helpers/capture.js';
import { tempDir, testConfig, until } from './helpers/collect.js';

/** `count` NetFlow v5 datagrams of 30 records from 192.0.2.1 to port 2055. */
function v5Capture(count: number): Buffer {
  const frames = [];
  for (let i = 0; i < count; i++) frames.push({ data: eth(ipv4Udp('192.0.2.1', '192.0.2.9', 2055, v5Datagram(i * 30, 30, 1_700_000_000_000, i * 30))) });
  return pcap(frames);
}

/** Takes every record; its flush (what replayFile waits on every 10,000 records) never ends. */
class StuckOutput implements Output {
  readonly name = 'stuck';
  received = 0;
  flushes = 0;
  async start(): Promise<void> {}
  write(batch: readonly FlowRecord[]): void {
    this.received += batch.length;
  }
  flush(): Promise<void> {
    this.flushes++;
    return new Promise(() => {});
  }
  async close(): Promise<void> {}
  counters(): Record<string, number> {
    return { records: this.received };
  }
}

test('replayFile stops at a stop: the wait for the outputs is cut short, no further piece is read, the rest is not counted as cut', async () => {
  const file = join(tempDir('ufc-replay-stop-'), 'big.pcap');
  writeFileSync(file, v5Capture(3000)); // about 4.4 MB: five pieces of 1 MiB
  const out = new StuckOutput();
  const c = new Collector(testConfig(), { outputs: [out] });
  await c.start('replay');
  const stop = new AbortController();
  const replaying = c.replayFile(file, null, stop.signal);
  await until(() => out.flushes > 0);
  assert.equal(out.flushes, 1, 'the replay waits for the outputs after 10,000 records');
  stop.abort('SIGINT');
  const counts = await replaying;
  // The first piece (1 MiB, about 710 datagrams) is fed whole, without waiting again; nothing after it is read.
  assert.ok(counts.datagrams > 10_000 / 30 && counts.datagrams < 1000, `one piece replayed, not the file: ${counts.datagrams} datagrams`);
  assert.equal(counts.frames, counts.datagrams, 'every packet read was replayed');
  assert.equal(out.received, counts.datagrams * 30, 'the output got every record replayed');
  assert.equal(out.flushes, 1, 'not waited for again after the stop');
  assert.deepEqual([counts.trailingBytes, counts.fragmentsIncomplete], [0, 0], 'the unread rest is not a cut file');
  // A stop before the file: nothing of it is read.
  const none = await c.replayFile(file, null, stop.signal);
  assert.deepEqual([none.frames, none.datagrams], [0, 0], 'nothing read once stopped');
  c.outputs.length = 0; // StuckOutput's flush would hold stop() for ever
  await c.stop();
});

test('ufc replay: SIGINT stops reading, flushes the outputs and the store, prints the summary saying so and exits 130; a second one while flushing is ignored', async () => {
  const dir = tempDir('ufc-replay-stop-');
  const capture = join(dir, 'big.pcap');
  writeFileSync(capture, v5Capture(3000));
  const files = Array.from({ length: 40 }, () => capture); // 3,600,000 records: far longer than the test waits
  const data = join(dir, 'data');
  const env = { PATH: process.env.PATH, EF_DATA_DIR: data, EF_OUTPUT_DUCKDB_ENABLE: 'true', EF_OUTPUT_FILE_ENABLE: 'true', EF_LOGGER_LEVEL: 'info' };
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts'), 'replay', ...files],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ndjson = join(data, 'flows.ndjson');
  try {
    // Records reach the file output: the replay is under way.
    await until(() => existsSync(ndjson) && statSync(ndjson).size > 0, 60_000);
    assert.ok(existsSync(ndjson) && statSync(ndjson).size > 0, `the replay started: ${stderr}`);
    child.kill('SIGINT');
    await until(() => /received SIGINT: no further packets are read/.test(stderr), 10_000);
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 130, stderr);
  } finally {
    child.kill('SIGKILL');
  }
  assert.match(stderr, /received SIGTERM while stopping \(after SIGINT\): ignored/);
  const line = stderr.split('\n').find((l) => l.includes('replay finished'));
  assert.ok(line !== undefined, `a summary: ${stderr}`);
  const s = JSON.parse(line) as Record<string, unknown>;
  assert.equal(s.level, 'warn', 'an interrupted replay is a warning');
  assert.equal(s.interrupted, 'SIGINT', 'the summary says it was interrupted');
  assert.ok(typeof s.filesNotRead === 'number' && s.filesNotRead > 0 && s.filesNotRead < 40, `files not read: ${String(s.filesNotRead)}`);
  assert.ok((s.records as number) < 40 * 90_000, 'not every file was replayed');
  assert.deepEqual(s.droppedByOutputs, {}, 'nothing dropped');
  // The file output may have rotated on the way (flows.ndjson.1, ...).
  const written = readdirSync(data).filter((f) => f.startsWith('flows.ndjson'));
  const lines = written.reduce((n, f) => n + readFileSync(join(data, f), 'utf8').split('\n').filter((l) => l !== '').length, 0);
  assert.equal(lines, s.records, `every record replayed is in the file output (${written.join(', ')})`);
  assert.ok(!existsSync(join(data, 'flows.duckdb.wal')), 'the store was closed: no write-ahead log left');
  assert.doesNotMatch(stderr, /the captures held no UDP datagram/, 'no hint about the captures');
});

/**
 * Child process for test/spill-lock-removed.test.ts: an output whose spill lock cannot be read (a
 * directory in its place) while records wait on disk. Records written meanwhile, which the disk
 * refuses, are delivered all the same (ahead of the older ones on disk), and a flush then returns:
 * the rest is on disk. It must not start the pump again and again instead (that spins on promises
 * alone, timers never run, and the process hangs, hence a child the test can time out). Once the
 * lock is readable (gone, taken again) the records on disk are delivered. Says on stdout what
 * happened.
 * argv: <spill dir>
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FlowRecord } from '../../src/record/flow-record.js';
import { BatchingOutput, type BatchingOptions } from '../../src/output/batching.js';
import { LOCK_FILE } from '../../src/output/spill/segment-log.js';

class FakeTarget extends BatchingOutput {
  readonly name = 'fake';
  down = false;
  readonly got: number[] = [];
  constructor(opts: BatchingOptions) {
    super(opts);
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:1 (test)');
    for (const r of batch) this.got.push(r.sequence);
  }
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const recs = (n: number, from: number): FlowRecord[] => Array.from({ length: n }, (_, i) => Object.assign(new FlowRecord(), { sequence: from + i }));
const [dir] = process.argv.slice(2) as [string];
const t = new FakeTarget({ batchMax: 10, deadlineMs: 5, queueMax: 10, spill: { dir, maxBytes: 1 << 20 } });
await t.start();
t.down = true;
t.write(recs(10, 0));
while (t.counters().spill_pending !== 10) await wait(10);
rmSync(join(dir, LOCK_FILE));
mkdirSync(join(dir, LOCK_FILE));
// Past the spill's once-a-second lock check, so the next write and read check it.
await wait(1100);
t.down = false;
// Refused by the disk (its lock unreadable): held in memory, and sent all the same.
t.write(recs(10, 10));
let flushed = false;
void t.flush().then(() => {
  flushed = true;
});
// A timer at all: the flush leaves the event loop free while the disk cannot be read.
await wait(1500);
const meanwhile = { flushed, got: [...t.got], c: t.counters() };
rmSync(join(dir, LOCK_FILE), { recursive: true });
// Read again within a second once the lock can be taken again.
const end = Date.now() + 5000;
while (t.got.length < 20 && Date.now() < end) await wait(10);
await t.close();
process.stdout.write(`${JSON.stringify({ meanwhile, got: t.got, c: t.counters() })}\n`);

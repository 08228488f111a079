/**
 * Property: whatever the interleaving of writes, target failures (whole and partial) and restarts
 * of the output, every record written reaches the target exactly once and, per exporter, in order,
 * as long as the disk cap is not reached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowRecord } from '../src/record/flow-record.js';
import { BatchingOutput, PartialSendError, type BatchingOptions } from '../src/output/batching.js';
import { tempDir } from './helpers/collect.js';

type Mode = 'up' | 'down' | 'partial';

class Target {
  mode: Mode = 'up';
  readonly got: FlowRecord[] = [];
}

class FlakyOutput extends BatchingOutput {
  readonly name = 'flaky';
  constructor(opts: BatchingOptions, private readonly t: Target) {
    super(opts);
  }
  protected async send(batch: FlowRecord[]): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.t.mode === 'down') throw new Error('down');
    if (this.t.mode === 'partial' && batch.length > 1) {
      // The first half is accepted, the rest refused.
      const n = Math.floor(batch.length / 2);
      for (let i = 0; i < n; i++) this.t.got.push(batch[i]!);
      throw new PartialSendError(batch.slice(n), new Error('partial'));
    }
    for (const r of batch) this.t.got.push(r);
  }
}

const step = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), n: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ kind: fc.constant('mode' as const), mode: fc.constantFrom<Mode>('up', 'down', 'partial') }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('restart' as const) }),
);

test('spill property: exactly once, in order per exporter, across failures, partial sends and restarts', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), fc.integer({ min: 5, max: 50 }), fc.integer({ min: 10, max: 120 }), async (steps, batchMax, queueMax) => {
      const dir = tempDir('ufc-spillprop-');
      const target = new Target();
      const opts: BatchingOptions = { batchMax, deadlineMs: 2, queueMax, spill: { dir, maxBytes: 1 << 26 } };
      let out = new FlakyOutput(opts, target);
      await out.start();
      const next = new Map<string, number>();
      let written = 0;
      for (const s of steps) {
        if (s.kind === 'write') {
          const b: FlowRecord[] = [];
          for (let i = 0; i < s.n; i++) {
            const r = new FlowRecord();
            r.exporterIp = `192.0.2.${(written + i) % 3}`;
            const q = next.get(r.exporterIp) ?? 0;
            r.sequence = q;
            next.set(r.exporterIp, q + 1);
            b.push(r);
          }
          written += s.n;
          out.write(b);
        } else if (s.kind === 'mode') target.mode = s.mode;
        else if (s.kind === 'wait') await new Promise((r) => setTimeout(r, s.ms));
        else {
          await out.close();
          out = new FlakyOutput(opts, target);
          await out.start();
        }
      }
      target.mode = 'up';
      const end = Date.now() + 20_000;
      while (target.got.length < written && Date.now() < end) {
        out.write([]);
        await out.flush();
        await new Promise((r) => setTimeout(r, 10));
      }
      await out.close();
      assert.equal(target.got.length, written, 'every record once');
      const seen = new Map<string, number>();
      for (const r of target.got) {
        const want = seen.get(r.exporterIp) ?? 0;
        assert.equal(r.sequence, want, `exporter ${r.exporterIp} in order`);
        seen.set(r.exporterIp, want + 1);
      }
    }),
    { numRuns: 25 },
  );
});

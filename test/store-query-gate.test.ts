/**
 * The DuckDB store's API queries one at a time (src/store/query-gate.ts): in the order asked; one whose
 * client has gone while it waits is never run, the running one is interrupted; past the bound, refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryAbandonedError, QueryBusyError, QueryGate } from '../src/store/query-gate.js';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('queries run one at a time in the order asked; a waiting one whose client goes never runs; the running one is interrupted', async () => {
  let interrupts = 0;
  // As DuckDB's connection.interrupt(): the running query fails.
  let failRunning: ((err: Error) => void) | null = null;
  const gate = new QueryGate(() => {
    interrupts++;
    failRunning?.(new Error('INTERRUPT Error: Interrupted!'));
  }, 4);
  const ran: string[] = [];
  let running = 0;
  const query = (name: string, ms: number) => async (): Promise<string> => {
    running++;
    assert.equal(running, 1, `${name}: alone`);
    ran.push(name);
    try {
      await new Promise<void>((r, fail) => {
        failRunning = fail;
        setTimeout(r, ms);
      });
    } finally {
      running--;
    }
    return name;
  };
  const gone = new AbortController();
  const a = gate.run(query('a', 30));
  const b = gate.run(query('b', 10), gone.signal);
  const c = gate.run(query('c', 10));
  assert.equal(gate.load, 3, 'one running, two waiting');
  gone.abort();
  await assert.rejects(b, QueryAbandonedError, 'b gone while waiting');
  assert.deepEqual(await Promise.all([a, c]), ['a', 'c']);
  assert.deepEqual(ran, ['a', 'c'], 'b never ran; a, then c');
  // The running one's client goes: interrupted, answered as abandoned, and the next one runs.
  const leaves = new AbortController();
  const d = gate.run(query('d', 5000), leaves.signal);
  const e = gate.run(query('e', 5));
  await tick();
  leaves.abort();
  await assert.rejects(d, QueryAbandonedError);
  assert.equal(interrupts, 1);
  assert.equal(await e, 'e');
  assert.equal(gate.load, 0);
});

test('past the bound of waiting queries, one more is refused at once', async () => {
  const gate = new QueryGate(() => {}, 2);
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const first = gate.run(() => held);
  const waiting = [gate.run(async () => 1), gate.run(async () => 2)];
  await assert.rejects(gate.run(async () => 3), QueryBusyError);
  release();
  await first;
  assert.deepEqual(await Promise.all(waiting), [1, 2]);
});

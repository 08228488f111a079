/**
 * An export gives the event loop back every EXPORT_PIECE_ROWS rows: the decoding runs on the same
 * thread when the DuckDB output is on, and a DuckDB chunk's 2,048 rows made into documents in one
 * turn held it for 100-450 ms (two NDJSON exports at 20k records/s ingest cut decoding to 6.5-8.6k/s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { EXPORT_PIECE_ROWS, flowQueryFrom } from '../src/store/query.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { testConfig } from './helpers/collect.js';
import { apiServer } from './helpers/api-server.js';

test('an export makes at most EXPORT_PIECE_ROWS rows into documents between two turns of the event loop', async () => {
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'turns.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  const now = Date.now();
  const ROWS = 5000;
  store.write(Array.from({ length: ROWS }, (_, i) => Object.assign(new FlowRecord(), { collectTs: now - i, exporterIp: '192.0.2.1', srcIp: `10.0.${i >> 8 & 255}.${i & 255}`, dstIp: '198.51.100.7', ipVersion: 4, proto: 6, dstPort: 443, bytes: 100 + i, packets: 1 })));
  await store.flush();

  // Turns of the event loop, counted by an immediate that schedules itself (the check phase runs once a turn).
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  // Documents made in each turn.
  const fq = flowQueryFrom([store]) as unknown as { doc: (row: Record<string, unknown>) => Record<string, unknown> };
  const doc = fq.doc.bind(fq);
  const perTurn = new Map<number, number>();
  fq.doc = (row) => {
    perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    return doc(row);
  };

  const api = await apiServer(config, [store]);
  try {
    for (const format of ['ndjson', 'csv']) {
      perTurn.clear();
      const res = await fetch(`${api.origin}/api/flows?from=${now - 3_600_000}&format=${format}`);
      assert.equal(res.status, 200, `${format}: answered`);
      const lines = (await res.text()).trim().split('\n').length;
      assert.equal(lines, ROWS + (format === 'csv' ? 1 : 0), `${format}: every row`);
      const made = [...perTurn.values()];
      assert.equal(made.reduce((a, b) => a + b, 0), ROWS, `${format}: a document for each row`);
      assert.ok(Math.max(...made) <= EXPORT_PIECE_ROWS, `${format}: at most ${EXPORT_PIECE_ROWS} documents in a turn; ${Math.max(...made)} were`);
    }
  } finally {
    ticking = false;
    api.close();
    await store.close();
  }
});

/**
 * A flow whose exporter gave no flow times (a NetFlow v5 exporter without a clock sends unix_secs 0,
 * and the decoder leaves start and end unknown) shows them as unknown in every form the API gives:
 * the NDJSON export leaves them out, the CSV export leaves their cells empty and /api/flows says null.
 * Written as 0 they read as 1970-01-01 in a spreadsheet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { NetflowV5Decoder } from '../src/decode/netflow-legacy/v5.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { CSV_COLUMNS } from '../src/web/flow-rows.js';
import { testConfig } from './helpers/collect.js';
import { apiServer } from './helpers/api-server.js';

/** A NetFlow v5 datagram of one record (Cisco's v5 format: a 24-byte header with sysUptime at 4 and unix_secs at 8; a 48-byte record with First/Last at 48/52 of the datagram, ports at 56/58, protocol at 62). */
function v5(sysUptime: number, exportS: number, first: number, last: number, srcPort: number): Buffer {
  const b = Buffer.alloc(24 + 48);
  b.writeUInt16BE(5, 0); b.writeUInt16BE(1, 2); b.writeUInt32BE(sysUptime, 4); b.writeUInt32BE(exportS, 8);
  b.writeUInt32BE(0x0a000001, 24); b.writeUInt32BE(0x0a000002, 28); b.writeUInt32BE(1, 40); b.writeUInt32BE(64, 44);
  b.writeUInt32BE(first, 48); b.writeUInt32BE(last, 52); b.writeUInt16BE(srcPort, 56); b.writeUInt16BE(53, 58); b[62] = 17;
  return b;
}

test('a v5 flow without times (unix_secs 0): empty cells in the CSV export and null in /api/flows rows, as the NDJSON export leaves them out', async () => {
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'times.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  const now = Date.now();
  const exportS = Math.floor(now / 1000) - 5;
  const recs: FlowRecord[] = [];
  const decoder = new NetflowV5Decoder();
  decoder.decode(v5(100_000, 0, 90_000, 99_000, 1111), { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now - 2000 }, recs);
  decoder.decode(v5(100_000, exportS, 90_000, 99_000, 2222), { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: now - 1000 }, recs);
  assert.deepEqual([recs[0]!.startTs, recs[0]!.endTs], [0, 0], 'the decoder leaves the times of a clockless exporter unknown');
  store.write(recs);
  await store.flush();
  const api = await apiServer(config, [store]);
  const base = `${api.origin}/api/flows?from=${now - 60_000}&to=${now + 1}`;
  try {
    const known = { start: exportS * 1000 - 10_000, end: exportS * 1000 - 1000 };
    const ndjson = (await api.text(`${base}&format=ndjson`)).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const byPort = (docs: Record<string, unknown>[], port: number) => docs.find((d) => d['flow.src.l4.port.id'] === port)!;
    assert.ok(!('flow.start.timestamp' in byPort(ndjson, 1111)) && !('flow.end.timestamp' in byPort(ndjson, 1111)), 'NDJSON leaves the unknown times out');
    assert.deepEqual([byPort(ndjson, 2222)['flow.start.timestamp'], byPort(ndjson, 2222)['flow.end.timestamp']], [known.start, known.end], 'NDJSON has the known times');

    const csv = (await api.text(`${base}&format=csv`)).trim().split('\n');
    assert.equal(csv[0], CSV_COLUMNS.join(','), 'CSV header');
    const startCol = CSV_COLUMNS.indexOf('flow.start.timestamp');
    const endCol = CSV_COLUMNS.indexOf('flow.end.timestamp');
    const portCol = CSV_COLUMNS.indexOf('flow.src.l4.port.id');
    const cells = (port: number) => csv.slice(1).map((l) => l.split(',')).find((c) => c[portCol] === String(port))!;
    assert.deepEqual([cells(1111)[startCol], cells(1111)[endCol]], ['', ''], 'CSV cells of unknown times are empty');
    assert.deepEqual([cells(2222)[startCol], cells(2222)[endCol]], [String(known.start), String(known.end)], 'CSV has the known times');

    const page = JSON.parse(await api.text(base)) as { rows: { srcPort: number; start: number | null; end: number | null }[] };
    const row = (port: number) => page.rows.find((r) => r.srcPort === port)!;
    assert.deepEqual([row(1111).start, row(1111).end], [null, null], '/api/flows rows say null for unknown times');
    assert.deepEqual([row(2222).start, row(2222).end], [known.start, known.end], '/api/flows rows have the known times');
  } finally {
    api.close();
    await store.close();
  }
});

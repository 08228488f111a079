/**
 * Numbers a flow's document leaves out show as unknown in every form /api/flows gives, from DuckDB
 * and from ClickHouse: tcp.flags of a flow that is not TCP (schema.md: protocol 6 only) and an
 * interface the exporter did not send (flow.in/out.netif.index). The NDJSON export has no value for
 * them; the CSV export had 0 in their cells and the JSON rows tcpFlags/inIf/outIf 0, which reads as
 * flags none and an ifIndex 0 the exporter never sent. Now an empty cell and null.
 * On akvorado's ipfixprobe capture: UDP and ICMP flows, and flows without an input or output interface.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import type { Output } from '../src/pipeline/types.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { ClickHouseOutput } from '../src/output/clickhouse/clickhouse.js';
import { CSV_COLUMNS } from '../src/web/flow-rows.js';
import { testConfig } from './helpers/collect.js';
import { apiServer } from './helpers/api-server.js';
import { TESTDATA } from './helpers/tools.js';
import { CH_URL, lockClickHouse, needClickHouse } from './clickhouse-helpers.js';

/** The capture's flows: its templates, then its data (akvorado's own test replays them in this order). */
function ipfixprobeFlows(): FlowRecord[] {
  const dec = new IpfixDecoder({ templateLifetimeS: 1e9, pendingMax: 0, pendingTimeoutS: 60, stateDir: '' });
  const out: FlowRecord[] = [];
  for (const f of ['ipfixprobe-templates.pcap', 'ipfixprobe-data.pcap']) {
    for (const dg of readUdpDatagrams(readFileSync(join(TESTDATA, 'akvorado', 'netflow', f)))) {
      dec.decode(dg.payload, { exporterIp: '192.0.2.7', exporterPort: dg.srcPort, receivedAt: dg.ts }, out);
    }
  }
  return out;
}

type Row = { tcpFlags: number | null; inIf: number | null; outIf: number | null; proto: number };

/** Writes the flows to `store` and compares the three forms /api/flows gives them in. */
async function compareForms(store: Output, flows: FlowRecord[]): Promise<void> {
  store.write(flows);
  await store.flush();
  const api = await apiServer(testConfig(), [store]);
  const base = `${api.origin}/api/flows?from=0&to=${Date.now() + 1}`;
  try {
    const docs = (await api.text(`${base}&format=ndjson`)).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(docs.length, flows.length, 'NDJSON: every flow');
    const absent = (field: string): number => docs.filter((d) => !(field in d)).length;
    // What the capture holds, so the comparisons below are not empty.
    assert.ok(absent('tcp.flags') > 0 && absent('tcp.flags') < docs.length, `NDJSON: some flows with tcp.flags and some without (${absent('tcp.flags')} of ${docs.length} without)`);
    assert.ok(absent('flow.in.netif.index') > 0, 'NDJSON: some flows without an input interface');
    assert.ok(absent('flow.out.netif.index') > 0, 'NDJSON: some flows without an output interface');
    assert.ok(docs.every((d) => d['l4.proto.id'] === 6 || !('tcp.flags' in d)), 'NDJSON: tcp.flags on TCP flows only');

    const csv = (await api.text(`${base}&format=csv`)).trim().split('\n');
    assert.equal(csv[0], CSV_COLUMNS.join(','), 'CSV header');
    const cells = csv.slice(1).map((l) => l.split(','));
    assert.equal(cells.length, docs.length, 'CSV: every flow');
    const col = (name: string): number => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    const empty = (name: string): number => cells.filter((c) => c[col(name)] === '').length;
    for (const name of ['tcp.flags', 'flow.in.netif.index', 'flow.out.netif.index']) {
      assert.equal(empty(name), absent(name), `CSV: an empty ${name} cell where NDJSON has no value`);
      assert.ok(cells.every((c) => c[col(name)] !== '0'), `CSV: no ${name} cell of 0`);
    }
    assert.ok(cells.every((c) => (c[col('l4.proto.id')] === '6') === (c[col('tcp.flags')] !== '')), 'CSV: tcp.flags for TCP flows, empty for the others');

    const page = JSON.parse(await api.text(`${base}&limit=1000`)) as { rows: Row[] };
    assert.equal(page.rows.length, docs.length, 'JSON: every flow');
    const nulls = (k: keyof Row): number => page.rows.filter((r) => r[k] === null).length;
    assert.equal(nulls('tcpFlags'), absent('tcp.flags'), 'JSON: tcpFlags null where NDJSON has no tcp.flags');
    assert.equal(nulls('inIf'), absent('flow.in.netif.index'), 'JSON: inIf null where NDJSON has no flow.in.netif.index');
    assert.equal(nulls('outIf'), absent('flow.out.netif.index'), 'JSON: outIf null where NDJSON has no flow.out.netif.index');
    assert.ok(page.rows.every((r) => (r.proto === 6) === (r.tcpFlags !== null)), 'JSON: tcpFlags for TCP flows, null for the others');
    assert.ok(page.rows.every((r) => r.inIf !== 0 && r.outIf !== 0 && r.tcpFlags !== 0), 'JSON: no 0 standing for a value not sent');
  } finally {
    api.close();
  }
}

test('DuckDB: tcp.flags of non-TCP flows and interfaces not sent are empty CSV cells and null JSON values, as NDJSON leaves them out', async () => {
  const flows = ipfixprobeFlows();
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'absent.duckdb'), retentionDays: 100_000, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  try {
    await compareForms(store, flows);
  } finally {
    await store.close();
  }
});

test('ClickHouse: tcp.flags of non-TCP flows and interfaces not sent are empty CSV cells and null JSON values, as NDJSON leaves them out (real server)', async (t: TestContext) => {
  const unlock = await lockClickHouse();
  try {
    if (!(await needClickHouse(t))) return;
    const db = `ufc_absent_${process.pid}_${Date.now() % 1e8}`;
    const store = new ClickHouseOutput({ url: CH_URL, username: 'default', password: '', database: db, table: 'flows', retentionDays: 100_000, timestampSource: 'collect', batchMax: 1000, deadlineMs: 20, queueMax: 100_000 });
    try {
      await store.start();
      await compareForms(store, ipfixprobeFlows());
    } finally {
      await store.close();
      const c = createClient({ url: CH_URL });
      try {
        await c.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      } finally {
        await c.close();
      }
    }
  } finally {
    unlock();
  }
});

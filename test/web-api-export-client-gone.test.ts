/**
 * An export whose client goes while DuckDB is still working out its rows (sorting the range, before
 * any row comes back): its query is interrupted and its place among EXPORTS_AT_ONCE is free at once.
 * Over 7.8M flows such a query ran on for 25 s after the client left, holding its place and a core.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createApi, EXPORTS_AT_ONCE } from '../src/web/api.js';
import type { WebSources } from '../src/web/sources.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { flowQueryFrom } from '../src/store/query.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { testConfig, until } from './helpers/collect.js';

/** Minutes of work for DuckDB that gives no row until it ends: a stand-in for a big export's sort. */
const ENDLESS = 'SELECT sum(hash(i)) AS s FROM range(1000000000000) t(i)';

test('an export whose client goes before its first rows has its query interrupted and its place freed at once', async () => {
  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'export.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  const now = Date.now();
  store.write(Array.from({ length: 100 }, (_, i) => Object.assign(new FlowRecord(), { collectTs: now - i, exporterIp: '192.0.2.1', srcIp: '10.0.0.1', dstIp: '10.0.0.2', ipVersion: 4, proto: 6, dstPort: 443, bytes: 100 + i, packets: 1 })));
  await store.flush();

  // The first EXPORTS_AT_ONCE exports' connections run ENDLESS in place of their query.
  const q = flowQueryFrom([store]) as unknown as { connect: () => Promise<DuckDBConnection> };
  const open = q.connect;
  const held: { conn: DuckDBConnection; interrupts: number; settled: boolean }[] = [];
  q.connect = async () => {
    const conn = await open();
    if (held.length >= EXPORTS_AT_ONCE) return conn;
    const h = { conn, interrupts: 0, settled: false };
    held.push(h);
    const interrupt = conn.interrupt.bind(conn);
    conn.interrupt = () => {
      h.interrupts++;
      interrupt();
    };
    const stream = conn.stream.bind(conn);
    conn.stream = (() => stream(ENDLESS).finally(() => (h.settled = true))) as typeof conn.stream;
    return conn;
  };

  const api = createApi({ config, outputs: [store] } as unknown as WebSources);
  let ended = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    void api.handle(url.pathname, url.searchParams, res).catch((err: { status?: number; message: string }) => {
      if (!res.headersSent) res.writeHead(err.status ?? 500).end(err.message);
    }).finally(() => ended++);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  const path = `/api/flows?from=${now - 3_600_000}&format=csv`;
  const clients: Socket[] = [];
  try {
    for (let i = 0; i < EXPORTS_AT_ONCE; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      clients.push(s);
    }
    await until(() => held.length === EXPORTS_AT_ONCE, 5000);
    assert.equal(held.length, EXPORTS_AT_ONCE, 'both exports started their query');
    const busy = await fetch(`http://127.0.0.1:${port}${path}`);
    assert.equal(busy.status, 429, 'a third export is refused while both run');
    await busy.text();

    // The clients go, as curl -m1 does.
    for (const s of clients) s.destroy();
    const t0 = Date.now();
    const next = await fetch(`http://127.0.0.1:${port}${path}`);
    assert.equal(next.status, 200, `an export right after the clients left is answered (${Date.now() - t0} ms after): ${next.status}`);
    assert.equal((await next.text()).trim().split('\n').length, 101, 'a header line and the 100 flows');
    await until(() => held.every((h) => h.settled) && ended === EXPORTS_AT_ONCE + 2, 3000);
    assert.deepEqual(held.map((h) => h.interrupts), held.map(() => 1), 'each abandoned export\'s query was interrupted once');
    assert.ok(held.every((h) => h.settled), `the abandoned queries stopped (${Date.now() - t0} ms after the clients left)`);
    assert.equal(ended, EXPORTS_AT_ONCE + 2, 'every export handler ended');
  } finally {
    for (const s of clients) s.destroy();
    // Left running (the test failing), ENDLESS would hold the store's closing.
    for (const h of held) if (!h.settled) h.conn.interrupt();
    server.closeAllConnections();
    server.close();
    await store.close();
  }
});

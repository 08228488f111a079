/**
 * The store-reading API endpoints on ClickHouse (Debian's clickhouse-server on 127.0.0.1:8123):
 * the same suite as on DuckDB, through the same query module.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLICKHOUSE_URL, startWebFixture, type WebFixture } from './web-fixture.js';
import { storeApiTests, storeOrderTests } from './web-api-suite.js';
import { needTool } from './helpers/tools.js';
import { lockClickHouse, needClickHouse } from './clickhouse-helpers.js';

let f: WebFixture | null = null;
// One file at a time on the shared server: clickhouse.test.ts stops it for its outage drill.
let unlock: (() => void) | null = null;

before(async () => {
  unlock = await lockClickHouse();
  try {
    const res = await fetch(`${CLICKHOUSE_URL}/ping`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return;
  } catch {
    return;
  }
  f = await startWebFixture({ replays: 12, store: 'clickhouse' });
});
after(async () => {
  await f?.stop();
  unlock?.();
});

test('ClickHouse answers the API', async (t) => {
  if (needTool(t, 'clickhouse-server') === null) return;
  if (f === null && (await needClickHouse(t))) f = await startWebFixture({ replays: 12, store: 'clickhouse' });
  if (f === null) {
    if (process.env.UFC_REQUIRE_TOOLS === '1') assert.fail(`clickhouse-server is not listening on ${CLICKHOUSE_URL}`);
    return t.skip(`clickhouse-server is not listening on ${CLICKHOUSE_URL} (scripts/start-test-servers.sh starts it)`);
  }
  const meta = (await (await fetch(`${f.url}/api/meta`)).json()) as { store: string };
  assert.equal(meta.store, 'clickhouse');
});

storeApiTests(() => f);

// Last: it stores flows of its own (web-api-suite.ts).
storeOrderTests(() => f);

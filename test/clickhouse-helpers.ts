/** Shared by the ClickHouse tests: is a real server there to test against? */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { needTool } from './helpers/tools.js';

export const CH_URL = 'http://127.0.0.1:8123';

/** True when a ClickHouse server answers /ping; otherwise skips (or fails under UFC_REQUIRE_TOOLS=1). */
export async function needClickHouse(t: TestContext): Promise<boolean> {
  if (needTool(t, 'clickhouse-server') === null) return false;
  try {
    const res = await fetch(`${CH_URL}/ping`, { signal: AbortSignal.timeout(3000) });
    if (res.ok) return true;
  } catch {
    // not listening
  }
  if (process.env.UFC_REQUIRE_TOOLS === '1') assert.fail('clickhouse-server is installed but not listening on 127.0.0.1:8123 (UFC_REQUIRE_TOOLS=1); run scripts/start-test-servers.sh');
  t.skip('clickhouse-server is not listening on 127.0.0.1:8123 (scripts/start-test-servers.sh starts it)');
  return false;
}


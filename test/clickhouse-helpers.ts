/**
 * Shared by the ClickHouse tests: is a real server there to test against, and one lock so that
 * test files using the shared server never run while another file's outage drill has it stopped
 * (the runner executes files in parallel).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { needTool, REPO_ROOT } from './helpers/tools.js';

export const CH_URL = 'http://127.0.0.1:8123';
const LOCK = '/tmp/ufc-clickhouse-tests.lock';

async function ping(): Promise<boolean> {
  try {
    const res = await fetch(`${CH_URL}/ping`, { signal: AbortSignal.timeout(3000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Takes the ClickHouse test lock (waits for another file's drill to finish); a dead holder's lock is taken over. */
export async function lockClickHouse(): Promise<() => void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      let alive = true;
      if (holder > 0) {
        try {
          process.kill(holder, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`ClickHouse test lock ${LOCK} held by pid ${holder} for 10 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * True when a ClickHouse server answers /ping. Under UFC_REQUIRE_TOOLS=1 a server that is installed
 * but down is started once with scripts/start-test-servers.sh before the test fails; otherwise the
 * test is skipped with the reason.
 */
export async function needClickHouse(t: TestContext): Promise<boolean> {
  if (needTool(t, 'clickhouse-server') === null) return false;
  if (await ping()) return true;
  if (process.env.UFC_REQUIRE_TOOLS === '1') {
    spawnSync('bash', [join(REPO_ROOT, 'scripts', 'start-test-servers.sh')], { stdio: 'ignore', timeout: 120_000 });
    if (await ping()) return true;
    assert.fail('clickhouse-server is installed but not listening on 127.0.0.1:8123 (UFC_REQUIRE_TOOLS=1), and scripts/start-test-servers.sh did not start it');
  }
  t.skip('clickhouse-server is not listening on 127.0.0.1:8123 (scripts/start-test-servers.sh starts it)');
  return false;
}

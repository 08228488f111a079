/**
 * Tests that need a Debian tool or server call `needTool`: when the tool is missing the test is
 * skipped with the tool's name, unless UFC_REQUIRE_TOOLS=1 (set by .ci/run), which makes it fail.
 * `scripts/install-dev-tools.sh` installs them all.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const cache = new Map<string, string | null>();

export function toolPath(name: string): string | null {
  if (!cache.has(name)) {
    let p: string | null = null;
    for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']) {
      try {
        execFileSync('test', ['-x', join(dir, name)]);
        p = join(dir, name);
        break;
      } catch {
        // not in this directory
      }
    }
    cache.set(name, p);
  }
  return cache.get(name)!;
}

/** Returns the tool's path, or skips (or, under UFC_REQUIRE_TOOLS=1, fails) the test. */
export function needTool(t: TestContext, name: string): string | null {
  const p = toolPath(name);
  if (p !== null) return p;
  if (process.env.UFC_REQUIRE_TOOLS === '1') assert.fail(`${name} is required (UFC_REQUIRE_TOOLS=1) but not installed; run scripts/install-dev-tools.sh`);
  t.skip(`${name} not installed (scripts/install-dev-tools.sh installs it)`);
  return null;
}

/**
 * For what is not a command (a Python module, a system file): true when `present`, else skips the
 * test naming `what` (or fails it under UFC_REQUIRE_TOOLS=1).
 */
export function needPresent(t: TestContext, present: boolean, what: string): boolean {
  if (present) return true;
  if (process.env.UFC_REQUIRE_TOOLS === '1') assert.fail(`${what} is required (UFC_REQUIRE_TOOLS=1) but missing; run scripts/install-dev-tools.sh`);
  t.skip(`${what} missing (scripts/install-dev-tools.sh installs it)`);
  return false;
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared captures, read in place (never copied into the repo). */
export const TESTDATA = join(REPO_ROOT, '..', 'shared', 'testdata');
// Without them most test files fail to load with an ENOENT naming one file deep inside: say what is missing.
if (!existsSync(TESTDATA)) throw new Error(`the test captures are read from ${TESTDATA}, beside the repository (not in it), and it is missing: put the shared testdata there (README, Tests)`);

/** Whether this host has an IPv6 loopback to listen on (a container may have none). */
export async function hasIpv6Loopback(): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(0, '::1', () => s.close(() => resolve(true)));
  });
}

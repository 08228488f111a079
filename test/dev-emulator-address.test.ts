/**
 * `ufc dev feed-emulator` and `ufc dev passivetotal-emulator` refuse a --port past 65535 and a --host
 * that is no IP address as usage errors (exit 2), as `ufc riskiq-sink --listen` does; they were stack
 * traces (ERR_SOCKET_BAD_PORT, getaddrinfo ENOTFOUND). A port in use is one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')];

test('a port past 65535 or a host that is no IP address is a usage error, exit 2, no stack trace', () => {
  const cases: [string, string[], RegExp][] = [
    ['feed-emulator', ['--port', '99999'], /--port 99999: expected a port number 0-65535/],
    ['passivetotal-emulator', ['--port', '70000'], /--port 70000: expected a port number 0-65535/],
    ['feed-emulator', ['--host', '999.1.1.1'], /--host "999\.1\.1\.1": expected an IP address/],
    ['passivetotal-emulator', ['--host', '999.1.1.1'], /--host "999\.1\.1\.1": expected an IP address/],
    ['feed-emulator', ['--port', 'x'], /--port wants a whole number, got "x"/],
  ];
  for (const [cmd, flags, why] of cases) {
    const what = `${cmd} ${flags.join(' ')}`;
    const r = spawnSync(process.execPath, [...CLI, 'dev', cmd, ...flags], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^ufc dev ${cmd}: ${why.source}.*\\nusage: ufc dev ${cmd} `), `${what}: the problem and the usage`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
});

for (const cmd of ['passivetotal-emulator', 'feed-emulator']) {
  test(`${cmd} on a port in use: one line saying so, exit 1`, async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [...CLI, 'dev', cmd, '--port', String(port)], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `ufc dev ${cmd}: cannot listen on 127.0.0.1:${port}: the port is already in use (another collector?)\n`, 'one line');
    } finally {
      blocker.close();
    }
  });
}

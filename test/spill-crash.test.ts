/**
 * A crash (SIGKILL: no close, no flush, no fsync) of a process with an Elasticsearch output, then a
 * new process on the same spill directory. Cluster down: everything accepted was on disk and is
 * delivered once. Cluster slow: at most the batch in flight and the batch being filled are lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { encodeRecord } from '../src/record/json.js';
import { SearchOutput } from '../src/output/elasticsearch/output.js';
import { EsTestServer } from './servers/es-test-server.js';
import { fixtureRecords } from './servers/fixture-records.js';
import { REPO_ROOT } from './helpers/tools.js';
import { tempDir, until } from './helpers/collect.js';

async function runChild(dir: string, port: string, n: number, mode: 'down' | 'slow'): Promise<Record<string, number>> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'servers', 'spill-crash-child.ts'), dir, port, String(n), mode], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  const onExit = (code: number | null): void => void (out += `\nexited ${code}`);
  child.on('exit', onExit);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not report: ${out}`)), 40_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('written ')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.off('exit', onExit);
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
  return JSON.parse(out.slice(out.indexOf('written ') + 8).split('\n')[0]!) as Record<string, number>;
}

function nextOutput(server: EsTestServer, dir: string): SearchOutput {
  return new SearchOutput({
    flavor: 'elasticsearch',
    connection: { flavor: 'elasticsearch', addresses: [server.address], username: '', password: '', apiKey: '', tls: { enable: false, skipVerification: false, caCertPath: '' }, requestTimeoutMs: 5000 },
    view: { ecs: false, timestampSource: 'collect' },
    indexPrefix: 'crash',
    indexPeriod: 'none',
    templateEnable: true,
    deadlineMs: 10,
    maxBytes: 1 << 20,
    batchRecords: 100,
    spill: { dir, maxBytes: 1 << 26 },
  });
}

test('SIGKILL while the cluster answers slowly: at most the batch in flight and the batch being filled are lost', { timeout: 60_000 }, async (t) => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  server.bulkDelayMs = 3000;
  await server.start();
  const dir = tempDir('ufc-crash-');
  const n = 2000;
  const reported = await runChild(dir, server.address.split(':')[1]!, n, 'slow');
  assert.ok(reported.spilled! > 0, 'the child spilled');
  // Let a request the child had in flight finish (a cluster indexes what it has received).
  await new Promise((r) => setTimeout(r, 3200));
  const before = server.docs.length;
  server.bulkDelayMs = 0;
  const b = nextOutput(server, dir);
  try {
    await b.start();
    const recovered = b.counters().spill_recovered!;
    await until(() => server.docs.length >= before + recovered, 20_000);
    await b.flush();
    const lost = n - server.docs.length;
    t.diagnostic(`crash drill: ${before} indexed before the kill (in flight), ${recovered} recovered from disk, ${lost} lost`);
    assert.ok(recovered > 0 && recovered <= n, `recovered ${recovered}`);
    assert.ok(lost >= 0 && lost <= 2 * 100, `lost ${lost} records: at most the batch in flight and the one being filled (100 each)`);
    assert.equal(server.docs.length, before + recovered, 'what was on disk delivered once');
  } finally {
    await b.close();
    await server.stop();
  }
});

test('SIGKILL while the cluster is down: the spill holds every record written, and a new process delivers each once', { timeout: 60_000 }, async () => {
  const server = new EsTestServer({ product: 'elasticsearch' });
  await server.start();
  const port = server.address.split(':')[1]!;
  await server.stop();
  const dir = tempDir('ufc-crash-');
  const n = 2000;
  const reported = await runChild(dir, port, n, 'down');
  assert.ok(reported.failures! > 0 && reported.spilled! > 0, 'the child had failed sends and spilled');

  await server.start();
  const records = await fixtureRecords();
  const b = nextOutput(server, dir);
  try {
    await b.start();
    await until(() => server.docs.length >= n, 20_000);
    await b.flush();
    assert.equal(b.counters().spill_recovered, n, 'all written records were on disk after the crash');
    assert.equal(server.docs.length, n);
    const want = Array.from({ length: n }, (_, i) => JSON.stringify(JSON.parse(encodeRecord(records[i % records.length]!, { ecs: false, timestampSource: 'collect' }))));
    assert.deepEqual(server.docs.map((d) => JSON.stringify(d.doc)), want, 'in order, once');
  } finally {
    await b.close();
    await server.stop();
  }
});

/**
 * Child process for test/spill-crash.test.ts: an Elasticsearch output writes the fixture records,
 * says so on stdout with its counters, and waits to be killed with SIGKILL (no close, no flush).
 * argv: <spill dir> <port> <records to write> <down|slow>: down waits for a failed send (nothing
 * listens on the port), slow for records to go to disk (the cluster answers slowly).
 */
import { SearchOutput } from '../../src/output/elasticsearch/output.js';
import { fixtureRecords } from './fixture-records.js';

const [dir, port, count, mode] = process.argv.slice(2) as [string, string, string, 'down' | 'slow'];
const out = new SearchOutput({
  flavor: 'elasticsearch',
  connection: { flavor: 'elasticsearch', addresses: [`127.0.0.1:${port}`], username: '', password: '', apiKey: '', tls: { enable: false, skipVerification: false, caCertPath: '' }, requestTimeoutMs: 30_000 },
  view: { ecs: false, timestampSource: 'collect' },
  indexPrefix: 'crash',
  indexPeriod: 'none',
  templateEnable: true,
  deadlineMs: 10,
  maxBytes: 1 << 20,
  batchRecords: 100,
  spill: { dir, maxBytes: 1 << 26 },
});
await out.start();
const records = await fixtureRecords();
const n = Number(count);
for (let i = 0; i < n; i += 40) {
  const b = [];
  for (let k = i; k < Math.min(n, i + 40); k++) b.push(records[k % records.length]!);
  out.write(b);
  await new Promise((r) => setTimeout(r, 1));
}
const end = Date.now() + 10_000;
while ((mode === 'down' ? out.counters().failures : out.counters().spilled) === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(`written ${JSON.stringify(out.counters())}\n`);
setInterval(() => undefined, 1000);

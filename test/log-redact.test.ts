/** Secret redaction: in values before serialization, as written and URL-encoded, and in what /api/integrations shows. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/log/logger.js';
import { redactDeep, registerSecrets } from '../src/log/redact.js';
import { integrationsStatus } from '../src/web/integrations.js';
import type { Enricher } from '../src/pipeline/types.js';
import { ClickHouseOutput, credentialsOutOfUrl } from '../src/output/clickhouse/clickhouse.js';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/collect.js';
import { REPO_ROOT } from './helpers/tools.js';

registerSecrets(['Zq+Secret/Key==', 'PlainSecretKey12345']);

test('a secret is masked in messages and fields, also URL-encoded, and the line stays valid JSON', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) });
  log.warn('Fetching from http://h/x?apikey=Zq%2BSecret%2FKey%3D%3D', { url: 'http://h/x?apikey=PlainSecretKey12345', nested: { list: ['Zq+Secret/Key=='] }, err: new Error('bad key Zq+Secret/Key==') });
  assert.equal(lines.length, 1);
  const o = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(o.msg, 'Fetching from http://h/x?apikey=***');
  assert.equal(o.url, 'http://h/x?apikey=***');
  assert.deepEqual(o.nested, { list: ['***'] });
  const err = o.err as Record<string, string>;
  assert.deepEqual([err.type, err.message], ['Error', 'bad key ***']);
  assert.match(err.stack!, /^Error: bad key \*\*\*\n/);
  assert.deepEqual(redactDeep({ n: 5, s: 'PlainSecretKey12345!' }), { n: 5, s: '***!' });
});

test('text from outside the process cannot forge a log line or reach a terminal raw: controls (C0, C1, DEL, U+2028) are escaped in both encodings, and a JSON line still reads back as the text', () => {
  const hostile = 'boom\n{"level":"error","msg":"FORGED"}\r\u001b[31mred\u001b[0m\ttab\u009b2J\u007f\u2028end';
  for (const encoding of ['console', 'json'] as const) {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', encoding, sink: (l) => lines.push(l) });
    log.warn(`ClickHouse output: send failed: ${hostile}`, { reason: hostile });
    assert.equal(lines.length, 1, encoding);
    const line = lines[0]!;
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    assert.doesNotMatch(line, /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/, `${encoding}: no raw control but the column tabs`);
    if (encoding === 'console') {
      assert.equal(line.split('\t').length, 5, 'time, level, caller, message, fields: the message\'s tab is escaped');
      assert.match(line, /send failed: boom\\n\{"level":"error","msg":"FORGED"\}\\r\\u001b\[31mred\\u001b\[0m\\ttab\\u009b2J\\u007f\\u2028end\t/);
    } else {
      const o = JSON.parse(line) as { msg: string; reason: string };
      assert.equal(o.msg, `ClickHouse output: send failed: ${hostile}`);
      assert.equal(o.reason, hostile);
      assert.doesNotMatch(line, /\t/);
    }
  }
});

test('/api/integrations masks a secret in a feed\'s last error (a failed request names its URL)', () => {
  const feed = {
    name: 'threat-feeds', enrich() {},
    status: () => ({ feed: 'corp-intel', lastError: 'Get "http://127.0.0.1:1/ips.txt?apikey=PlainSecretKey12345": connect ECONNREFUSED', source: 'http://127.0.0.1:1/ips.txt?apikey=***' }),
  } as Enricher;
  const s = integrationsStatus([feed], []);
  assert.equal(s.feeds[0]!.lastError, 'Get "http://127.0.0.1:1/ips.txt?apikey=***": connect ECONNREFUSED');
  assert.ok(!JSON.stringify(s).includes('PlainSecretKey12345'));
});

test('credentials in the ClickHouse address are handed to the client as options: it writes no console line of its own', () => {
  assert.deepEqual(credentialsOutOfUrl('http://chuser:p%40ss@127.0.0.1:8123', 'default', ''), { url: 'http://127.0.0.1:8123/', username: 'chuser', password: 'p@ss' });
  assert.deepEqual(credentialsOutOfUrl('http://127.0.0.1:8123', 'default', 'x'), { url: 'http://127.0.0.1:8123', username: 'default', password: 'x' });
  const written: string[] = [];
  const saved = { warn: console.warn, log: console.log, info: console.info, error: console.error, write: process.stderr.write };
  console.warn = console.log = console.info = console.error = (...a: unknown[]) => void written.push(a.join(' '));
  process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    new ClickHouseOutput({ url: 'http://chuser:UrlPassw0rdZZ@127.0.0.1:1', username: 'default', password: 'other', database: 'ufc', table: 'flows', retentionDays: 1, timestampSource: 'collect', batchMax: 10, deadlineMs: 10, queueMax: 100 });
  } finally {
    Object.assign(console, { warn: saved.warn, log: saved.log, info: saved.info, error: saved.error });
    process.stderr.write = saved.write;
  }
  assert.deepEqual(written, []);
});

test('redaction reaches URLs, class instances and error properties, as the line would show them', () => {
  class Holder {
    key = 'PlainSecretKey12345';
  }
  const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111, url: 'http://h/?k=PlainSecretKey12345' });
  const lines: string[] = [];
  const log = createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) });
  log.warn('x', { url: new URL('http://user:PlainSecretKey12345@h/'), holder: new Holder(), err });
  const o = JSON.parse(lines[0]!) as { url: string; holder: { key: string }; err: Record<string, unknown> };
  assert.equal(o.url, 'http://user:***@h/');
  assert.deepEqual(o.holder, { key: '***' });
  assert.deepEqual([o.err.code, o.err.errno, o.err.url], ['ECONNREFUSED', -111, 'http://h/?k=***']);
  assert.ok(!lines[0]!.includes('PlainSecretKey12345'));
});

test('logger: a stderr pipe whose reader is slow loses no line (they wait in memory), and none is counted lost', async () => {
  const dir = tempDir('ufc-log-');
  const script = join(dir, 'log.mts');
  // The descriptor made non-blocking first, as plain node (bin/ufc) leaves a stderr pipe.
  writeFileSync(script, `import net from 'node:net';
new net.Socket({ fd: 2, readable: false, writable: true });
const { createLogger, logLinesLost } = await import(${JSON.stringify(join(REPO_ROOT, 'src', 'log', 'logger.ts'))});
const log = createLogger({ level: 'info', encoding: 'json' });
for (let i = 0; i < 2000; i++) log.warn('x'.repeat(200) + ' line ' + i);
process.on('exit', () => process.stdout.write(String(logLinesLost())));
`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Nobody reads stderr for a while: the pipe's 64 KiB fill up long before the 2,000 lines are logged.
  child.stderr.pause();
  let out = '', err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => setTimeout(r, 1500));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr.resume();
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0);
  const lines = err.split('\n').filter((l) => l.includes(' line '));
  assert.equal(lines.length, 2000);
  assert.ok(lines.every((l, i) => (JSON.parse(l) as { msg: string }).msg.endsWith(` line ${i}`)), 'every line whole, in order');
  assert.equal(out, '0');
});

/**
 * User-defined interface names (EF_PROCESSOR_ENRICH_NETIF_METADATA_*): per exporter and interface
 * index, ifName else ifDescr, winning over names from options data; bad files stop start-up naming
 * the entry; a running collector names a NetFlow v5 exporter's interfaces (which carry no names), in
 * its decode worker as on the main thread, and its embedded store shows them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import type { UserFileStatus } from '../src/pipeline/types.js';
import { mergeFileStatuses } from '../src/pipeline/worker-protocol.js';
import { join } from 'node:path';
import { NetifNamesEnricher, parseNetifTable, type NetifParseNotes } from '../src/enrich/netif-userdef.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { loadConfig } from '../src/config/load.js';
import { Collector } from '../src/collector.js';
import { flowQueryFrom, type InterfaceSummary } from '../src/store/query.js';
import { sendFrom, tempDir, testConfig, until } from './helpers/collect.js';

const TESTDATA = join(import.meta.dirname, '..', '..', 'shared', 'testdata');

const rec = (exporter: string, inIf: number, outIf: number, inIfName = ''): FlowRecord =>
  Object.assign(new FlowRecord(), { exporterIp: exporter, inIf, outIf, inIfName });

test('netif-userdef: ifName, else ifDescr, per exporter and index; it wins over an options-data name; other exporters and indexes untouched', async () => {
  const path = join(tempDir('ufc-netif-'), 'netifs.yml');
  writeFileSync(path, [
    '192.0.2.1:',
    '  1:',
    '    ifName: Gi0/0',
    '    ifDescr: uplink',
    '    ifSpeed: 1000000000',
    '  2:',
    '    ifDescr: "to the core"',
    '  4294967295:',
    '    ifName: last',
    '"2001:DB8::1":',
    '  7: { ifName: ge-0/0/7, tags: [edge], metadata: { sec.zone.name: dmz } }',
    '',
  ].join('\n'));
  const e = new NetifNamesEnricher(path, 15);
  await e.start();
  const rs = [rec('192.0.2.1', 1, 2), rec('192.0.2.1', 2, 3, 'Te1/1 from options'), rec('2001:db8::1', 7, 4294967295), rec('192.0.2.9', 1, 2), rec('192.0.2.1', 4294967295, 0)];
  e.enrich(rs);
  await e.stop();
  assert.deepEqual(rs.map((r) => [r.inIfName, r.outIfName]), [
    ['Gi0/0', 'to the core'],
    ['to the core', ''],
    ['ge-0/0/7', ''],
    ['', ''],
    ['last', ''],
  ]);
});

test('netif-userdef: bad files name the entry; attributes it does not use and unnamed interfaces are noted; long names are cut whole', () => {
  assert.throws(() => parseNetifTable('router1:\n  1: { ifName: a }'), /router1: not an IP address/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  eth0: { ifName: a }'), /192\.0\.2\.1: eth0: not an interface index/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  4294967296: { ifName: a }'), /4294967296: not an interface index/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  0x10: { ifName: a }'), /0x10: not an interface index/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  0: { ifName: a }'), /0: not an interface index .*0 is what flows without one carry/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  1: { ifName: [], ifDescr: uplink }'), /1: ifName and ifDescr are text, not a list/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  1: Gi0/0'), /192\.0\.2\.1: 1: expected attributes such as ifName/);
  assert.throws(() => parseNetifTable('192.0.2.1:\n  1: { ifName: [a, b] }'), /ifName and ifDescr are text, not a list/);
  assert.throws(() => parseNetifTable('- 192.0.2.1'), /expected a map of exporter address/);
  assert.equal(parseNetifTable('').size, 0);
  const notes: NetifParseNotes = { unused: new Set(), unnamed: 0 };
  const t = parseNetifTable(`192.0.2.1:\n  1: { ifAlias: wan, cirIn: 5 }\n  2: { ifName: "${'🚀'.repeat(200)}" }\n  3: { ifName: 42 }\n  04: { ifName: 1.10 }\n  5: { ifName: 007 }\n192.0.2.2:\n`, 'f.yml', notes);
  assert.deepEqual([...notes.unused].sort(), ['cirIn', 'ifAlias']);
  assert.equal(notes.unnamed, 1);
  assert.equal(t.get('192.0.2.1')!.get(2), '🚀'.repeat(127), '255 UTF-16 units at most, no half character');
  assert.equal(t.get('192.0.2.1')!.get(3), '42');
  assert.deepEqual([t.get('192.0.2.1')!.get(4), t.get('192.0.2.1')!.get(5)], ['1.10', '007'], 'names keep their spelling (YAML would read numbers)');
  assert.equal(t.get('192.0.2.1')!.has(1), false);
  assert.equal(t.has('192.0.2.2'), false);
});

test('netif-userdef: an unchanged file (same time and size) is not parsed again; a changed one is', async () => {
  const path = join(tempDir('ufc-netif-'), 'netifs.yml');
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: aaaa }\n');
  const when = new Date('2026-01-01T00:00:00Z');
  utimesSync(path, when, when);
  const e = new NetifNamesEnricher(path, 15);
  await e.start();
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: bbbb }\n');
  utimesSync(path, when, when);
  await e.reload();
  const a = rec('192.0.2.1', 1, 0);
  e.enrich([a]);
  utimesSync(path, new Date(when.getTime() + 1000), new Date(when.getTime() + 1000));
  await e.reload();
  await e.stop();
  const b = rec('192.0.2.1', 1, 0);
  e.enrich([b]);
  assert.deepEqual([a.inIfName, b.inIfName], ['aaaa', 'bbbb']);
  assert.ok(loadConfig({ env: { EF_PROCESSOR_ENRICH_NETIF_METADATA_REFRESH_RATE: '50000' } }).errors.some((x) => x.includes('EF_PROCESSOR_ENRICH_NETIF_METADATA_REFRESH_RATE') && x.includes('from 1 to 10080')), 'past what a timer can wait');
});

test('netif-userdef: a bad re-read keeps the previous table; a good one replaces it', async () => {
  const path = join(tempDir('ufc-netif-'), 'netifs.yml');
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: first }\n');
  const e = new NetifNamesEnricher(path, 15);
  await e.start();
  const loaded = e.fileStatus();
  assert.deepEqual([loaded.what, loaded.option, loaded.entries, loaded.error], ['interface names', 'EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH', 1, null]);
  writeFileSync(path, '192.0.2.1:\n  x: { ifName: broken }\n  2: { ifName: two }\n');
  await e.reload();
  // The status says the read failed, and what is still in use.
  const failed = e.fileStatus();
  assert.match(failed.error ?? '', /192\.0\.2\.1: x: /);
  assert.deepEqual([failed.entries, failed.loadedAt], [1, loaded.loadedAt]);
  assert.ok(failed.checkedAt! >= loaded.checkedAt!);
  const a = rec('192.0.2.1', 1, 0);
  e.enrich([a]);
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: second }\n  2: { ifName: two }\n');
  await e.reload();
  const again = e.fileStatus();
  assert.deepEqual([again.entries, again.error], [2, null]);
  assert.ok(again.loadedAt! >= loaded.loadedAt!);
  await e.stop();
  const b = rec('192.0.2.1', 1, 0);
  e.enrich([b]);
  assert.deepEqual([a.inIfName, b.inIfName], ['first', 'second']);
});

test('netif-userdef: the path is required when enabled and checked at start-up; a bad file (this one or the sampling-rate file) fails start-up naming the option, with decode workers too', async () => {
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: 'true' } }).errors, [
    'EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH="": required when EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE=true; the file of interface names per exporter',
  ]);
  const missing = loadConfig({ env: { EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: '/nonexistent/netifs.yml' } });
  assert.ok(missing.errors.some((e) => e.startsWith('EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH="/nonexistent/netifs.yml"')), missing.errors.join('\n'));
  const path = join(tempDir('ufc-netif-'), 'netifs.yml');
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: [x] }\n');
  const rates = join(tempDir('ufc-netif-'), 'rates.yml');
  writeFileSync(rates, '192.0.2.1: none\n');
  // On the main thread, and with decode workers (each loads its own copy; the main thread checks the file first).
  for (const workers of ['0', '1']) {
    const c = new Collector(testConfig({ EF_FLOW_SERVER_WORKERS: workers, EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: path }));
    await assert.rejects(c.start(), /EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: .*netifs\.yml: 192\.0\.2\.1: 1: ifName and ifDescr are text/, `${workers} workers`);
    await c.stop();
    const s = new Collector(testConfig({ EF_FLOW_SERVER_WORKERS: workers, EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: 'true', EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: rates }));
    await assert.rejects(s.start(), /EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: .*rates\.yml: 192\.0\.2\.1: rate "none"/, `${workers} workers`);
    await s.stop();
  }
});

test('a running collector names a NetFlow v5 exporter\'s interfaces from the file: decode worker and main thread alike, and the embedded store shows them', async () => {
  const packet = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  const path = join(tempDir('ufc-netif-'), 'netifs.yml');
  async function run(workers: string, store: boolean): Promise<{ docs: Record<string, unknown>[]; interfaces: InterfaceSummary[] }> {
    const dir = tempDir('ufc-netif-run-');
    const c = new Collector(testConfig({
      EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: workers,
      EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'f.ndjson'), EF_OUTPUT_DUCKDB_ENABLE: String(store),
      EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: path,
    }));
    await c.start();
    const [port] = await c.listen();
    assert.equal(c.pool?.size ?? 0, Number(workers));
    await sendFrom('127.0.0.9', port!, packet);
    await until(() => c.pipeline.stats.totals().records >= 30);
    await c.flush();
    const now = Date.now();
    const interfaces = store ? await flowQueryFrom(c.outputs)!.interfaces({ from: now - 3_600_000, to: now + 60_000 }) : [];
    await c.stop();
    return { docs: readFileSync(join(dir, 'f.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), interfaces };
  }
  writeFileSync(path, '');
  const plain = await run('0', false);
  assert.equal(plain.docs.length, 30);
  const used = [...new Set(plain.docs.flatMap((d) => [d['flow.in.netif.index'], d['flow.out.netif.index']]).filter((v) => typeof v === 'number'))] as number[];
  assert.ok(used.length >= 2, `interfaces in the capture: ${used.join(', ')}`);
  assert.ok(plain.docs.every((d) => d['flow.in.netif.name'] === undefined && d['flow.out.netif.name'] === undefined), 'NetFlow v5 carries no names');
  const named = used.slice(0, 2);
  writeFileSync(path, `127.0.0.9:\n${named.map((i) => `  ${i}:\n    ifName: "port ${i}"\n`).join('')}127.0.0.10:\n  ${used[0]}: { ifName: other exporter }\n`);
  for (const workers of ['1', '0']) {
    const { docs, interfaces } = await run(workers, workers === '0');
    assert.equal(docs.length, 30);
    for (const d of docs) {
      for (const side of ['in', 'out']) {
        const i = d[`flow.${side}.netif.index`] as number | undefined;
        assert.equal(d[`flow.${side}.netif.name`], i !== undefined && named.includes(i) ? `port ${i}` : undefined, `${workers} workers: ${side} ${i}`);
      }
    }
    if (workers === '0') {
      for (const i of named) assert.equal(interfaces.find((r) => r.ifIndex === i)?.name, `port ${i}`, JSON.stringify(interfaces));
    }
  }
});

test('netif-userdef: a failed look at the file is cleared once the file in use is there again as it was read (moved back)', async () => {
  const dir = tempDir('ufc-netif-');
  const path = join(dir, 'netifs.yml');
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: first }\n');
  const e = new NetifNamesEnricher(path, 15);
  await e.start();
  try {
    renameSync(path, join(dir, 'aside.yml'));
    await e.reload();
    assert.match(e.fileStatus().error ?? '', /ENOENT/);
    renameSync(join(dir, 'aside.yml'), path);
    await e.reload();
    assert.deepEqual([e.fileStatus().error, e.fileStatus().entries], [null, 1]);
    // A YAML syntax error says which file, as at start-up.
    writeFileSync(path, '192.0.2.1: [\n');
    await e.reload();
    assert.ok(e.fileStatus().error!.startsWith(`${path}: `), e.fileStatus().error!);
  } finally {
    await e.stop();
  }
});

test('file statuses from several decode workers: a failed read wins, else the copy read longest ago; a worker that stops marks its files until its successor reports; a successor that cannot load the file decodes without it and says so', async () => {
  const s = (loadedAt: number, error: string | null, option = 'EF_X_PATH'): UserFileStatus => ({ what: 'x', option, path: '/x', entries: 1, loadedAt, checkedAt: loadedAt, refreshMinutes: 15, error });
  assert.deepEqual(mergeFileStatuses([[s(20, null)], [s(10, null)], [s(30, null)]]), [s(10, null)]);
  assert.deepEqual(mergeFileStatuses([[s(20, null)], [s(30, 'bad')], [s(10, null)]]), [s(30, 'bad')]);
  assert.deepEqual(mergeFileStatuses([[s(20, 'bad')], [s(10, 'worse')]]), [s(10, 'worse')]);
  assert.deepEqual(mergeFileStatuses([[s(20, null, 'EF_A_PATH')], [s(10, null, 'EF_B_PATH')]]).map((x) => x.option), ['EF_A_PATH', 'EF_B_PATH']);

  const path = join(tempDir('ufc-netif-'), 'netifs.yml');
  writeFileSync(path, '192.0.2.1:\n  1: { ifName: first }\n');
  const c = new Collector(testConfig({ EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '1', EF_PROCESSOR_ENRICH_NETIF_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: path }));
  await c.start();
  try {
    const [port] = await c.listen();
    // The workers' first report comes with their start, not a second later.
    await until(() => c.fileStatuses().length === 1, 500);
    assert.deepEqual(c.fileStatuses().map((x) => [x.option, x.entries, x.error]), [['EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH', 1, null]]);
    const worker = () => (c.pool as unknown as { workers: (import('node:worker_threads').Worker | null)[] }).workers[0];
    // The file edited into a state that does not load, then the worker stops: its successor starts
    // without the table (before, it could not start until the file was mended, and the exporters'
    // flows were dropped meanwhile), and reports why.
    writeFileSync(path, '192.0.2.1:\n  x: { ifName: broken }\n');
    const first = worker()!;
    await first.terminate();
    await until(() => worker() !== null && worker() !== first && c.fileStatuses()[0]?.entries === 0, 10_000);
    assert.ok(worker() !== null && worker() !== first, 'a successor worker started');
    assert.equal(c.fileStatuses()[0]?.entries, 0, 'the successor started without the table');
    assert.match(c.fileStatuses()[0]!.error!, /^EF_PROCESSOR_ENRICH_NETIF_METADATA_USERDEF_PATH: .*x: not an interface index/);
    const v5 = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
    const records = () => c.pipeline.stats.snapshot().find((e) => e.exporter === '127.0.0.1')?.records ?? 0;
    await sendFrom('127.0.0.1', port!, v5);
    await until(() => records() === 30, 10_000);
    assert.equal(records(), 30, 'the successor without the table decodes the exporter\'s flows');
    // Mended, and read by the next worker to start (or by this one at its refresh).
    writeFileSync(path, '192.0.2.1:\n  1: { ifName: first }\n  2: { ifName: second }\n');
    const second = worker()!;
    await second.terminate();
    await until(() => worker() !== null && worker() !== second && c.fileStatuses()[0]?.error === null, 15_000);
    assert.deepEqual(c.fileStatuses().map((x) => [x.entries, x.error]), [[2, null]]);
  } finally {
    await c.stop();
  }
});

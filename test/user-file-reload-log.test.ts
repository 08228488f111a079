/**
 * A user file re-read while running (sampling rates, interface names, address metadata, the RiskIQ
 * include/exclude lists) says so: a good re-read logs what the table now holds; one that reads no
 * entries where there were some (a file emptied, or caught between a rewrite's truncate and its
 * write) is a warning naming the file and what was dropped. An empty file is still taken, as at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, setLogger } from '../src/log/logger.js';
import { UserSamplingEnricher } from '../src/enrich/sampling-userdef.js';
import { NetifNamesEnricher } from '../src/enrich/netif-userdef.js';
import { AddressMetadataEnricher } from '../src/enrich/ipaddr-metadata.js';
import { RiskiqThreatEnricher } from '../src/enrich/riskiq-threat.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { tempDir, testConfig } from './helpers/collect.js';

interface Line {
  level: string;
  msg: string;
}
const raw: string[] = [];
setLogger(createLogger({ level: 'debug', encoding: 'json', sink: (l) => raw.push(l) }));
function linesSince(mark: number): Line[] {
  return raw.slice(mark).map((l) => JSON.parse(l) as Line);
}

interface Case {
  name: string;
  file: string;
  first: string;
  second: string;
  secondHolds: string;
  make(path: string): UserSamplingEnricher | NetifNamesEnricher | AddressMetadataEnricher;
}

const CASES: Case[] = [
  {
    name: 'sampling rates',
    file: 'rates.yaml',
    first: '192.0.2.1: 100\n"192.0.2.1/7": 10\n',
    second: '192.0.2.1: 100\n"192.0.2.1/7": 10\n"2001:db8::1": 4\n',
    secondHolds: '3 rates of 2 exporters',
    make: (p) => new UserSamplingEnricher(p, 1),
  },
  {
    name: 'interface names',
    file: 'netif.yaml',
    first: '192.0.2.1:\n  1:\n    ifName: Gi0/0\n',
    second: '192.0.2.1:\n  1:\n    ifName: Gi0/0\n  2:\n    ifName: Gi0/1\n192.0.2.2:\n  1:\n    ifName: eth0\n',
    secondHolds: '3 interfaces of 2 exporters',
    make: (p) => new NetifNamesEnricher(p, 1),
  },
  {
    name: 'address metadata',
    file: 'meta.yaml',
    first: '10.1.2.0/24:\n  name: atlanta_guest_wifi\n',
    second: '10.1.2.0/24:\n  name: atlanta_guest_wifi\n10.1.3.0/24:\n  name: atlanta_lab\n',
    secondHolds: '2 entries',
    make: (p) => new AddressMetadataEnricher(p, 1),
  },
];

for (const c of CASES) {
  test(`${c.name}: a re-read is logged with what the table holds; one that empties it warns, naming the file and the entries dropped`, async () => {
    const path = join(tempDir('ufc-reload-log-'), c.file);
    writeFileSync(path, c.first);
    const e = c.make(path);
    await e.start();
    const had = e.fileStatus().entries ?? 0;
    assert.ok(had > 0, `the first file loads (${had} entries)`);
    try {
      let mark = raw.length;
      writeFileSync(path, c.second);
      await e.reload();
      const reloaded = linesSince(mark).filter((l) => l.msg.includes(path));
      assert.deepEqual(reloaded.map((l) => [l.level, l.msg]), [['info', `${c.name}: reloaded ${path} (${c.secondHolds})`]], 'one info line saying what the table holds now');
      const held = e.fileStatus().entries;

      // Truncated (a rewrite caught midway, or emptied on purpose): taken, as at start, and warned about.
      mark = raw.length;
      writeFileSync(path, '');
      await e.reload();
      assert.equal(e.fileStatus().entries, 0, 'an empty file is taken (emptying on purpose stays possible)');
      assert.equal(e.fileStatus().error, null, 'not a failed read');
      const emptied = linesSince(mark).filter((l) => l.msg.includes(path));
      assert.equal(emptied.length, 1, `one line for the emptied file: ${JSON.stringify(emptied)}`);
      assert.equal(emptied[0]!.level, 'warn', 'at warn level');
      assert.match(emptied[0]!.msg, new RegExp(`^${c.name}: .*no entries.* ${held} in use were dropped`), 'names the entries dropped');

      // Written again: back, and said so at info.
      mark = raw.length;
      writeFileSync(path, c.first);
      await e.reload();
      assert.equal(e.fileStatus().entries, had, 'the file written again is back in use');
      assert.deepEqual(linesSince(mark).filter((l) => l.msg.includes(path)).map((l) => l.level), ['info'], 'filling an empty table is not a warning');

      // A look at an unchanged file logs nothing.
      mark = raw.length;
      await e.reload();
      assert.deepEqual(linesSince(mark), [], 'an unchanged file is not read, nor logged');
    } finally {
      await e.stop();
    }
  });
}

function flow(src: string, dst: string): FlowRecord {
  const r = new FlowRecord();
  r.srcIp = src;
  r.dstIp = dst;
  r.ipVersion = 4;
  return r;
}

test('RiskIQ include/exclude: a re-read that empties a list warns, naming the file and the entries dropped', async () => {
  const path = join(tempDir('ufc-reload-log-'), 'inclexcl.yaml');
  writeFileSync(path, 'include:\n  - 203.0.113.7\n  - { ip: 198.51.100.0/24, name: lab-scanner }\nexclude:\n  - 10.0.0.0/8\n');
  const config = testConfig({
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'analyst@example.com',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'k',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: 'http://127.0.0.1:9/x',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: path,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_REFRESH_RATE: '1',
  });
  const e = new RiskiqThreatEnricher({ config, dataDir: config.EF_DATA_DIR, autoRefresh: false });
  await e.start();
  try {
    const r0 = flow('203.0.113.7', '192.0.2.1');
    e.enrich([r0]);
    assert.equal(r0.srcThreatName, 'blocklist', 'include marks');

    let mark = raw.length;
    writeFileSync(path, '');
    await e.reloadInclExcl(false);
    const emptied = linesSince(mark).filter((l) => l.msg.includes(path));
    assert.deepEqual(
      emptied.map((l) => [l.level, l.msg]),
      [['warn', `RiskIQ Threats: ${path} read with no entries: the 2 include and 1 exclude entries in use were dropped (a file caught while being rewritten is read again once it changes)`]],
      'one warning naming the file and what was dropped',
    );
    const r1 = flow('203.0.113.7', '192.0.2.1');
    e.enrich([r1]);
    assert.equal(r1.srcThreatName, '', 'the empty file is taken (emptying on purpose stays possible)');

    mark = raw.length;
    writeFileSync(path, 'include:\n  - 203.0.113.7\n');
    await e.reloadInclExcl(false);
    assert.deepEqual(
      linesSince(mark).filter((l) => l.msg.includes(path)).map((l) => [l.level, l.msg]),
      [['info', `RiskIQ Threats: loaded include/exclude lists from ${path}: 1 include, 0 exclude`]],
      'written again: the usual info line',
    );

    // The include list emptied while exclude entries stay: that list's entries are named as dropped.
    writeFileSync(path, 'include:\n  - 203.0.113.7\n  - 203.0.113.8\nexclude:\n  - 10.0.0.0/8\n');
    await e.reloadInclExcl(false);
    mark = raw.length;
    writeFileSync(path, 'exclude:\n  - 10.0.0.0/8\n');
    await e.reloadInclExcl(false);
    assert.deepEqual(
      linesSince(mark).filter((l) => l.msg.includes(path)).map((l) => l.level),
      ['warn'],
      'an include list that held entries and reads empty is a warning',
    );
    assert.match(linesSince(mark).find((l) => l.level === 'warn')?.msg ?? '', /the 2 include entries in use were dropped/, 'names the include entries dropped');
  } finally {
    await e.stop();
  }
});

/**
 * Start-up lists every configured file that will not load, as `ufc config` does, rather than the first
 * one (which had the user mend one file per restart).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/collect.js';

const CLI = ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts')];

test('ufc run and ufc replay with three enricher files that will not load: each is one start-up line, exit 2, as ufc config lists them', () => {
  const dir = tempDir('ufc-start-problems-');
  const metadata = join(dir, 'metadata.yml');
  writeFileSync(metadata, 'include: [\n');
  const geoip = join(dir, 'city.mmdb');
  writeFileSync(geoip, 'not a database\n');
  const asn = join(dir, 'asn.mmdb');
  writeFileSync(asn, '');
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, EF_DATA_DIR: join(dir, 'data'), EF_OUTPUT_DUCKDB_ENABLE: 'false', EF_WEBUI_ENABLE: 'false',
    EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0',
    EF_PROCESSOR_ENRICH_IPADDR_METADATA_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH: metadata,
    EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH: geoip,
    EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH: asn,
  };
  const options = ['EF_PROCESSOR_ENRICH_IPADDR_METADATA_USERDEF_PATH', 'EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH', 'EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH'];
  const config = spawnSync(process.execPath, [...CLI, 'config'], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(config.status, 2, config.stderr);
  assert.match(config.stderr, /configuration has 3 problems/, 'ufc config lists the three');
  // With decode workers the workers load the databases; the main thread checks the files first.
  for (const [cmd, extra] of [['run', {}], ['run', { EF_FLOW_SERVER_WORKERS: '1' }], ['replay', {}]] as const) {
    const args = cmd === 'replay' ? [cmd, join(dir, 'none.pcap')] : [cmd];
    const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env: { ...env, ...extra }, timeout: 30_000 });
    const what = `${cmd} ${JSON.stringify(extra)}`;
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    const failed = r.stderr.split('\n').filter((l) => l.includes('start-up failed'));
    assert.equal(failed.length, 3, `${what}: one line per file: ${r.stderr}`);
    options.forEach((o, i) => assert.match(failed[i]!, new RegExp(`start-up failed: ${o}: `), `${what}: ${o} named`));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
});

/** The enricher chain as configured: order, options switching enrichers off, seed, private CIDRs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testConfig } from './helpers/collect.js';
import { createEnrichers } from '../src/enrich/chain.js';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';

const rec = (): FlowRecord => Object.assign(new FlowRecord(), { proto: 6, srcIp: '10.0.0.1', dstIp: '1.2.3.4', srcPort: 51000, dstPort: 443, tcpFlags: 0x02 });

function run(env: Record<string, string>): { names: string[]; r: FlowRecord } {
  const config = testConfig(env);
  const chain = createEnrichers({ config, dataDir: config.EF_DATA_DIR });
  const r = rec();
  for (const e of chain) e.enrich([r]);
  return { names: chain.map((e) => e.name), r };
}

test('default chain: locality > community-id > client-server, all applied', () => {
  const { names, r } = run({});
  assert.deepEqual(names.slice(0, 3), ['locality', 'community-id', 'client-server']);
  assert.equal(r.srcLocality, 'private');
  assert.equal(r.dstLocality, 'public');
  assert.match(r.communityId, /^1:[A-Za-z0-9+/]{27}=$/);
  assert.equal(r.orientation, Orientation.SrcIsClient);
});

test('options: Community ID off, seed, client/server off, extra private ranges', () => {
  const off = run({ EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE: 'false', EF_PROCESSOR_EXPAND_CLISRV: 'false' });
  assert.ok(!off.names.includes('community-id') && !off.names.includes('client-server'));
  assert.equal(off.r.communityId, '');
  assert.equal(off.r.orientation, Orientation.Unknown);
  const seeded = run({ EF_PROCESSOR_ENRICH_COMMUNITYID_SEED: '1' });
  assert.notEqual(seeded.r.communityId, run({}).r.communityId);
  const cidr = run({ EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '1.2.3.0/24' });
  assert.equal(cidr.r.dstLocality, 'private');
});

test('GeoIP and ASN join the chain after client/server, in every decode worker', () => {
  const config = testConfig({ EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_ENABLE: 'true' });
  const chain = createEnrichers({ config, dataDir: config.EF_DATA_DIR });
  const names = chain.map((e) => e.name);
  assert.ok(names.indexOf('geoip') > names.indexOf('client-server'));
  assert.ok(names.indexOf('asn') > names.indexOf('geoip'));
  // Each decode worker loads its own copy (read-only databases): no record has to come back for them.
  for (const e of chain) if (e.name === 'geoip' || e.name === 'asn') assert.equal(e.placement, 'worker');
});

/**
 * The embedded DuckDB store: records replayed from real captures through the whole collector
 * (EF_OUTPUT_DUCKDB_ENABLE=true) land in the store, and every query of the query module answers
 * what an independent JS computation over the same captured records says (test/store-reference.ts).
 * Also: threat views on enriched records, retention, the size guard, input validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Collector } from '../src/collector.js';
import { createOutputs } from '../src/output/registry.js';
import { toDocument } from '../src/record/fields.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { flowQueryFrom, QueryInputError, TOP_FIELDS, type FlowQuery } from '../src/store/query.js';
import { CaptureOutput, testConfig } from './helpers/collect.js';
import { TESTDATA } from './helpers/tools.js';
import * as ref from './store-reference.js';

const CAPTURES = [
  'akvorado/netflow/nfv5.pcap',
  'flowbeat/pcap/ipt_netflow_v5.pcap',
  'flowbeat/pcap/ipt_netflow_v9.pcap',
  'flowbeat/pcap/ipfix_cisco.pcap',
  'pmacct-test-automation/100-IPFIXv10-CISCO/traffic-00.pcap',
  'akvorado/sflow/data-1140.pcap',
  'akvorado/sflow/data-icmpv6.pcap',
  'ndpi/pcap/sflow.pcap',
];

const view = { ecs: false, timestampSource: 'collect' as const };
const docKey = (d: Record<string, unknown>): string => JSON.stringify(d);

async function replayIntoDuckDb(): Promise<{ collector: Collector; records: FlowRecord[]; q: FlowQuery; out: DuckDbOutput }> {
  const config = testConfig({ EF_OUTPUT_DUCKDB_ENABLE: 'true' });
  const capture = new CaptureOutput();
  const dataDir = config.EF_DATA_DIR;
  const outputs = [...createOutputs({ config, dataDir }), capture];
  const out = outputs.find((o) => o instanceof DuckDbOutput) as DuckDbOutput | undefined;
  assert.ok(out, 'EF_OUTPUT_DUCKDB_ENABLE=true builds the DuckDB output');
  const collector = new Collector(config, { outputs });
  await collector.start();
  assert.ok(existsSync(join(dataDir, 'flows.duckdb')), 'the database file is created in EF_DATA_DIR on first start');
  for (const c of CAPTURES) collector.replay(readFileSync(join(TESTDATA, c)));
  await collector.flush();
  const q = flowQueryFrom(collector.outputs);
  assert.ok(q !== null && q.store === 'duckdb');
  return { collector, records: capture.records, q, out };
}

test('DuckDB store answers every query as the captured records say', async () => {
  const { collector, records, q, out } = await replayIntoDuckDb();
  try {
    const flows = records.filter((r) => r.kind === 'flow');
    assert.ok(flows.length >= 100, `captures gave ${flows.length} flow records`);
    assert.ok(records.length > flows.length, 'sFlow counter records are in the mix (and excluded from flow queries)');
    assert.equal(out.counters().sent, records.length, 'every record was appended');
    const from = Math.min(...records.map((r) => r.collectTs));
    const to = Math.max(...records.map((r) => r.collectTs)) + 1;

    // Top-N for every field and metric, against the reference (limit high enough for ties not to cut).
    for (const field of TOP_FIELDS) {
      for (const metric of ['bytes', 'packets', 'flows'] as const) {
        const got = (await q.topN({ from, to, field, metric, limit: 1000 })).map(({ key, bytes, packets, flows: f }) => ({ key, bytes, packets, flows: f }));
        assert.deepEqual(got, ref.topN(records, field, metric, from, to, 1000), `topN ${field} by ${metric}`);
      }
    }
    const top3 = await q.topN({ from, to, field: 'flow.dst.l4.port.id', metric: 'bytes', limit: 3 });
    assert.deepEqual(top3.map((r) => r.key), ref.topN(records, 'flow.dst.l4.port.id', 'bytes', from, to, 3).map((r) => r.key));
    const protos = await q.topN({ from, to, field: 'l4.proto.id', metric: 'flows' });
    assert.ok(protos.some((p) => p.label === 'tcp' || p.label === 'udp'), 'protocol rows carry their keyword');

    // Time series over the whole span (captures are years apart) and over two minutes at 1 s.
    const wide = Math.ceil((to - from) / 500);
    assert.deepEqual(await q.series({ from, to, stepMs: wide }), ref.series(records, from, to, wide), `series step ${wide}`);
    const mid = flows[Math.floor(flows.length / 3)]!.collectTs;
    const narrow = ref.series(records, mid - 60_000, mid + 60_000, 1000);
    assert.ok(narrow.some((p) => p.flows > 0));
    assert.deepEqual(await q.series({ from: mid - 60_000, to: mid + 60_000, stepMs: 1000 }), narrow);
    const busiestProto = protos[0]!.key as number;
    assert.deepEqual(await q.series({ from, to, stepMs: wide, filter: { proto: busiestProto } }), ref.series(records, from, to, wide, { proto: busiestProto }));

    // Search: filters taken from the data, answers compared document by document.
    const sample = flows[Math.floor(flows.length / 2)]!;
    const v4 = flows.find((r) => r.ipVersion === 4)!;
    const v6 = flows.find((r) => r.ipVersion === 6);
    const filters: ref.RefFilter[] = [
      {},
      { ip: v4.srcIp },
      { ip: v4.dstIp.split('.').slice(0, 3).join('.') + '.0/24' },
      { srcIp: v4.srcIp.split('.').slice(0, 2).join('.') + '.0.0/16', proto: v4.proto },
      { port: sample.dstPort },
      { srcPort: sample.srcPort, dstPort: sample.dstPort },
      { exporter: sample.exporterIp },
      { exporter: sample.exporterIp, proto: sample.proto, ip: '0.0.0.0/0' },
    ];
    if (v6 !== undefined) filters.push({ ip: v6.srcIp }, { ip: v6.srcIp + '/64' }, { dstIp: v6.dstIp + '/32' });
    for (const f of filters) {
      const want = ref.search(records, from, to, f);
      assert.ok(want.length > 0, `filter ${JSON.stringify(f)} matches something`);
      const got = await q.search({ from, to, filter: f, limit: 1000 });
      assert.equal(got.total, want.length, `total for ${JSON.stringify(f)}`);
      const page = want.length <= 1000 ? want : null;
      if (page !== null) {
        const wantDocs = page.map((r) => docKey(toDocument(r, view))).sort();
        assert.deepEqual(got.rows.map(docKey).sort(), wantDocs, `documents for ${JSON.stringify(f)}`);
      }
      for (let i = 1; i < got.rows.length; i++) assert.ok((got.rows[i - 1]!['@timestamp'] as number) >= (got.rows[i]!['@timestamp'] as number), 'newest first');
    }
    // Paging: two pages are the first rows of the full list, in order, without overlap.
    const all = await q.search({ from, to, limit: 20 });
    const p1 = await q.search({ from, to, limit: 10, offset: 0 });
    const p2 = await q.search({ from, to, limit: 10, offset: 10 });
    assert.deepEqual([...p1.rows, ...p2.rows], all.rows);
    assert.equal(p1.total, flows.length);

    // Per-exporter summary.
    const ex = await q.exporters({ from, to });
    assert.deepEqual(ex.map(({ exporter, flows: f, bytes, packets, firstSeen, lastSeen }) => ({ exporter, flows: f, bytes, packets, firstSeen, lastSeen })), ref.exporters(records, from, to));
    assert.ok(ex.length >= 3, 'several exporters in the captures');
    const anyEx = ex.find((e) => e.exportType === 'ipfix');
    assert.ok(anyEx !== undefined && anyEx.exportVersion === 10);

    // An empty range answers zeros, not an error.
    assert.equal((await q.search({ from: 1, to: 2 })).total, 0);
  } finally {
    await collector.stop();
  }
});

test('DuckDB threat views: flows touching listed addresses, at-risk servers, high-risk clients', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 't.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 128, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    const now = Date.now();
    const recs = ref.threatMix(now);
    out.write(recs);
    await out.flush();
    const q = out.flowQuery()!;
    const from = now - 3_600_000, to = now + 1;
    const tf = await q.threatFlows({ from, to, limit: 1000 });
    const want = ref.search(recs, from, to, { threat: true });
    assert.equal(tf.total, want.length);
    assert.ok(tf.total > 0 && tf.total < recs.length);
    assert.deepEqual(tf.rows.map(docKey).sort(), want.map((r) => docKey(toDocument(r, view))).sort());
    const names = await q.topN({ from, to, field: 'sec.threat.name', metric: 'flows' });
    assert.deepEqual(names.map(({ key, flows }) => ({ key, flows })), ref.topN(recs, 'sec.threat.name', 'flows', from, to, 10).map(({ key, flows }) => ({ key, flows })));
    assert.deepEqual(new Set(names.map((n) => n.key)), new Set(['botnet', 'c2', 'scanner']));

    const ars = await q.atRiskServers({ from, to, limit: 100 });
    assert.deepEqual(ars.map((s) => ({ ip: s.ip, flows: s.flows, bytes: s.bytes, packets: s.packets, peers: s.clients, threatNames: s.threatNames })), ref.atRiskServers(recs, from, to));
    assert.ok(ars.length > 0 && ars.every((s) => s.ip.startsWith('10.')), 'at-risk servers are ours');
    const hrc = await q.highRiskClients({ from, to, limit: 100 });
    assert.deepEqual(hrc.map((c) => ({ ip: c.ip, flows: c.flows, bytes: c.bytes, packets: c.packets, peers: c.servers, threatNames: c.threatNames })), ref.highRiskClients(recs, from, to));
    assert.ok(hrc.length >= 2);
    const asn = await q.topN({ from, to, field: 'flow.src.as.asn', metric: 'bytes' });
    assert.equal(asn[0]!.label, 'Example "Net"', 'AS rows carry the organisation');
  } finally {
    await out.close();
  }
});

test('DuckDB retention deletes rows older than EF_OUTPUT_DUCKDB_RETENTION days; the size guard removes oldest days', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'r.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 1000, deadlineMs: 10, queueMax: 100_000 });
  await out.start();
  try {
    const day = 86_400_000;
    const now = Date.UTC(2026, 5, 15, 12);
    const ages = [10, 9, 8, 6, 3, 1, 0];
    const recs: FlowRecord[] = [];
    for (const a of ages) {
      for (let i = 0; i < 500; i++) {
        const r = new FlowRecord();
        r.collectTs = now - a * day + i; r.exporterIp = '192.0.2.1'; r.srcIp = '10.0.0.1'; r.dstIp = '10.0.0.2'; r.ipVersion = 4; r.proto = 17; r.bytes = 1; r.packets = 1;
        recs.push(r);
      }
    }
    out.write(recs);
    await out.flush();
    const q = out.flowQuery()!;
    const count = async (): Promise<number> => (await q.search({ from: 0, to: now + day })).total;
    assert.equal(await count(), ages.length * 500);
    await out.maintain(now);
    assert.equal(await count(), 4 * 500, 'rows 8, 9 and 10 days old are gone; 6 days and newer kept');
    assert.equal(out.counters().retention_deleted, 3 * 500);
    const left = await q.exporters({ from: 0, to: now + day });
    assert.equal(left[0]!.firstSeen, now - 6 * day);

    // Size guard: with a cap below what is stored, whole oldest days go until only the newest is left.
    (out.store.opts as { maxBytes: number }).maxBytes = 1;
    const deleted = await out.store.applySizeGuard();
    assert.equal(deleted, 3 * 500);
    const after = await q.exporters({ from: 0, to: now + day });
    assert.equal(after[0]!.flows, 500);
    assert.equal(after[0]!.firstSeen, now);
  } finally {
    await out.close();
  }
});

test('query input is validated: bad CIDRs, ports, ranges and fields are refused', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'v.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 10, deadlineMs: 10, queueMax: 100 });
  await out.start();
  try {
    const q = out.flowQuery()!;
    const r = { from: 0, to: 10 };
    for (const ip of ['10.0.0.0/33', '10.0.0.256', "1.2.3.4' OR 1=1 --", '::1/129', '1.2.3.4/', 'a.b.c.d/8', '']) {
      await assert.rejects(q.search({ ...r, filter: { ip } }), QueryInputError, ip);
    }
    await assert.rejects(q.search({ ...r, filter: { exporter: "x'; DROP TABLE flows; --" } }), QueryInputError);
    await assert.rejects(q.search({ ...r, filter: { port: 70000 } }), QueryInputError);
    await assert.rejects(q.search({ from: 10, to: 5 }), QueryInputError);
    await assert.rejects(q.search({ ...r, limit: 0 }), QueryInputError);
    await assert.rejects(q.series({ from: 0, to: 86_400_000, stepMs: 1 }), QueryInputError);
    await assert.rejects(q.topN({ ...r, field: 'src_ip; DROP TABLE flows' as never, metric: 'bytes' }), QueryInputError);
    await assert.rejects(q.topN({ ...r, field: 'flow.src.ip.addr', metric: 'rows' as never }), QueryInputError);
    assert.equal((await q.search({ ...r, filter: { ip: '2001:DB8::1/48' } })).total, 0, 'valid IPv6 CIDR in any case is accepted');
  } finally {
    await out.close();
  }
});

test('IP and CIDR search over IPv4 and IPv6 in every textual form the records carry', async () => {
  const config = testConfig();
  const out = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'ip.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 100, deadlineMs: 10, queueMax: 10_000 });
  await out.start();
  try {
    const now = Date.now();
    const addrs = ['::', '::1', '1::', 'fe80::1:2', '2001:db8::', '2001:db8::ffff', '2001:db8:0:1::5', '2001:db8:1:2:3:4:5:6', 'ff02::fb', '2001:db9::1',
      '0.0.0.0', '10.0.0.1', '10.0.0.255', '10.0.1.0', '192.168.255.255', '255.255.255.255', '11.0.0.0'];
    const recs: FlowRecord[] = [];
    addrs.forEach((a, i) => {
      const r = new FlowRecord();
      r.collectTs = now - i; r.exporterIp = '192.0.2.9'; r.srcIp = a; r.dstIp = a.includes(':') ? '2001:db8::abcd' : '10.9.9.9';
      r.ipVersion = a.includes(':') ? 6 : 4; r.proto = 17; r.bytes = 10 + i; r.packets = 1;
      recs.push(r);
    });
    out.write(recs);
    await out.flush();
    const q = out.flowQuery()!;
    const cidrs = ['::/0', '::/128', '::1', '1::/16', 'fe80::/10', '2001:db8::/32', '2001:db8::/48', '2001:db8:0:1::/64', '2001:db8::ffff/128', '2001:db8:1:2:3:4:5:6',
      'ff00::/8', '2001:db8::/31', '0.0.0.0/0', '10.0.0.0/24', '10.0.0.0/8', '10.0.1.0/31', '192.168.0.0/16', '255.255.255.255/32', '10.0.0.1', '11.0.0.0/7'];
    for (const c of cidrs) {
      const want = ref.search(recs, now - 1000, now + 1, { srcIp: c });
      const got = await q.search({ from: now - 1000, to: now + 1, filter: { srcIp: c } });
      assert.equal(got.total, want.length, `srcIp ${c}`);
      assert.deepEqual(got.rows.map((d) => d['flow.src.ip.addr']).sort(), want.map((r) => r.srcIp).sort(), `srcIp ${c}`);
    }
  } finally {
    await out.close();
  }
});

/**
 * The API endpoints that read the store, registered once per store: the same assertions hold
 * for DuckDB (web-api.test.ts) and ClickHouse (web-api-clickhouse.test.ts), since both answer
 * through the one query module.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LISTED, NAMED_EXPORTER, NAMED_INTERFACES, OFFICE_NAME, SETTLED_MS, touchesListed, type WebFixture } from './web-fixture.js';
import { chooseStep } from '../src/web/api.js';
import { conversations, type ConversationRow } from './store-reference.js';
import { flowQueryFrom } from '../src/store/query.js';
import { FlowRecord } from '../src/record/flow-record.js';

/** `fixture()` returns null when the store is not available (the tests then skip). */
export function storeApiTests(fixture: () => WebFixture | null): void {
  let f: WebFixture;
  const ready = (t: { skip: (m: string) => void }): boolean => {
    const x = fixture();
    if (x === null) {
      t.skip('store not available');
      return false;
    }
    f = x;
    return true;
  };
  async function get(path: string): Promise<{ status: number; body: string; type: string }> {
    const res = await fetch(f.url + path);
    return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
  }
  async function json<T = Record<string, unknown>>(path: string): Promise<T> {
    const r = await get(path);
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    return JSON.parse(r.body) as T;
  }
  const flowRecords = () => f.records.records.filter((r) => r.kind === 'flow');

  test('/api/overview totals and top talkers match the replayed records', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const d = await json<{ totals: { flows: number; bytes: number; packets: number; threatFlows: number }; series: { flows: number }[]; stepMs: number; top: { talkers: { ip: string; bytes: number }[]; protocols: { name: string; flows: number }[] } }>(`/api/overview?from=${f.startedAt - 2 * 3600e3}&to=${f.startedAt - SETTLED_MS + 1}`);
    assert.equal(d.totals.flows, recs.length);
    assert.equal(d.totals.bytes, recs.reduce((a, r) => a + r.bytes, 0));
    assert.equal(d.totals.packets, recs.reduce((a, r) => a + r.packets, 0));
    assert.equal(d.totals.threatFlows, recs.filter(touchesListed).length);
    // The series is per-second rates: summed back over the step it gives the flow count.
    const sum = d.series.reduce((a, p) => a + (p.flows * d.stepMs) / 1000, 0);
    assert.ok(Math.abs(sum - recs.length) < 1e-6, `series sums to ${sum}, expected ${recs.length}`);
    // Top talker: the address with most bytes on either end.
    const byIp = new Map<string, number>();
    for (const r of recs) for (const ip of [r.srcIp, r.dstIp]) byIp.set(ip, (byIp.get(ip) ?? 0) + r.bytes);
    const best = [...byIp].sort((a, b) => b[1] - a[1])[0]!;
    assert.deepEqual([d.top.talkers[0]!.ip, d.top.talkers[0]!.bytes], best);
    const tcp = d.top.protocols.find((p) => p.name === 'tcp');
    assert.equal(tcp?.flows, recs.filter((r) => r.proto === 6).length);
  });

  test('/api/overview networks: each named network\'s traffic sent, received and in all; the net filter keeps its flows', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const range = `from=${f.startedAt - 2 * 3600e3}&to=${f.startedAt - SETTLED_MS + 1}`;
    const d = await json<{ top: { networks: { name: string; bytes: number; packets: number; flows: number; outBytes: number; inBytes: number }[] } }>(`/api/overview?${range}`);
    const sum = (rs: typeof recs, v: (r: (typeof recs)[number]) => number): number => rs.reduce((a, r) => a + v(r), 0);
    const out = recs.filter((r) => r.srcSubnetName === OFFICE_NAME);
    const inb = recs.filter((r) => r.dstSubnetName === OFFICE_NAME);
    assert.ok(out.length > 0 && inb.length > 0, 'the fixture\'s network sends and receives');
    assert.deepEqual(d.top.networks, [{
      name: OFFICE_NAME, outBytes: sum(out, (r) => r.bytes), inBytes: sum(inb, (r) => r.bytes),
      bytes: sum(out, (r) => r.bytes) + sum(inb, (r) => r.bytes), packets: sum(out, (r) => r.packets) + sum(inb, (r) => r.packets), flows: out.length + inb.length,
    }]);
    const mine = recs.filter((r) => r.srcSubnetName === OFFICE_NAME || r.dstSubnetName === OFFICE_NAME);
    const filtered = await json<{ totals: { flows: number; bytes: number } }>(`/api/overview?${range}&net=${encodeURIComponent(OFFICE_NAME)}`);
    assert.deepEqual(filtered.totals.flows, mine.length);
    assert.deepEqual(filtered.totals.bytes, sum(mine, (r) => r.bytes));
    const search = await json<{ total: number; rows: { srcNet: string; dstNet: string }[] }>(`/api/flows?${range}&net=${encodeURIComponent(` ${OFFICE_NAME} `)}&limit=1000`);
    assert.equal(search.total, mine.length);
    assert.equal(search.rows.filter((r) => r.srcNet === OFFICE_NAME || r.dstNet === OFFICE_NAME).length, mine.length);
    const top = await json<{ rows: { key: string; flows: number }[] }>(`/api/top?${range}&field=flow.dst.ip.subnet.name&metric=flows`);
    assert.deepEqual(top.rows.map((r) => [r.key, r.flows]), [[OFFICE_NAME, inb.length]]);
    assert.equal((await json<{ total: number }>(`/api/flows?${range}&net=nowhere`)).total, 0);
    const long = await get(`/api/flows?${range}&net=${'x'.repeat(257)}`);
    assert.equal(long.status, 400);
    assert.match(long.body, /net must be a name of 1 to 256 characters/);
    // Tags (the fixture's network has two): the same flows by either, and the top tags of each end.
    for (const tag of ['office', ' wired ']) assert.equal((await json<{ total: number }>(`/api/flows?${range}&tag=${encodeURIComponent(tag)}`)).total, mine.length, tag);
    assert.equal((await json<{ total: number }>(`/api/flows?${range}&tag=wire`)).total, 0);
    const tagTop = await json<{ rows: { key: string; flows: number }[] }>(`/api/top?${range}&field=flow.src.ip.subnet.tags&metric=flows`);
    assert.deepEqual(tagTop.rows.map((r) => [r.key, r.flows]), [['office', out.length], ['wired', out.length]]);
    const comma = await get(`/api/flows?${range}&tag=office,wired`);
    assert.equal(comma.status, 400);
    assert.match(comma.body, /tag must not hold a comma/);
  });

  test('/api/conversations: the busiest client-server pairs per port, as the records say, with service names; filters, metric and limit', async (t) => {
    if (!ready(t)) return;
    const recs = f.records.records;
    const from = f.startedAt - 2 * 3600e3, to = f.startedAt - SETTLED_MS + 1;
    type Row = ConversationRow & { protoName: string; service: string };
    const d = await json<{ metric: string; conversations: Row[] }>(`/api/conversations?from=${from}&to=${to}&limit=1000`);
    assert.equal(d.metric, 'bytes');
    assert.deepEqual(d.conversations.map(({ protoName: _n, service: _s, ...c }) => c), conversations(recs, from, to, 'bytes', 1000));
    const https = d.conversations.find((c) => c.proto === 6 && c.port === 443);
    assert.deepEqual([https?.protoName, https?.service], ['tcp', 'https']);
    const byFlows = await json<{ conversations: Row[] }>(`/api/conversations?from=${from}&to=${to}&metric=flows&limit=3&proto=17`);
    assert.deepEqual(byFlows.conversations.map(({ protoName: _n, service: _s, ...c }) => c), conversations(recs, from, to, 'flows', 3, { proto: 17 }));
    assert.equal((await get(`/api/conversations?metric=octets`)).status, 400);
    assert.equal((await get(`/api/conversations?limit=0`)).status, 400);
  });

  test('/api/overview totals cover exactly [from, to), not the whole first chart step', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const to = f.startedAt - SETTLED_MS + 1;
    // `from` just after a replay: that replay's flows are in the chart's first step, not in the range.
    const times = [...new Set(recs.map((r) => r.collectTs))].sort((a, b) => a - b);
    const from = times.map((ts) => ts + 1).find((x) => x > times[0]! && Math.floor(x / chooseStep(to - x)) * chooseStep(to - x) < x)!;
    const inRange = recs.filter((r) => r.collectTs >= from && r.collectTs < to);
    assert.ok(inRange.length > 0 && inRange.length < recs.filter((r) => r.collectTs >= from - chooseStep(to - from)).length);
    const d = await json<{ totals: { flows: number; bytes: number; packets: number } }>(`/api/overview?from=${from}&to=${to}`);
    const search = await json<{ total: number }>(`/api/flows?from=${from}&to=${to}&limit=1`);
    assert.equal(d.totals.flows, search.total);
    assert.equal(d.totals.flows, inRange.length);
    assert.equal(d.totals.bytes, inRange.reduce((a, r) => a + r.bytes, 0));
    assert.equal(d.totals.packets, inRange.reduce((a, r) => a + r.packets, 0));
  });

  test('/api/overview with from=0 starts at the oldest stored flow', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const to = f.startedAt - SETTLED_MS + 1;
    const d = await json<{ from: number; totals: { flows: number } }>(`/api/overview?from=0&to=${to}`);
    assert.equal(d.from, Math.min(...recs.map((r) => r.collectTs)));
    assert.equal(d.totals.flows, recs.length);
  });

  test('/api/interfaces: each flow in on its input interface and out on its output one, per exporter; filters and limit', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const from = f.startedAt - 2 * 3600e3, to = f.startedAt - SETTLED_MS + 1;
    const d = await json<{ interfaces: { exporter: string; ifIndex: number; name: string; inBytes: number; outBytes: number; inFlows: number; outFlows: number }[] }>(`/api/interfaces?from=${from}&to=${to}&limit=10000`);
    // Names where the exporter gave them (options data), none elsewhere.
    assert.deepEqual(d.interfaces.filter((x) => x.name !== '').map((x) => [x.exporter, x.ifIndex, x.name]).sort(),
      Object.entries(NAMED_INTERFACES).map(([i, n]) => [NAMED_EXPORTER, Number(i), n]).sort());
    const sum = (side: 'in' | 'out', key: 'bytes' | 'flows') => d.interfaces.reduce((a, x) => a + (side === 'in' ? (key === 'bytes' ? x.inBytes : x.inFlows) : (key === 'bytes' ? x.outBytes : x.outFlows)), 0);
    for (const side of ['in', 'out'] as const) {
      assert.equal(sum(side, 'bytes'), recs.reduce((a, r) => a + r.bytes, 0), `${side}: every byte once`);
      assert.equal(sum(side, 'flows'), recs.length, `${side}: every flow once`);
    }
    const r0 = recs.find((r) => r.inIf > 0)!;
    const one = d.interfaces.find((x) => x.exporter === r0.exporterIp && x.ifIndex === r0.inIf)!;
    const want = recs.filter((r) => r.exporterIp === r0.exporterIp && r.inIf === r0.inIf);
    assert.deepEqual([one.inFlows, one.inBytes], [want.length, want.reduce((a, r) => a + r.bytes, 0)]);
    const filtered = await json<{ interfaces: { exporter: string }[] }>(`/api/interfaces?from=${from}&to=${to}&exporter=${r0.exporterIp}`);
    assert.ok(filtered.interfaces.length > 0 && filtered.interfaces.every((x) => x.exporter === r0.exporterIp));
    assert.equal((await json<{ interfaces: unknown[] }>(`/api/interfaces?from=${from}&to=${to}&limit=2`)).interfaces.length, 2);
    assert.equal((await get(`/api/interfaces?from=${from}&to=${to}&limit=0`)).status, 400);
    // The flows of one interface, either side, as the card's link asks for them: one that some flows
    // came in on and others went out by.
    const both = recs.find((r) => r.inIf > 0 && recs.some((o) => o.exporterIp === r.exporterIp && o.outIf === r.inIf))!;
    const ifFlows = await json<{ total: number }>(`/api/flows?from=${from}&to=${to}&exporter=${both.exporterIp}&ifIndex=${both.inIf}&limit=1`);
    const ins = recs.filter((r) => r.exporterIp === both.exporterIp && r.inIf === both.inIf).length;
    const either = recs.filter((r) => r.exporterIp === both.exporterIp && (r.inIf === both.inIf || r.outIf === both.inIf)).length;
    assert.ok(either > ins, 'some flows went out by it');
    assert.equal(ifFlows.total, either);
    assert.equal((await get(`/api/flows?ifIndex=4294967296`)).status, 400);
  });

  test('/api/flows filters by address, CIDR, port, protocol and exporter, and pages', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const ip = '202.160.21.5';
    const a = await json<{ total: number; rows: { srcIp: string; dstIp: string; dstThreat: string[]; srcThreat: string[] }[] }>(`/api/flows?ip=${ip}&limit=1000`);
    assert.equal(a.total, recs.filter((r) => r.srcIp === ip || r.dstIp === ip).length);
    assert.ok(a.total > 0);
    for (const r of a.rows) {
      assert.ok(r.srcIp === ip || r.dstIp === ip);
      assert.deepEqual(r.srcIp === ip ? r.srcThreat : r.dstThreat, [LISTED[ip]]);
    }
    const cidr = await json<{ total: number }>('/api/flows?ip=192.168.1.0/24');
    assert.equal(cidr.total, recs.filter((r) => r.srcIp.startsWith('192.168.1.') || r.dstIp.startsWith('192.168.1.')).length);
    const port = await json<{ total: number }>('/api/flows?port=443');
    assert.equal(port.total, recs.filter((r) => r.srcPort === 443 || r.dstPort === 443).length);
    const udp = await json<{ total: number }>('/api/flows?proto=17');
    assert.equal(udp.total, recs.filter((r) => r.proto === 17).length);
    const ex = await json<{ total: number }>('/api/flows?exporter=192.168.1.1');
    assert.equal(ex.total, recs.filter((r) => r.exporterIp === '192.168.1.1').length);
    const threat = await json<{ total: number }>('/api/flows?threat=1');
    assert.equal(threat.total, recs.filter(touchesListed).length);
    // Paging: two pages of 7 together equal the first 14 (compared on the sort key: rows equal in it may come in any order).
    type Row = { ts: number; exporter: string; srcIp: string; dstIp: string; srcPort: number; dstPort: number; bytes: number };
    const key = (r: Row) => [r.ts, r.exporter, r.srcIp, r.dstIp, r.srcPort, r.dstPort, r.bytes].join('|');
    const p1 = await json<{ rows: Row[] }>('/api/flows?limit=7&offset=0');
    const p2 = await json<{ rows: Row[] }>('/api/flows?limit=7&offset=7');
    const both = await json<{ rows: Row[] }>('/api/flows?limit=14&offset=0');
    assert.equal(p1.rows.length, 7);
    assert.deepEqual([...p1.rows, ...p2.rows].map(key).sort(), both.rows.map(key).sort());
    assert.ok(p1.rows[0]!.ts >= p2.rows[6]!.ts, 'newest first');
    const past = await json<{ rows: Row[]; total: number }>(`/api/flows?limit=7&offset=${recs.length}`);
    assert.equal(past.rows.length, 0);
    assert.equal(past.total, recs.length);
    // A time window before the replay holds nothing.
    const old = await json<{ total: number }>(`/api/flows?from=${f.startedAt - 48 * 3600e3}&to=${f.startedAt - 47 * 3600e3}`);
    assert.equal(old.total, 0);
  });

  test('/api/flows rejects bad input with 400 and a reason', async (t) => {
    if (!ready(t)) return;
    for (const q of ['ip=10.0.0.0/33', 'ip=not-an-ip', 'port=70000', 'proto=abc', 'from=5&to=4', 'format=xml']) {
      const r = await get(`/api/flows?${q}`);
      assert.equal(r.status, 400, q);
      assert.ok((JSON.parse(r.body) as { error: string }).error.length > 0);
    }
  });

  test('CSV and NDJSON exports hold every matching row', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords();
    const n = recs.filter((r) => r.proto === 6).length;
    const csv = await get('/api/flows?proto=6&format=csv');
    assert.equal(csv.status, 200);
    assert.match(csv.type, /text\/csv/);
    const lines = csv.body.trimEnd().split('\n');
    assert.equal(lines[0]!.split(',')[4], 'flow.src.ip.addr');
    assert.equal(lines.length, n + 1);
    const nd = await get('/api/flows?proto=6&format=ndjson');
    const docs = nd.body.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(docs.length, n);
    for (const d of docs) assert.equal(d['l4.proto.id'], 6);
  });

  test('/api/threats: counts, breakdowns, at-risk servers and high-risk clients', async (t) => {
    if (!ready(t)) return;
    const recs = flowRecords().filter(touchesListed);
    const d = await json<{
      totals: { flows: number; bytes: number; atRiskServers: number; highRiskClients: number };
      byName: { name: string; flows: number }[];
      byFeed: { feed: string; flows: number }[];
      byNetwork: { network: string; flows: number; bytes: number }[];
      atRiskServers: { ip: string; names: string[]; network: string }[];
      highRiskClients: { ip: string; flows: number; peers: number; network: string }[];
      recent: { srcIp: string; dstIp: string }[];
    }>('/api/threats');
    assert.equal(d.totals.flows, recs.length);
    assert.equal(d.totals.bytes, recs.reduce((a, r) => a + r.bytes, 0));
    for (const [ip, name] of Object.entries(LISTED)) {
      const n = recs.filter((r) => r.srcIp === ip || r.dstIp === ip).length;
      assert.equal(d.byName.find((x) => x.name === name)?.flows, n, name);
    }
    assert.deepEqual(d.byFeed.map((x) => [x.feed, x.flows]), [['riskiq', recs.length]]);
    for (const r of d.recent) assert.ok(touchesListed(r));
    // Client and server as the orientation says (unknown: the source is the client).
    const client = (r: (typeof recs)[number]) => (r.orientation === 2 ? r.dstIp : r.srcIp);
    const server = (r: (typeof recs)[number]) => (r.orientation === 2 ? r.srcIp : r.dstIp);
    const listedClients = new Set(recs.map(client).filter((ip) => LISTED[ip] !== undefined));
    assert.ok(listedClients.size > 0);
    assert.deepEqual(d.highRiskClients.map((c) => c.ip).sort(), [...listedClients].sort());
    // The counts are of every one, not of the 20 listed.
    assert.equal(d.totals.highRiskClients, listedClients.size);
    assert.equal(d.totals.atRiskServers, d.atRiskServers.length);
    // Past the list's limit, the store still counts them all.
    const q = flowQueryFrom(f.collector.outputs)!;
    const r = { from: 0, to: f.startedAt };
    assert.equal((await q.highRiskClients({ ...r, limit: 1 })).length, 1);
    assert.deepEqual(await q.threatEndCounts(r), { atRiskServers: d.atRiskServers.length, highRiskClients: listedClients.size });
    for (const c of d.highRiskClients) {
      const mine = recs.filter((r) => client(r) === c.ip);
      assert.equal((c as { flows?: number }).flows, mine.length, c.ip);
      assert.equal((c as { peers?: number }).peers, new Set(mine.map(server)).size, c.ip);
    }
    for (const sv of d.atRiskServers) {
      const mine = recs.filter((r) => server(r) === sv.ip && LISTED[client(r)] !== undefined);
      assert.ok(mine.length > 0 && LISTED[sv.ip] === undefined, sv.ip);
      assert.deepEqual(sv.names, [...new Set(mine.map((r) => LISTED[client(r)]!))].sort());
      assert.equal(sv.network, sv.ip.startsWith('192.168.1.') ? OFFICE_NAME : '', sv.ip);
    }
    // The named network's threat flows: either end in it (each flow once per end in it).
    const inNet = recs.filter((r) => r.srcSubnetName === OFFICE_NAME).length + recs.filter((r) => r.dstSubnetName === OFFICE_NAME).length;
    const netBytes = recs.reduce((a, r) => a + (r.srcSubnetName === OFFICE_NAME ? r.bytes : 0) + (r.dstSubnetName === OFFICE_NAME ? r.bytes : 0), 0);
    assert.ok(inNet > 0);
    assert.deepEqual(d.byNetwork, [{ network: OFFICE_NAME, flows: inNet, bytes: netBytes }]);
    assert.ok(d.highRiskClients.every((c) => c.network === ''), 'listed addresses are in no named network');
  });
}

/**
 * Registered after every other test of its file: it stores flows of its own, which the others'
 * expected counts do not hold.
 */
export function storeOrderTests(fixture: () => WebFixture | null): void {
  async function getJson<T>(url: string): Promise<T> {
    const res = await fetch(url);
    const body = await res.text();
    assert.equal(res.status, 200, `${url}: ${body}`);
    return JSON.parse(body) as T;
  }
  test('/api/flows pages give every flow once, in the same order as one page, when flows tie on time, exporter, addresses, ports and bytes', async (t) => {
    const f = fixture();
    if (f === null) {
      t.skip('store not available');
      return;
    }
    // 24 flows alike in all of those (one exporter's datagrams with one export time), differing in protocol, packets and interface.
    const T = f.startedAt - 30 * 3600e3;
    const recs = Array.from({ length: 24 }, (_, i) => Object.assign(new FlowRecord(), {
      collectTs: T, exportTs: T, startTs: T, endTs: T, exporterIp: '192.0.2.77', ipVersion: 4, srcIp: '10.77.0.1', dstIp: '10.77.0.2',
      srcPort: 1000, dstPort: 2000, bytes: 5000, proto: i % 2 === 0 ? 6 : 17, packets: 100 + 10 * Math.floor(i / 8) + (i % 8), inIf: i % 8,
    }));
    const store = f.collector.outputs.find((o) => o.name === 'duckdb' || o.name === 'clickhouse')!;
    store.write(recs);
    await store.flush();
    const range = `from=${T - 1000}&to=${T + 1000}&ip=10.77.0.1`;
    const all = await getJson<{ total: number; rows: { packets: number }[] }>(`${f.url}/api/flows?${range}&limit=24`);
    assert.equal(all.total, 24);
    const paged: number[] = [];
    for (let offset = 0; offset < 24; offset++) paged.push((await getJson<{ rows: { packets: number }[] }>(`${f.url}/api/flows?${range}&limit=1&offset=${offset}`)).rows[0]!.packets);
    assert.deepEqual(paged, all.rows.map((r) => r.packets), 'one page at a time, as on one page');
    assert.deepEqual([...paged].sort((a, b) => a - b), recs.map((r) => r.packets).sort((a, b) => a - b), 'each flow once');
    const csv = (await (await fetch(`${f.url}/api/flows?${range}&format=csv`)).text()).trim().split('\n');
    assert.equal(csv.length, 25, 'a header and 24 rows');
  });
}

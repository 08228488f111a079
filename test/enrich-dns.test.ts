/**
 * Reverse-DNS host names (EF_PROCESSOR_ENRICH_IPADDR_DNS_*) against the DNS TEST SERVER
 * (test/servers/dns-test-server.ts; no real name server may be asked from here), through Node's own
 * resolver: names for IPv4 and IPv6 ends, "no name" and failures kept and asked again when they
 * expire, private/public switches, the bounds on the cache and on lookups in flight, a batch that
 * never waits for an answer, and a running collector whose file output and embedded store carry the
 * names (decode worker and main thread).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DnsEnricher, DNS_PENDING_MAX, hostNameOf, type DnsOptions } from '../src/enrich/dns.js';
import { FlowRecord, Orientation, type Locality } from '../src/record/flow-record.js';
import { encodeRecord } from '../src/record/json.js';
import { loadConfig } from '../src/config/load.js';
import { Collector } from '../src/collector.js';
import { flowQueryFrom } from '../src/store/query.js';
import { createMetrics } from '../src/web/metrics.js';
import { exportersView } from '../src/web/exporters-view.js';
import { DnsTestServer, ptrName } from './servers/dns-test-server.js';
import { tempDir, testConfig, until } from './helpers/collect.js';

const TESTDATA = join(import.meta.dirname, '..', '..', 'shared', 'testdata');

const rec = (src: string, dst: string, srcLocality: Locality = 'public', dstLocality: Locality = 'public'): FlowRecord =>
  Object.assign(new FlowRecord(), { collectTs: 1_700_000_000_000, srcIp: src, dstIp: dst, srcLocality, dstLocality });

async function withServer(fn: (s: DnsTestServer, opts: DnsOptions) => Promise<void>, over: Partial<DnsOptions> = {}): Promise<void> {
  const s = new DnsTestServer();
  await s.start();
  try {
    await fn(s, { servers: [s.address], timeoutMs: 300, resolvePrivate: true, resolvePublic: true, cacheSize: 1000, ttlS: 3600, ...over });
  } finally {
    await s.stop();
  }
}

test('PTR names for IPv4 and IPv6 ends; none for an unknown address; the first batch goes on unnamed, later ones are named from the cache without asking again', async () => {
  await withServer(async (s, opts) => {
    s.set('198.51.100.7', { name: 'www.example.net.' });
    s.set('2001:db8::1:5', { name: 'v6.example.org' });
    const e = new DnsEnricher(opts);
    await e.start();
    const first = [rec('198.51.100.7', '2001:db8::1:5'), rec('203.0.113.9', '198.51.100.7')];
    e.enrich(first);
    assert.deepEqual(first.map((r) => [r.srcHost, r.dstHost]), [['', ''], ['', '']], 'nothing waits for an answer');
    assert.equal(e.stats.lookups, 3, 'one lookup per address, however many flows ask');
    await until(() => e.stats.named + e.stats.unnamed === 3);
    const second = [rec('198.51.100.7', '2001:db8::1:5'), rec('203.0.113.9', '198.51.100.7')];
    e.enrich(second);
    assert.deepEqual(second.map((r) => [r.srcHost, r.dstHost]), [['www.example.net', 'v6.example.org'], ['', 'www.example.net']]);
    assert.deepEqual({ named: e.stats.named, unnamed: e.stats.unnamed, failed: e.stats.failed }, { named: 2, unnamed: 1, failed: 0 });
    assert.equal(s.total(), 3, 'answers, "no name" included, came from the cache');
    assert.equal(s.asked.get(ptrName('2001:db8::1:5')), 1);
    assert.equal(ptrName('2001:db8::1:5'), '5.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    // Client and server views follow the orientation.
    second[0]!.orientation = Orientation.DstIsClient;
    const doc = JSON.parse(encodeRecord(second[0]!, { ecs: false, timestampSource: 'collect' })) as Record<string, unknown>;
    assert.deepEqual([doc['flow.src.host.name'], doc['flow.dst.host.name'], doc['flow.client.host.name'], doc['flow.server.host.name']], ['www.example.net', 'v6.example.org', 'v6.example.org', 'www.example.net']);
    const ecs = JSON.parse(encodeRecord(second[0]!, { ecs: true, timestampSource: 'collect' })) as Record<string, unknown>;
    assert.deepEqual([ecs['source.domain'], ecs['destination.domain'], ecs['client.domain']], ['www.example.net', 'v6.example.org', 'v6.example.org']);
    await e.stop();
  });
});

test('exporter names: one lookup an exporter, flow and counter records alike, by the registries\' locality; ECS observer.hostname', async () => {
  for (const resolvePublic of [true, false]) {
    await withServer(async (s, opts) => {
      s.set('10.0.0.1', { name: 'core-1.example.' });
      s.set('1.1.1.1', { name: 'edge-1.example.' });
      // 1.1.1.1 is public; its PTR name is asked of the local test server only (opts.servers).
      const e = new DnsEnricher({ ...opts, resolvePublic });
      const batch = (): FlowRecord[] => {
        const out: FlowRecord[] = [];
        for (const exporterIp of ['10.0.0.1', '10.0.0.1', '1.1.1.1', '10.0.0.1']) out.push(Object.assign(rec('', ''), { exporterIp }));
        out.push(Object.assign(new FlowRecord(), { kind: 'counter' as const, exporterIp: '1.1.1.1' }));
        return out;
      };
      e.enrich(batch());
      assert.equal(e.stats.lookups, resolvePublic ? 2 : 1, 'one lookup an exporter; a public one only when public addresses are looked up');
      await until(() => e.stats.named === e.stats.lookups);
      const named = batch();
      e.enrich(named);
      const pub = resolvePublic ? 'edge-1.example' : '';
      assert.deepEqual(named.map((r) => r.exporterHost), ['core-1.example', 'core-1.example', pub, 'core-1.example', pub]);
      assert.deepEqual([s.asked.get(ptrName('10.0.0.1')), s.asked.get(ptrName('1.1.1.1'))], [1, resolvePublic ? 1 : undefined]);
      const ecs = JSON.parse(encodeRecord(named[0]!, { ecs: true, timestampSource: 'collect' })) as Record<string, unknown>;
      const codex = JSON.parse(encodeRecord(named[0]!, { ecs: false, timestampSource: 'collect' })) as Record<string, unknown>;
      assert.deepEqual([ecs['observer.hostname'], codex['flow.export.host.name']], ['core-1.example', 'core-1.example']);
      await e.stop();
    });
  }
});

test('a failed lookup (server failure, no answer) is asked again after the retry time, not the TTL; an answer is kept for the TTL', async () => {
  await withServer(async (s, opts) => {
    s.set('198.51.100.1', 'servfail');
    s.set('198.51.100.3', { name: 'kept.example' });
    const e = new DnsEnricher(opts);
    e.enrich([rec('198.51.100.1', '198.51.100.3')]);
    await until(() => e.stats.failed === 1 && e.stats.named === 1, 3000);
    assert.deepEqual({ failed: e.stats.failed, named: e.stats.named }, { failed: 1, named: 1 }, 'the failure and the answer came');
    e.enrich([rec('198.51.100.1', '198.51.100.3')]);
    assert.equal(e.stats.lookups, 2, 'neither asked again at once');
    await new Promise((r) => setTimeout(r, 1100));
    e.enrich([rec('198.51.100.1', '198.51.100.3')]);
    assert.equal(e.stats.lookups, 3, 'the failure asked again after the retry time (1 s here); the answer kept (TTL 3,600 s)');
    await e.stop();
  }, { retryS: 1 });
});

test('while lookups fail, the last name serves at most one TTL past its expiry, then the address goes unnamed', async () => {
  // A TTL of 3 s: the bound (two TTLs, 6 s, plus a retry's second) and three TTLs (9 s) are seconds apart.
  const ttlMs = 3000;
  await withServer(async (s, opts) => {
    s.set('198.51.100.4', { name: 'was.example' });
    const e = new DnsEnricher(opts);
    e.enrich([rec('198.51.100.4', '')]);
    await until(() => e.stats.named === 1);
    const answeredAt = Date.now();
    s.set('198.51.100.4', 'servfail');
    const seen: [number, string][] = [];
    while (Date.now() - answeredAt < 3 * ttlMs) {
      const r = rec('198.51.100.4', '');
      e.enrich([r]);
      seen.push([Date.now() - answeredAt, r.srcHost]);
      if (r.srcHost === '') break;
      await new Promise((ok) => setTimeout(ok, 200));
    }
    const last = seen[seen.length - 1]!;
    assert.equal(last[1], '', `still named after three TTLs: ${JSON.stringify(seen)}`);
    // Two TTLs and a retry is about 7.4 s at worst (each retry waits for a 200 ms poll); a margin on a
    // loaded machine, still short of three TTLs.
    assert.ok(last[0] < 3 * ttlMs - 500, `named until ${last[0]} ms, near three TTLs: ${JSON.stringify(seen)}`);
    assert.ok(seen.some(([t, n]) => t > ttlMs + 100 && n === 'was.example'), `served past its TTL while the server failed: ${JSON.stringify(seen)}`);
    assert.ok(e.stats.failed >= 2, `${e.stats.failed} failed lookups, expected at least 2`);
    await e.stop();
  }, { ttlS: ttlMs / 1000, retryS: 1 });
});

test('an answer expires after the TTL and is asked again while the old name serves', async () => {
  await withServer(async (s, opts) => {
    s.set('198.51.100.1', 'servfail');
    s.set('198.51.100.2', 'silent');
    s.set('198.51.100.3', { name: 'old.example' });
    // ttlS 1, no retryS: failures are asked again after min(DNS_RETRY_S, TTL) = 1 s.
    const e = new DnsEnricher(opts);
    e.enrich([rec('198.51.100.1', '198.51.100.2'), rec('198.51.100.3', '')]);
    await until(() => e.stats.failed === 2 && e.stats.named === 1, 3000);
    assert.deepEqual({ failed: e.stats.failed, named: e.stats.named }, { failed: 2, named: 1 });
    e.enrich([rec('198.51.100.1', '198.51.100.2')]);
    assert.equal(e.stats.lookups, 3, 'failures are not asked again at once');
    await new Promise((r) => setTimeout(r, 1100));
    s.set('198.51.100.3', { name: 'new.example' });
    const r = rec('198.51.100.1', '198.51.100.3');
    e.enrich([r]);
    assert.equal(r.dstHost, 'old.example', 'the expired answer serves while it is asked again');
    assert.equal(e.stats.lookups, 5, 'both expired (TTL 1 s): asked again');
    await until(() => e.stats.named === 2, 3000);
    const later = rec('', '198.51.100.3');
    e.enrich([later]);
    assert.equal(later.dstHost, 'new.example');
    await e.stop();
  }, { ttlS: 1 });
});

test('private and public addresses are looked up as configured', async () => {
  for (const [resolvePrivate, resolvePublic] of [[false, true], [true, false]] as const) {
    await withServer(async (s, opts) => {
      s.set('10.1.2.3', { name: 'inside.lan' });
      s.set('198.51.100.7', { name: 'outside.example' });
      const e = new DnsEnricher(opts);
      e.enrich([rec('10.1.2.3', '198.51.100.7', 'private', 'public')]);
      await until(() => e.stats.named === 1);
      const r = rec('10.1.2.3', '198.51.100.7', 'private', 'public');
      e.enrich([r]);
      assert.deepEqual([r.srcHost, r.dstHost], [resolvePrivate ? 'inside.lan' : '', resolvePublic ? 'outside.example' : '']);
      assert.equal(s.total(), 1);
      await e.stop();
    }, { resolvePrivate, resolvePublic });
  }
});

test('bounds: the cache keeps at most _CACHE_SIZE answers, the newest; lookups in flight stop at DNS_PENDING_MAX and the rest wait for a later flow (counted)', async () => {
  await withServer(async (s, opts) => {
    const e = new DnsEnricher(opts);
    for (let i = 1; i <= 9; i++) {
      s.set(`198.51.100.${i}`, { name: `h${i}.example` });
      e.enrich([rec(`198.51.100.${i}`, '')]);
      await until(() => e.stats.named === i);
      assert.equal(e.stats.named, i, `answer ${i} came`);
      assert.ok(e.cached <= 4, `${e.cached} answers held after ${i}`);
    }
    assert.ok(e.cached >= 2);
    const newest = rec('198.51.100.9', '');
    const oldest = rec('198.51.100.1', '');
    e.enrich([newest, oldest]);
    assert.deepEqual([newest.srcHost, oldest.srcHost], ['h9.example', ''], 'the oldest answers went');
    await e.stop();
  }, { cacheSize: 4 });
  await withServer(async (s, opts) => {
    const e = new DnsEnricher(opts);
    const batch: FlowRecord[] = [];
    for (let i = 0; i < DNS_PENDING_MAX + 5; i++) batch.push(rec(`10.9.${i >> 8}.${i & 255}`, '', 'private'));
    for (let i = 0; i < DNS_PENDING_MAX + 5; i++) s.set(batch[i]!.srcIp, 'silent');
    // enrich() returns before any answer: it is synchronous, and lookups end (here by timing out
    // after 300 ms) only on later turns of the event loop. (A bound on its time was load-dependent.)
    e.enrich(batch);
    assert.equal(e.stats.lookups, DNS_PENDING_MAX);
    assert.equal(e.stats.deferred, 5);
    assert.equal(e.stats.failed, 0, `the batch did not wait for the ${DNS_PENDING_MAX} unanswered lookups`);
    await until(() => e.stats.failed === DNS_PENDING_MAX, 5000);
    assert.equal(e.stats.failed, DNS_PENDING_MAX);
    await e.stop();
  });
});

test('names the resolver writes escaped read as text: UTF-8 labels as their characters, special characters as themselves; a dot in a label, a backslash, control characters and bytes that are not UTF-8 stay escaped; 253 octets counted on the wire form', async () => {
  // As c-ares writes them (zone-file escapes).
  assert.equal(hostNameOf(['\\195\\169t\\195\\169.example.']), 'été.example');
  assert.equal(hostNameOf(['a\\(1\\)\\;b.example.']), 'a(1);b.example');
  assert.equal(hostNameOf(['new\\010line.dot\\.inside.back\\\\slash.example.']), 'new\\010line.dot\\.inside.back\\\\slash.example');
  assert.equal(hostNameOf(['bad\\195x.example']), 'bad\\195x.example', 'a lone UTF-8 lead byte stays escaped');
  // C1 controls are control characters too (U+009B is a terminal's CSI).
  assert.equal(hostNameOf(['x\\194\\155[31mred.example.']), 'x\\194\\155[31mred.example');
  assert.equal(hostNameOf(['a\\194\\133b.example.']), 'a\\194\\133b.example');
  // The root's dot goes after a label ending in a backslash (escaped), not an escaped dot.
  assert.equal(hostNameOf(['we\\\\.']), 'we\\\\');
  assert.equal(hostNameOf(['dot\\.']), 'dot\\.');
  // 126 two-octet characters and a dot: 253 octets on the wire, 1,009 characters escaped.
  const long = '\\195\\169'.repeat(63) + '.' + '\\195\\169'.repeat(63);
  assert.equal(hostNameOf([long + '.']), 'é'.repeat(63) + '.' + 'é'.repeat(63));
  assert.equal(hostNameOf([long + 'x.']), '', '254 octets');
  // From a name server answering raw label bytes, through the resolver.
  await withServer(async (s, opts) => {
    s.set('198.51.100.7', { name: 'été.example.' });
    s.set('198.51.100.8', { name: 'a\u0007b.example.' });
    const e = new DnsEnricher(opts);
    await e.start();
    e.enrich([rec('198.51.100.7', '198.51.100.8')]);
    await until(() => e.stats.named === 2);
    const r = rec('198.51.100.7', '198.51.100.8');
    e.enrich([r]);
    assert.deepEqual([r.srcHost, r.dstHost], ['été.example', 'a\\007b.example']);
    await e.stop();
  });
});

test('PTR answers: the final dot goes, names past 253 characters are refused, no answer is no name; name servers are checked with the configuration', () => {
  assert.equal(hostNameOf(['a.example.', 'b.example']), 'a.example');
  assert.equal(hostNameOf([]), '');
  assert.equal(hostNameOf(['x'.repeat(254)]), '');
  assert.equal(hostNameOf(['x'.repeat(253)]), 'x'.repeat(253));
  const bad = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP: '127.0.0.1:53,[::1]:5353,::1,dns.example,127.0.0.1:0,10.0.0.1:99999,fe80::1%eth0' } });
  assert.ok(bad.errors.some((e) => e.startsWith('EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP') && e.includes('bad: dns.example, 127.0.0.1:0, 10.0.0.1:99999, fe80::1%eth0')), bad.errors.join('\n'));
  const good = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP: '127.0.0.1:53,[::1]:5353,::1' } });
  assert.deepEqual(good.config?.EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP, ['127.0.0.1:53', '[::1]:5353', '::1']);
});

test('a running collector names flow ends from the name server: file output from a decode worker and from the main thread, and the embedded store', async () => {
  const packet = readFileSync(join(TESTDATA, 'logstash-codec-netflow', 'dat', 'netflow5_test_microtik.dat'));
  await withServer(async (s) => {
    async function run(workers: string, store: boolean): Promise<{ docs: Record<string, unknown>[]; stored: Record<string, unknown>[]; metrics: Map<string, number>; exporterHost: string | undefined }> {
      const dir = tempDir('ufc-dns-');
      const c = new Collector(testConfig({
        EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: workers,
        EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: join(dir, 'f.ndjson'), EF_OUTPUT_DUCKDB_ENABLE: String(store),
        EF_PROCESSOR_ENRICH_IPADDR_DNS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP: s.address, EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_TIMEOUT: '500',
      }));
      await c.start();
      const [port] = await c.listen();
      assert.equal(c.pool?.size ?? 0, Number(workers));
      const sock = dgram.createSocket('udp4');
      // The first datagram's flows start the lookups; the second's, after the answers, carry the names.
      await new Promise<void>((r) => sock.send(packet, port!, '127.0.0.1', () => r()));
      await until(() => c.pipeline.stats.totals().records >= 30);
      assert.ok(c.pipeline.stats.totals().records >= 30, `${workers} workers: the first datagram's 30 records decoded (${c.pipeline.stats.totals().records})`);
      await new Promise((r) => setTimeout(r, 700));
      await new Promise<void>((r) => sock.send(packet, port!, '127.0.0.1', () => r()));
      sock.close();
      await until(() => c.pipeline.stats.totals().records >= 60);
      assert.ok(c.pipeline.stats.totals().records >= 60, `${workers} workers: both datagrams' 60 records decoded (${c.pipeline.stats.totals().records})`);
      await c.flush();
      const now = Date.now();
      const stored = store ? (await flowQueryFrom(c.outputs)!.search({ from: now - 3_600_000, to: now + 60_000, limit: 100 })).rows : [];
      // A worker reports its counters once a second.
      if (workers !== '0') await until(() => (c.enricherCounters()['dns']?.['lookups'] ?? 0) > 0, 3000);
      const text = await createMetrics(c).metrics();
      await c.pool?.sync();
      const exporterHost = exportersView(c).find((e) => e.exporter === '127.0.0.1')?.host;
      const metrics = new Map([...text.matchAll(/^ufc_enricher_events_total\{enricher="dns",counter="(\w+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
      await c.stop();
      return { docs: readFileSync(join(dir, 'f.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>), stored, metrics, exporterHost };
    }
    const plain = await run('0', false);
    const addrs = [...new Set(plain.docs.flatMap((d) => [d['flow.src.ip.addr'], d['flow.dst.ip.addr']]) as string[])];
    assert.ok(addrs.length >= 4 && !addrs.includes('127.0.0.1'), addrs.join(', '));
    assert.ok(plain.docs.every((d) => d['flow.src.host.name'] === undefined && d['flow.export.host.name'] === undefined), 'nothing answered: no names');
    const listed = addrs.filter((_, i) => i % 2 === 0);
    for (const a of listed) s.set(a, { name: `host-${a.replace(/[.:]/g, '-')}.example.` });
    const nameOf = (a: unknown): string | undefined => (listed.includes(a as string) ? `host-${(a as string).replace(/[.:]/g, '-')}.example` : undefined);
    // The flow ends' addresses and the exporter's (the datagrams come from 127.0.0.1).
    assert.equal(plain.metrics.get('lookups'), addrs.length + 1, 'one lookup an address; /metrics counts them');
    assert.equal(plain.metrics.get('unnamed'), addrs.length + 1);
    s.set('127.0.0.1', { name: 'exporter.example.' });
    for (const workers of ['1', '0']) {
      const { docs, stored, metrics, exporterHost } = await run(workers, workers === '0');
      assert.equal(exporterHost, 'exporter.example', `${workers} workers: the Exporters page names the exporter`);
      assert.deepEqual([metrics.get('lookups'), metrics.get('named'), metrics.get('unnamed'), metrics.get('failed'), metrics.get('deferred')], [addrs.length + 1, listed.length + 1, addrs.length - listed.length, 0, 0], `${workers} workers: /metrics`);
      assert.equal(docs.length, 60);
      for (const d of docs.slice(30)) {
        assert.equal(d['flow.src.host.name'], nameOf(d['flow.src.ip.addr']), `${workers} workers: ${JSON.stringify(d)}`);
        assert.equal(d['flow.dst.host.name'], nameOf(d['flow.dst.ip.addr']), `${workers} workers: ${JSON.stringify(d)}`);
        assert.equal(d['flow.export.host.name'], 'exporter.example');
      }
      if (workers === '0') {
        const named = (ds: Record<string, unknown>[]): Record<string, unknown>[] => ds.filter((d) => d['flow.src.host.name'] !== undefined || d['flow.dst.host.name'] !== undefined);
        assert.ok(named(docs).length > 0);
        assert.equal(named(stored).length, named(docs).length, 'the store keeps the names the file got');
        for (const d of named(stored)) {
          assert.equal(d['flow.src.host.name'], nameOf(d['flow.src.ip.addr']));
          assert.equal(d['flow.dst.host.name'], nameOf(d['flow.dst.ip.addr']));
          assert.equal(d['flow.export.host.name'], 'exporter.example');
        }
      }
    }
  });
});

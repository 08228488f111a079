/**
 * A counter past 2^63 is held at MAX_I64 = 9223372036854774784 (the largest double below 2^63), and
 * the stores keep exactly that. Every writer must give those digits: the double's shortest form,
 * 9223372036854775000, is 216 more to an exact 64-bit reader (Python, jq 1.7, an Elasticsearch long),
 * so the file and the CSV export disagreed with what ClickHouse holds. And the ES/OpenSearch test
 * server must take a long up to 2^63 - 1, as a cluster does, and still refuse one past it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ipfixMsg, ipfixTemplate, ip, set } from './helpers/ipfix-build.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';
import { MAX_I64, type FlowRecord } from '../src/record/flow-record.js';
import type { ViewOptions } from '../src/record/fields.js';
import { FileOutput } from '../src/output/file/file.js';
import { DuckDbOutput } from '../src/store/duckdb.js';
import { SearchOutput, type SearchOutputOptions } from '../src/output/elasticsearch/output.js';
import { CSV_COLUMNS } from '../src/web/flow-rows.js';
import { exactJson } from '../src/web/exact-json.js';
import { EsTestServer } from './servers/es-test-server.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { apiServer } from './helpers/api-server.js';

const CODEX: ViewOptions = { ecs: false, timestampSource: 'collect' };
const BOUND = '9223372036854774784';

/**
 * One IPFIX flow (RFC 7011 §3.4.1 template: sourceIPv4Address 8, destinationIPv4Address 12,
 * protocolIdentifier 4, octetDeltaCount 1, packetDeltaCount 2) with octets 2^63 + 5 and packets 2^64 - 1.
 */
function boundRecords(receivedAt: number): FlowRecord[] {
  const opts: TemplateDecoderOptions = { templateLifetimeS: 1e9, pendingMax: 1024, pendingTimeoutS: 1e9, stateDir: '' };
  const dec = new IpfixDecoder(opts);
  const exportS = Math.floor(receivedAt / 1000);
  const counts = Buffer.alloc(16);
  counts.writeBigUInt64BE(2n ** 63n + 5n, 0);
  counts.writeBigUInt64BE(2n ** 64n - 1n, 8);
  const out: FlowRecord[] = [];
  const from = { exporterIp: '192.0.2.9', exporterPort: 4739, receivedAt };
  dec.decode(ipfixMsg([set(2, ipfixTemplate(300, [[8, 4], [12, 4], [4, 1], [1, 8], [2, 8]]))], exportS), from, out);
  dec.decode(ipfixMsg([set(300, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), Buffer.from([17]), counts]))], exportS), from, out);
  dec.drainReleased(out);
  return out;
}

test('a counter held at the int64 bound is written with its exact digits by the file output and the CSV export, as the store holds it', async () => {
  const now = Date.now();
  const recs = boundRecords(now - 1000);
  assert.equal(recs.length, 1, 'one flow decoded');
  assert.deepEqual([recs[0]!.bytes, recs[0]!.packets], [MAX_I64, MAX_I64], 'both counters held at MAX_I64');

  const path = join(tempDir(), 'flows.ndjson');
  const file = new FileOutput({ path, maxBytes: 0, maxFiles: 1, view: CODEX });
  await file.start();
  file.write(recs);
  await file.close();
  const line = readFileSync(path, 'utf8').trim();
  assert.match(line, new RegExp(`"flow\\.bytes":${BOUND}[,}]`), `file output: flow.bytes with the bound's digits: ${line}`);
  assert.match(line, new RegExp(`"flow\\.packets":${BOUND}[,}]`), `file output: flow.packets with the bound's digits: ${line}`);

  const config = testConfig();
  const store = new DuckDbOutput({ path: join(config.EF_DATA_DIR, 'bound.duckdb'), retentionDays: 7, maxBytes: 1 << 30, timestampSource: 'collect', batchMax: 5000, deadlineMs: 10, queueMax: 100_000 });
  await store.start();
  store.write(recs);
  await store.flush();
  const api = await apiServer(config, [store]);
  try {
    const res = await fetch(`${api.origin}/api/flows?from=${now - 60_000}&to=${now + 1}&format=csv`);
    const body = await res.text();
    assert.equal(res.status, 200, `CSV export: ${body}`);
    const csv = body.trim().split('\n');
    assert.equal(csv.length, 2, `a header and one row: ${body}`);
    const cells = csv[1]!.split(',');
    assert.equal(cells[CSV_COLUMNS.indexOf('flow.bytes')], BOUND, 'CSV flow.bytes: the bound the store holds');
    assert.equal(cells[CSV_COLUMNS.indexOf('flow.packets')], BOUND, 'CSV flow.packets: the bound the store holds');
    // The JSON rows and the NDJSON export: the same digits in the text, not the double's shortest form.
    const base = `${api.origin}/api/flows?from=${now - 60_000}&to=${now + 1}`;
    const rows = await (await fetch(base)).text();
    assert.match(rows, new RegExp(`"bytes":${BOUND}[,}]`), `JSON rows: bytes with the bound's digits: ${rows}`);
    assert.match(rows, new RegExp(`"packets":${BOUND}[,}]`), `JSON rows: packets with the bound's digits: ${rows}`);
    const nd = await (await fetch(`${base}&format=ndjson`)).text();
    assert.match(nd, new RegExp(`"flow\\.bytes":${BOUND}[,}]`), `NDJSON export: flow.bytes with the bound's digits: ${nd}`);
    assert.match(nd, new RegExp(`"flow\\.packets":${BOUND}[,}]`), `NDJSON export: flow.packets with the bound's digits: ${nd}`);
  } finally {
    api.close();
    await store.close();
  }
});

function outputOptions(server: EsTestServer, flavor: 'elasticsearch' | 'opensearch'): SearchOutputOptions {
  return {
    flavor,
    connection: { flavor, addresses: [server.address], username: '', password: '', apiKey: '', tls: { enable: false, skipVerification: false, caCertPath: '' }, requestTimeoutMs: 5000 },
    view: CODEX,
    indexPrefix: 'elastiflow-flow',
    indexPeriod: 'none',
    templateEnable: true,
    deadlineMs: 20,
    maxBytes: 256 * 1024,
    batchRecords: 200,
    itemBackoffMs: 20,
  };
}

for (const flavor of ['elasticsearch', 'opensearch'] as const) {
  test(`${flavor}: a counter at the int64 bound is sent with its digits and taken as a long; a long past 2^63 - 1 is refused`, async () => {
    const server = new EsTestServer({ product: flavor });
    await server.start();
    const out = new SearchOutput(outputOptions(server, flavor));
    try {
      await out.start();
      out.write(boundRecords(Date.now() - 1000));
      await out.flush();
      assert.equal(server.docs.length, 1, `the document indexed: ${JSON.stringify(out.counters())}`);
      assert.match(server.docs[0]!.source, new RegExp(`"flow\\.bytes":${BOUND}[,}]`), 'sent with the bound\'s digits');
      assert.equal(out.counters().rejected, 0, 'nothing refused');

      // The same mapping, straight to the server: a long is any integer of int64, judged by its digits.
      const bulk = async (bytes: string): Promise<{ status: number; error?: { reason: string } }> => {
        const res = await fetch(`${server.url}/_bulk`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: `{"index":{"_index":"elastiflow-flow-codex"}}\n{"@timestamp":1700000000000,"flow.bytes":${bytes}}\n`,
        });
        const answer = await res.json() as { items: { index: { status: number; error?: { reason: string } } }[] };
        assert.equal(res.status, 200, `bulk of flow.bytes ${bytes}: ${JSON.stringify(answer)}`);
        return answer.items[0]!.index;
      };
      for (const taken of [BOUND, '9223372036854775807', '-9223372036854775808', '4611686018427387904', '5.0']) {
        assert.equal((await bulk(taken)).status, 201, `flow.bytes ${taken} taken as a long`);
      }
      for (const refused of ['9223372036854775808', '-9223372036854775809', '18446744073709551615', '9.3e18', '1.5']) {
        const item = await bulk(refused);
        assert.equal(item.status, 400, `flow.bytes ${refused} refused`);
        assert.match(item.error?.reason ?? '', /is not a long/, `flow.bytes ${refused}: the reason says so`);
      }
    } finally {
      await out.close();
      await server.stop();
    }
  });
}

test('exactJson: whole numbers of 2^53 or more keep every digit, anywhere in the value; everything else is JSON.stringify\'s', () => {
  const v = { a: MAX_I64, b: [-(2 ** 60), 1e21, 2 ** 53 - 1, 1.5], s: '12345678901234567890', t: 'e+5', n: null };
  assert.equal(exactJson(v), `{"a":${BOUND},"b":[-1152921504606846976,1000000000000000000000,9007199254740991,1.5],"s":"12345678901234567890","t":"e+5","n":null}`, 'big numbers in full, strings untouched');
  const small = { x: 1, y: 'z', list: [1, 2, 3] };
  assert.equal(exactJson(small), JSON.stringify(small), 'no big number: JSON.stringify\'s text');
});

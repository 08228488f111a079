/** Client/server orientation: one test per documented rule, in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientServerEnricher, CLIENT_SERVER_RULES, orientationOf, portClass } from '../src/enrich/client-server.js';
import { FlowRecord, Orientation } from '../src/record/flow-record.js';
import { toDocument } from '../src/record/fields.js';

const SRC = Orientation.SrcIsClient;
const DST = Orientation.DstIsClient;
const NONE = Orientation.Unknown;

test('rule 1: TCP SYN without ACK marks the source as client, whatever the ports', () => {
  assert.equal(orientationOf(6, 80, 51000, 0x02, 0), SRC); // a SYN from port 80 still opens
  assert.equal(orientationOf(6, 443, 40000, 0x02 | 0x01, 0), SRC); // SYN+FIN scan
  // SYN+ACK together: not decisive; ports decide (server 443 is the source here).
  assert.equal(orientationOf(6, 443, 51000, 0x12, 0), DST);
  assert.equal(orientationOf(6, 51000, 443, 0x1b, 0), SRC);
});

test('rule 2: ICMP requests and replies', () => {
  assert.equal(orientationOf(1, 0, 0x0800, 0, 8), SRC); // echo request
  assert.equal(orientationOf(1, 0, 0, 0, 0), DST); // echo reply
  assert.equal(orientationOf(1, 0, 0x0b00, 0, 11), NONE); // time exceeded
  assert.equal(orientationOf(58, 0, 0, 0, 128), SRC);
  assert.equal(orientationOf(58, 0, 0, 0, 136), DST); // neighbour advertisement
  assert.equal(orientationOf(58, 0, 0, 0, 1), NONE); // unreachable
});

test('rule 3: port classes (well-known > registered > dynamic)', () => {
  assert.deepEqual([portClass(1), portClass(1023), portClass(1024), portClass(49151), portClass(49152), portClass(65535)], [0, 0, 1, 1, 2, 2]);
  assert.equal(orientationOf(17, 53000, 53, 0, 0), SRC); // DNS query from dynamic port
  assert.equal(orientationOf(17, 53, 53000, 0, 0), DST); // its answer
  assert.equal(orientationOf(6, 1023, 1024, 0x18, 0), DST); // 1023 well-known beats 1024 registered
  assert.equal(orientationOf(6, 49152, 49151, 0x18, 0), SRC); // 49151 registered beats 49152 dynamic
  assert.equal(orientationOf(132, 60000, 3868, 0, 0), SRC); // SCTP Diameter
  assert.equal(orientationOf(17, 8080, 60000, 0, 0), DST);
});

test('rule 4: same class, lower port is the server', () => {
  assert.equal(orientationOf(6, 40000, 8080, 0x18, 0), SRC); // Linux ephemeral (registered range) to 8080
  assert.equal(orientationOf(6, 3306, 33000, 0x18, 0), DST);
  assert.equal(orientationOf(17, 60000, 50000, 0, 0), SRC); // both dynamic: 50000 serves
  assert.equal(orientationOf(17, 22, 80, 0, 0), DST); // both well-known
});

test('rule 5: equal ports, no ports, other protocols: unknown', () => {
  assert.equal(orientationOf(17, 123, 123, 0, 0), NONE);
  assert.equal(orientationOf(6, 0, 80, 0x18, 0), NONE);
  assert.equal(orientationOf(47, 0, 0, 0, 0), NONE); // GRE
  assert.equal(orientationOf(50, 1000, 2000, 0, 0), NONE); // ESP has no ports
  assert.equal(CLIENT_SERVER_RULES.length, 5);
});

test('ClientServerEnricher feeds flow.client.* / flow.server.*', () => {
  const r = Object.assign(new FlowRecord(), { proto: 6, srcIp: '10.0.0.1', dstIp: '1.1.1.1', srcPort: 443, dstPort: 51515, tcpFlags: 0x18 });
  const c = Object.assign(new FlowRecord(), { kind: 'counter' as const, proto: 6, srcIp: '10.0.0.1', srcPort: 1, dstPort: 2 });
  new ClientServerEnricher().enrich([r, c]);
  assert.equal(r.orientation, DST);
  assert.equal(c.orientation, NONE);
  const doc = toDocument(r, { ecs: false, timestampSource: 'collect' });
  assert.equal(doc['flow.client.ip.addr'], '1.1.1.1');
  assert.equal(doc['flow.client.l4.port.id'], 51515);
  assert.equal(doc['flow.server.ip.addr'], '10.0.0.1');
  assert.equal(doc['flow.server.l4.port.id'], 443);
  const ecs = toDocument(r, { ecs: true, timestampSource: 'collect' });
  assert.equal(ecs['client.ip'], '1.1.1.1');
  assert.equal(ecs['server.port'], 443);
});

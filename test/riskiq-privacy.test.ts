/**
 * The seed's promise, "No internal/private IP addresses are transmitted", as a property: random
 * IPv4 and IPv6 records drawn from every special-purpose range (IANA IPv4 and IPv6 Special-Purpose
 * Address Registries, multicast, reserved, site-local, the prefixes that embed an IPv4 address) and
 * from public space (with its edges next to private blocks) go through the real RiskIQ output; every
 * frame is decrypted and checked against an oracle written here from the registries, not from the
 * code under test:
 *  - no private or special address, and no port of a private end, is in any frame (decoded rows,
 *    and a scan of the raw plaintext for the address bytes and of the empty ends' bytes);
 *  - a record with both ends private (or a counter record) is never sent, and is counted;
 *  - a row holds exactly the seed's attributes, with the record's values.
 * Registry entries that are globally reachable (anycast PCP/TURN, AS112, AMT, ORCHIDv2, 6to4 relay,
 * Teredo, DETs) are public space and may be sent, as the locality enricher documents.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ipv4ToString, ipv6At } from '../src/decode/ip.js';
import { communityId } from '../src/enrich/community-id.js';
import { FlowRecord } from '../src/record/flow-record.js';
import { openFrame, ROW_LEN, decodeRow, type RiskiqRow } from '../src/output/riskiq/frame.js';
import { RiskiqOutput } from '../src/output/riskiq/output.js';
import type { Transport } from '../src/output/riskiq/transport.js';
import { tempDir } from './helpers/collect.js';

const UUID = '527dd194-a116-11af-8380-034aba1ce438';
const KEY = Buffer.from('twBovkmV8YIxx0QyulybZg==', 'base64');
/** The seed's table, in the documented order. */
const SEED_FIELDS = ['start_ms', 'end_ms', 'bytes', 'packets', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'tcp_flags', 'protocol', 'community_id'];

// ---- Address pools: [CIDR, private?] ----

const V4_PRIVATE = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/29', '192.0.0.8/32',
  '192.0.0.170/31', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
  '255.255.255.255/32', '192.0.0.0/24' /* IETF Protocol Assignments, minus the two anycast /32s (filtered below) */,
];
const V4_PUBLIC = [
  '1.0.0.0/8', '8.8.8.0/24', '23.0.0.0/8', '45.0.0.0/8', '173.194.0.0/16', '185.0.0.0/8', '212.0.0.0/8',
  // Edges of private blocks.
  '9.255.255.0/24', '11.0.0.0/24', '100.63.255.0/24', '100.128.0.0/24', '126.255.255.0/24', '128.0.0.0/24', '169.253.255.0/24', '169.255.0.0/24',
  '172.15.255.0/24', '172.32.0.0/24', '192.167.255.0/24', '192.169.0.0/24', '198.17.255.0/24', '198.20.0.0/24', '223.255.255.0/24',
  // Globally reachable registry entries.
  '192.0.0.9/32', '192.0.0.10/32', '192.31.196.0/24', '192.52.193.0/24', '192.88.99.0/24', '192.175.48.0/24',
];
const V6_PRIVATE = [
  '::1/128', '::/128', '64:ff9b:1::/48', '100::/64', '100:0:0:1::/64', '2001:2::/48', '2001:10::/28', '2001:40::/26', '2001:100::/24',
  '2001:4::/48', '2001:db8::/32', '3fff::/20', '5f00::/16', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8',
];
const V6_PUBLIC = [
  '2001:4860::/32', '2a00::/12', '2600::/12', '2c0f::/16', '2001:200::/23', '2400::/6',
  '2001::/32', '2001:1::1/128', '2001:1::2/128', '2001:1::3/128', '2001:3::/32', '2001:4:112::/48', '2001:20::/28', '2001:30::/28', '2620:4f:8000::/48',
];

interface Addr {
  text: string;
  /** The 16-byte wire form (IPv4 mapped). */
  bytes: Buffer;
  priv: boolean;
  /** Text a receiver prints for it. */
  shown: string;
}

function v4Addr(v: number, priv: boolean): Addr {
  const bytes = Buffer.alloc(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.writeUInt32BE(v >>> 0, 12);
  const text = ipv4ToString(v >>> 0);
  return { text, bytes, priv, shown: text };
}

function v4From(cidr: string, rnd: number): number {
  const [base, len] = cidr.split('/') as [string, string];
  const b = base.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(len));
  return b + (rnd % size);
}

function v6From(cidr: string, rnd: Uint8Array): Buffer {
  const [base, lenText] = cidr.split('/') as [string, string];
  const len = Number(lenText);
  const out = Buffer.alloc(16);
  // Expand the prefix text ourselves (a test must not trust the parser it checks).
  const [head, tail] = base.split('::') as [string, string | undefined];
  const hg = head === '' ? [] : head.split(':').map((h) => parseInt(h, 16));
  const tg = tail === undefined || tail === '' ? [] : tail.split(':').map((h) => parseInt(h, 16));
  const groups = [...hg, ...new Array<number>(8 - hg.length - tg.length).fill(0), ...tg];
  groups.forEach((g, i) => out.writeUInt16BE(g, 2 * i));
  for (let bit = len; bit < 128; bit++) {
    const byte = bit >> 3, mask = 0x80 >> (bit & 7);
    if (rnd[byte]! & mask) out[byte] = out[byte]! | mask;
    else out[byte] = out[byte]! & ~mask;
  }
  return out;
}

function v6Addr(bytes: Buffer, priv: boolean): Addr {
  const text = ipv6At(bytes, 0);
  const mapped = bytes.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'));
  return { text, bytes, priv, shown: mapped ? ipv4ToString(bytes.readUInt32BE(12)) : text };
}

const rnd32 = fc.integer({ min: 0, max: 0xffffffff });
const rnd16B = fc.uint8Array({ minLength: 16, maxLength: 16 });

const v4Pool = (cidrs: string[], priv: boolean) => fc.tuple(fc.constantFrom(...cidrs), rnd32)
  .map(([c, r]) => v4From(c, r))
  // 192.0.0.9 and .10 are the globally reachable anycast entries inside 192.0.0.0/24.
  .filter((v) => !priv || (v !== 0xc0000009 && v !== 0xc000000a))
  .map((v) => v4Addr(v, priv));
const v6Pool = (cidrs: string[], priv: boolean) => fc.tuple(fc.constantFrom(...cidrs), rnd16B)
  .map(([c, r]) => v6From(c, r))
  // The PCP/TURN/DNS-SD anycast addresses in 2001:1::/32 are public; the rest of 2001::/23 is not.
  .filter((b) => !priv || !(b.readUInt32BE(0) === 0x20010001 && b.readUInt32BE(4) === 0 && b.readUInt32BE(8) === 0 && b.readUInt32BE(12) <= 3))
  .map((b) => v6Addr(b, priv));

const v4Private = v4Pool(V4_PRIVATE, true);
const v4Public = v4Pool(V4_PUBLIC, false);
const v6Private = v6Pool(V6_PRIVATE, true);
const v6Public = v6Pool(V6_PUBLIC, false);

/** IPv6 forms that carry an IPv4 address are as private as the address they carry. */
const embedded = fc.tuple(fc.oneof(v4Private, v4Public), fc.constantFrom('mapped', 'nat64', '6to4'), rnd16B).map(([a, kind, r]) => {
  const b = Buffer.alloc(16);
  const v4 = a.bytes.readUInt32BE(12);
  if (kind === 'mapped') a.bytes.copy(b);
  else if (kind === 'nat64') {
    b.writeUInt32BE(0x0064ff9b, 0);
    b.writeUInt32BE(v4, 12);
  } else {
    b.writeUInt16BE(0x2002, 0);
    b.writeUInt32BE(v4, 2);
    Buffer.from(r).copy(b, 6, 6, 16);
  }
  return v6Addr(b, a.priv);
});

const anyV4 = fc.oneof(v4Private, v4Public);
const anyV6 = fc.oneof(v6Private, v6Public, embedded);

interface Gen {
  r: FlowRecord;
  src: Addr | null;
  dst: Addr | null;
  /** The locality enricher called this end private (user's EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS). */
  srcUserPrivate: boolean;
  dstUserPrivate: boolean;
}

/** A user-private label decided by the address itself, so one address is never both ways in a batch. */
function userPrivate(a: Addr | null): boolean {
  return a !== null && !a.priv && a.bytes[15]! % 9 === 0;
}

const PROTOS = [6, 17, 1, 58, 47, 132, 50];

const record = fc.record({
  counter: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
  pair: fc.oneof(fc.tuple(anyV4, anyV4), fc.tuple(anyV6, anyV6), fc.tuple(anyV4, anyV6)),
  emptySrc: fc.integer({ min: 0, max: 29 }).map((n) => n === 0),
  emptyDst: fc.integer({ min: 0, max: 29 }).map((n) => n === 0),
  proto: fc.constantFrom(...PROTOS),
  srcPort: fc.integer({ min: 0, max: 65535 }),
  dstPort: fc.integer({ min: 0, max: 65535 }),
  icmpType: fc.integer({ min: 0, max: 255 }),
  icmpCode: fc.integer({ min: 0, max: 255 }),
  start: fc.integer({ min: 0, max: 2 ** 42 }),
  dur: fc.integer({ min: 0, max: 3_600_000 }),
  bytes: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  packets: fc.integer({ min: 0, max: 2 ** 40 }),
  tcpFlags: fc.integer({ min: 0, max: 0xffff }),
  seeded: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: null }),
}).map((g): Gen => {
  const r = new FlowRecord();
  const src = g.emptySrc ? null : g.pair[0];
  const dst = g.emptyDst ? null : g.pair[1];
  if (g.counter) r.kind = 'counter';
  r.srcIp = src?.text ?? '';
  r.dstIp = dst?.text ?? '';
  r.proto = g.proto;
  r.srcPort = g.srcPort;
  r.dstPort = g.dstPort;
  r.icmpType = g.icmpType;
  r.icmpCode = g.icmpCode;
  r.startTs = g.start;
  r.endTs = g.start + g.dur;
  r.bytes = g.bytes;
  r.packets = g.packets;
  r.tcpFlags = g.tcpFlags;
  const srcUserPrivate = userPrivate(src);
  const dstUserPrivate = userPrivate(dst);
  if (srcUserPrivate) r.srcLocality = 'private';
  if (dstUserPrivate) r.dstLocality = 'private';
  // Some records arrive with the Community ID enricher's value (with its seed), others without.
  if (g.seeded !== null && src !== null && dst !== null) {
    r.communityId = r.proto === 1 || r.proto === 58
      ? communityId(r.proto, r.srcIp, r.dstIp, r.icmpType, r.icmpCode, g.seeded)
      : communityId(r.proto, r.srcIp, r.dstIp, r.srcPort, r.dstPort, g.seeded);
  }
  return { r, src, dst, srcUserPrivate, dstUserPrivate };
});

/** The oracle: the row the seed's table says a record becomes, or null. */
function expectedRow(g: Gen): RiskiqRow | null {
  if (g.r.kind !== 'flow') return null;
  const srcPub = g.src !== null && !g.src.priv && !g.srcUserPrivate;
  const dstPub = g.dst !== null && !g.dst.priv && !g.dstUserPrivate;
  if (!srcPub && !dstPub) return null;
  const r = g.r;
  let cid = r.communityId;
  if (cid === '' && r.srcIp !== '' && r.dstIp !== '') {
    cid = r.proto === 1 || r.proto === 58 ? communityId(r.proto, r.srcIp, r.dstIp, r.icmpType, r.icmpCode) : communityId(r.proto, r.srcIp, r.dstIp, r.srcPort, r.dstPort);
  }
  return {
    start_ms: r.startTs,
    end_ms: r.endTs,
    bytes: r.bytes,
    packets: r.packets,
    src_ip: srcPub ? g.src!.shown : null,
    src_port: srcPub ? r.srcPort : null,
    dst_ip: dstPub ? g.dst!.shown : null,
    // ICMP: type × 256 + code in the destination port when the record's port does not carry them.
    dst_port: dstPub ? ((r.proto === 1 || r.proto === 58) && r.dstPort === 0 ? r.icmpType * 256 + r.icmpCode : r.dstPort) : null,
    tcp_flags: r.tcpFlags,
    protocol: r.proto,
    community_id: cid === '' ? null : cid,
  };
}

class MemoryTransport implements Transport {
  frames: Buffer[] = [];
  onReady: () => void = () => {};
  async start(): Promise<void> {}
  canSend(): boolean {
    return true;
  }
  isDown(): boolean {
    return false;
  }
  stopCause(): string {
    return 'not sent in time';
  }
  send(data: Buffer, done: (err: Error | null) => void): void {
    this.frames.push(Buffer.from(data));
    done(null);
  }
  async close(): Promise<void> {}
  counters(): Record<string, number> {
    return {};
  }
}

/** A started output whose frames stay in memory (`mem.frames`), flushed only on demand. */
async function startOutput(): Promise<{ mem: MemoryTransport; out: RiskiqOutput }> {
  const mem = new MemoryTransport();
  const out = new RiskiqOutput({
    host: '127.0.0.1', port: 9, customerUuid: UUID, key: KEY, transport: 'udp', maxFrameBytes: 1400, deadlineMs: 60_000, queueSize: 1_000_000,
    auditPath: '', nonceStatePath: join(tempDir('ufc-riskiq-'), 'nonce'), customTransport: mem,
  });
  await out.start();
  return { mem, out };
}

test('no private or special address, and no port of a private end, ever leaves; both-private records are never sent', async () => {
  const { mem, out } = await startOutput();
  let totalRows = 0;
  let totalSkipped = 0;
  await fc.assert(fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 80 }), async (gens) => {
    mem.frames = [];
    const before = out.counters();
    out.write(gens.map((g) => g.r));
    await out.flush();
    const after = out.counters();

    const expected = gens.map(expectedRow).filter((r): r is RiskiqRow => r !== null);
    const rows: RiskiqRow[] = [];
    const privateBytes = gens.flatMap((g) => [g.src !== null && (g.src.priv || g.srcUserPrivate) ? g.src.bytes : null, g.dst !== null && (g.dst.priv || g.dstUserPrivate) ? g.dst.bytes : null])
      .filter((b): b is Buffer => b !== null);
    for (const f of mem.frames) {
      assert.ok(f.length <= 1400, 'a frame fits the datagram limit');
      const o = openFrame(f, (u) => (u === UUID ? KEY : undefined));
      // Raw plaintext: no private address anywhere (those with enough non-zero bytes that a
      // counter or timestamp cannot spell them by chance) ...
      for (const b of privateBytes) {
        if (b.filter((x) => x !== 0).length >= 6) assert.equal(o.rows.indexOf(b), -1, `private address ${ipv6At(b, 0)} is in the plaintext`);
      }
      for (let i = 0; i < o.count; i++) {
        const off = i * ROW_LEN;
        const presence = o.rows[off + 71]!;
        // ... nor in an address slot of any row (:: is all zero, like an empty end: allowed only as one).
        for (const slot of [32, 50]) {
          const field = o.rows.subarray(off + slot, off + slot + 16);
          for (const b of privateBytes) {
            if (field.equals(b)) assert.equal(presence & (slot === 32 ? 1 : 2), 0, `private address ${ipv6At(b, 0)} in a present end`);
          }
        }
        assert.notEqual(presence & 3, 0, 'a row has at least one public end');
        assert.equal(presence & ~3, 0, 'no other presence bits');
        if ((presence & 1) === 0) assert.ok(o.rows.subarray(off + 32, off + 50).every((x) => x === 0), 'empty source: zero address and port');
        if ((presence & 2) === 0) assert.ok(o.rows.subarray(off + 50, off + 68).every((x) => x === 0), 'empty destination: zero address and port');
        rows.push(decodeRow(o.rows, off));
      }
    }
    for (const row of rows) assert.deepEqual(Object.keys(row), SEED_FIELDS);
    assert.deepEqual(rows, expected);

    const flows = gens.filter((g) => g.r.kind === 'flow');
    const skippedPrivate = flows.length - expected.length;
    assert.equal(after.records_skipped_private! - before.records_skipped_private!, skippedPrivate);
    assert.equal(after.records_skipped_counter! - before.records_skipped_counter!, gens.length - flows.length);
    assert.equal(after.records_sent! - before.records_sent!, expected.length);
    totalRows += expected.length;
    totalSkipped += skippedPrivate;
  }), { numRuns: 400 });
  await out.close();
  // The generator really exercised both sides.
  assert.ok(totalRows > 500 && totalSkipped > 300, `rows ${totalRows}, skipped ${totalSkipped}`);
});

test('every pool is what the oracle says it is: a sample of each private CIDR is skipped, of each public one is sent', async () => {
  const { mem, out } = await startOutput();
  const pub = v4Addr(0x08080808, false);
  const cases: { a: Addr; cidr: string }[] = [];
  for (const c of V4_PRIVATE) cases.push({ a: v4Addr(v4From(c, c === '192.0.0.0/24' ? 200 : 1), true), cidr: c });
  for (const c of V4_PUBLIC) cases.push({ a: v4Addr(v4From(c, 1), false), cidr: c });
  for (const c of V6_PRIVATE) cases.push({ a: v6Addr(v6From(c, new Uint8Array(16).fill(c.startsWith('2001:1::') ? 0 : 0x11)), true), cidr: c });
  for (const c of V6_PUBLIC) cases.push({ a: v6Addr(v6From(c, new Uint8Array(16).fill(0x22)), false), cidr: c });
  const pub6 = v6Addr(v6From('2001:4860::/32', new Uint8Array(16).fill(0x33)), false);
  for (const { a, cidr } of cases) {
    mem.frames = [];
    const r = new FlowRecord();
    r.srcIp = a.text;
    r.dstIp = a.text.includes(':') ? pub6.text : pub.text;
    r.proto = 6;
    out.write([r]);
    await out.flush();
    assert.equal(mem.frames.length, 1, cidr);
    const o = openFrame(mem.frames[0]!, () => KEY);
    const row = decodeRow(o.rows, 0);
    assert.equal(row.src_ip, a.priv ? null : a.shown, `${cidr} (${a.text})`);
  }
  await out.close();
});

test('IPv6 forms that carry a private IPv4 address, and IPv6 space outside global unicast, never leave', async () => {
  const { mem, out } = await startOutput();
  const cases: [string, boolean][] = [
    ['::10.0.0.1', true], ['::192.168.1.1', true], ['::ffff:0:10.0.0.1', true], ['4000::1', true], ['1234::5', true], ['e000::1', true], ['fe00::1', true],
    ['::8.8.8.8', false], ['::ffff:0:8.8.8.8', false], ['2a00:1450::1', false],
  ];
  for (const [ip, priv] of cases) {
    mem.frames = [];
    const r = new FlowRecord();
    r.srcIp = ip;
    r.dstIp = '2001:4860::8888';
    r.proto = 6;
    out.write([r]);
    await out.flush();
    const row = decodeRow(openFrame(mem.frames[0]!, () => KEY).rows, 0);
    assert.equal(row.src_ip === null, priv, `${ip}: ${row.src_ip}`);
  }
  await out.close();
});

/** Wire format v1 (docs/riskiq-wire-format.md): layout, refusals by reason, address fields. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { ip16At, putIp16 } from '../src/output/riskiq/address.js';
import {
  decodeRow, encodeRow, FrameError, getU64, HEADER_LEN, openFrame, parseHeader, putU64, ROW_LEN, rowsPerFrame, sealFrame, TAG_LEN, uuidToBytes,
  uuidFromBytes, type RiskiqRow,
} from '../src/output/riskiq/frame.js';

const UUID = '527dd194-a116-11af-8380-034aba1ce438';
const KEY = Buffer.from('twBovkmV8YIxx0QyulybZg==', 'base64');
const NONCE = Buffer.from('0a0b0c0d0000000000000001', 'hex');

const ROW: RiskiqRow = {
  start_ms: 1680626655000, end_ms: 1680626664000, bytes: 10262, packets: 7,
  src_ip: '173.194.4.8', src_port: 443, dst_ip: '2001:4860:4860::8888', dst_port: 53,
  tcp_flags: 0x12, protocol: 6, community_id: '1:hxRuY9st9YFTQ3zMQ/7vZSiRFSQ=',
};

function frameOf(rows: RiskiqRow[], key = KEY): Buffer {
  const plain = Buffer.alloc(rows.length * ROW_LEN);
  rows.forEach((r, i) => encodeRow(r, plain, i * ROW_LEN));
  return sealFrame(key, uuidToBytes(UUID), NONCE, plain, rows.length);
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FrameError, String(err));
    return err.reason;
  }
  return 'accepted';
}

const keyFor = (uuid: string) => (uuid === UUID ? KEY : undefined);

test('header layout: magic, version, flags, count, UUID, nonce; length 52 + 92 x count', () => {
  const f = frameOf([ROW, ROW, ROW]);
  assert.equal(f.length, 52 + 3 * 92);
  assert.equal(f.subarray(0, 4).toString('latin1'), 'EFRQ');
  assert.equal(f[4], 1);
  assert.equal(f[5], 0);
  assert.equal(f.readUInt16BE(6), 3);
  assert.equal(uuidFromBytes(f, 8), UUID);
  assert.deepEqual(f.subarray(24, 36), NONCE);
  const h = parseHeader(f);
  assert.equal(h.count, 3);
  assert.equal(h.uuid, UUID);
});

test('row layout: every field at its documented offset, big-endian', () => {
  const b = Buffer.alloc(ROW_LEN);
  encodeRow(ROW, b, 0);
  assert.equal(getU64(b, 0), ROW.start_ms);
  assert.equal(getU64(b, 8), ROW.end_ms);
  assert.equal(getU64(b, 16), 10262);
  assert.equal(getU64(b, 24), 7);
  assert.equal(b.subarray(32, 48).toString('hex'), '00000000000000000000ffffadc20408');
  assert.equal(b.readUInt16BE(48), 443);
  assert.equal(b.subarray(50, 66).toString('hex'), '20014860486000000000000000008888');
  assert.equal(b.readUInt16BE(66), 53);
  assert.equal(b.readUInt16BE(68), 0x12);
  assert.equal(b[70], 6);
  assert.equal(b[71], 0b11);
  assert.equal(b.subarray(72, 92).toString('base64'), 'hxRuY9st9YFTQ3zMQ/7vZSiRFSQ=');
  assert.deepEqual(decodeRow(b, 0), ROW);
});

test('an empty end is all zero with its presence bit clear, and reads back as null', () => {
  const b = Buffer.alloc(ROW_LEN, 0xaa);
  encodeRow({ ...ROW, dst_ip: null, dst_port: null, community_id: null }, b, 0);
  assert.ok(b.subarray(50, 68).every((x) => x === 0));
  assert.equal(b[71], 0b01);
  assert.ok(b.subarray(72, 92).every((x) => x === 0));
  const r = decodeRow(b, 0);
  assert.equal(r.dst_ip, null);
  assert.equal(r.dst_port, null);
  assert.equal(r.community_id, null);
});

test('u64 fields carry integers up to 2^53 - 1; negatives and NaN become 0', () => {
  const b = Buffer.alloc(8);
  for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
    putU64(b, 0, v);
    assert.equal(getU64(b, 0), v);
    assert.equal(b.readBigUInt64BE(0), BigInt(v));
  }
  putU64(b, 0, -5);
  assert.equal(getU64(b, 0), 0);
  putU64(b, 0, NaN);
  assert.equal(getU64(b, 0), 0);
});

test('every byte of a frame is protected: any single-byte change is refused', () => {
  const f = frameOf([ROW, { ...ROW, src_ip: null, src_port: null }]);
  const seen = new Set<string>();
  for (let i = 0; i < f.length; i++) {
    const t = Buffer.from(f);
    t[i] = t[i]! ^ 0x01;
    const why = reason(() => openFrame(t, (u) => (u === UUID || u === uuidFromBytes(t, 8) ? KEY : undefined)));
    assert.notEqual(why, 'accepted', `byte ${i} changed and the frame was accepted`);
    seen.add(why);
  }
  // Magic, version, flags and count are caught before decrypting; everything else by the tag.
  assert.deepEqual([...seen].sort(), ['auth_failed', 'bad_flags', 'bad_length', 'bad_magic', 'bad_version']);
});

test('a wrong key, an unknown customer, a short or cut frame are refused by reason', () => {
  const f = frameOf([ROW]);
  assert.equal(reason(() => openFrame(f, () => randomBytes(16))), 'auth_failed');
  assert.equal(reason(() => openFrame(f, () => Buffer.concat([KEY, KEY]))), 'auth_failed');
  assert.equal(reason(() => openFrame(f, () => undefined)), 'unknown_customer');
  assert.equal(reason(() => openFrame(f.subarray(0, 40), keyFor)), 'short');
  assert.equal(reason(() => openFrame(f.subarray(0, f.length - 1), keyFor)), 'bad_length');
  assert.equal(reason(() => openFrame(Buffer.concat([f, Buffer.alloc(1)]), keyFor)), 'bad_length');
  // Two frames spliced: header of one, body of another.
  const g = sealFrame(KEY, uuidToBytes(UUID), Buffer.from('0a0b0c0d0000000000000002', 'hex'), Buffer.alloc(ROW_LEN), 1);
  const spliced = Buffer.concat([f.subarray(0, HEADER_LEN), g.subarray(HEADER_LEN)]);
  assert.equal(reason(() => openFrame(spliced, keyFor)), 'auth_failed');
  assert.equal(reason(() => openFrame(f, keyFor)), 'accepted');
});

test('AES-128, -192 and -256 by key length; other lengths are refused', () => {
  for (const n of [16, 24, 32]) {
    const key = randomBytes(n);
    const f = frameOf([ROW], key);
    assert.deepEqual(decodeRows(openFrame(f, () => key)), [ROW]);
  }
  assert.throws(() => frameOf([ROW], randomBytes(20)), /16, 24 or 32/);
  function decodeRows(o: { rows: Buffer; count: number }): RiskiqRow[] {
    return Array.from({ length: o.count }, (_, i) => decodeRow(o.rows, i * ROW_LEN));
  }
});

test('rows per frame fill the datagram limit: 14 rows in 1400 bytes', () => {
  assert.equal(rowsPerFrame(1400), 14);
  assert.equal(52 + 14 * 92, 1340); // and 15 rows would be 1432 > 1400
  assert.equal(rowsPerFrame(200), 1);
  assert.equal(rowsPerFrame(65507), Math.floor((65507 - 52) / 92));
  assert.equal(HEADER_LEN + TAG_LEN, 52);
});

test('address field: any 16 bytes survive text and back; IPv4 is IPv4-mapped', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
    const b = Buffer.from(bytes);
    const text = ip16At(b, 0);
    const out = Buffer.alloc(16);
    assert.ok(putIp16(text, out, 0), text);
    assert.deepEqual(out, b);
  }), { numRuns: 2000 });
  const out = Buffer.alloc(16);
  assert.ok(putIp16('192.0.2.1', out, 0));
  assert.equal(out.toString('hex'), '00000000000000000000ffffc0000201');
  assert.equal(ip16At(out, 0), '192.0.2.1');
  assert.ok(!putIp16('not an address', out, 0));
  assert.ok(!putIp16('fe80::1%eth0', out, 0));
  assert.ok(!putIp16('', out, 0));
});

test('UUID text and bytes round-trip; a non-UUID is refused', () => {
  assert.equal(uuidFromBytes(uuidToBytes(UUID)), UUID);
  assert.equal(uuidFromBytes(uuidToBytes(UUID.toUpperCase())), UUID);
  assert.throws(() => uuidToBytes('527dd194-a116'), /not a UUID/);
});

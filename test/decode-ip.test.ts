import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipv4At, ipv4ToString, ipv6At } from '../src/decode/ip.js';
import { isIPv6 } from 'node:net';

test('IPv4 text is right for every address (edges included)', () => {
  const edges = [0, 1, 0x7f000001, 0xc0a80101, 0xfffffffe, 0xffffffff, 0x80000000];
  for (const v of [...edges, ...edges]) assert.equal(ipv4ToString(v), [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'));
  fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (a, b) => {
    // b may land in a's cache slot: both must still read right, in either order.
    for (const v of [a, b, a, b]) assert.equal(ipv4ToString(v), [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.'));
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(a);
    assert.equal(ipv4At(buf, 0), ipv4ToString(a));
  }), { numRuns: 20000 });
});

test('IPv6 text is canonical (RFC 5952)', () => {
  const cases: [string, string][] = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000010000000000000000', '2001:db8:0:1::'],
    ['20010db8000100000001000000000001', '2001:db8:1:0:1::1'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
  ];
  for (const [hex, text] of cases) assert.equal(ipv6At(Buffer.from(hex, 'hex'), 0), text);
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => assert.ok(isIPv6(ipv6At(bytes, 0)))));
});

/** Address text parsing, checked against node:net and against the decoders' RFC 5952 formatter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { parseIpv4, parseIpv6 } from '../src/enrich/ip-parse.js';
import { ipv6At } from '../src/decode/ip.js';

test('parseIpv4: every dotted quad, and rejects what node:net rejects', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
    const s = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
    assert.equal(parseIpv4(s), v);
  }), { numRuns: 5000 });
  fc.assert(fc.property(fc.stringMatching(/^[0-9.]{1,16}$/), (s) => {
    // node:net also refuses leading zeros; we accept them (exporters never send them), so compare only the rest.
    if (/(^|\.)0\d/.test(s)) return;
    assert.equal(parseIpv4(s) >= 0, isIP(s) === 4, s);
  }), { numRuns: 5000 });
});

test('parseIpv6: RFC 5952 text, full text and upper case give the same groups', () => {
  const g = new Uint16Array(8);
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), (bytes, zeroRun) => {
    for (let i = 0; i < zeroRun; i++) bytes[2 + i] = 0; // make :: compression likely
    const want = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
    for (const text of [ipv6At(bytes, 0), want.map((x) => x.toString(16)).join(':'), ipv6At(bytes, 0).toUpperCase()]) {
      assert.ok(parseIpv6(text, g), text);
      assert.deepEqual(Array.from(g), want, text);
    }
  }), { numRuns: 5000 });
  for (const bad of ['', ':', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8::', '::1.2.3', '1.2.3.4', ':1::2']) {
    assert.equal(parseIpv6(bad, g), false, bad);
    assert.equal(isIP(bad) === 6, false, bad);
  }
});

/**
 * The test vectors in docs/riskiq-wire-format.md, byte for byte: our encoder and sealer must produce
 * them, our opener must read them back, and an independent decoder written from the page (Python's
 * `cryptography` AESGCM and `struct`) must agree.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeRow, openFrame, decodeRows, ROW_LEN, sealFrame, uuidToBytes, type RiskiqRow } from '../src/output/riskiq/frame.js';
import { needPresent, needTool, REPO_ROOT } from './helpers/tools.js';

interface Vector {
  name: string;
  key_base64: string;
  customer_uuid: string;
  nonce_hex: string;
  rows: RiskiqRow[];
  plaintext_hex: string;
  frame_hex: string;
}

const DOC = join(REPO_ROOT, 'docs', 'riskiq-wire-format.md');

function vectors(): Vector[] {
  const m = /```json riskiq-test-vectors\n([\s\S]*?)\n```/.exec(readFileSync(DOC, 'utf8'));
  assert.ok(m, 'docs/riskiq-wire-format.md has a ```json riskiq-test-vectors block');
  const v = JSON.parse(m[1]!) as Vector[];
  assert.ok(v.length >= 3, 'at least one vector per key size');
  return v;
}

test('the doc has one vector for each AES key size (16, 24, 32 bytes)', () => {
  const sizes = vectors().map((v) => Buffer.from(v.key_base64, 'base64').length).sort();
  assert.deepEqual(sizes, [16, 24, 32]);
});

test('encoding the rows gives exactly plaintext_hex, sealing gives exactly frame_hex', () => {
  for (const v of vectors()) {
    const plain = Buffer.alloc(v.rows.length * ROW_LEN);
    v.rows.forEach((r, i) => encodeRow(r, plain, i * ROW_LEN));
    assert.equal(plain.toString('hex'), v.plaintext_hex, v.name);
    const frame = sealFrame(Buffer.from(v.key_base64, 'base64'), uuidToBytes(v.customer_uuid), Buffer.from(v.nonce_hex, 'hex'), plain, v.rows.length);
    assert.equal(frame.toString('hex'), v.frame_hex, v.name);
    assert.equal(frame.length, 52 + 92 * v.rows.length);
  }
});

test('opening frame_hex gives back the customer, the nonce and the rows', () => {
  for (const v of vectors()) {
    const key = Buffer.from(v.key_base64, 'base64');
    const opened = openFrame(Buffer.from(v.frame_hex, 'hex'), (uuid) => (uuid === v.customer_uuid ? key : undefined));
    assert.equal(opened.uuid, v.customer_uuid);
    assert.equal(opened.nonce.toString('hex'), v.nonce_hex);
    assert.equal(opened.rows.toString('hex'), v.plaintext_hex);
    assert.deepEqual(decodeRows(opened.rows, opened.count), v.rows, v.name);
  }
});

/** A receiver written from the doc alone, in another language and crypto library. */
const PY_DECODER = String.raw`
import json, sys, struct, base64, ipaddress
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
def ip(b):
    a = ipaddress.IPv6Address(b)
    return str(a.ipv4_mapped) if a.ipv4_mapped else str(a)
out = []
for v in json.load(sys.stdin):
    f = bytes.fromhex(v['frame_hex'])
    magic, ver, flags, count = struct.unpack('>4sBBH', f[:8])
    assert magic == b'EFRQ' and ver == 1 and flags == 0 and len(f) == 52 + 92 * count
    plain = AESGCM(base64.b64decode(v['key_base64'])).decrypt(f[24:36], f[36:], f[:36])
    rows = []
    for i in range(count):
        r = plain[i * 92:(i + 1) * 92]
        st, en, by, pk = struct.unpack('>QQQQ', r[:32])
        sp, = struct.unpack('>H', r[48:50]); dp, = struct.unpack('>H', r[66:68]); fl, = struct.unpack('>H', r[68:70])
        pres = r[71]; cid = r[72:92]
        rows.append(dict(start_ms=st, end_ms=en, bytes=by, packets=pk,
            src_ip=ip(r[32:48]) if pres & 1 else None, src_port=sp if pres & 1 else None,
            dst_ip=ip(r[50:66]) if pres & 2 else None, dst_port=dp if pres & 2 else None,
            tcp_flags=fl, protocol=r[70], community_id=('1:' + base64.b64encode(cid).decode()) if any(cid) else None))
    out.append(dict(uuid=f[8:24].hex(), rows=rows))
print(json.dumps(out))
`;

test('an independent decoder (Python cryptography AESGCM) reads the vectors as the doc says', (t) => {
  const py = needTool(t, 'python3');
  if (py === null) return;
  const probe = spawnSync(py, ['-c', 'import cryptography.hazmat.primitives.ciphers.aead'], { encoding: 'utf8' });
  if (!needPresent(t, probe.status === 0, 'the python3 cryptography module (python3-cryptography)')) return;
  const vs = vectors();
  const r = spawnSync(py, ['-c', PY_DECODER], { input: JSON.stringify(vs), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { uuid: string; rows: RiskiqRow[] }[];
  assert.equal(got.length, vs.length);
  got.forEach((g, i) => {
    assert.equal(g.uuid, vs[i]!.customer_uuid.replace(/-/g, ''));
    assert.deepEqual(g.rows, vs[i]!.rows, vs[i]!.name);
  });
});

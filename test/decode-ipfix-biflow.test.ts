/**
 * YAF's TCP flags, which it sends in elements of its own (CERT PEN 6871) rather than tcpControlBits.
 * On YAF's capture from the logstash-codec-netflow set, and on hand-built packets (RFC 7011 layout).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTDATA } from './helpers/tools.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';

const BASE: TemplateDecoderOptions = { templateLifetimeS: 1e9, pendingMax: 1024, pendingTimeoutS: 1e9, stateDir: '' };
const EXPORT_S = 1_700_000_000;
const YAF_PEN = 6871;

function run(dec: IpfixDecoder, pkt: Buffer): FlowRecord[] {
  const out: FlowRecord[] = [];
  dec.decode(pkt, { exporterIp: '192.0.2.1', exporterPort: 4739, receivedAt: EXPORT_S * 1000 }, out);
  dec.drainReleased(out);
  return out;
}

/** YAF's capture: an options template, then templates 45841 and 45873 and one biflow record of each. */
function yaf(): FlowRecord[] {
  const dir = join(TESTDATA, 'logstash-codec-netflow', 'dat');
  const dec = new IpfixDecoder(BASE);
  const out: FlowRecord[] = [];
  for (const f of ['ipfix_test_yaf_tpls_option_tpl.dat', 'ipfix_test_yaf_tpl45841.dat', 'ipfix_test_yaf_data45841.dat', 'ipfix_test_yaf_data45873.dat']) {
    out.push(...run(dec, readFileSync(join(dir, f))));
  }
  return out;
}

test('YAF TCP flags: initialTCPFlags | unionTCPFlags for each direction, the elements kept as sent', () => {
  const [udpFwd, udpRev, fwd, rev] = yaf();
  // Logstash's expected event: initialTCPFlags 194, unionTCPFlags 17; reverse 18 and 17.
  assert.equal(fwd!.tcpFlags, 194 | 17, 'forward flags: CWR ECE SYN, then ACK FIN');
  assert.equal(rev!.tcpFlags, 18 | 17, 'reverse flags: SYN ACK, then ACK FIN');
  assert.deepEqual(
    [fwd!.extra?.['yaf.initialTCPFlags'], fwd!.extra?.['yaf.unionTCPFlags'], fwd!.extra?.['yaf.reverseInitialTCPFlags'], fwd!.extra?.['yaf.reverseUnionTCPFlags']],
    [194, 17, 18, 17], 'YAF\'s elements stay on the forward record',
  );
  assert.deepEqual([udpFwd!.tcpFlags, udpRev!.tcpFlags], [0, 0], 'the UDP biflow (a template without them) has none');
});

// Hand-built IPFIX (RFC 7011 §3.1 header, §3.4.1 template, enterprise bit on a field id).
type Spec = [number, number] | [number, number, number];
function u16(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; }
function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; }
function u64(v: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; }
function ip(s: string): Buffer { return Buffer.from(s.split('.').map(Number)); }
function set(id: number, body: Buffer): Buffer { return Buffer.concat([u16(id), u16(4 + body.length), body]); }
function template(tid: number, fields: Spec[]): Buffer {
  const parts = [u16(tid), u16(fields.length)];
  for (const f of fields) parts.push(...(f.length === 3 ? [u16(f[0] | 0x8000), u16(f[1]), u32(f[2])] : [u16(f[0]), u16(f[1])]));
  return Buffer.concat(parts);
}
function msg(sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(16 + body.length), u32(EXPORT_S), u32(1), u32(1), body]);
}

test('YAF TCP flags beside tcpControlBits: the record\'s flags are tcpControlBits alone', () => {
  const d = new IpfixDecoder(BASE);
  run(d, msg([set(2, template(303, [[8, 4], [12, 4], [4, 1], [6, 1], [14, 1, YAF_PEN], [15, 1, YAF_PEN], [1, 8], [2, 8]]))]));
  const [r] = run(d, msg([set(303, Buffer.concat([ip('10.0.0.1'), ip('10.0.0.2'), Buffer.from([6, 0x18, 0x02, 0x11]), u64(100), u64(2)]))]));
  assert.equal(r!.tcpFlags, 0x18, 'tcpControlBits as sent');
  assert.deepEqual([r!.extra?.['yaf.initialTCPFlags'], r!.extra?.['yaf.unionTCPFlags']], [0x02, 0x11], 'YAF\'s elements kept');
});

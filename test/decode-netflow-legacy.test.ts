/**
 * NetFlow v1 and v7. No capture of either exists in the shared test data, so datagrams are built
 * here from Cisco's field layout ("NetFlow Export Datagram Format") and the decode is checked two
 * ways: against the values put in, and against tshark's cflow dissector on a pcap of the same
 * payloads written by scapy (explicit MACs, written to a file, never sent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needTool } from './helpers/tools.js';
import { CaptureOutput, tempDir } from './helpers/collect.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { NetflowV1Decoder } from '../src/decode/netflow-legacy/v1.js';
import { NetflowV7Decoder } from '../src/decode/netflow-legacy/v7.js';
import { NetflowV5Decoder } from '../src/decode/netflow-legacy/v5.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { DecodeError, type Decoder, type PacketContext, type Protocol } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';

const ctx: PacketContext = { exporterIp: '192.0.2.7', exporterPort: 2055, receivedAt: 1_700_000_010_000 };
const SYS_UPTIME = 3_600_000; // ms
const UNIX_SECS = 1_700_000_000;
const UNIX_NSECS = 250_000_000;

interface Flow {
  src: number; dst: number; nextHop: number; inIf: number; outIf: number; packets: number; bytes: number;
  first: number; last: number; srcPort: number; dstPort: number; proto: number; tos: number; tcpFlags: number;
  srcAs: number; dstAs: number; srcMask: number; dstMask: number; flags1: number; routerSc: number;
}

function flows(n: number): Flow[] {
  const out: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const proto = i % 3 === 0 ? 6 : i % 3 === 1 ? 17 : 1;
    out.push({
      src: (10 << 24) + i + 1, dst: ((198 << 24) >>> 0) + (51 << 16) + (100 << 8) + i, nextHop: (10 << 24) + 254,
      inIf: 1 + i, outIf: 100 + i, packets: 10 + i, bytes: 1500 * (10 + i),
      first: SYS_UPTIME - 60_000 + i, last: SYS_UPTIME - 1_000 + i,
      srcPort: proto === 1 ? 0 : 40000 + i, dstPort: proto === 1 ? (8 << 8) : 443, proto, tos: i * 4, tcpFlags: proto === 6 ? 0x1b : 0,
      srcAs: 64500 + i, dstAs: 65000 + i, srcMask: 24, dstMask: 16, flags1: i % 2, routerSc: i % 2 ? ((192 << 24) >>> 0) + (168 << 16) + 1 : 0,
    });
  }
  return out;
}

function buildV1(fs: Flow[]): Buffer {
  const b = Buffer.alloc(16 + 48 * fs.length);
  b.writeUInt16BE(1, 0); b.writeUInt16BE(fs.length, 2);
  b.writeUInt32BE(SYS_UPTIME, 4); b.writeUInt32BE(UNIX_SECS, 8); b.writeUInt32BE(UNIX_NSECS, 12);
  fs.forEach((f, i) => {
    const o = 16 + 48 * i;
    b.writeUInt32BE(f.src, o); b.writeUInt32BE(f.dst, o + 4); b.writeUInt32BE(f.nextHop, o + 8);
    b.writeUInt16BE(f.inIf, o + 12); b.writeUInt16BE(f.outIf, o + 14);
    b.writeUInt32BE(f.packets, o + 16); b.writeUInt32BE(f.bytes, o + 20);
    b.writeUInt32BE(f.first, o + 24); b.writeUInt32BE(f.last, o + 28);
    b.writeUInt16BE(f.srcPort, o + 32); b.writeUInt16BE(f.dstPort, o + 34);
    b[o + 38] = f.proto; b[o + 39] = f.tos; b[o + 40] = f.tcpFlags;
  });
  return b;
}

function buildV7(fs: Flow[], sequence: number): Buffer {
  const b = Buffer.alloc(24 + 52 * fs.length);
  b.writeUInt16BE(7, 0); b.writeUInt16BE(fs.length, 2);
  b.writeUInt32BE(SYS_UPTIME, 4); b.writeUInt32BE(UNIX_SECS, 8); b.writeUInt32BE(UNIX_NSECS, 12);
  b.writeUInt32BE(sequence, 16);
  fs.forEach((f, i) => {
    const o = 24 + 52 * i;
    b.writeUInt32BE(f.src, o); b.writeUInt32BE(f.dst, o + 4); b.writeUInt32BE(f.nextHop, o + 8);
    b.writeUInt16BE(f.inIf, o + 12); b.writeUInt16BE(f.outIf, o + 14);
    b.writeUInt32BE(f.packets, o + 16); b.writeUInt32BE(f.bytes, o + 20);
    b.writeUInt32BE(f.first, o + 24); b.writeUInt32BE(f.last, o + 28);
    b.writeUInt16BE(f.srcPort, o + 32); b.writeUInt16BE(f.dstPort, o + 34);
    b[o + 36] = f.flags1; b[o + 37] = f.tcpFlags; b[o + 38] = f.proto; b[o + 39] = f.tos;
    b.writeUInt16BE(f.srcAs, o + 40); b.writeUInt16BE(f.dstAs, o + 42);
    b[o + 44] = f.srcMask; b[o + 45] = f.dstMask;
    b.writeUInt32BE(f.routerSc, o + 48);
  });
  return b;
}

const ip = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const EXPORT_MS = UNIX_SECS * 1000 + UNIX_NSECS / 1e6;

function checkCommon(r: FlowRecord, f: Flow, version: number): void {
  assert.equal(r.exportVersion, version);
  assert.equal(r.exportType, 'netflow');
  assert.equal(r.exporterIp, ctx.exporterIp);
  assert.equal(r.collectTs, ctx.receivedAt);
  assert.equal(r.exportTs, EXPORT_MS);
  assert.equal(r.srcIp, ip(f.src));
  assert.equal(r.dstIp, ip(f.dst));
  assert.equal(r.nextHop, ip(f.nextHop));
  assert.deepEqual([r.inIf, r.outIf, r.packets, r.bytes], [f.inIf, f.outIf, f.packets, f.bytes]);
  assert.equal(r.startTs, EXPORT_MS - (SYS_UPTIME - f.first));
  assert.equal(r.endTs, EXPORT_MS - (SYS_UPTIME - f.last));
  assert.deepEqual([r.srcPort, r.dstPort, r.proto, r.tos, r.tcpFlags], [f.srcPort, f.dstPort, f.proto, f.tos, f.tcpFlags]);
  if (f.proto === 1) assert.deepEqual([r.icmpType, r.icmpCode], [8, 0]);
}

test('NetFlow v1: 24 records decode to the values put in', () => {
  const fs = flows(24);
  const out: FlowRecord[] = [];
  new NetflowV1Decoder().decode(buildV1(fs), ctx, out);
  assert.equal(out.length, 24);
  out.forEach((r, i) => {
    checkCommon(r, fs[i]!, 1);
    assert.equal(r.srcAs, 0); // v1 has no AS fields
    assert.equal(r.samplingRate, 0);
  });
});

test('NetFlow v7: 28 records decode to the values put in, with AS, masks, sequence and router_sc', () => {
  const fs = flows(28);
  const out: FlowRecord[] = [];
  new NetflowV7Decoder().decode(buildV7(fs, 4242), ctx, out);
  assert.equal(out.length, 28);
  out.forEach((r, i) => {
    const f = fs[i]!;
    checkCommon(r, f, 7);
    assert.deepEqual([r.srcAs, r.dstAs, r.srcMask, r.dstMask, r.sequence], [f.srcAs, f.dstAs, f.srcMask, f.dstMask, 4242]);
    assert.equal(r.extra?.['netflow.v7.router_sc'], f.routerSc ? ip(f.routerSc) : undefined);
    assert.equal(r.extra?.['netflow.v7.flags'], f.flags1 || undefined);
  });
});

test('NetFlow v1/v7: malformed datagrams are named DecodeErrors', () => {
  const v1 = buildV1(flows(2)), v7 = buildV7(flows(2), 1);
  const reason = (d: Decoder, b: Buffer): string => {
    try { d.decode(b, ctx, []); } catch (e) { assert.ok(e instanceof DecodeError); return e.reason; }
    return 'ok';
  };
  for (const [d, b, max] of [[new NetflowV1Decoder(), v1, 24], [new NetflowV7Decoder(), v7, 28]] as const) {
    assert.equal(reason(d, b.subarray(0, 10)), 'short header');
    assert.equal(reason(d, b.subarray(0, b.length - 1)), 'truncated');
    const zero = Buffer.from(b); zero.writeUInt16BE(0, 2);
    assert.equal(reason(d, zero), 'bad record count');
    const many = Buffer.from(b); many.writeUInt16BE(max + 1, 2);
    assert.equal(reason(d, many), 'bad record count');
    assert.equal(reason(d, b), 'ok');
  }
});

test('NetFlow v1 and v7 through the pipeline: sniffed by version, malformed counted per exporter', () => {
  const cap = new CaptureOutput();
  const decoders = new Map<Protocol, Decoder>([['netflow1', new NetflowV1Decoder()], ['netflow7', new NetflowV7Decoder()]]);
  const p = new Pipeline(decoders, [], [cap]);
  p.handle(buildV1(flows(3)), ctx);
  p.handle(buildV7(flows(5), 9), ctx);
  p.handle(buildV7(flows(5), 10).subarray(0, 100), ctx);
  assert.equal(cap.records.length, 8);
  const [e] = p.stats.snapshot();
  assert.equal(e!.packets, 3);
  assert.equal(e!.records, 8);
  assert.deepEqual(e!.errors, { 'netflow7: truncated': 1 });
});

test('NetFlow v1, v5 and v7: bytes after the records the header counted (not zero padding) are a loss of the exporter; the counted records are kept', () => {
  const cap = new CaptureOutput();
  const decoders = new Map<Protocol, Decoder>([['netflow1', new NetflowV1Decoder()], ['netflow5', new NetflowV5Decoder()], ['netflow7', new NetflowV7Decoder()]]);
  const p = new Pipeline(decoders, [], [cap]);
  // A header counting one record less than the datagram holds, for each version.
  const understated = (b: Buffer): Buffer => { const c = Buffer.from(b); c.writeUInt16BE(c.readUInt16BE(2) - 1, 2); return c; };
  const v5 = Buffer.alloc(24 + 48 * 2, 0x11);
  v5.writeUInt16BE(5, 0); v5.writeUInt16BE(2, 2); v5.writeUInt16BE(0, 22);
  for (const b of [buildV1(flows(3)), v5, buildV7(flows(3), 1)]) p.handle(understated(b), ctx);
  assert.equal(cap.records.length, 2 + 1 + 2);
  assert.deepEqual(p.stats.snapshot()[0]!.errors, { 'netflow1: bytes after the last record': 1, 'netflow5: bytes after the last record': 1, 'netflow7: bytes after the last record': 1 });
  // Zeros after them are padding.
  for (const b of [buildV1(flows(2)), buildV7(flows(2), 2)]) p.handle(Buffer.concat([b, Buffer.alloc(16)]), ctx);
  assert.equal(cap.records.length, 9);
  assert.equal(Object.values(p.stats.snapshot()[0]!.errors).reduce((a, n) => a + n, 0), 3);
});

test('an output that throws on a batch is an internal error: the process, the batch and the other outputs carry on', () => {
  const before = new CaptureOutput(), after = new CaptureOutput();
  const broken = Object.assign(new CaptureOutput(), { name: 'broken', write(): void { throw new RangeError('Invalid time value'); } });
  const p = new Pipeline(new Map<Protocol, Decoder>([['netflow1', new NetflowV1Decoder()]]), [], [before, broken, after]);
  p.handle(buildV1(flows(3)), ctx);
  p.handle(buildV1(flows(2)), ctx);
  assert.deepEqual([before.records.length, after.records.length], [5, 5]);
  assert.equal(p.stats.snapshot()[0]!.records, 5);
});

/** Writes the payloads as UDP/2055 datagrams to a pcap with scapy (never sends). */
function writePcap(payloads: Buffer[]): string {
  const dir = tempDir('ufc-nf-legacy-');
  const file = join(dir, 'x.pcap');
  const script = [
    'import sys',
    'from scapy.all import Ether, IP, UDP, Raw, wrpcap',
    "pkts = [Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02') / IP(src='192.0.2.7', dst='127.0.0.1') / UDP(sport=40000, dport=2055) / Raw(load=bytes.fromhex(h)) for h in sys.argv[2:]]",
    'wrpcap(sys.argv[1], pkts)',
  ].join('\n');
  execFileSync('/usr/bin/python3', ['-c', script, file, ...payloads.map((b) => b.toString('hex'))], { stdio: ['ignore', 'ignore', 'pipe'] });
  return file;
}

type Obj = Record<string, unknown>;

function tsharkPdus(tshark: string, pcap: string): { header: Obj; pdus: Obj[] }[] {
  const out = execFileSync(tshark, ['-n', '-r', pcap, '-d', 'udp.port==2055,cflow', '-T', 'json', '--no-duplicate-keys'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out.toString()) as { _source: { layers: { cflow: Obj } } }[]).map((p) => {
    const c = p._source.layers.cflow;
    return { header: c, pdus: Object.keys(c).filter((k) => k.startsWith('pdu ')).map((k) => c[k] as Obj) };
  });
}

const num = (v: unknown): number => Number(Array.isArray(v) ? v[0] : v);
/** tshark shows uptimes as seconds with 9 decimals. */
const ms = (v: unknown): number => Math.round(Number(v) * 1000);

for (const version of [1, 7] as const) {
  test(`NetFlow v${version} vs tshark cflow on a scapy-written pcap`, (t) => {
    const tshark = needTool(t, 'tshark');
    if (tshark === null) return;
    if (needTool(t, 'python3') === null) return;
    const payloads = version === 1 ? [buildV1(flows(24)), buildV1(flows(3))] : [buildV7(flows(28), 77), buildV7(flows(2), 105)];
    const pcap = writePcap(payloads);
    const theirs = tsharkPdus(tshark, pcap);
    const dec = version === 1 ? new NetflowV1Decoder() : new NetflowV7Decoder();
    const dgs = [...readUdpDatagrams(readFileSync(pcap))];
    assert.equal(dgs.length, theirs.length);
    let compared = 0;
    dgs.forEach((dg, pi) => {
      const out: FlowRecord[] = [];
      dec.decode(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: 1 }, out);
      const { header, pdus } = theirs[pi]!;
      assert.equal(num(header['cflow.version']), version);
      assert.equal(out.length, num(header['cflow.count']));
      assert.equal(out.length, pdus.length);
      const uptime = ms(header['cflow.sysuptime']);
      const tree = header['cflow.timestamp_tree'] as Obj;
      const exportMs = num(tree['cflow.unix_secs']) * 1000 + num(tree['cflow.unix_nsecs']) / 1e6;
      out.forEach((r, i) => {
        const p = pdus[i]!;
        const where = `packet ${pi} pdu ${i}`;
        assert.equal(r.exporterIp, '192.0.2.7', where);
        assert.equal(r.exportTs, exportMs, where);
        assert.equal(r.srcIp, p['cflow.srcaddr'], where);
        assert.equal(r.dstIp, p['cflow.dstaddr'], where);
        assert.equal(r.nextHop, p['cflow.nexthop'], where);
        assert.equal(r.inIf, num(p['cflow.inputint']), where);
        assert.equal(r.outIf, num(p['cflow.outputint']), where);
        assert.equal(r.packets, num(p['cflow.packets']), where);
        assert.equal(r.bytes, num(p['cflow.octets']), where);
        const td = p['cflow.timedelta_tree'] as Obj;
        assert.equal(r.startTs, exportMs - (uptime - ms(td['cflow.timestart'])), where);
        assert.equal(r.endTs, exportMs - (uptime - ms(td['cflow.timeend'])), where);
        assert.equal(r.srcPort, num(p['cflow.srcport']), where);
        assert.equal(r.dstPort, num(p['cflow.dstport']), where);
        assert.equal(r.proto, num(p['cflow.protocol']), where);
        assert.equal(r.tos, parseInt(String(p['cflow.tos']), 16), where);
        assert.equal(r.tcpFlags, parseInt(String(p['cflow.tcpflags']), 16), where);
        if (version === 7) {
          assert.equal(r.sequence, num(header['cflow.sequence']), where);
          assert.equal(r.srcAs, num(p['cflow.srcas']), where);
          assert.equal(r.dstAs, num(p['cflow.dstas']), where);
          assert.equal(r.srcMask, num(p['cflow.srcmask']), where);
          assert.equal(r.dstMask, num(p['cflow.dstmask']), where);
          const sc = p['cflow.routersc'];
          assert.equal(r.extra?.['netflow.v7.router_sc'] ?? '0.0.0.0', sc, where);
        }
        compared++;
      });
    });
    assert.equal(compared, version === 1 ? 27 : 30);
  });
}

/**
 * Loss before the collector from the exporters' sequence numbers (src/decode/sequence-gaps.ts): the
 * rules on made-up numbers, then a real exporter (softflowd) whose export, with datagrams taken out,
 * must count exactly what tshark decodes in the datagrams taken out, and nothing when none are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noSequenceCounts, SequenceGaps, type SequenceCounts, type SequenceMode } from '../src/decode/sequence-gaps.js';
import { createDecoders } from '../src/decode/registry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { exportWithSoftflowd, toPcap } from './helpers/softflowd.js';
import { needTool } from './helpers/tools.js';

/** Runs datagrams [number, records, flows?] of one stream through a tracker; returns what it counted. */
function counted(modes: SequenceMode[], datagrams: [number, number, number?][]): SequenceCounts {
  const gaps = new SequenceGaps(modes);
  const total = noSequenceCounts();
  for (const [seq, records, flows] of datagrams) {
    gaps.check(gaps.stream('192.0.2.1', 2055, 0, 0)!, '192.0.2.1', seq, records, flows ?? records);
    const c = gaps.take()?.get('192.0.2.1');
    if (c) for (const k of Object.keys(total) as (keyof SequenceCounts)[]) total[k] += c[k];
  }
  return total;
}

const counts = (c: Partial<SequenceCounts>): SequenceCounts => ({ ...noSequenceCounts(), ...c });
const DATAGRAMS: SequenceMode[] = ['datagrams'];
const RECORDS: SequenceMode[] = ['before', 'after'];
const V9: SequenceMode[] = ['datagrams', 'before'];

const CASES: [string, SequenceMode[], [number, number, number?][], Partial<SequenceCounts>][] = [
  ['in order, across the 2^32 wrap', DATAGRAMS, [[2 ** 32 - 2, 1], [2 ** 32 - 1, 1], [0, 1], [1, 1]], {}],
  ['a gap is that many datagrams missing', DATAGRAMS, [[100, 1], [103, 1], [104, 1]], { missingDatagrams: 2 }],
  ['a late datagram is late, and the stream goes on from the later one', DATAGRAMS, [[100, 1], [103, 1], [101, 1], [104, 1]], { missingDatagrams: 2, late: 1 }],
  ['the same number again tells nothing', DATAGRAMS, [[100, 1], [100, 1], [100, 1], [101, 1]], {}],
  // LATE_WINDOW.datagrams is 1,000: after 5000 the stream expects 5001, so 4001 is exactly at the window.
  ['a datagram exactly 1,000 behind what was expected is late, not a restart', DATAGRAMS, [[5000, 1], [4001, 1], [5001, 1]], { late: 1 }],
  ['a datagram 1,001 behind what was expected is a restart', DATAGRAMS, [[5000, 1], [4000, 1], [4001, 1]], { resets: 1 }],
  ['a step far back is a restart', DATAGRAMS, [[5000, 1], [1, 1], [2, 1]], { resets: 1 }],
  ['a jump past a million datagrams is a restart, not loss', DATAGRAMS, [[100, 1], [2_000_100, 1], [2_000_101, 1]], { resets: 1 }],
  ['v5: the number counts records sent before', RECORDS, [[0, 30], [30, 30], [60, 29], [119, 30]], { missingRecords: 30 }],
  // softflowd 1.1.0's IPFIX: the number includes the message's own flows, and not its options record.
  ['IPFIX numbered after the message, options records not counted', RECORDS, [[24, 25, 24], [56, 32], [88, 32], [112, 25, 24], [144, 32], [208, 32]], { missingRecords: 32 }],
  ['IPFIX numbered before the message (RFC 7011)', RECORDS, [[0, 25], [25, 32], [57, 32], [89, 7], [128, 32]], { missingRecords: 32 }],
  // Held data (records not known): no way may be taken for the exporter's on that step.
  ['a step whose record count is not known settles nothing', RECORDS, [[2050, -1], [2054, 4], [2058, 3], [2061, 5], [2066, 2]], {}],
  ['v9 numbering datagrams, told apart after a datagram of several records', V9, [[10, 5], [11, 5], [17, 5]], { missingDatagrams: 5 }],
  ['v9 numbering records', V9, [[10, 5], [15, 5], [20, 5], [30, 5]], { missingRecords: 5 }],
];

for (const [name, modes, datagrams, want] of CASES) {
  test(`sequence numbers: ${name}`, () => {
    assert.deepEqual(counted(modes, datagrams), counts(want), name);
  });
}

test('sequence numbers: streams of one exporter are told apart by port and domain', () => {
  const gaps = new SequenceGaps(DATAGRAMS);
  for (let seq = 0; seq < 5; seq++) {
    for (const [port, domain] of [[2055, 0], [2055, 1], [2056, 0]] as const) gaps.check(gaps.stream('192.0.2.1', port, domain, 0)!, '192.0.2.1', seq * (port - 2054) + domain * 1000, 1);
  }
  assert.equal(gaps.take()?.get('192.0.2.1')?.missingDatagrams, 4 * 1, 'port 2056 steps by 2: one missing each step');
});

test('sequence numbers: streams are bounded, and silent ones make room', () => {
  const gaps = new SequenceGaps(DATAGRAMS);
  for (let i = 0; i < 20_000; i++) assert.ok(gaps.stream(`10.0.${i >> 8}.${i & 255}`, 2055, 0, 0));
  assert.equal(gaps.stream('192.0.2.1', 2055, 0, 1000), null, 'past the bound, a new stream is not tracked');
  assert.ok(gaps.stream('10.0.0.0', 2055, 0, 1000), 'a known stream still is');
  assert.ok(gaps.stream('192.0.2.1', 2055, 0, 700_000), 'after ten silent minutes the others are forgotten');
});

test('sequence numbers: one address cannot take every stream', () => {
  const gaps = new SequenceGaps(DATAGRAMS);
  let tracked = 0;
  for (let domain = 0; domain < 5000; domain++) if (gaps.stream('198.51.100.1', 2055, domain, 0) !== null) tracked++;
  assert.equal(tracked, 1024, 'one address: 1,024 streams');
  for (let i = 0; i < 5000; i++) assert.ok(gaps.stream(`10.0.${i >> 8}.${i & 255}`, 2055, 0, 0), 'other addresses still get theirs');
});

test('sequence numbers: a full table is scanned for silent streams at most once a second, not per datagram', () => {
  const gaps = new SequenceGaps(DATAGRAMS);
  for (let i = 0; i < 20_000; i++) gaps.stream(`10.0.${i >> 8}.${i & 255}`, 2055, 0, 0);
  let scans = 0;
  const g = gaps as unknown as { forgetIdle(now: number): void };
  const forgetIdle = g.forgetIdle.bind(gaps);
  g.forgetIdle = (now: number) => { scans++; forgetIdle(now); };
  // 2,000 datagrams of untracked streams within 1.999 s.
  for (let i = 0; i < 2000; i++) assert.equal(gaps.stream('192.0.2.1', 2055, i, 1000 + i), null);
  assert.equal(scans, 2, 'two scans in two seconds');
});

/** A NetFlow v9 header without FlowSets: enough to make a sequence stream. */
function v9Header(sequence: number, sourceId: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(9, 0);
  b.writeUInt32BE(1_700_000_000, 8);
  b.writeUInt32BE(sequence, 12);
  b.writeUInt32BE(sourceId, 16);
  return b;
}

test('sequence numbers: datagrams whose stream is not followed are counted per exporter; others\' loss still is', () => {
  const p = new Pipeline(createDecoders({ config: testConfig(), stateDir: '' }), [], []);
  const at = (ip: string, i: number) => ({ exporterIp: ip, exporterPort: 2055, receivedAt: 1_700_000_000_000 + i });
  // Bare headers with 1,100 source IDs from one address: past its 1,024 streams.
  for (let id = 0; id < 1100; id++) p.handle(v9Header(1, id), at('198.51.100.1', 0));
  // Another exporter loses 3 datagrams.
  p.handle(v9Header(1, 0), at('192.0.2.7', 1));
  p.handle(v9Header(5, 0), at('192.0.2.7', 2));
  const snap = p.stats.snapshot();
  const hog = snap.find((e) => e.exporter === '198.51.100.1')!;
  assert.equal(hog.errors['netflow9: sequence not followed: too many streams'], 76);
  const other = snap.find((e) => e.exporter === '192.0.2.7')!;
  assert.equal(other.sequence.missingDatagrams, 3);
  assert.deepEqual(other.errors, {});
});

test('sequence numbers: IPFIX domains and sFlow sub-agents past an exporter\'s streams are counted as not followed too', () => {
  const p = new Pipeline(createDecoders({ config: testConfig(), stateDir: '' }), [], []);
  const ipfix = (domain: number): Buffer => {
    const b = Buffer.alloc(16);
    b.writeUInt16BE(10, 0);
    b.writeUInt16BE(16, 2);
    b.writeUInt32BE(1_700_000_000, 4);
    b.writeUInt32BE(1, 8);
    b.writeUInt32BE(domain, 12);
    return b;
  };
  const sflow = (subAgent: number): Buffer => {
    const b = Buffer.alloc(28);
    b.writeUInt32BE(5, 0);
    b.writeUInt32BE(1, 4);
    b.set([198, 51, 100, 2], 8);
    b.writeUInt32BE(subAgent, 12);
    b.writeUInt32BE(1, 16);
    return b;
  };
  for (let i = 0; i < 1100; i++) {
    p.handle(ipfix(i), { exporterIp: '198.51.100.1', exporterPort: 4739, receivedAt: 1_700_000_000_000 });
    p.handle(sflow(i), { exporterIp: '198.51.100.2', exporterPort: 6343, receivedAt: 1_700_000_000_000 });
  }
  const snap = p.stats.snapshot();
  assert.equal(snap.find((e) => e.exporter === '198.51.100.1')?.errors['ipfix: sequence not followed: too many streams'], 76);
  assert.equal(snap.find((e) => e.exporter === '198.51.100.2')?.errors['sflow5: sequence not followed: too many streams'], 76);
});

test('sFlow agent drops: one agent cannot take every source, silent sources are forgotten, and sources not followed are told', () => {
  const gaps = new SequenceGaps(DATAGRAMS);
  let followed = 0;
  // 30 agents x 1,000 sources: past the 20,000 sources of a decoder.
  for (let a = 0; a < 30; a++) for (let i = 0; i < 1000; i++) if (gaps.agentDrops(`10.1.0.${a}`, `10.1.0.${a}`, 0, 0, i, 0, 0)) followed++;
  assert.equal(followed, 20_000);
  assert.equal(gaps.agentDrops('192.0.2.1', '192.0.2.1', 0, 0, 1, 0, 1000), false, 'full: a new source is not followed');
  // Ten minutes on, the silent sources go; a new agent's drops are counted again.
  const later = 700_000;
  assert.equal(gaps.agentDrops('192.0.2.1', '192.0.2.1', 0, 0, 1, 5, later), true);
  gaps.agentDrops('192.0.2.1', '192.0.2.1', 0, 0, 1, 12, later + 1);
  assert.equal(gaps.take()?.get('192.0.2.1')?.agentDrops, 7);
  // One agent: 4,096 sources at most, and others still followed beside it.
  let one = 0;
  for (let i = 0; i < 5000; i++) if (gaps.agentDrops('198.51.100.1', '198.51.100.1', 0, 0, i, 0, later)) one++;
  assert.equal(one, 4096);
  assert.equal(gaps.agentDrops('192.0.2.2', '192.0.2.2', 0, 0, 1, 0, later), true);
});

test('sFlow: one UDP source naming 20,000 agents takes at most 4,096 streams and 8,192 drop sources, so other agents\' loss is still counted', () => {
  const gaps = new SequenceGaps(DATAGRAMS);
  let streams = 0, sources = 0;
  for (let i = 0; i < 20_000; i++) {
    const agent = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    if (gaps.stream(agent, 6343, 0, 0, '198.51.100.1') !== null) streams++;
    if (gaps.agentDrops('198.51.100.1', agent, 0, 0, 1, 0, 0)) sources++;
  }
  assert.deepEqual([streams, sources], [4096, 8192]);
  // Another sender's agent is followed, and its loss counted under it.
  const s = gaps.stream('192.0.2.7', 6343, 0, 1, '192.0.2.7');
  assert.ok(s !== null);
  gaps.check(s, '192.0.2.7', 1, 1);
  gaps.check(s, '192.0.2.7', 5, 1);
  assert.equal(gaps.take()?.get('192.0.2.7')?.missingDatagrams, 3);
  // Silent for ten minutes, the sender's streams go and its count with them: room again.
  assert.ok(gaps.stream('10.200.0.1', 6343, 0, 1_000_000, '198.51.100.1') !== null);
});

/** Counts of each exporter's sequence numbers after `datagrams` went through a pipeline of real decoders. */
function pipelineCounts(datagrams: Buffer[], port: number): SequenceCounts {
  const p = new Pipeline(createDecoders({ config: testConfig(), stateDir: '' }), [], []);
  datagrams.forEach((d, i) => p.handle(d, { exporterIp: '127.0.0.1', exporterPort: 40000, receivedAt: 1_700_000_000_000 + i }));
  const e = p.stats.snapshot().find((x) => x.exporter === '127.0.0.1');
  assert.ok(e, `exporter seen (port ${port})`);
  return e.sequence;
}

const TRAFFIC = `
import sys
from scapy.all import Ether, IP, UDP, Raw, wrpcap
A = '02:00:00:00:00:01'; B = '02:00:00:00:00:02'
pk = []
for i in range(1500):
    p = Ether(src=A, dst=B)/IP(src='10.0.%d.%d' % (i // 250, i % 250 + 1), dst='192.0.2.1')/UDP(sport=1024 + i, dport=53)/Raw(b'q' * 20)
    p.time = 1700000000.0 + i * 0.01
    pk.append(p)
wrpcap(sys.argv[1], pk)
`;

// softflowd numbers v5 by records before, v9 by datagrams, IPFIX by records after (see CASES).
for (const version of ['5', '9', '10']) {
  test(`sequence numbers: softflowd NetFlow v${version} export, nothing missing, then exactly what tshark finds in the datagrams taken out`, async (t) => {
    const softflowd = needTool(t, 'softflowd');
    const tshark = needTool(t, 'tshark');
    const python = needTool(t, 'python3');
    if (softflowd === null || tshark === null || python === null) return;
    const dir = tempDir('ufc-seq-');
    writeFileSync(join(dir, 'gen.py'), TRAFFIC);
    execFileSync(python, [join(dir, 'gen.py'), join(dir, 'traffic.pcap')], { timeout: 60_000, stdio: 'ignore' });
    const { port, datagrams } = await exportWithSoftflowd(softflowd, join(dir, 'traffic.pcap'), version, [], dir);
    assert.ok(datagrams.length >= 40, `softflowd sent ${datagrams.length} datagrams`);
    assert.deepEqual(pipelineCounts(datagrams, port), noSequenceCounts(), 'the whole export: nothing missing');

    // tshark's flows (data records with a source address) in each datagram of the export.
    const pcapPath = join(dir, 'export.pcap');
    writeFileSync(pcapPath, toPcap(datagrams, port));
    const perFrame = execFileSync(tshark, ['-r', pcapPath, '-d', `udp.port==${port},cflow`, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'cflow.srcaddr'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString().split('\n').slice(0, datagrams.length).map((l) => (l === '' ? 0 : l.split(',').length));
    // Take out datagrams that hold no template (those would also take the records after them), none adjacent, never the last.
    const plain = (i: number): boolean => version === '5' || (datagrams[i]!.readUInt16BE(version === '9' ? 20 : 16) >= 256);
    const out = new Set<number>();
    for (let i = 3; i < datagrams.length - 1 && out.size < 4; i += 7) if (plain(i) && plain(i + 1)) out.add(i);
    assert.equal(out.size, 4);
    const kept = datagrams.filter((_, i) => !out.has(i));
    const missing = [...out].reduce((a, i) => a + perFrame[i]!, 0);
    assert.ok(missing > 4, `tshark found ${missing} flows in the datagrams taken out`);
    assert.deepEqual(pipelineCounts(kept, port), version === '9' ? counts({ missingDatagrams: out.size }) : counts({ missingRecords: missing }));
  });
}

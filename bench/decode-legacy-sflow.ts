/**
 * Decode-only throughput of the NetFlow v1/v5/v7 and sFlow v5 decoders, in records per CPU-second
 * (process.cpuUsage, user + system), on real captures where we hold them:
 *   - NetFlow v5: akvorado nfv5.pcap (29 records a datagram)
 *   - sFlow v5: akvorado data-1140.pcap (5 flow samples: raw Ethernet/IPv4/IPv6 headers, extended
 *     switch/router/gateway), nDPI sflow.pcap (counter samples), cistern flow_sample_3.dump
 *   - NetFlow v1 (24 records) and v7 (28 records): built from Cisco's layout (no capture exists).
 *
 *   node --import tsx bench/decode-legacy-sflow.ts [--seconds 2]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { NetflowV1Decoder } from '../src/decode/netflow-legacy/v1.js';
import { NetflowV5Decoder } from '../src/decode/netflow-legacy/v5.js';
import { NetflowV7Decoder } from '../src/decode/netflow-legacy/v7.js';
import { SflowDecoder } from '../src/decode/sflow/datagram.js';
import { legacyCorpus } from '../scripts/fuzz.js';
import type { Decoder, PacketContext } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';

const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'testdata');
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg >= 0 ? Number(process.argv[secondsArg + 1]) : 2;

const pcap = (p: string): Buffer[] => [...readUdpDatagrams(readFileSync(join(TESTDATA, p)))].map((d) => d.payload);

interface Case { name: string; decoder: Decoder; packets: Buffer[] }

const legacy = legacyCorpus();
const cases: Case[] = [
  { name: 'NetFlow v5 (akvorado nfv5, 29 rec/pkt)', decoder: new NetflowV5Decoder(), packets: pcap('akvorado/netflow/nfv5.pcap') },
  { name: 'NetFlow v1 (built, 24 rec/pkt)', decoder: new NetflowV1Decoder(), packets: [legacy[1]!] },
  { name: 'NetFlow v7 (built, 28 rec/pkt)', decoder: new NetflowV7Decoder(), packets: [legacy[3]!] },
  { name: 'sFlow flows (akvorado data-1140, 5 rec/pkt)', decoder: new SflowDecoder(), packets: pcap('akvorado/sflow/data-1140.pcap') },
  { name: 'sFlow flows (cistern flow_sample_3, 3 rec/pkt)', decoder: new SflowDecoder(), packets: [readFileSync(join(TESTDATA, 'sflow-misc/cistern-sflow/flow_sample_3.dump'))] },
  { name: 'sFlow counters (nDPI sflow.pcap, 1 rec/pkt)', decoder: new SflowDecoder(), packets: pcap('ndpi/pcap/sflow.pcap').filter((_, i) => i !== 3) },
];

const ctx: PacketContext = { exporterIp: '192.0.2.1', exporterPort: 6343, receivedAt: Date.now() };

function run(c: Case): { records: number; packets: number; cpuS: number } {
  const out: FlowRecord[] = [];
  // Warm-up: let V8 optimise the decode path before measuring.
  for (let i = 0; i < 20_000; i++) { out.length = 0; c.decoder.decode(c.packets[i % c.packets.length]!, ctx, out); }
  let records = 0, packets = 0;
  const start = process.cpuUsage();
  let cpuS = 0;
  while (cpuS < SECONDS) {
    for (let i = 0; i < 10_000; i++) {
      out.length = 0;
      c.decoder.decode(c.packets[i % c.packets.length]!, ctx, out);
      records += out.length;
    }
    packets += 10_000;
    const u = process.cpuUsage(start);
    cpuS = (u.user + u.system) / 1e6;
  }
  return { records, packets, cpuS };
}

const rows: string[][] = [['decoder / input', 'records', 'CPU-s', 'records/CPU-s', 'packets/CPU-s']];
for (const c of cases) {
  const r = run(c);
  rows.push([c.name, String(r.records), r.cpuS.toFixed(2), Math.round(r.records / r.cpuS).toLocaleString('en-US'), Math.round(r.packets / r.cpuS).toLocaleString('en-US')]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log(`decode only, ${SECONDS} CPU-s per row, node ${process.version}`);
for (const [i, r] of rows.entries()) {
  console.log(r.map((v, j) => (j === 0 ? v.padEnd(widths[j]!) : v.padStart(widths[j]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

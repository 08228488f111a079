/**
 * Decode-only throughput of the NetFlow v9 and IPFIX decoders, in records per CPU-second
 * (process.cpuUsage, user + system):
 *   - NetFlow v9, 25 records a packet, 18 fields (bench/netflow9-stream.ts): the target case
 *   - IPFIX, the same records with the IPFIX header (template set 2)
 *   - real captures: akvorado v9 data.pcap (Cisco, 4 rec/pkt), ipfixprobe biflows (RFC 5103)
 *
 *   node --import tsx bench/decode-netflow9-ipfix.ts [--seconds 2]
 * `benchTemplateDecoders(seconds)` returns the rows for a combined runner.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readUdpDatagrams } from '../src/input/pcap.js';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import type { Decoder, PacketContext } from '../src/pipeline/types.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { dataPacket, templatePacket } from './netflow9-stream.js';

const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'testdata');
const OPTS = { templateLifetimeS: 86400 * 365 * 100, pendingMax: 0, pendingTimeoutS: 60, stateDir: '' };

/** The v9 packet as IPFIX: 16-byte message header, set IDs 2 (template) and 256 (data). */
function toIpfix(v9: Buffer): Buffer {
  const body = v9.subarray(20);
  const out = Buffer.alloc(16 + body.length);
  out.writeUInt16BE(10, 0);
  out.writeUInt16BE(out.length, 2);
  out.writeUInt32BE(v9.readUInt32BE(8), 4);
  out.writeUInt32BE(v9.readUInt32BE(12), 8);
  out.writeUInt32BE(1, 12);
  body.copy(out, 16);
  if (out.readUInt16BE(16) === 0) out.writeUInt16BE(2, 16);
  return out;
}

const pcap = (p: string): Buffer[] => [...readUdpDatagrams(readFileSync(join(TESTDATA, p)))].map((d) => d.payload);

interface Case { name: string; decoder: Decoder; setup: Buffer[]; packets: Buffer[] }

function cases(): Case[] {
  const v9Data = Array.from({ length: 64 }, (_, n) => dataPacket(n, n + 1));
  return [
    { name: 'NetFlow v9 (25 rec/pkt, 18 fields)', decoder: new Netflow9Decoder(OPTS), setup: [templatePacket(0)], packets: v9Data },
    { name: 'IPFIX (25 rec/pkt, 18 fields)', decoder: new IpfixDecoder(OPTS), setup: [toIpfix(templatePacket(0))], packets: v9Data.map(toIpfix) },
    { name: 'NetFlow v9 akvorado data.pcap (4 rec/pkt)', decoder: new Netflow9Decoder(OPTS), setup: [...pcap('akvorado/netflow/options-template.pcap'), ...pcap('akvorado/netflow/options-data.pcap'), ...pcap('akvorado/netflow/template.pcap')], packets: pcap('akvorado/netflow/data.pcap') },
    { name: 'IPFIX ipfixprobe biflows (RFC 5103)', decoder: new IpfixDecoder(OPTS), setup: pcap('akvorado/netflow/ipfixprobe-templates.pcap'), packets: pcap('akvorado/netflow/ipfixprobe-data.pcap') },
  ];
}

export function benchTemplateDecoders(seconds: number): string[][] {
  const ctx: PacketContext = { exporterIp: '192.0.2.1', exporterPort: 2055, receivedAt: Date.now() };
  const rows: string[][] = [['decoder / input', 'records', 'CPU-s', 'records/CPU-s', 'packets/CPU-s']];
  for (const c of cases()) {
    const out: FlowRecord[] = [];
    for (const p of c.setup) { c.decoder.decode(p, ctx, out); c.decoder.drainReleased?.(out); }
    // Warm-up: let V8 optimise the decode path before measuring.
    for (let i = 0; i < 20_000; i++) { out.length = 0; c.decoder.decode(c.packets[i % c.packets.length]!, ctx, out); }
    let records = 0, packets = 0, cpuS = 0;
    const start = process.cpuUsage();
    while (cpuS < seconds) {
      for (let i = 0; i < 5_000; i++) {
        out.length = 0;
        c.decoder.decode(c.packets[i % c.packets.length]!, ctx, out);
        records += out.length;
      }
      packets += 5_000;
      const u = process.cpuUsage(start);
      cpuS = (u.user + u.system) / 1e6;
    }
    rows.push([c.name, String(records), cpuS.toFixed(2), Math.round(records / cpuS).toLocaleString('en-US'), Math.round(packets / cpuS).toLocaleString('en-US')]);
  }
  return rows;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--seconds');
  const seconds = i >= 0 ? Number(process.argv[i + 1]) : 2;
  const rows = benchTemplateDecoders(seconds);
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  console.log(`decode only, ${seconds} CPU-s per row, node ${process.version}`);
  for (const [k, r] of rows.entries()) {
    console.log(r.map((v, j) => (j === 0 ? v.padEnd(widths[j]!) : v.padStart(widths[j]!))).join('  '));
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/**
 * Interface names from real exports: Cisco IOS XR IPFIX (the pmacct-test-automation captures, options
 * template 256 scoped by ingressInterface with interfaceName and interfaceDescription), checked
 * against tshark's reading of the same options records, and on every flow decoded once they came.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IpfixDecoder } from '../src/decode/ipfix/decoder.js';
import { Netflow9Decoder } from '../src/decode/netflow9/decoder.js';
import type { TemplateDecoderOptions } from '../src/decode/template/flow-decoder.js';
import { readUdpDatagrams } from '../src/input/pcap.js';
import type { FlowRecord } from '../src/record/flow-record.js';
import { needTool, TESTDATA } from './helpers/tools.js';

const PMACCT = join(TESTDATA, 'pmacct-test-automation');
/** Every capture of the set whose options data names interfaces (tshark finds IE 82 in these only). */
const CAPTURES = [
  '400-IPFIXv10-BMP-CISCO-SRv6-multiple-sources/traffic-00.pcap',
  '400-IPFIXv10-BMP-CISCO-SRv6-multiple-sources/traffic-01.pcap',
  '401-IPFIXv10-BMP-IPv6-CISCO-MPLS-multiple-sources/traffic-00.pcap',
  '401-IPFIXv10-BMP-IPv6-CISCO-MPLS-multiple-sources/traffic-01.pcap',
  '402-IPFIXv10-BMP-IPv6-high-availability/traffic-00.pcap',
  '500-IPFIXv10-BGP-CISCO-SRv6/traffic-00.pcap',
  '501-IPFIXv10-BGP-IPv6-CISCO-MPLS/traffic-00.pcap',
  '502-IPFIXv10-BGP-IPv6-CISCO-SRv6-lcomms/traffic-00.pcap',
];
const PORTS = new Set([9991, 9992]);
const OPTS: TemplateDecoderOptions = { templateLifetimeS: 86_400 * 3650, pendingMax: 1024, pendingTimeoutS: 86_400 * 3650, stateDir: '' };

type Json = { [k: string]: Json } | Json[] | string;

/** `exporter|ifIndex` -> name, from every options record tshark shows with an interfaceName, in capture order. */
function tsharkNames(tshark: string, pcap: string): Map<string, string> {
  const args = ['-n', '-r', pcap, '-T', 'json', '--no-duplicate-keys', ...[...PORTS].flatMap((p) => ['-d', `udp.port==${p},cflow`])];
  const packets = JSON.parse(execFileSync(tshark, args, { maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString()) as { _source: { layers: Record<string, Json> } }[];
  const names = new Map<string, string>();
  for (const p of packets) {
    const layers = p._source.layers;
    const ip = layers.ip as Record<string, Json> | undefined;
    const ip6 = layers.ipv6 as Record<string, Json> | undefined;
    const src = (ip?.['ip.src'] ?? ip6?.['ipv6.src']) as string | undefined;
    if (src === undefined || layers.cflow === undefined) continue;
    const walk = (o: Json): void => {
      if (typeof o === 'string') return;
      if (Array.isArray(o)) { for (const v of o) walk(v); return; }
      if (typeof o['cflow.if_name'] === 'string' && typeof o['cflow.inputint'] === 'string') {
        names.set(`${src}|${o['cflow.inputint']}`, o['cflow.if_name']);
        return;
      }
      for (const v of Object.values(o)) walk(v);
    };
    walk(layers.cflow);
  }
  return names;
}

for (const capture of CAPTURES) {
  test(`interface names in ${capture}: those tshark reads in its options records, and on every flow once they came`, (t) => {
    const tshark = needTool(t, 'tshark');
    if (tshark === null) return;
    const file = join(PMACCT, capture);
    const theirs = tsharkNames(tshark, file);
    assert.ok(theirs.size > 0, 'the capture names interfaces');
    const ipfix = new IpfixDecoder(OPTS);
    const v9 = new Netflow9Decoder(OPTS);
    const datagrams = readUdpDatagrams(readFileSync(file)).filter((dg) => PORTS.has(dg.dstPort) && dg.payload.length >= 2);
    const decodeAll = (): FlowRecord[] => {
      const out: FlowRecord[] = [];
      for (const dg of datagrams) {
        const version = dg.payload.readUInt16BE(0);
        const dec = version === 10 ? ipfix : version === 9 ? v9 : null;
        dec?.decode(dg.payload, { exporterIp: dg.srcIp, exporterPort: dg.srcPort, receivedAt: dg.ts }, out);
        dec?.drainReleased(out);
      }
      return out;
    };
    decodeAll();
    // What the decoders learnt: the same table, name for name.
    type Saved = { exporter: string; ifNames?: [number, string][] }[];
    const saved = [ipfix, v9].flatMap((d) => (d as unknown as { store: { toJSON(): Saved } }).store.toJSON());
    const ours = new Map(saved.flatMap((s) => (s.ifNames ?? []).map(([i, n]): [string, string] => [`${s.exporter}|${i}`, n])));
    assert.deepEqual([...ours].sort(), [...theirs].sort());
    // Replayed again, every flow through a named interface carries its name, both ways.
    const flows = decodeAll();
    let named = 0;
    for (const r of flows) {
      const inName = theirs.get(`${r.exporterIp}|${r.inIf}`) ?? '';
      const outName = theirs.get(`${r.exporterIp}|${r.outIf}`) ?? '';
      assert.deepEqual([r.inIfName, r.outIfName], [inName, outName], `${r.exporterIp} ${r.inIf} -> ${r.outIf}`);
      if (inName !== '' || outName !== '') named++;
    }
    assert.ok(named > 0, `some of the ${flows.length} flows go through a named interface`);
  });
}

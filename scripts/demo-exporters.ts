/**
 * Synthetic exporters for `npm run demo`: a NetFlow v5 router, a NetFlow v9 router, an IPFIX
 * firewall and an sFlow v5 switch, each sending believable traffic of a small office over
 * loopback (127.0.0.0/8 only, each exporter from its own 127.0.0.x address), at a bounded rate.
 *
 * The traffic: office clients (10.20.0.0/16) browsing, resolving and syncing with public
 * services; the office's public servers (web, mail, VPN) answering internet clients; and a small
 * share touching addresses on the threat list (clients reaching a C2 server, listed scanners
 * probing our servers), so the Threats page has something to show within a minute.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mulberry32 } from '../src/dev/prng.js';

// ---- traffic model ------------------------------------------------------------------------------

export interface Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  bytes: number;
  packets: number;
  tcpFlags: number;
  start: number;
  end: number;
  inIf: number;
  outIf: number;
  srcAs: number;
  dstAs: number;
}

/** Public services and their AS numbers (well-known operators). */
const SERVICES: { ip: string; as: number; port: number; proto: number; weight: number }[] = [
  { ip: '142.250.185.78', as: 15169, port: 443, proto: 6, weight: 14 },
  { ip: '172.217.16.142', as: 15169, port: 443, proto: 17, weight: 6 },
  { ip: '151.101.1.140', as: 54113, port: 443, proto: 6, weight: 6 },
  { ip: '104.16.132.229', as: 13335, port: 443, proto: 6, weight: 8 },
  { ip: '13.107.42.14', as: 8075, port: 443, proto: 6, weight: 9 },
  { ip: '52.96.166.130', as: 8075, port: 443, proto: 6, weight: 5 },
  { ip: '157.240.27.35', as: 32934, port: 443, proto: 6, weight: 5 },
  { ip: '185.199.108.153', as: 54113, port: 443, proto: 6, weight: 3 },
  { ip: '17.253.144.10', as: 714, port: 443, proto: 6, weight: 3 },
  { ip: '8.8.8.8', as: 15169, port: 53, proto: 17, weight: 7 },
  { ip: '1.1.1.1', as: 13335, port: 53, proto: 17, weight: 5 },
  { ip: '162.159.200.123', as: 13335, port: 123, proto: 17, weight: 2 },
  { ip: '91.189.91.38', as: 41231, port: 80, proto: 6, weight: 2 },
  { ip: '2a00:1450:4001:82b::200e', as: 15169, port: 443, proto: 6, weight: 4 },
  { ip: '2606:4700::6810:84e5', as: 13335, port: 443, proto: 6, weight: 3 },
];
/** Our public servers (documentation range RFC 5737 TEST-NET-3 stands in for the office's block). */
const OUR_SERVERS = [
  { ip: '203.0.113.10', port: 443, proto: 6 },
  { ip: '203.0.113.10', port: 80, proto: 6 },
  { ip: '203.0.113.25', port: 25, proto: 6 },
  { ip: '203.0.113.30', port: 1194, proto: 17 },
  { ip: '203.0.113.22', port: 22, proto: 6 },
];
/** Internet clients of our servers: a spread of public addresses. */
const VISITORS = ['81.2.69.142', '89.160.20.112', '175.16.199.4', '216.160.83.56', '2.125.160.216', '67.43.156.5', '202.196.224.4', '128.101.101.101', '5.39.68.95', '66.249.66.1'];

function pickWeighted<T extends { weight: number }>(xs: T[], r: number): T {
  const total = xs.reduce((a, x) => a + x.weight, 0);
  let t = r * total;
  for (const x of xs) if ((t -= x.weight) < 0) return x;
  return xs[xs.length - 1]!;
}

/** A small deterministic PRNG (mulberry32): the demo looks the same on every run. */
export const rng = mulberry32;

export class TrafficModel {
  private readonly r: () => number;

  /** `listed`: addresses on the threat list, `threatShare`: the fraction of flows touching them. */
  constructor(private readonly listed: string[], seed: number, private readonly threatShare = 0.04) {
    this.r = rng(seed);
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }

  /** Heavy-tailed sizes: most flows small, a few large (log-uniform over 2.5 decades past the floor). */
  private size(min: number, decades: number): number {
    return Math.round(min * Math.pow(10, this.r() * this.r() * decades));
  }

  private client(): string {
    return `10.20.${this.int(1, 6)}.${this.int(10, 250)}`;
  }

  next(now: number, v4only: boolean): Flow {
    const r = this.r();
    const dur = this.int(50, 30_000);
    const base = { start: now - dur, end: now, inIf: this.int(1, 4), outIf: 10 + this.int(0, 1), srcAs: 0, dstAs: 0 };
    if (this.listed.length > 0 && r < this.threatShare) {
      const bad = this.listed[this.int(0, this.listed.length - 1)]!;
      if (this.r() < 0.5) {
        // A listed scanner or attacker probing our servers.
        const s = OUR_SERVERS[this.int(0, OUR_SERVERS.length - 1)]!;
        return { ...base, src: bad, dst: s.ip, sport: this.int(32768, 60999), dport: s.port, proto: s.proto, bytes: this.int(40, 400), packets: this.int(1, 4), tcpFlags: s.proto === 6 ? 0x02 : 0, srcAs: 64512 };
      }
      // An office client talking to a listed command-and-control server.
      return { ...base, src: this.client(), dst: bad, sport: this.int(32768, 60999), dport: this.r() < 0.7 ? 443 : 8080, proto: 6, bytes: this.size(300, 3), packets: this.int(3, 40), tcpFlags: 0x1b, dstAs: 64512 };
    }
    if (r < 0.22) {
      const s = OUR_SERVERS[this.int(0, OUR_SERVERS.length - 1)]!;
      const v = VISITORS[this.int(0, VISITORS.length - 1)]!;
      const bytes = this.size(600, 3.5);
      return { ...base, src: v, dst: s.ip, sport: this.int(32768, 60999), dport: s.port, proto: s.proto, bytes, packets: Math.max(1, Math.round(bytes / 900)), tcpFlags: s.proto === 6 ? 0x1b : 0, srcAs: 3320 + this.int(0, 5) };
    }
    let svc = pickWeighted(SERVICES, this.r());
    if (v4only && svc.ip.includes(':')) svc = SERVICES[0]!;
    const src = svc.ip.includes(':') ? `fd00:20::${this.int(1, 400).toString(16)}` : this.client();
    const dns = svc.port === 53 || svc.port === 123;
    const bytes = dns ? this.int(60, 300) : this.size(1200, 4);
    // Half the time the answer direction (server to client), as exporters see both.
    const answer = this.r() < 0.5;
    const f: Flow = { ...base, src, dst: svc.ip, sport: this.int(32768, 60999), dport: svc.port, proto: svc.proto, bytes, packets: Math.max(1, Math.round(bytes / (dns ? 80 : 1100))), tcpFlags: svc.proto === 6 ? 0x1b : 0, dstAs: svc.as };
    return answer ? { ...f, src: f.dst, dst: f.src, sport: f.dport, dport: f.sport, srcAs: f.dstAs, dstAs: 0, inIf: f.outIf, outIf: f.inIf } : f;
  }
}

// ---- encoders -------------------------------------------------------------------------------------

function ip4(b: Buffer, o: number, ip: string): void {
  const p = ip.split('.');
  for (let i = 0; i < 4; i++) b[o + i] = Number(p[i]);
}

function ip6(b: Buffer, o: number, ip: string): void {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  for (let i = 0; i < 8; i++) b.writeUInt16BE(parseInt(groups[i]!, 16), o + 2 * i);
}

/** Milliseconds since the (pretend) router boot, for sysUptime-relative times (RFC 3954 section 5.1). */
const BOOT = Date.now() - 3 * 86_400_000 - 12_345;
const uptime = (t: number) => (t - BOOT) >>> 0;

/** NetFlow v5: 24-byte header, 48-byte records, at most 30 per datagram (Cisco's v5 format). */
export function encodeV5(flows: Flow[], seq: number, now: number): Buffer {
  const b = Buffer.alloc(24 + 48 * flows.length);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(flows.length, 2);
  b.writeUInt32BE(uptime(now), 4);
  b.writeUInt32BE(Math.floor(now / 1000), 8);
  b.writeUInt32BE((now % 1000) * 1e6, 12);
  b.writeUInt32BE(seq >>> 0, 16);
  flows.forEach((f, i) => {
    const o = 24 + 48 * i;
    ip4(b, o, f.src);
    ip4(b, o + 4, f.dst);
    ip4(b, o + 8, '10.20.0.1');
    b.writeUInt16BE(f.inIf, o + 12);
    b.writeUInt16BE(f.outIf, o + 14);
    b.writeUInt32BE(f.packets, o + 16);
    b.writeUInt32BE(f.bytes, o + 20);
    b.writeUInt32BE(uptime(f.start), o + 24);
    b.writeUInt32BE(uptime(f.end), o + 28);
    b.writeUInt16BE(f.sport, o + 32);
    b.writeUInt16BE(f.dport, o + 34);
    b[o + 37] = f.tcpFlags;
    b[o + 38] = f.proto;
    b.writeUInt16BE(f.srcAs & 0xffff, o + 40);
    b.writeUInt16BE(f.dstAs & 0xffff, o + 42);
    b[o + 44] = 24;
    b[o + 45] = 24;
  });
  return b;
}

/** [information element id, length]: NetFlow v9 field types (RFC 3954 section 8) equal the IPFIX IE numbers. */
type FieldSpec = [number, number];
const V4_FIELDS: FieldSpec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [1, 4], [2, 4], [22, 4], [21, 4], [10, 2], [14, 2], [16, 4], [17, 4]];
const V6_FIELDS: FieldSpec[] = [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [6, 1], [1, 4], [2, 4], [22, 4], [21, 4], [10, 2], [14, 2], [16, 4], [17, 4]];
/** IPFIX: 64-bit counters and absolute millisecond times (IEs 152/153, RFC 7011 section 6.1.7). */
const IPFIX_V4: FieldSpec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 2], [1, 8], [2, 8], [152, 8], [153, 8], [10, 4], [14, 4], [16, 4], [17, 4]];
const IPFIX_V6: FieldSpec[] = [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [6, 2], [1, 8], [2, 8], [152, 8], [153, 8], [10, 4], [14, 4], [16, 4], [17, 4]];

function writeField(b: Buffer, o: number, id: number, len: number, f: Flow): void {
  switch (id) {
    case 8: ip4(b, o, f.src); break;
    case 12: ip4(b, o, f.dst); break;
    case 27: ip6(b, o, f.src); break;
    case 28: ip6(b, o, f.dst); break;
    case 7: b.writeUInt16BE(f.sport, o); break;
    case 11: b.writeUInt16BE(f.dport, o); break;
    case 4: b[o] = f.proto; break;
    case 6: if (len === 1) b[o] = f.tcpFlags; else b.writeUInt16BE(f.tcpFlags, o); break;
    case 1: if (len === 8) b.writeBigUInt64BE(BigInt(f.bytes), o); else b.writeUInt32BE(f.bytes, o); break;
    case 2: if (len === 8) b.writeBigUInt64BE(BigInt(f.packets), o); else b.writeUInt32BE(f.packets, o); break;
    case 22: b.writeUInt32BE(uptime(f.start), o); break;
    case 21: b.writeUInt32BE(uptime(f.end), o); break;
    case 152: b.writeBigUInt64BE(BigInt(f.start), o); break;
    case 153: b.writeBigUInt64BE(BigInt(f.end), o); break;
    case 10: if (len === 4) b.writeUInt32BE(f.inIf, o); else b.writeUInt16BE(f.inIf, o); break;
    case 14: if (len === 4) b.writeUInt32BE(f.outIf, o); else b.writeUInt16BE(f.outIf, o); break;
    case 16: b.writeUInt32BE(f.srcAs, o); break;
    case 17: b.writeUInt32BE(f.dstAs, o); break;
    default: throw new Error(`no writer for field ${id}`);
  }
}

const recLen = (fields: FieldSpec[]) => fields.reduce((a, [, l]) => a + l, 0);

function templateRecord(id: number, fields: FieldSpec[]): Buffer {
  const b = Buffer.alloc(4 + 4 * fields.length);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(fields.length, 2);
  fields.forEach(([ie, len], i) => {
    b.writeUInt16BE(ie, 4 + 4 * i);
    b.writeUInt16BE(len, 6 + 4 * i);
  });
  return b;
}

/** A set / flowset: id, length, body, padded to a 4-byte boundary (RFC 3954 section 5.3; RFC 7011 section 3.3.1). */
function set(id: number, body: Buffer): Buffer {
  const len = 4 + body.length;
  const padded = (len + 3) & ~3;
  const b = Buffer.alloc(padded);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(padded, 2);
  body.copy(b, 4);
  return b;
}

function dataRecords(flows: Flow[], fields: FieldSpec[]): Buffer {
  const n = recLen(fields);
  const b = Buffer.alloc(n * flows.length);
  flows.forEach((f, i) => {
    let o = i * n;
    for (const [id, len] of fields) {
      writeField(b, o, id, len, f);
      o += len;
    }
  });
  return b;
}

const isV6 = (f: Flow) => f.src.includes(':');

/** NetFlow v9 (RFC 3954): templates 256 (IPv4) and 257 (IPv6), re-sent with every `withTemplates` datagram. */
export function encodeV9(flows: Flow[], seq: number, now: number, sourceId: number, withTemplates: boolean): Buffer {
  const parts: Buffer[] = [];
  let count = 0;
  if (withTemplates) {
    parts.push(set(0, Buffer.concat([templateRecord(256, V4_FIELDS), templateRecord(257, V6_FIELDS)])));
    count += 2;
  }
  const v4 = flows.filter((f) => !isV6(f));
  const v6 = flows.filter(isV6);
  if (v4.length > 0) parts.push(set(256, dataRecords(v4, V4_FIELDS)));
  if (v6.length > 0) parts.push(set(257, dataRecords(v6, V6_FIELDS)));
  count += flows.length;
  const h = Buffer.alloc(20);
  h.writeUInt16BE(9, 0);
  h.writeUInt16BE(count, 2);
  h.writeUInt32BE(uptime(now), 4);
  h.writeUInt32BE(Math.floor(now / 1000), 8);
  h.writeUInt32BE(seq >>> 0, 12);
  h.writeUInt32BE(sourceId, 16);
  return Buffer.concat([h, ...parts]);
}

/** IPFIX (RFC 7011): templates 300 (IPv4) and 301 (IPv6); the sequence counts data records (section 3.1). */
export function encodeIpfix(flows: Flow[], seq: number, now: number, domain: number, withTemplates: boolean): Buffer {
  const parts: Buffer[] = [];
  if (withTemplates) parts.push(set(2, Buffer.concat([templateRecord(300, IPFIX_V4), templateRecord(301, IPFIX_V6)])));
  const v4 = flows.filter((f) => !isV6(f));
  const v6 = flows.filter(isV6);
  if (v4.length > 0) parts.push(set(300, dataRecords(v4, IPFIX_V4)));
  if (v6.length > 0) parts.push(set(301, dataRecords(v6, IPFIX_V6)));
  const body = Buffer.concat(parts);
  const h = Buffer.alloc(16);
  h.writeUInt16BE(10, 0);
  h.writeUInt16BE(16 + body.length, 2);
  h.writeUInt32BE(Math.floor(now / 1000), 4);
  h.writeUInt32BE(seq >>> 0, 8);
  h.writeUInt32BE(domain, 12);
  return Buffer.concat([h, body]);
}

/** Ethernet II + IPv4 + TCP/UDP headers of one sampled packet (sFlow raw packet header record). */
function packetHeader(f: Flow, frameLen: number): Buffer {
  const l4 = f.proto === 6 ? 20 : 8;
  const b = Buffer.alloc(14 + 20 + l4);
  b.set([0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5e, 0x00, 0x50, 0x56, 0x9a, 0x01, 0x02], 0);
  b.writeUInt16BE(0x0800, 12);
  b[14] = 0x45;
  b.writeUInt16BE(frameLen - 14, 16);
  b[22] = 64;
  b[23] = f.proto;
  ip4(b, 26, f.src);
  ip4(b, 30, f.dst);
  b.writeUInt16BE(f.sport, 34);
  b.writeUInt16BE(f.dport, 36);
  if (f.proto === 6) {
    b[46] = 0x50;
    b[47] = f.tcpFlags & 0x3f;
    b.writeUInt16BE(65535, 48);
  } else b.writeUInt16BE(frameLen - 34, 38);
  return b;
}

/** sFlow v5 datagram of flow samples, each with one raw packet header record (sFlow v5 spec, sections 5 and 5.1). */
export function encodeSflow(flows: Flow[], seq: number, agent: string, uptimeMs: number, samplingRate: number, samplePool: number): Buffer {
  const samples: Buffer[] = [];
  flows.forEach((f, i) => {
    const frameLen = Math.min(1514, Math.max(64, Math.round(f.bytes / Math.max(1, f.packets))));
    const hdr = packetHeader(f, frameLen);
    const hdrPadded = (hdr.length + 3) & ~3;
    // Raw packet header record: enterprise 0, format 1.
    const rec = Buffer.alloc(8 + 16 + hdrPadded);
    rec.writeUInt32BE(1, 0);
    rec.writeUInt32BE(16 + hdrPadded, 4);
    rec.writeUInt32BE(1, 8); // header_protocol: ETHERNET-ISO88023
    rec.writeUInt32BE(frameLen, 12);
    rec.writeUInt32BE(4, 16); // stripped (FCS)
    rec.writeUInt32BE(hdr.length, 20);
    hdr.copy(rec, 24);
    // Flow sample: enterprise 0, format 1.
    const s = Buffer.alloc(8 + 32 + rec.length);
    s.writeUInt32BE(1, 0);
    s.writeUInt32BE(32 + rec.length, 4);
    s.writeUInt32BE((seq * 64 + i) >>> 0, 8);
    s.writeUInt32BE(f.inIf, 12); // source id: ifIndex
    s.writeUInt32BE(samplingRate, 16);
    s.writeUInt32BE(samplePool >>> 0, 20);
    s.writeUInt32BE(0, 24);
    s.writeUInt32BE(f.inIf, 28);
    s.writeUInt32BE(f.outIf, 32);
    s.writeUInt32BE(1, 36);
    rec.copy(s, 40);
    samples.push(s);
  });
  const h = Buffer.alloc(28);
  h.writeUInt32BE(5, 0);
  h.writeUInt32BE(1, 4); // agent address type: IPv4
  ip4(h, 8, agent);
  h.writeUInt32BE(0, 12);
  h.writeUInt32BE(seq >>> 0, 16);
  h.writeUInt32BE(uptimeMs >>> 0, 20);
  h.writeUInt32BE(samples.length, 24);
  return Buffer.concat([h, ...samples]);
}

// ---- senders ------------------------------------------------------------------------------------

export interface DemoExporter {
  name: string;
  /** Loopback source address: the exporter as the collector sees it. */
  address: string;
  port: number;
  /** One datagram from `n` flows. */
  packet(flows: Flow[], now: number): Buffer;
  v4only: boolean;
  flowsPerPacket: [number, number];
}

export function defaultExporters(ports: { netflow: number; ipfix: number; sflow: number }): DemoExporter[] {
  let v5seq = 0, v9seq = 0, v9n = 0, ipfixSeq = 0, ipfixN = 0, sflowSeq = 0, pool = 0;
  return [
    { name: 'edge router (NetFlow v5)', address: '127.0.0.11', port: ports.netflow, v4only: true, flowsPerPacket: [8, 24],
      packet: (f, now) => { const b = encodeV5(f, v5seq, now); v5seq += f.length; return b; } },
    { name: 'core router (NetFlow v9)', address: '127.0.0.12', port: ports.netflow, v4only: false, flowsPerPacket: [8, 20],
      packet: (f, now) => encodeV9(f, v9seq++, now, 1, v9n++ % 20 === 0) },
    { name: 'firewall (IPFIX)', address: '127.0.0.13', port: ports.ipfix, v4only: false, flowsPerPacket: [6, 18],
      packet: (f, now) => { const b = encodeIpfix(f, ipfixSeq, now, 7, ipfixN++ % 20 === 0); ipfixSeq += f.length; return b; } },
    { name: 'access switch (sFlow v5)', address: '127.0.0.14', port: ports.sflow, v4only: true, flowsPerPacket: [4, 10],
      packet: (f, now) => { pool += 512 * f.length; return encodeSflow(f, sflowSeq++, '127.0.0.14', now - BOOT, 512, pool); } },
  ];
}

/**
 * Sends from each exporter every `intervalMs` until stopped or `maxMs` has passed. The rate is
 * bounded by construction: one datagram per exporter per interval.
 */
export class DemoTraffic {
  private sockets: Socket[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  sent = 0;
  flows = 0;

  constructor(
    private readonly exporters: DemoExporter[],
    private readonly model: TrafficModel,
    private readonly target: string,
    private readonly intervalMs: number,
    private readonly maxMs: number,
  ) {}

  async start(): Promise<void> {
    for (const e of this.exporters) {
      const s = createSocket('udp4');
      await new Promise<void>((ok, fail) => {
        s.once('error', fail);
        s.bind(0, e.address, () => ok());
      });
      this.sockets.push(s);
    }
    const r = rng(7);
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.startedAt > this.maxMs) {
        void this.stop();
        return;
      }
      this.exporters.forEach((e, i) => {
        const [lo, hi] = e.flowsPerPacket;
        const n = lo + Math.floor(r() * (hi - lo + 1));
        const flows: Flow[] = [];
        for (let k = 0; k < n; k++) flows.push(this.model.next(now, e.v4only));
        this.sockets[i]!.send(e.packet(flows, now), e.port, this.target);
        this.sent++;
        this.flows += n;
      });
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.sockets.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
    this.sockets = [];
  }
}

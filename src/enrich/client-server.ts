/**
 * Client/server orientation (EF_PROCESSOR_EXPAND_CLISRV): which end of a flow record initiated
 * it. Flow exporters report one direction at a time and rarely say who started, so we infer it,
 * strongest evidence first. The rules below are also the text of docs/schema.md (generated).
 */
import type { Enricher } from '../pipeline/types.js';
import { Orientation, type FlowRecord } from '../record/flow-record.js';

/** The rules, in the order applied; docs/schema.md shows this list. */
export const CLIENT_SERVER_RULES: readonly string[] = [
  'TCP flags: a TCP record whose cumulative flags have SYN without ACK is the opening direction, so its source is the client (RFC 9293 section 3.5). Cumulative flags of a longer flow carry both SYN and ACK in either direction, so this decides only handshake-only records; the port rules decide the rest.',
  'ICMP: an ICMP or ICMPv6 request (echo, timestamp, information, address mask, router and neighbour solicitation, MLD query, node information query, home agent address discovery) has the client as its source; the matching reply has the client as its destination. Other ICMP messages have no orientation.',
  'Port classes (TCP, UDP, SCTP, DCCP, UDP-Lite, both ports non-zero): a well-known port (1-1023) is a server port before a registered one (1024-49151), and a registered one before a dynamic/ephemeral one (49152-65535), per RFC 6335 section 6; the end with the stronger class is the server.',
  'Same class: the lower port number is the server (services sit on low ports; clients draw ephemeral ports from the top of the range).',
  'Equal ports, no ports, or another protocol: no orientation (the flow.client.* and flow.server.* fields are left out).',
];

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;

// ICMP request types and their replies (RFC 792, RFC 950, RFC 1256; RFC 4443, RFC 2710, RFC 4861, RFC 4620, RFC 6275).
const ICMP4_REQUEST = new Uint8Array(256);
const ICMP4_REPLY = new Uint8Array(256);
for (const t of [8, 13, 15, 17, 10]) ICMP4_REQUEST[t] = 1;
for (const t of [0, 14, 16, 18, 9]) ICMP4_REPLY[t] = 1;
const ICMP6_REQUEST = new Uint8Array(256);
const ICMP6_REPLY = new Uint8Array(256);
for (const t of [128, 130, 133, 135, 139, 144]) ICMP6_REQUEST[t] = 1;
for (const t of [129, 131, 134, 136, 140, 145]) ICMP6_REPLY[t] = 1;

/** Protocols whose first four transport bytes are source and destination ports. */
const HAS_PORTS = new Uint8Array(256);
for (const p of [6, 17, 33, 132, 136]) HAS_PORTS[p] = 1;

/** RFC 6335 section 6: 0 system (well-known), 1 user (registered), 2 dynamic/private. */
export function portClass(port: number): 0 | 1 | 2 {
  return port < 1024 ? 0 : port < 49152 ? 1 : 2;
}

/** Which end is the client, from the fields of one record. */
export function orientationOf(proto: number, srcPort: number, dstPort: number, tcpFlags: number, icmpType: number): Orientation {
  if (proto === 6 && (tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) return Orientation.SrcIsClient;
  if (proto === 1 || proto === 58) {
    const t = icmpType & 0xff;
    const req = proto === 1 ? ICMP4_REQUEST : ICMP6_REQUEST;
    const rep = proto === 1 ? ICMP4_REPLY : ICMP6_REPLY;
    return req[t] === 1 ? Orientation.SrcIsClient : rep[t] === 1 ? Orientation.DstIsClient : Orientation.Unknown;
  }
  if (HAS_PORTS[proto & 0xff] !== 1 || srcPort === 0 || dstPort === 0 || srcPort === dstPort) return Orientation.Unknown;
  const cs = portClass(srcPort);
  const cd = portClass(dstPort);
  if (cs !== cd) return cs < cd ? Orientation.DstIsClient : Orientation.SrcIsClient;
  return srcPort < dstPort ? Orientation.DstIsClient : Orientation.SrcIsClient;
}

export class ClientServerEnricher implements Enricher {
  readonly name = 'client-server';

  enrich(batch: FlowRecord[]): void {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow' || r.srcIp === '') continue;
      r.orientation = orientationOf(r.proto, r.srcPort, r.dstPort, r.tcpFlags, r.icmpType);
    }
  }
}

/**
 * sFlow v5 flow samples, compact (format 1, "flow_sample") and expanded (format 3,
 * "flow_sample_expanded"), and the flow records inside them (sFlow v5 spec, sflow_version_5.txt:
 * "Flow Samples" and "Flow Data"). One sample becomes one record.
 */
import { FlowRecord, MAX_I64 } from '../../record/flow-record.js';
import { DecodeError } from '../../pipeline/types.js';
import { dataSource, readDataSource } from './data-source.js';
import { ipv4At, ipv6At } from '../ip.js';
import { macAt, parseSampledHeader, sampledIp } from './packet-header.js';

/** What the datagram header says, shared by every sample of one datagram. */
export interface DatagramInfo {
  agent: string;
  subAgent: number;
  sequence: number;
  receivedAt: number;
}

// Flow record formats, enterprise 0 (sFlow v5 spec, "Flow Data").
const REC_SAMPLED_HEADER = 1;
const REC_SAMPLED_ETHERNET = 2;
const REC_SAMPLED_IPV4 = 3;
const REC_SAMPLED_IPV6 = 4;
const REC_EXT_SWITCH = 1001;
const REC_EXT_ROUTER = 1002;
const REC_EXT_GATEWAY = 1003;

/** Interface format bits of the compact `interface` type (spec, "Input/Output port information"). */
const IF_FORMAT_SINGLE = 0;
const IF_FORMAT_DISCARD = 1;
const IF_FORMAT_MULTIPLE = 2;
/** Value meaning "internal": the packet came from or went to the agent itself (compact `interface`). */
const IF_INTERNAL = 0x3fffffff;
/** The same in `interface_expanded`, whose erratum says 0xFFFFFFFF, not the compact 0x3FFFFFFF. */
const IF_INTERNAL_EXPANDED = 0xffffffff;
/** Bound on AS path length and communities walked (hostile counts cannot cost more than the bytes hold). */
const MAX_LIST = 1024;

/**
 * Samples whose bytes, scaled by the rate, passed 2^63 and were held at MAX_I64, as the template
 * decoders hold theirs: a length and a rate of up to 2^32 each reach 2^64 (packets, the rate alone,
 * cannot). Left here, as the data source is left in `dataSource`, for the caller to count as the
 * exporter's and set back to 0.
 */
export const heldSamples = { count: 0 };

/**
 * Decodes the flow sample at `off` (its body, `len` bytes). `expanded` selects format 3. Returns the
 * sample's `drops` counter (its data source is left in `dataSource`, a hold of its bytes at 2^63 in
 * `heldSamples`).
 */
export function decodeFlowSample(buf: Buffer, off: number, len: number, expanded: boolean, dg: DatagramInfo, out: FlowRecord[]): number {
  const end = off + len;
  const fixed = expanded ? 44 : 32;
  if (len < fixed) throw new DecodeError('truncated flow sample', `${len} bytes`);
  let o = readDataSource(buf, off + 4, expanded); // after sequence_number of the sample
  const sourceType = dataSource.type, sourceIndex = dataSource.index;
  const rate = buf.readUInt32BE(o);
  const drops = buf.readUInt32BE(o + 8);
  o += 12; // sampling_rate, sample_pool, drops
  let inFormat: number, inValue: number, outFormat: number, outValue: number;
  if (expanded) {
    inFormat = buf.readUInt32BE(o);
    inValue = buf.readUInt32BE(o + 4);
    outFormat = buf.readUInt32BE(o + 8);
    outValue = buf.readUInt32BE(o + 12);
    o += 16;
  } else {
    const i = buf.readUInt32BE(o), x = buf.readUInt32BE(o + 4);
    inFormat = i >>> 30;
    inValue = i & 0x3fffffff;
    outFormat = x >>> 30;
    outValue = x & 0x3fffffff;
    o += 8;
  }
  const nRecords = buf.readUInt32BE(o);
  o += 4;
  if (nRecords > (end - o) / 8) throw new DecodeError('bad flow record count', String(nRecords));

  const r = new FlowRecord();
  // sFlow samples single packets and carries no flow times: agents send a sample within about a
  // second of taking it, and their uptime has no absolute reference to convert from, so the
  // receive time stands for start and end (as sflowtool, goflow2 and akvorado do).
  r.collectTs = dg.receivedAt;
  r.startTs = dg.receivedAt;
  r.endTs = dg.receivedAt;
  r.exporterIp = dg.agent;
  r.exportVersion = 5;
  r.exportType = 'sflow';
  r.observationDomain = dg.subAgent;
  r.sequence = dg.sequence;
  const scale = rate > 0 ? rate : 1;
  if (rate > 0) r.samplingRate = rate;
  r.packets = scale;
  // Input is always a single interface; internal (0x3FFFFFFF compact, 0xFFFFFFFF expanded, where
  // 0x3FFFFFFF is an ordinary ifIndex) reads as unknown (0).
  const internal = expanded ? IF_INTERNAL_EXPANDED : IF_INTERNAL;
  r.inIf = inFormat === IF_FORMAT_SINGLE && inValue !== internal ? inValue : 0;
  if (outFormat === IF_FORMAT_SINGLE) r.outIf = outValue !== internal ? outValue : 0;
  else if (outFormat === IF_FORMAT_DISCARD) r.setExtra('sflow.out.discard.reason', outValue);
  // The multiple format's value is the number of outputs; 0 means more than one, how many unknown.
  else if (outFormat === IF_FORMAT_MULTIPLE) r.setExtra('sflow.out.multiple', outValue === 0 ? -1 : outValue);
  // The data source is the interface whose traffic is sampled: the input for ingress sampling,
  // the output for egress. Anything else (VLAN or entity sources) is kept as extras.
  if (sourceType === 0 && sourceIndex === r.inIf && r.inIf !== 0) r.direction = 0;
  else if (sourceType === 0 && sourceIndex === r.outIf && r.outIf !== 0) r.direction = 1;
  else {
    r.setExtra('sflow.source.id.type', sourceType);
    r.setExtra('sflow.source.id.index', sourceIndex);
  }

  let frameLength = -1; // from a raw header or sampled ethernet record
  let ipLength = -1; // from a sampled IPv4/IPv6 record
  let headerL3 = -1; // IP length stated by the sampled header's IP header
  let frameL3 = -1; // the frame from its IP header on, when that header states no length
  let haveHeader = false;
  // The extended switch record's VLANs (-1: none came), set after the loop: the spec fixes no order of
  // records, and the switch's view beats the header's tags wherever the header record comes.
  let switchSrcVlan = -1, switchDstVlan = -1;
  for (let n = 0; n < nRecords; n++) {
    if (o + 8 > end) throw new DecodeError('truncated flow record header');
    const format = buf.readUInt32BE(o);
    const rlen = buf.readUInt32BE(o + 4);
    o += 8;
    if (rlen > end - o) throw new DecodeError('flow record overruns sample', `format ${format}, ${rlen} bytes`);
    const ro = o;
    o += rlen;
    if (format >>> 12 !== 0) continue; // another enterprise's record: skip by length
    switch (format) {
      case REC_SAMPLED_HEADER: {
        if (rlen < 16) throw new DecodeError('truncated sampled header record');
        const protocol = buf.readUInt32BE(ro);
        frameLength = buf.readUInt32BE(ro + 4);
        const stripped = buf.readUInt32BE(ro + 8);
        const hlen = buf.readUInt32BE(ro + 12);
        if (hlen > rlen - 16) throw new DecodeError('sampled header overruns record', `${hlen} > ${rlen - 16}`);
        if (parseSampledHeader(protocol, buf, ro + 16, hlen, r) >= 0) haveHeader = true;
        // The IP header's length, even from one cut short. One that states none (IPv4 total length 0
        // captured before segmentation offload, IPv6 jumbogram) leaves the frame from that header on:
        // frame_length less the bytes before it and the stripped octets (the FCS at least, spec
        // "sampled_header").
        if (sampledIp.length > 0) headerL3 = sampledIp.length;
        else if (sampledIp.offset >= 0 && frameLength - stripped - sampledIp.offset > 0) frameL3 = frameLength - stripped - sampledIp.offset;
        break;
      }
      case REC_SAMPLED_ETHERNET:
        // length, src_mac (6 bytes padded to 8), dst_mac (6 padded to 8), type.
        if (rlen < 24) throw new DecodeError('truncated sampled ethernet record');
        if (frameLength < 0) frameLength = buf.readUInt32BE(ro);
        if (r.srcMac === '') r.srcMac = macAt(buf, ro + 4);
        if (r.dstMac === '') r.dstMac = macAt(buf, ro + 12);
        break;
      case REC_SAMPLED_IPV4:
        // length, protocol, src_ip, dst_ip, src_port, dst_port, tcp_flags, tos.
        if (rlen < 32) throw new DecodeError('truncated sampled IPv4 record');
        ipLength = buf.readUInt32BE(ro);
        if (!haveHeader) {
          r.ipVersion = 4;
          r.proto = buf.readUInt32BE(ro + 4) & 0xff;
          r.srcIp = ipv4At(buf, ro + 8);
          r.dstIp = ipv4At(buf, ro + 12);
          r.srcIp4 = buf.readUInt32BE(ro + 8);
          r.dstIp4 = buf.readUInt32BE(ro + 12);
          setPortsAndFlags(r, buf.readUInt32BE(ro + 16), buf.readUInt32BE(ro + 20), buf.readUInt32BE(ro + 24));
          r.tos = buf.readUInt32BE(ro + 28) & 0xff;
        }
        break;
      case REC_SAMPLED_IPV6:
        // length, protocol, src_ip, dst_ip, src_port, dst_port, tcp_flags, priority.
        if (rlen < 56) throw new DecodeError('truncated sampled IPv6 record');
        ipLength = buf.readUInt32BE(ro);
        if (!haveHeader) {
          r.ipVersion = 6;
          r.proto = buf.readUInt32BE(ro + 4) & 0xff;
          r.srcIp = ipv6At(buf, ro + 8);
          r.dstIp = ipv6At(buf, ro + 24);
          r.srcIp4 = -1;
          r.dstIp4 = -1;
          setPortsAndFlags(r, buf.readUInt32BE(ro + 40), buf.readUInt32BE(ro + 44), buf.readUInt32BE(ro + 48));
          r.tos = buf.readUInt32BE(ro + 52) & 0xff;
        }
        break;
      case REC_EXT_SWITCH:
        // src_vlan, src_priority, dst_vlan, dst_priority. Agents send 0xFFFFFFFF (or 4095, reserved by
        // 802.1Q) when a side has no VLAN.
        if (rlen < 16) throw new DecodeError('truncated extended switch record');
        switchSrcVlan = vlanOf(buf.readUInt32BE(ro));
        switchDstVlan = vlanOf(buf.readUInt32BE(ro + 8));
        break;
      case REC_EXT_ROUTER: {
        // next_hop (address), src_mask_len, dst_mask_len.
        const a = readAddress(buf, ro, ro + rlen);
        if (a.end + 8 > ro + rlen) throw new DecodeError('truncated extended router record');
        if (a.ip !== '') r.nextHop = a.ip;
        r.srcMask = buf.readUInt32BE(a.end) & 0xff;
        r.dstMask = buf.readUInt32BE(a.end + 4) & 0xff;
        break;
      }
      case REC_EXT_GATEWAY:
        decodeGateway(buf, ro, ro + rlen, r);
        break;
      default:
        break; // known enterprise, unknown format: skipped by length (spec: "skip unknown")
    }
  }
  if (switchSrcVlan >= 0) {
    r.srcVlan = switchSrcVlan;
    r.dstVlan = switchDstVlan;
  }
  // Bytes are the sampled packet's IP length, as NetFlow and IPFIX count them (L3, no Ethernet
  // header or FCS), scaled by the sampling rate; the frame length when no IP length is known.
  const sampledBytes = headerL3 > 0 ? headerL3 : ipLength >= 0 ? ipLength : frameL3 > 0 ? frameL3 : frameLength >= 0 ? frameLength : 0;
  const bytes = sampledBytes * scale;
  if (bytes > MAX_I64) {
    r.bytes = MAX_I64;
    heldSamples.count++;
  } else r.bytes = bytes;
  out.push(r);
  return drops;
}

function vlanOf(v: number): number {
  return v > 0 && v < 4095 ? v : 0;
}

function setPortsAndFlags(r: FlowRecord, srcPort: number, dstPort: number, tcpFlags: number): void {
  if (r.proto === 1 || r.proto === 58) {
    // Sampled IPv4/IPv6 records carry ICMP type and code in the port fields (spec: "src_port").
    r.icmpType = srcPort & 0xff;
    r.icmpCode = dstPort & 0xff;
    return;
  }
  r.srcPort = srcPort & 0xffff;
  r.dstPort = dstPort & 0xffff;
  r.tcpFlags = tcpFlags & 0x1ff;
}

/** `address` (spec: union by address_type; 1 IPv4, 2 IPv6, 0 unknown). */
export function readAddress(buf: Buffer, o: number, end: number): { ip: string; end: number } {
  if (o + 4 > end) throw new DecodeError('truncated address');
  const type = buf.readUInt32BE(o);
  if (type === 1) {
    if (o + 8 > end) throw new DecodeError('truncated address');
    return { ip: ipv4At(buf, o + 4), end: o + 8 };
  }
  if (type === 2) {
    if (o + 20 > end) throw new DecodeError('truncated address');
    return { ip: ipv6At(buf, o + 4), end: o + 20 };
  }
  if (type === 0) return { ip: '', end: o + 4 };
  throw new DecodeError('bad address type', String(type));
}

/**
 * extended_gateway: next_hop, as (the router's own), src_as, src_peer_as, dst_as_path (segments
 * of type 1 AS_SET / 2 AS_SEQUENCE), communities, localpref. The destination AS is the path's
 * last AS, or the router's own when the path is empty (the destination is local).
 */
function decodeGateway(buf: Buffer, o: number, end: number, r: FlowRecord): void {
  const a = readAddress(buf, o, end);
  o = a.end;
  if (o + 16 > end) throw new DecodeError('truncated extended gateway record');
  if (r.nextHop === '' && a.ip !== '') r.nextHop = a.ip;
  const ownAs = buf.readUInt32BE(o);
  const srcAs = buf.readUInt32BE(o + 4);
  r.srcAs = srcAs !== 0 ? srcAs : ownAs;
  const segments = buf.readUInt32BE(o + 12);
  o += 16;
  if (segments > MAX_LIST || segments * 8 > end - o) throw new DecodeError('bad AS path segment count', String(segments));
  let path = '';
  let lastAs = 0;
  for (let s = 0; s < segments; s++) {
    if (o + 8 > end) throw new DecodeError('truncated AS path');
    const n = buf.readUInt32BE(o + 4);
    o += 8;
    if (n > MAX_LIST || n * 4 > end - o) throw new DecodeError('bad AS path length', String(n));
    for (let i = 0; i < n; i++, o += 4) {
      lastAs = buf.readUInt32BE(o);
      path += (path === '' ? '' : ' ') + String(lastAs);
    }
  }
  r.dstAs = path !== '' ? lastAs : ownAs;
  if (path !== '') r.setExtra('flow.dst.as.path', path);
  if (o + 4 > end) return; // communities and localpref absent in some old agents
  const nComm = buf.readUInt32BE(o);
  o += 4;
  if (nComm > MAX_LIST || nComm * 4 > end - o) throw new DecodeError('bad community count', String(nComm));
  if (nComm > 0) {
    let comms = '';
    for (let i = 0; i < nComm; i++, o += 4) comms += (i === 0 ? '' : ',') + String(buf.readUInt32BE(o));
    r.setExtra('flow.bgp.communities', comms);
  }
}

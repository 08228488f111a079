/**
 * The public-side projection of a flow record: what the RiskIQ output may send, as one wire row.
 *
 * The seed's promise is "No internal/private IP addresses are transmitted": an end is sent only
 * when it is public, and a private end is sent empty (zero address, zero port, presence bit
 * clear). An end is private when any of these says so, so the strictest answer wins:
 *  - the locality enricher marked it private (that honours the user's
 *    EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS, and the address metadata file's `internal`);
 *  - the IANA special-purpose registries (enrich/locality.ts) on its text, and the user's
 *    EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS again (the output's `privateRanges`): an address
 *    metadata file that says `internal: false` for one of those does not make it sendable;
 *  - the same registries on the exact 16 bytes about to be written (so no parser difference
 *    between the decision and the encoding can let an address through).
 * An end with no address, or text that is no address, is empty too. A record with no public end
 * is not sent at all, nor is a counter record (it describes an interface, not traffic).
 *
 * Hot path: writes straight into the frame's plaintext buffer; no allocation for the common
 * case of records whose Community ID the enricher already set.
 */
import { communityId } from '../../enrich/community-id.js';
import { isPrivateIpv6Groups, LocalityEnricher } from '../../enrich/locality.js';
import type { FlowRecord } from '../../record/flow-record.js';
import { putIp16 } from './address.js';
import {
  decodeRow, putCommunityId, putU64, PRESENT_DST, PRESENT_SRC, R_BYTES, R_CID, R_DST_IP, R_DST_PORT, R_END, R_PACKETS, R_PRESENCE, R_PROTO,
  R_SRC_IP, R_SRC_PORT, R_START, R_TCP_FLAGS, ROW_LEN, type RiskiqRow,
} from './frame.js';

/** What happened to one record. */
export const enum Projected {
  /** A row was written. */
  Row = 0,
  /** Neither end is public. */
  SkippedPrivate = 1,
  /** A counter record. */
  SkippedCounter = 2,
}

const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;

const g = new Uint16Array(8);

/** The registries alone: for callers that hold no user ranges. */
const REGISTRIES = new LocalityEnricher();

/** Writes the end at `ipOff` when public; returns whether it did. The field stays zero otherwise. */
function putPublicEnd(ip: string, privateByLocality: boolean, ranges: LocalityEnricher, port: number, buf: Buffer, ipOff: number, portOff: number): boolean {
  if (ip === '' || privateByLocality || ranges.isPrivate(ip)) return false;
  if (!putIp16(ip, buf, ipOff, g)) return false;
  if (isPrivateIpv6Groups(g)) {
    // The text said public but the bytes say private: never send them.
    buf.fill(0, ipOff, ipOff + 16);
    return false;
  }
  buf.writeUInt16BE(port & 0xffff, portOff);
  return true;
}

/** The Community ID digest at `off` (left zero when it cannot be computed). */
function putRecordCommunityId(r: FlowRecord, buf: Buffer, off: number): void {
  if (r.communityId !== '' && putCommunityId(r.communityId, buf, off)) return;
  if (r.srcIp === '' || r.dstIp === '') return;
  // As the Community ID enricher computes it (seed 0): ICMP type/code from their own fields.
  const text = r.proto === PROTO_ICMP || r.proto === PROTO_ICMPV6
    ? communityId(r.proto, r.srcIp, r.dstIp, r.icmpType, r.icmpCode)
    : communityId(r.proto, r.srcIp, r.dstIp, r.srcPort, r.dstPort);
  if (text === '' || !putCommunityId(text, buf, off)) buf.fill(0, off, off + 20);
}

/**
 * Writes the record's row at `buf[off..off+92)` when it has a public end. When it returns
 * anything but `Projected.Row` the bytes at `off` are garbage and must not be sent.
 */
export function projectInto(r: FlowRecord, buf: Buffer, off: number, privateRanges: LocalityEnricher = REGISTRIES): Projected {
  if (r.kind !== 'flow') return Projected.SkippedCounter;
  buf.fill(0, off, off + ROW_LEN);
  let presence = 0;
  if (putPublicEnd(r.srcIp, r.srcLocality === 'private', privateRanges, r.srcPort, buf, off + R_SRC_IP, off + R_SRC_PORT)) presence |= PRESENT_SRC;
  // ICMP's type and code ride in the destination port (type × 256 + code), as NetFlow v5 exporters send
  // them; a template with its own ICMP elements (IE 32/139) leaves the port 0 and fills those.
  const icmp = r.proto === PROTO_ICMP || r.proto === PROTO_ICMPV6;
  const dstPort = icmp && r.dstPort === 0 ? ((r.icmpType & 0xff) << 8) | (r.icmpCode & 0xff) : r.dstPort;
  if (putPublicEnd(r.dstIp, r.dstLocality === 'private', privateRanges, dstPort, buf, off + R_DST_IP, off + R_DST_PORT)) presence |= PRESENT_DST;
  if (presence === 0) return Projected.SkippedPrivate;
  buf[off + R_PRESENCE] = presence;
  putU64(buf, off + R_START, r.startTs);
  putU64(buf, off + R_END, r.endTs);
  putU64(buf, off + R_BYTES, r.bytes);
  putU64(buf, off + R_PACKETS, r.packets);
  buf.writeUInt16BE(r.tcpFlags & 0xffff, off + R_TCP_FLAGS);
  buf[off + R_PROTO] = r.proto & 0xff;
  putRecordCommunityId(r, buf, off + R_CID);
  return Projected.Row;
}

const scratch = Buffer.alloc(ROW_LEN);

/** The row a record becomes, as the receiver will print it; null when it is not sent. */
export function projectRecord(r: FlowRecord, privateRanges: LocalityEnricher = REGISTRIES): RiskiqRow | null {
  return projectInto(r, scratch, 0, privateRanges) === Projected.Row ? decodeRow(scratch, 0) : null;
}

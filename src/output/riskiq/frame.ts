/**
 * RiskIQ wire format v1: one frame carries up to 65535 fixed-size rows, encrypted and authenticated
 * with AES-GCM under the customer key. docs/riskiq-wire-format.md is the specification; the offsets
 * below cite its sections (§n).
 *
 *   frame  = header (36) | ciphertext (count × 92) | tag (16)
 *   header = "EFRQ" | version u8 = 1 | flags u8 = 0 | count u16 | customer UUID (16) | nonce (12)
 *
 * The whole header is the GCM additional authenticated data (NIST SP 800-38D §7.1 "A"), so a
 * changed count, UUID, version or nonce fails authentication just like a changed row.
 */
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { ip16At, putIp16 } from './address.js';

/** §2 header. */
export const MAGIC = 0x45465251; // "EFRQ"
export const VERSION = 1;
export const HEADER_LEN = 36;
export const OFF_VERSION = 4;
export const OFF_FLAGS = 5;
export const OFF_COUNT = 6;
export const OFF_UUID = 8;
export const OFF_NONCE = 24;
/** 96-bit IV, the length GCM is defined for without GHASH of the IV (SP 800-38D §5.2.1.1). */
export const NONCE_LEN = 12;
/** Full 128-bit tag (SP 800-38D §5.2.1.2). */
export const TAG_LEN = 16;
export const FRAME_OVERHEAD = HEADER_LEN + TAG_LEN;
/** u16 count (§2). */
export const MAX_ROWS_PER_FRAME = 0xffff;

/** §3 row layout, big-endian. */
export const ROW_LEN = 92;
export const R_START = 0;
export const R_END = 8;
export const R_BYTES = 16;
export const R_PACKETS = 24;
export const R_SRC_IP = 32;
export const R_SRC_PORT = 48;
export const R_DST_IP = 50;
export const R_DST_PORT = 66;
export const R_TCP_FLAGS = 68;
export const R_PROTO = 70;
export const R_PRESENCE = 71;
export const R_CID = 72;
export const CID_LEN = 20;
/** Presence bits (§3): a clear bit means that end is empty (private) and its IP and port are zero. */
export const PRESENT_SRC = 0x01;
export const PRESENT_DST = 0x02;

const TWO32 = 0x1_0000_0000;

/**
 * One decoded row: exactly the attributes of the seed's "Data Transmitted to PassiveTotal" table.
 * An empty (private) end has null IP and port. The audit file and `ufc riskiq-sink` print this
 * object, one JSON line per row, keys in this order.
 */
export interface RiskiqRow {
  start_ms: number;
  end_ms: number;
  bytes: number;
  packets: number;
  src_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  tcp_flags: number;
  protocol: number;
  /** Community ID v1 text, "1:" + base64 of the digest; null when the digest is all zero. */
  community_id: string | null;
}

export const ROW_KEYS = ['start_ms', 'end_ms', 'bytes', 'packets', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'tcp_flags', 'protocol', 'community_id'] as const;

/** Why a frame was refused; each is a counter at the receiver. */
export type FrameErrorReason = 'short' | 'bad_magic' | 'bad_version' | 'bad_flags' | 'bad_length' | 'unknown_customer' | 'auth_failed';

export class FrameError extends Error {
  constructor(readonly reason: FrameErrorReason, detail?: string) {
    super(detail === undefined ? reason : `${reason}: ${detail}`);
  }
}

/** Unsigned 64-bit big-endian from a JS number (integers up to 2^53; negatives and NaN become 0). */
export function putU64(buf: Buffer, off: number, v: number): void {
  if (!(v > 0)) v = 0;
  else if (v > Number.MAX_SAFE_INTEGER) v = Number.MAX_SAFE_INTEGER;
  else v = Math.floor(v);
  buf.writeUInt32BE(Math.floor(v / TWO32), off);
  buf.writeUInt32BE(v % TWO32, off + 4);
}

/** u64 as a JS number; values above 2^53 lose precision (no counter of ours reaches them). */
export function getU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * TWO32 + buf.readUInt32BE(off + 4);
}

/** "527dd194-a116-11af-8380-034aba1ce438" -> its 16 bytes in text order (RFC 9562 §4). */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.trim().replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${JSON.stringify(uuid)}`);
  return Buffer.from(hex, 'hex');
}

export function uuidFromBytes(b: Buffer, off = 0): string {
  const h = b.toString('hex', off, off + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Community ID v1 text ("1:" + base64 of the 20-byte SHA-1) -> digest bytes at `off`; false if not that shape. */
export function putCommunityId(text: string, buf: Buffer, off: number): boolean {
  if (text.length !== 30 || text.charCodeAt(0) !== 49 || text.charCodeAt(1) !== 58) return false;
  // base64 of 20 bytes is 28 characters ending in one '='.
  return buf.write(text.slice(2), off, CID_LEN, 'base64') === CID_LEN;
}

function communityIdAt(buf: Buffer, off: number): string | null {
  for (let i = 0; i < CID_LEN; i++) if (buf[off + i] !== 0) return '1:' + buf.toString('base64', off, off + CID_LEN);
  return null;
}

/** Encodes `row` at `buf[off..off+92)`. Throws on an address that does not parse. */
export function encodeRow(row: RiskiqRow, buf: Buffer, off: number): void {
  buf.fill(0, off, off + ROW_LEN);
  putU64(buf, off + R_START, row.start_ms);
  putU64(buf, off + R_END, row.end_ms);
  putU64(buf, off + R_BYTES, row.bytes);
  putU64(buf, off + R_PACKETS, row.packets);
  let presence = 0;
  if (row.src_ip !== null) {
    if (!putIp16(row.src_ip, buf, off + R_SRC_IP)) throw new Error(`bad source address ${JSON.stringify(row.src_ip)}`);
    buf.writeUInt16BE(row.src_port ?? 0, off + R_SRC_PORT);
    presence |= PRESENT_SRC;
  }
  if (row.dst_ip !== null) {
    if (!putIp16(row.dst_ip, buf, off + R_DST_IP)) throw new Error(`bad destination address ${JSON.stringify(row.dst_ip)}`);
    buf.writeUInt16BE(row.dst_port ?? 0, off + R_DST_PORT);
    presence |= PRESENT_DST;
  }
  buf.writeUInt16BE(row.tcp_flags & 0xffff, off + R_TCP_FLAGS);
  buf[off + R_PROTO] = row.protocol & 0xff;
  buf[off + R_PRESENCE] = presence;
  if (row.community_id !== null && !putCommunityId(row.community_id, buf, off + R_CID)) throw new Error(`bad community id ${JSON.stringify(row.community_id)}`);
}

/** Decodes the row at `buf[off..off+92)`. An end whose presence bit is clear reads as null. */
export function decodeRow(buf: Buffer, off: number): RiskiqRow {
  const presence = buf[off + R_PRESENCE]!;
  const src = (presence & PRESENT_SRC) !== 0;
  const dst = (presence & PRESENT_DST) !== 0;
  return {
    start_ms: getU64(buf, off + R_START),
    end_ms: getU64(buf, off + R_END),
    bytes: getU64(buf, off + R_BYTES),
    packets: getU64(buf, off + R_PACKETS),
    src_ip: src ? ip16At(buf, off + R_SRC_IP) : null,
    src_port: src ? buf.readUInt16BE(off + R_SRC_PORT) : null,
    dst_ip: dst ? ip16At(buf, off + R_DST_IP) : null,
    dst_port: dst ? buf.readUInt16BE(off + R_DST_PORT) : null,
    tcp_flags: buf.readUInt16BE(off + R_TCP_FLAGS),
    protocol: buf[off + R_PROTO]!,
    community_id: communityIdAt(buf, off + R_CID),
  };
}

export function decodeRows(plain: Buffer, count: number): RiskiqRow[] {
  const out: RiskiqRow[] = [];
  for (let i = 0; i < count; i++) out.push(decodeRow(plain, i * ROW_LEN));
  return out;
}

/**
 * The customer key as bytes, or better as a KeyObject (crypto.createSecretKey): a KeyObject is
 * imported once, which makes sealing a 14-row frame about three times cheaper.
 */
export type AesKey = Buffer | KeyObject;

/** AES-128/192/256-GCM by key length (16, 24 or 32 bytes). */
export function gcmAlgorithm(key: AesKey): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  const n = Buffer.isBuffer(key) ? key.length : key.symmetricKeySize ?? 0;
  if (n === 16) return 'aes-128-gcm';
  if (n === 24) return 'aes-192-gcm';
  if (n === 32) return 'aes-256-gcm';
  throw new Error(`AES key must be 16, 24 or 32 bytes, not ${n}`);
}

/** Writes the 36-byte header at `out[0..36)`. */
export function writeHeader(out: Buffer, count: number, uuid: Buffer, nonce: Buffer): void {
  out.writeUInt32BE(MAGIC, 0);
  out[OFF_VERSION] = VERSION;
  out[OFF_FLAGS] = 0;
  out.writeUInt16BE(count, OFF_COUNT);
  uuid.copy(out, OFF_UUID, 0, 16);
  nonce.copy(out, OFF_NONCE, 0, NONCE_LEN);
}

/**
 * Seals `count` rows (`rows[0..count*92)`, the plaintext) into one frame. The caller owns nonce
 * uniqueness: a nonce must never be used twice with one key (see nonce.ts).
 */
export function sealFrame(key: AesKey, uuid: Buffer, nonce: Buffer, rows: Buffer, count: number): Buffer {
  if (count < 1 || count > MAX_ROWS_PER_FRAME) throw new Error(`row count ${count} outside 1..${MAX_ROWS_PER_FRAME}`);
  if (nonce.length !== NONCE_LEN) throw new Error(`nonce must be ${NONCE_LEN} bytes`);
  const plainLen = count * ROW_LEN;
  const frame = Buffer.allocUnsafe(HEADER_LEN + plainLen + TAG_LEN);
  writeHeader(frame, count, uuid, nonce);
  const cipher = createCipheriv(gcmAlgorithm(key), key, nonce, { authTagLength: TAG_LEN });
  cipher.setAAD(frame.subarray(0, HEADER_LEN));
  const a = cipher.update(rows.subarray(0, plainLen));
  const b = cipher.final();
  a.copy(frame, HEADER_LEN);
  b.copy(frame, HEADER_LEN + a.length);
  cipher.getAuthTag().copy(frame, HEADER_LEN + plainLen);
  return frame;
}

export interface FrameHeader {
  version: number;
  flags: number;
  count: number;
  uuid: string;
  nonce: Buffer;
}

/** Checks the clear-text header and the frame length (§5 steps 1–4); throws FrameError. */
export function parseHeader(frame: Buffer): FrameHeader {
  if (frame.length < FRAME_OVERHEAD) throw new FrameError('short', `${frame.length} bytes`);
  if (frame.readUInt32BE(0) !== MAGIC) throw new FrameError('bad_magic');
  const version = frame[OFF_VERSION]!;
  if (version !== VERSION) throw new FrameError('bad_version', String(version));
  const flags = frame[OFF_FLAGS]!;
  if (flags !== 0) throw new FrameError('bad_flags', String(flags));
  const count = frame.readUInt16BE(OFF_COUNT);
  if (count === 0 || frame.length !== FRAME_OVERHEAD + count * ROW_LEN) throw new FrameError('bad_length', `${frame.length} bytes for ${count} rows`);
  return { version, flags, count, uuid: uuidFromBytes(frame, OFF_UUID), nonce: frame.subarray(OFF_NONCE, OFF_NONCE + NONCE_LEN) };
}

export interface OpenedFrame extends FrameHeader {
  /** Plaintext rows, count × 92 bytes. */
  rows: Buffer;
}

/**
 * Verifies and decrypts a frame (§5). `keyFor` maps a customer UUID (lower-case text) to its key.
 * Throws FrameError: a wrong key and a changed byte are indistinguishable, both `auth_failed`.
 */
export function openFrame(frame: Buffer, keyFor: (uuid: string) => AesKey | undefined): OpenedFrame {
  const h = parseHeader(frame);
  const key = keyFor(h.uuid);
  if (key === undefined) throw new FrameError('unknown_customer', h.uuid);
  const plainLen = h.count * ROW_LEN;
  const decipher = createDecipheriv(gcmAlgorithm(key), key, h.nonce, { authTagLength: TAG_LEN });
  decipher.setAAD(frame.subarray(0, HEADER_LEN));
  decipher.setAuthTag(frame.subarray(HEADER_LEN + plainLen));
  const a = decipher.update(frame.subarray(HEADER_LEN, HEADER_LEN + plainLen));
  let b: Buffer;
  try {
    b = decipher.final();
  } catch {
    throw new FrameError('auth_failed');
  }
  return { ...h, rows: b.length === 0 ? a : Buffer.concat([a, b]) };
}

/** Rows that fit a frame of at most `maxFrameBytes`. */
export function rowsPerFrame(maxFrameBytes: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_FRAME, Math.floor((maxFrameBytes - FRAME_OVERHEAD) / ROW_LEN)));
}

/**
 * Hand-built IPFIX messages for decoder tests: RFC 7011 §3.1 message header, §3.3.2 set header, §3.4.1
 * template records (the enterprise bit on a field id with its PEN after it). Big-endian throughout.
 */

/** [id, len] or [id, len, pen] field specifiers. */
export type Spec = [number, number] | [number, number, number];

export function u16(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; }
export function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; }
export function u64(v: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; }
/** A dotted IPv4 address's four bytes. */
export function ip(s: string): Buffer { return Buffer.from(s.split('.').map(Number)); }

/** A set (or NetFlow v9 flowset): its id, its length counting the 4-byte header, its body. */
export function set(id: number, body: Buffer): Buffer { return Buffer.concat([u16(id), u16(4 + body.length), body]); }

/** An IPFIX template record; with `scope` >= 0, an options template record of that many scope fields. */
export function ipfixTemplate(tid: number, fields: Spec[], scope = -1): Buffer {
  const parts = [u16(tid), u16(fields.length)];
  if (scope >= 0) parts.push(u16(scope));
  for (const f of fields) {
    if (f.length === 3) parts.push(u16(f[0] | 0x8000), u16(f[1]), u32(f[2]));
    else parts.push(u16(f[0]), u16(f[1]));
  }
  return Buffer.concat(parts);
}

/** An IPFIX message of `sets`: export time `exportS`, sequence 7, observation domain `domain`. */
export function ipfixMsg(sets: Buffer[], exportS: number, domain = 1): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(16 + body.length), u32(exportS), u32(7), u32(domain), body]);
}

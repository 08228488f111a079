/**
 * CRC-32 (IEEE 802.3 polynomial, reflected, as zlib and gzip use) for spill entry checksums.
 *
 * Node ships `zlib.crc32` from 20.15 and 22.2; package.json allows any Node 20, so older 20.x
 * releases fall back to a 256-entry table. Both give the same value (the test checks them against
 * each other and against the standard check value for "123456789", 0xCBF43926).
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | null = null;

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Table-driven CRC-32; exported for the test that compares it with zlib's. */
export function crc32Table(buf: Uint8Array, start = 0, end = buf.length): number {
  if (table === null) table = makeTable();
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = table[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of buf[start, end). */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  if (native !== undefined) return native(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) >>> 0;
  return crc32Table(buf, start, end);
}

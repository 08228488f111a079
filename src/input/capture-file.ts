/**
 * Opens a capture file for `CaptureReader` as a stream of pieces: as it is, or decompressed on the way
 * when it is gzip-compressed (a .pcap.gz), so a compressed capture of any size is read in bounded memory.
 */
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Bytes read (or decompressed) at a time. */
const PIECE = 1 << 20;

export async function openCapture(path: string): Promise<AsyncIterable<Buffer>> {
  const fh = await open(path, 'r');
  let gzip: boolean;
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    // gzip's ID1 ID2 (RFC 1952 section 2.3.1); no capture format begins with them.
    gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } catch (err) {
    await fh.close();
    throw err;
  }
  const file = fh.createReadStream({ start: 0, highWaterMark: PIECE });
  if (!gzip) return file;
  const gunzip = createGunzip({ chunkSize: PIECE });
  // An error on either side ends the gunzip stream with it, and so the reading of its pieces.
  pipeline(file, gunzip, () => {});
  return mapErrors(gunzip);
}

/** zlib's errors ('unexpected end of file', 'incorrect header check') said as what they mean for the file. */
async function* mapErrors(pieces: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  try {
    yield* pieces;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_')) throw new Error(`the gzip-compressed file is damaged or cut short: ${(err as Error).message}`, { cause: err });
    throw err;
  }
}

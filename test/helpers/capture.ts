/** Capture files built byte by byte for the pcap reader and replay tests. */

const MAC = Buffer.from('020000000002020000000001', 'hex');

/** An IPv4 UDP packet from port 40000; with `frag`, a fragment carrying `frag.data` instead. */
export function ipv4Udp(src: string, dst: string, dport: number, payload: Buffer, frag?: { id: number; off: number; more: boolean; data: Buffer }): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  payload.copy(udp, 8);
  const body = frag?.data ?? udp;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + body.length, 2);
  ip.writeUInt16BE(frag?.id ?? 1, 4);
  ip.writeUInt16BE(frag === undefined ? 0 : (frag.more ? 0x2000 : 0) | (frag.off / 8), 6);
  ip[8] = 64;
  ip[9] = 17;
  Buffer.from(src.split('.').map(Number)).copy(ip, 12);
  Buffer.from(dst.split('.').map(Number)).copy(ip, 16);
  return Buffer.concat([ip, body]);
}

/** A UDP header and payload (checksum 0). */
export function udpBytes(dport: number, payload: Buffer): Buffer {
  return ipv4Udp('0.0.0.0', '0.0.0.0', dport, payload).subarray(20);
}

/** An Ethernet frame around `ip`. */
export const eth = (ip: Buffer, type = 0x0800): Buffer => Buffer.concat([MAC, Buffer.from([type >> 8, type & 0xff]), ip]);

/** A classic little-endian microsecond pcap; `orig` above the data's length marks a frame cut by the snapshot length. */
export function pcap(frames: { data: Buffer; orig?: number; ts?: number }[], linkTypeField = 1): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(linkTypeField >>> 0, 20);
  return Buffer.concat([head, ...frames.flatMap((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(f.ts ?? 1_700_000_000 + i, 0);
    r.writeUInt32LE(f.data.length, 8);
    r.writeUInt32LE(f.orig ?? f.data.length, 12);
    return [r, f.data];
  })]);
}


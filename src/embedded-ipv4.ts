/**
 * The IPv4 address an IPv6 address carries (IPv4-mapped, -compatible and -translated, NAT64
 * 64:ff9b::/96, 6to4 2002::/16), as uint32; -1 when it carries none. `::` and `::1` carry none.
 */
export function embeddedIpv4Groups(g: Uint16Array): number {
  if (g[0] === 0x2002) return g[1]! * 65536 + g[2]!;
  const last = g[6]! * 65536 + g[7]!;
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return last;
  if (g[0] !== 0 || g[1] !== 0 || g[2] !== 0) return -1;
  if (g[3] === 0 && g[4] === 0 && (g[5] === 0xffff || (g[5] === 0 && last > 1))) return last;
  if (g[3] === 0 && g[4] === 0xffff && g[5] === 0) return last;
  return -1;
}

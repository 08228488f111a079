/** Addresses and listen failures as the logs and the exporter names write them. */

/** `host:port` as URLs and most tools write it: an IPv6 address in brackets (`[::1]:2055`), so the port is not read as part of it. */
export function hostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Why a socket could not listen, in words that say what to do (Node's own name only the errno). */
export function listenFailure(code: string | undefined, message: string): string {
  if (code === 'EADDRINUSE') return 'the port is already in use (another collector?)';
  if (code === 'EACCES') return 'permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)';
  if (code === 'EADDRNOTAVAIL') return 'no interface of this machine has that address';
  return message;
}

/**
 * An IPv4 address written IPv4-mapped (`::ffff:192.0.2.1`: an IPv4 source on a dual-stack socket, an
 * sFlow agent in IPv6 form) as the IPv4 address, so one exporter has one name; any other text unchanged.
 */
export function unmapIPv4(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

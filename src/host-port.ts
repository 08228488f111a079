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

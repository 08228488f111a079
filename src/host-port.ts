/** `host:port` as URLs and most tools write it: an IPv6 address in brackets (`[::1]:2055`), so the port is not read as part of it. */
export function hostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

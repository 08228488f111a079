/** Small value checks shared by option specs. */
import { isIP } from 'node:net';

export function isCidrOrIp(s: string): boolean {
  // A zone (`fe80::1%eth0`) names an interface of this host, not a range of addresses.
  if (s.includes('%')) return false;
  const slash = s.indexOf('/');
  if (slash < 0) return isIP(s) !== 0;
  const fam = isIP(s.slice(0, slash));
  const len = s.slice(slash + 1);
  if (fam === 0 || !/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (fam === 4 ? 32 : 128);
}

/** A name server as `ip`, `ip:port` (IPv4) or `[ipv6]:port`, as Node's resolver takes it. */
export function isNameServer(s: string): boolean {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([\d.]+):(\d{1,5})$/.exec(s);
  if (m === null) return isIP(s) !== 0 && !s.includes('%');
  const port = Number(m[2]);
  return isIP(m[1]!) !== 0 && !m[1]!.includes('%') && port >= 1 && port <= 65535;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

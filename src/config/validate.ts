/** Small value checks shared by option specs. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
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

/** A plain SQL identifier (letters, digits, _; not starting with a digit): ClickHouse names are put into statements unquoted. */
export const SQL_IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `s` as a URL, or null: what `new URL` refuses (a space, a port past 65535) is no address. */
function urlOf(s: string): URL | null {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

/** An http(s) URL with a host (ClickHouse's endpoints). */
export function isHttpUrl(s: string): boolean {
  const u = urlOf(s);
  return u !== null && (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
}

/** A search node: an http(s) URL, or `host:port` (the scheme then comes from _TLS_ENABLE). */
export function isSearchNode(s: string): boolean {
  return s.includes('://') ? isHttpUrl(s) : isHostPort(s);
}

/** `host:port` (`[v6]:port` for IPv6), with a port from 1 to 65535 and no scheme or path. */
export function isHostPort(s: string): boolean {
  if (s.includes('://') || s.includes('/') || s.includes('@')) return false;
  const u = urlOf(`tcp://${s}`);
  return u !== null && u.hostname !== '' && u.port !== '' && Number(u.port) >= 1 && u.pathname === '' && u.search === '' && u.hash === '';
}

export interface TlsPair { cert: Buffer; key: Buffer }

/**
 * Throws unless `key` is the private key of `pair.cert`'s (first) certificate. OpenSSL refuses a
 * mismatched key of the certificate's own type, but keeps a key of another type (an RSA key with an
 * EC certificate, as when a renewal changes the key type and one file is written before the other)
 * in a slot of its own, and every handshake then fails.
 */
export function checkPair(pair: TlsPair): void {
  const cert = new X509Certificate(pair.cert);
  if (!cert.checkPrivateKey(createPrivateKey(pair.key))) throw new Error('the key is not the certificate\'s');
}

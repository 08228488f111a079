/**
 * Which Host headers the web server answers. The UI and API have no login by default and listen on
 * loopback; a page on another site whose name the attacker re-points at 127.0.0.1 (DNS rebinding) is
 * same-origin with it in the browser, and could read every flow. Its requests carry the attacker's
 * name in Host, so only names the collector can be reached by are answered: IP literals (a rebinding
 * page has a name, not an address), `localhost` and its subdomains, this machine's own name, and
 * EF_WEBUI_ALLOWED_HOSTS.
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';

export type HostCheck = (host: string | undefined) => boolean;

/** The name in a Host header: lower case, without port, brackets or trailing dot. */
export function hostName(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

export function hostCheck(allowed: readonly string[], machine: string = hostname()): HostCheck {
  if (allowed.includes('*')) return () => true;
  const exact = new Set<string>(['localhost']);
  const suffixes = ['.localhost'];
  const own = machine.toLowerCase();
  if (own !== '') {
    exact.add(own);
    exact.add(own.split('.')[0]!);
  }
  for (const a of allowed) {
    const n = hostName(a);
    if (n.startsWith('*.')) suffixes.push(n.slice(1));
    else exact.add(n);
  }
  return (header) => {
    // HTTP/1.0 clients may send none; browsers always do.
    if (header === undefined || header === '') return true;
    const n = hostName(header);
    return isIP(n) !== 0 || exact.has(n) || suffixes.some((s) => n.endsWith(s));
  };
}

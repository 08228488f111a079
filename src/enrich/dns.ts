/**
 * Host names of flow addresses by reverse DNS (EF_PROCESSOR_ENRICH_IPADDR_DNS_*): flow.src.host.name
 * and flow.dst.host.name (and their client/server views).
 *
 * A lookup takes milliseconds to seconds and a batch must not wait for it, so enrich() never waits:
 * it takes what the cache holds and, for an address it has not asked about (or whose answer has
 * expired), starts a lookup whose answer names the address's later flows. The first flows of a new
 * address therefore go out without a name. The cache holds answers for _CACHE_TTL seconds, "no name"
 * included; a failed lookup (timeout, refused, server failure) is asked again after a minute, and while
 * lookups fail a name serves at most one TTL past its own expiry. Lookups
 * in flight are bounded; past the bound an address waits for a later flow. Each decode worker has its
 * own cache and lookups.
 *
 * The resolver is Node's c-ares one (`dns.promises.Resolver`), so a slow name server holds no thread;
 * with no _NAMESERVER_IP it asks the system's name servers (/etc/resolv.conf).
 */
import { promises as dnsPromises } from 'node:dns';
import { log } from '../log/logger.js';
import { parseIpv4, parseIpv6 } from './ip-parse.js';
import { isPrivateIp } from './locality.js';
import type { Enricher, ExporterLabel } from '../pipeline/types.js';
import type { FlowRecord, Locality } from '../record/flow-record.js';

/** Lookups in flight at once, per enricher (each decode worker has its own). */
export const DNS_PENDING_MAX = 1000;
/** Seconds before a lookup that failed (no answer, not "no name") is tried again. */
export const DNS_RETRY_S = 60;
/** A DNS name is at most 253 characters written out (RFC 1035 §2.3.4, less the final dot). */
const MAX_NAME = 253;

interface Answer {
  /** '' when the address has no name (or the lookup failed). */
  name: string;
  /** When the address is asked again. */
  expiresAt: number;
  /** When the name was last answered: past it plus two TTLs, failed lookups no longer keep it. */
  answeredAt: number;
}

export interface DnsOptions {
  /** Name servers as `ip` or `ip:port` (`[v6]:port`); empty for the system's. */
  servers: readonly string[];
  timeoutMs: number;
  resolvePrivate: boolean;
  resolvePublic: boolean;
  cacheSize: number;
  ttlS: number;
  /** Seconds before a failed lookup is tried again (DNS_RETRY_S; shorter in tests). */
  retryS?: number;
}

export interface DnsStats {
  /** Lookups started, and how they ended. */
  lookups: number;
  named: number;
  unnamed: number;
  failed: number;
  /** Addresses not looked up because DNS_PENDING_MAX lookups were in flight. */
  deferred: number;
}

const words = new Uint16Array(8);

/**
 * The name whose PTR record names `ip` (RFC 1035 §3.5, RFC 3596 §2.5), or null when it is no address.
 * Asked with resolvePtr rather than reverse(): reverse() reports a timeout or a server failure as
 * "not found", and those must be asked again soon, not kept as "no name" for the TTL.
 */
export function ptrNameOf(ip: string): string | null {
  const v4 = parseIpv4(ip);
  if (v4 >= 0) return `${v4 & 255}.${(v4 >>> 8) & 255}.${(v4 >>> 16) & 255}.${v4 >>> 24}.in-addr.arpa`;
  if (!parseIpv6(ip, words)) return null;
  let s = '';
  for (let i = 7; i >= 0; i--) {
    const w = words[i]!;
    s += `${(w & 15).toString(16)}.${((w >> 4) & 15).toString(16)}.${((w >> 8) & 15).toString(16)}.${(w >> 12).toString(16)}.`;
  }
  return s + 'ip6.arpa';
}

/** The name a PTR answer gives: the first, without its final dot, within 253 octets (readableName); '' for none. */
export function hostNameOf(names: readonly string[]): string {
  const n = names[0];
  if (n === undefined) return '';
  // The root's dot, not one escaped (`\.`, a dot in the last label): a backslash before it that is
  // itself escaped (`\\.`, a label ending in a backslash) leaves it the root's.
  const escapes = /\\*(?=\.$)/.exec(n)?.[0].length ?? 0;
  const bare = n.endsWith('.') && escapes % 2 === 0 ? n.slice(0, -1) : n;
  return readableName(bare) ?? '';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const escapedByte = (b: number): string => '\\' + String(b).padStart(3, '0');

/**
 * A name as the resolver writes it (c-ares: a zone file's escapes, `\DDD` for a byte outside printable
 * ASCII and `\X` for a special character) as text to show: bytes that are UTF-8 (a name in a
 * non-ASCII script, as some internal servers answer) as their characters, special characters as
 * themselves; a dot inside a label, a backslash, control characters and bytes that are not UTF-8
 * stay escaped, so labels stay apart and no control character reaches a record. Null when its wire
 * form is longer than MAX_NAME octets (the escapes counted as the one octet each stands for).
 */
function readableName(s: string): string | null {
  if (!s.includes('\\')) return s.length > MAX_NAME ? null : s;
  let out = '';
  let octets = 0;
  let run: number[] = [];
  const endRun = (): void => {
    if (run.length === 0) return;
    let text: string | null = null;
    try {
      text = utf8.decode(Uint8Array.from(run));
    } catch {
      // Not UTF-8: escaped below.
    }
    // C1 controls (U+0080-U+009F, a terminal's CSI among them) are control characters too.
    if (text !== null && !/[\u0080-\u009f]/.test(text)) out += text;
    else for (const b of run) out += escapedByte(b);
    run = [];
  };
  for (let i = 0; i < s.length; i++) {
    octets++;
    if (s[i] !== '\\' || i + 1 === s.length) {
      endRun();
      out += s[i];
      continue;
    }
    let b: number;
    if (/^\d{3}$/.test(s.slice(i + 1, i + 4))) {
      b = Number(s.slice(i + 1, i + 4));
      i += 3;
    } else {
      b = s.charCodeAt(i + 1);
      i += 1;
    }
    if (b >= 0x80 && b <= 0xff) {
      run.push(b);
      continue;
    }
    endRun();
    if (b < 0x20 || b === 0x7f) out += escapedByte(b);
    else if (b === 0x2e || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else out += String.fromCharCode(b);
  }
  endRun();
  return octets > MAX_NAME ? null : out;
}

export class DnsEnricher implements Enricher {
  readonly name = 'dns';
  private readonly resolver: dnsPromises.Resolver;
  /**
   * Answers in two generations of at most half of _CACHE_SIZE each: new answers go into `young`; when
   * it is full it becomes `old` and the previous `old` goes whole. Evicting one entry at a time from a
   * Map cost time in proportion to the entries deleted before it (V8 keeps their slots until it
   * rebuilds the table) and, near 2^24 entries, threw.
   */
  private young = new Map<string, Answer>();
  private old = new Map<string, Answer>();
  private readonly half: number;
  private readonly pending = new Set<string>();
  private stopped = false;
  readonly stats: DnsStats = { lookups: 0, named: 0, unnamed: 0, failed: 0, deferred: 0 };

  constructor(private readonly o: DnsOptions) {
    // One try: a lost answer is asked again by a later flow, after DNS_RETRY_S.
    this.resolver = new dnsPromises.Resolver({ timeout: o.timeoutMs, tries: 1 });
    this.half = Math.max(1, Math.floor(o.cacheSize / 2));
    if (o.servers.length > 0) this.resolver.setServers([...o.servers]);
  }

  async start(): Promise<void> {
    const servers = this.resolver.getServers();
    log.info(`DNS names: reverse lookups through ${servers.length > 0 ? servers.join(', ') : 'no name server'} (${[this.o.resolvePrivate ? 'private' : '', this.o.resolvePublic ? 'public' : ''].filter(Boolean).join(' and ') || 'no'} addresses), answers kept ${this.o.ttlS} s`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resolver.cancel();
  }

  private wanted(l: Locality): boolean {
    return l === 'private' ? this.o.resolvePrivate : this.o.resolvePublic;
  }

  enrich(batch: FlowRecord[]): void {
    const now = Date.now();
    // A batch's records mostly come from one exporter: its name is looked up once per run of them.
    let exporter = '', exporterName = '';
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.srcIp !== '' && this.wanted(r.srcLocality)) r.srcHost = this.nameOf(r.srcIp, now);
      if (r.dstIp !== '' && this.wanted(r.dstLocality)) r.dstHost = this.nameOf(r.dstIp, now);
      if (r.exporterIp !== '') {
        if (r.exporterIp !== exporter) {
          exporter = r.exporterIp;
          exporterName = this.wanted(isPrivateIp(exporter) ? 'private' : 'public') ? this.nameOf(exporter, now) : '';
        }
        r.exporterHost = exporterName;
      }
    }
  }

  /** The cached name ('' none yet); starts a lookup when there is no answer or it has expired (the old one serves meanwhile). */
  private nameOf(ip: string, now: number): string {
    const a = this.young.get(ip) ?? this.old.get(ip);
    if (a !== undefined && a.expiresAt > now) return a.name;
    if (!this.pending.has(ip)) {
      if (this.pending.size >= DNS_PENDING_MAX || this.stopped) this.stats.deferred++;
      else this.lookup(ip);
    }
    return a?.name ?? '';
  }

  private lookup(ip: string): void {
    const ptr = ptrNameOf(ip);
    if (ptr === null) {
      this.remember(ip, '', this.o.ttlS, Date.now());
      return;
    }
    this.pending.add(ip);
    this.stats.lookups++;
    this.resolver.resolvePtr(ptr).then(
      (names) => {
        const name = hostNameOf(names);
        if (name === '') this.stats.unnamed++;
        else this.stats.named++;
        this.remember(ip, name, this.o.ttlS, Date.now());
      },
      (err: NodeJS.ErrnoException) => {
        // "No such name" is an answer, kept as long as a name; anything else is tried again soon.
        if (err.code === dnsPromises.NOTFOUND || err.code === dnsPromises.NODATA) {
          this.stats.unnamed++;
          this.remember(ip, '', this.o.ttlS, Date.now());
        } else {
          // The old name serves on while the server fails, but not for ever: up to one TTL past its expiry.
          this.stats.failed++;
          const a = this.young.get(ip) ?? this.old.get(ip);
          const keep = a !== undefined && a.name !== '' && Date.now() < a.answeredAt + 2 * this.o.ttlS * 1000;
          this.remember(ip, keep ? a.name : '', Math.min(this.o.retryS ?? DNS_RETRY_S, this.o.ttlS), keep ? a.answeredAt : Date.now());
        }
      },
    )
      // Nothing above throws; should it ever, a lookup must not end the process (an unhandled rejection would).
      .catch((err: unknown) => log.warn(`DNS names: ${ip}: ${(err as Error).message}`))
      .finally(() => this.pending.delete(ip));
  }

  /** Keeps an answer, in the young generation (which becomes the old one when full: see `young`). */
  private remember(ip: string, name: string, ttlS: number, answeredAt: number): void {
    if (this.stopped) return;
    this.young.set(ip, { name, expiresAt: Date.now() + ttlS * 1000, answeredAt });
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  counters(): Record<string, number> {
    return { ...this.stats };
  }

  /** The exporter's name as last answered (expired or not); no lookup is started. */
  exporterLabel(exporter: string): ExporterLabel | null {
    const a = this.young.get(exporter) ?? this.old.get(exporter);
    return a === undefined || a.name === '' ? null : { host: a.name };
  }

  /** Answers held (an address answered again may be in both generations: counted twice). */
  get cached(): number {
    return this.young.size + this.old.size;
  }
}

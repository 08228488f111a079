/**
 * DNS TEST SERVER: a name server on loopback for the reverse-DNS enricher's tests (no real one may be
 * asked from here). It answers PTR questions over UDP from a table of address → name, as a real
 * server would: the name for a known address, NXDOMAIN for an unknown one, and, for addresses set so,
 * SERVFAIL or no answer at all (a lookup that times out), or the answer only after a delay. Queries
 * are decoded and answers encoded with dns-packet, and every question is counted.
 */
import dgram from 'node:dgram';
import { isIPv4 } from 'node:net';
import * as packet from 'dns-packet';

export type Behaviour = { name: string; delayMs?: number } | 'servfail' | 'silent';

/** The PTR name of an address (`7.2.0.192.in-addr.arpa`, nibbles under `ip6.arpa`). */
export function ptrName(ip: string): string {
  if (isIPv4(ip)) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  const [head, tail = ''] = ip.split('::');
  const h = head === '' ? [] : head!.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const hex = groups.map((g) => g.padStart(4, '0')).join('');
  return [...hex].reverse().join('.') + '.ip6.arpa';
}

export class DnsTestServer {
  private readonly sock = dgram.createSocket('udp4');
  private readonly table = new Map<string, Behaviour>();
  /** Questions asked, by PTR name. */
  readonly asked = new Map<string, number>();

  set(ip: string, b: Behaviour): void {
    this.table.set(ptrName(ip), b);
  }

  async start(): Promise<void> {
    this.sock.on('message', (msg, rinfo) => this.answer(msg, rinfo));
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
  }

  /** As EF_PROCESSOR_ENRICH_IPADDR_DNS_NAMESERVER_IP takes it. */
  get address(): string {
    return `127.0.0.1:${this.sock.address().port}`;
  }

  total(): number {
    let n = 0;
    for (const v of this.asked.values()) n += v;
    return n;
  }

  private answer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let q: packet.Packet;
    try {
      q = packet.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase();
    this.asked.set(name, (this.asked.get(name) ?? 0) + 1);
    const b = question.type === 'PTR' ? this.table.get(name) : undefined;
    if (b === 'silent') return;
    const reply = (rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL', answers: packet.Answer[]): void => {
      const out = packet.encode({ id: q.id, type: 'response', flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | rcodeBits(rcode), questions: q.questions, answers });
      this.sock.send(out, rinfo.port, rinfo.address);
    };
    if (b === 'servfail') return reply('SERVFAIL', []);
    if (b === undefined) return reply('NXDOMAIN', []);
    const send = (): void => reply('NOERROR', [{ type: 'PTR', name: question.name, ttl: 300, class: 'IN', data: b.name }]);
    if (b.delayMs !== undefined) setTimeout(send, b.delayMs);
    else send();
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.sock.close(() => r()));
  }
}

/** The RCODE in the header's low four bits (RFC 1035 §4.1.1). */
function rcodeBits(rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL'): number {
  return rcode === 'NXDOMAIN' ? 3 : rcode === 'SERVFAIL' ? 2 : 0;
}

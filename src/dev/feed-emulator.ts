/**
 * A loopback stand-in for every built-in threat feed and for Microsoft Graph host reputation, for
 * tests and demos: each feed at `/<feed name>` in the shape its provider serves (captured
 * structure: Spamhaus's JSON lines with the closing metadata record, abuse.ch's boxed comment
 * header, DShield's tab-separated table with its header row, FireHOL's netset comments, AbuseIPDB's
 * plaintext or JSON by `Accept`, OTX's pulse pages with `next`), user formats under `/user/<format>`, fault
 * modes per path, and the Entra ID token and Graph reputation endpoints.
 *
 * The addresses are fixed, public (never documentation or private space, which the enricher would
 * drop) and chosen per feed so a test can tell which feed flagged a flow; `FEED_HITS` lists them.
 * Private and bogon entries are mixed in where the real lists have them (FireHOL level1) or could
 * (user lists), to prove they never mark anything.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPort } from '../host-port.js';

export const EMULATOR_FAULTS = ['none', '401', '404', '429', '500', 'stall', 'truncate', 'garbage', 'empty'] as const;
export type FeedFault = (typeof EMULATOR_FAULTS)[number];

/** One address per feed that the feed lists, and the threat name the enricher should give it. */
export const FEED_HITS: Record<string, { ip: string; name: string }> = {
  'spamhaus-drop-v4': { ip: '1.10.16.77', name: 'SBL256894' },
  'spamhaus-drop-v6': { ip: '2a06:5280::9', name: 'SBL608911' },
  feodo: { ip: '50.16.16.211', name: 'botnet-c2' },
  'feodo-json': { ip: '162.243.103.246', name: 'Emotet' },
  'et-compromised': { ip: '45.148.10.81', name: 'compromised' },
  'cins-army': { ip: '80.94.95.115', name: 'cins-badguy' },
  'blocklist-de': { ip: '91.92.243.17', name: 'attacker' },
  'tor-exit': { ip: '185.220.101.42', name: 'tor-exit' },
  dshield: { ip: '193.32.162.130', name: 'dshield-top20' },
  'firehol-level1': { ip: '5.188.11.3', name: 'firehol-level1' },
  'firehol-level2': { ip: '31.184.198.23', name: 'firehol-level2' },
  'firehol-level3': { ip: '37.49.230.74', name: 'firehol-level3' },
  'firehol-level4': { ip: '46.161.27.151', name: 'firehol-level4' },
  abuseipdb: { ip: '118.25.6.39', name: 'abuseipdb' },
  // The pulse name holds a ',' which would split the joined threat fields: it becomes a space.
  otx: { ip: '194.26.29.113', name: 'Cobalt Strike C2 servers week 48' },
};

/** User-format hits (feed name = `user-<format>` in the tests' YAML). */
export const USER_HITS: Record<string, { ip: string; name: string }> = {
  plain: { ip: '77.90.185.60', name: 'user-plain' },
  csv: { ip: '87.120.84.9', name: 'scanner' },
  jsonl: { ip: '94.232.46.19', name: 'bruteforce' },
  zeek: { ip: '141.98.11.0', name: 'phishing kit host' },
  iprep: { ip: '179.43.187.0', name: 'iprep-category-1' },
};

const H = FEED_HITS;
const U = USER_HITS;

/** Bodies shaped like each provider's. */
function feedBody(name: string): string {
  switch (name) {
    case 'spamhaus-drop-v4':
      return [
        '{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}',
        '{"cidr":"2.56.192.0/22","sblid":"SBL459831","rir":"ripencc"}',
        '{"cidr":"5.134.128.0/19","sblid":"SBL270738","rir":"ripencc"}',
        '{"type":"metadata","timestamp":1764252000,"size":174,"records":3,"copyright":"(c) 2026 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}',
        '',
      ].join('\n');
    case 'spamhaus-drop-v6':
      return [
        '{"cidr":"2a06:5280::/29","sblid":"SBL608911","rir":"ripencc"}',
        '{"cidr":"2a07:9b80::/29","sblid":"SBL612344","rir":"ripencc"}',
        '{"type":"metadata","timestamp":1764252000,"size":118,"records":2,"copyright":"(c) 2026 The Spamhaus Project SLU","terms":"https://www.spamhaus.org/drop/terms/"}',
        '',
      ].join('\n');
    case 'feodo':
      return [
        '################################################################',
        '# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (Recommended)  #',
        '# Last updated: 2026-11-27 14:05:12 UTC                        #',
        '#                                                              #',
        '# Terms Of Use: https://feodotracker.abuse.ch/blocklist/       #',
        '# For questions please contact feodotracker [at] abuse.ch      #',
        '################################################################',
        '#',
        '# DstIP',
        H.feodo!.ip,
        '67.213.75.205',
        '# END 2 entries',
        '',
      ].join('\n');
    case 'feodo-json':
      return JSON.stringify([
        { ip_address: H['feodo-json']!.ip, port: 8080, status: 'online', hostname: null, as_number: 14061, as_name: 'DIGITALOCEAN-ASN', country: 'US', first_seen: '2025-03-01 10:00:00', last_online: '2026-11-27', malware: 'Emotet' },
        { ip_address: '51.75.33.127', port: 443, status: 'offline', hostname: null, as_number: 16276, as_name: 'OVH', country: 'FR', first_seen: '2025-05-01 10:00:00', last_online: '2026-11-20', malware: 'QakBot' },
      ], null, 2);
    case 'et-compromised':
      return [H['et-compromised']!.ip, '103.21.244.7', '159.65.10.33', ''].join('\n');
    case 'cins-army':
      return [H['cins-army']!.ip, '92.63.197.153', '2.57.122.10', ''].join('\n');
    case 'blocklist-de':
      return [H['blocklist-de']!.ip, '2001:41d0:303:1c16::1', '104.248.50.9', ''].join('\n');
    case 'tor-exit':
      return [H['tor-exit']!.ip, '185.220.101.43', '2.58.56.43', ''].join('\n');
    case 'dshield':
      return [
        '#',
        '#   DShield.org Recommended Block List',
        '#   (c) 2026 DShield.org',
        '#   some rights reserved. Details http://creativecommons.org/licenses/by-nc-sa/2.5/',
        '#   use on your own risk. No warranties implied.',
        '#   primary URL: http://feeds.dshield.org/block.txt',
        '#',
        '#    comments: info@dshield.org',
        '#    updated about once an hour',
        '#',
        'Start\tEnd\tNetblock\tAttacks\tName\tCountry\temail',
        '193.32.162.0\t193.32.162.255\t24\t3861\tEXAMPLE-NET\tNL\tabuse@example.net',
        '80.82.77.0\t80.82.77.255\t24\t2104\tEXAMPLE-HOST\tSC\tabuse@example.org',
        '# end of list',
        '',
      ].join('\n');
    case 'abuseipdb':
      return [H.abuseipdb!.ip, '185.224.128.17', ''].join('\n');
    default: {
      const m = /^firehol-level([1-4])$/.exec(name);
      if (m !== null) {
        const n = Number(m[1]);
        const lines = [
          '#',
          `# firehol_level${n}`,
          '#',
          '# ipv4 hash:net ipset',
          '#',
          `# A firewall blacklist composed from IP lists, level ${n}.`,
          '#',
          '# Source URL: https://iplists.firehol.org/',
          '#',
          '# Source File Date: Fri Nov 27 13:58:41 UTC 2026',
          '#',
        ];
        // Level 1 lists the bogons (RFC 1918, multicast, ...) the collector must never flag.
        if (n === 1) lines.push('0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/3', '5.188.10.0/23');
        else lines.push(H[name]!.ip);
        return lines.join('\n') + '\n';
      }
      throw new Error(`no such feed: ${name}`);
    }
  }
}

function userBody(format: string): string {
  switch (format) {
    case 'plain':
      return ['# my own list', U.plain!.ip, '192.168.1.10', '10.1.2.3', 'fd00::1', ''].join('\n');
    case 'csv':
      return ['ip,category,first_seen', `${U.csv!.ip},scanner,2026-11-01`, '172.16.5.5,internal,2026-11-01', ''].join('\n');
    case 'jsonl':
      return [`{"ip":"${U.jsonl!.ip}","name":"bruteforce"}`, '{"ip":"192.168.7.7","name":"bruteforce"}', 'not json', ''].join('\n');
    case 'zeek':
      return [
        '#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url',
        `${U.zeek!.ip}\tIntel::ADDR\tcorp-intel\tphishing kit host\t-`,
        '141.98.10.0/24\tIntel::SUBNET\tcorp-intel\t-\t-',
        'evil.example.com\tIntel::DOMAIN\tcorp-intel\tC2 domain\t-',
        '10.10.10.10\tIntel::ADDR\tcorp-intel\tinternal test\t-',
        '',
      ].join('\n');
    case 'iprep':
      return ['# ip,category,score', `${U.iprep!.ip},1,101`, '179.43.188.0/24,6,88', '45.9.148.3,2,0', '192.168.0.1,1,100', ''].join('\n');
    default:
      throw new Error(`no such user format: ${format}`);
  }
}

/** The address on the second OTX page (the feed must follow `next`). */
export const OTX_PAGE2_HIT = { ip: '91.240.118.172', name: 'Mirai scanners' };

function otxBody(page: number, self: string): string {
  if (page >= 2) {
    return JSON.stringify({
      count: 2,
      next: null,
      previous: `${self}&page=1`,
      results: [{ id: '6571f2c1e3b1a0b2c3d4e5f7', name: OTX_PAGE2_HIT.name, indicators: [{ id: 4, indicator: OTX_PAGE2_HIT.ip, type: 'IPv4' }] }],
    });
  }
  return JSON.stringify({
    count: 2,
    next: `${self}&page=2`,
    previous: null,
    results: [{
      id: '6571f2c1e3b1a0b2c3d4e5f6', name: 'Cobalt Strike C2 servers, week 48', author_name: 'example', tlp: 'white', modified: '2026-11-26T10:00:00.000000',
      indicators: [
        { id: 1, indicator: H.otx!.ip, type: 'IPv4', created: '2026-11-26T10:00:00', title: '', description: '' },
        { id: 2, indicator: 'cdn-update.example.net', type: 'domain', created: '2026-11-26T10:00:00', title: '', description: '' },
        { id: 3, indicator: '10.20.30.40', type: 'IPv4', created: '2026-11-26T10:00:00', title: '', description: '' },
      ],
    }],
  });
}

export interface GraphEmulatorOptions {
  tenant: string;
  clientId: string;
  clientSecret: string;
  /** Address -> hostReputation answer; others get 404. */
  reputations: Record<string, { classification: string; score: number }>;
  /** Seconds a token lives (default 3599). */
  tokenTtlSec?: number;
  /** Answer 429 (Retry-After: retryAfterSec) to every reputation request after this many. */
  throttleAfter?: number;
  /** How many requests get the 429 (default: all after throttleAfter). */
  throttleCount?: number;
  retryAfterSec?: number;
}

export interface FeedEmulatorOptions {
  host?: string;
  port?: number;
  abuseipdbKey?: string;
  otxKey?: string;
  graph?: GraphEmulatorOptions;
}

export interface FeedEmulator {
  readonly url: string;
  /** Requests per path (query excluded), and the request headers last seen per path. */
  readonly hits: Map<string, number>;
  readonly lastHeaders: Map<string, Record<string, string | string[] | undefined>>;
  readonly lastQuery: Map<string, string>;
  /** Reputation requests (epoch ms each) and tokens issued. */
  readonly graphRequests: number[];
  tokensIssued: number;
  /** Faults by path (`/feodo`) or `*` for all feed paths. */
  setFault(path: string, fault: FeedFault): void;
  close(): Promise<void>;
}

export async function startFeedEmulator(o: FeedEmulatorOptions = {}): Promise<FeedEmulator> {
  const faults = new Map<string, FeedFault>();
  const hits = new Map<string, number>();
  const lastHeaders = new Map<string, Record<string, string | string[] | undefined>>();
  const lastQuery = new Map<string, string>();
  const graphRequests: number[] = [];
  const tokens = new Set<string>();
  const open = new Set<ServerResponse>();
  let tokensIssued = 0;

  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };

  const serveFeed = (path: string, req: IncomingMessage, res: ServerResponse, body: () => { text: string; type: string }): void => {
    const fault = faults.get(path) ?? faults.get('*') ?? 'none';
    switch (fault) {
      case '401':
      case '404':
      case '429':
      case '500':
        send(res, Number(fault), `${fault}\n`, 'text/plain', fault === '429' ? { 'retry-after': '3600' } : {});
        return;
      case 'stall':
        open.add(res);
        return; // never answers: the client's deadline must fire
      case 'empty':
        send(res, 200, '');
        return;
      case 'garbage':
        send(res, 200, '{"cidr": [unterminated', 'application/json');
        return;
      case 'truncate': {
        const t = body().text;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': t.length + 1000 });
        res.write(t.slice(0, Math.floor(t.length / 2)));
        res.destroy();
        return;
      }
      default: {
        const b = body();
        send(res, 200, b.text, b.type);
      }
    }
  };

  const graph = o.graph;
  const handleGraph = async (req: IncomingMessage, res: ServerResponse, u: URL): Promise<boolean> => {
    if (graph === undefined) return false;
    if (req.method === 'POST' && u.pathname === `/${graph.tenant}/oauth2/v2.0/token`) {
      let raw = '';
      for await (const c of req) raw += String(c);
      const f = new URLSearchParams(raw);
      if (f.get('grant_type') !== 'client_credentials' || f.get('client_id') !== graph.clientId || f.get('client_secret') !== graph.clientSecret || f.get('scope') !== 'https://graph.microsoft.com/.default') {
        send(res, 401, JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }), 'application/json');
        return true;
      }
      const tok = `emu-${++tokensIssued}-${Math.random().toString(36).slice(2)}`;
      tokens.add(tok);
      const ttl = graph.tokenTtlSec ?? 3599;
      setTimeout(() => tokens.delete(tok), ttl * 1000).unref();
      send(res, 200, JSON.stringify({ token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: tok }), 'application/json');
      return true;
    }
    const m = /^\/v1\.0\/security\/threatIntelligence\/hosts\/([^/]+)\/reputation$/.exec(u.pathname);
    if (req.method === 'GET' && m !== null) {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
        send(res, 401, JSON.stringify({ error: { code: 'InvalidAuthenticationToken', message: 'Access token has expired or is not yet valid.' } }), 'application/json');
        return true;
      }
      graphRequests.push(Date.now());
      if (graph.throttleAfter !== undefined && graphRequests.length > graph.throttleAfter && graphRequests.length <= graph.throttleAfter + (graph.throttleCount ?? Infinity)) {
        send(res, 429, JSON.stringify({ error: { code: 'TooManyRequests', message: 'Too many requests' } }), 'application/json', { 'retry-after': String(graph.retryAfterSec ?? 1) });
        return true;
      }
      const ip = decodeURIComponent(m[1]!);
      const r = graph.reputations[ip];
      if (r === undefined) {
        send(res, 404, JSON.stringify({ error: { code: 'NotFound', message: 'Host not found' } }), 'application/json');
        return true;
      }
      send(res, 200, JSON.stringify({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#security/threatIntelligence/hosts/reputation/$entity', id: ip, classification: r.classification, score: r.score, rules: [] }), 'application/json');
      return true;
    }
    return false;
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://emulator');
    hits.set(u.pathname, (hits.get(u.pathname) ?? 0) + 1);
    lastHeaders.set(u.pathname, { ...req.headers });
    lastQuery.set(u.pathname, u.search);
    void handleGraph(req, res, u).then((done) => {
      if (done) return;
      if (req.method === 'POST' && u.pathname === '/_emulator/fault') {
        // Loopback demo control: POST /_emulator/fault?path=/feodo&mode=500 (path * for every feed).
        const mode = u.searchParams.get('mode') ?? '';
        if (!(EMULATOR_FAULTS as readonly string[]).includes(mode)) return send(res, 400, `mode must be one of ${EMULATOR_FAULTS.join(', ')}\n`);
        emu.setFault(u.searchParams.get('path') ?? '*', mode as FeedFault);
        return send(res, 200, `fault ${mode} on ${u.searchParams.get('path') ?? '*'}\n`);
      }
      const name = u.pathname.slice(1);
      if (name.startsWith('user/')) {
        const fmt = name.slice(5);
        if (!(fmt in USER_HITS)) return send(res, 404, 'not found\n');
        return serveFeed(u.pathname, req, res, () => ({ text: userBody(fmt), type: 'text/plain' }));
      }
      if (name === 'abuseipdb') {
        if (req.headers.key !== o.abuseipdbKey) return send(res, 401, JSON.stringify({ errors: [{ detail: 'Authentication failed. Your API key is either missing, incorrect, or revoked.', status: 401 }] }), 'application/json');
        const plain = u.searchParams.has('plaintext') || (req.headers.accept ?? '').includes('text/plain');
        return serveFeed(u.pathname, req, res, () =>
          plain
            ? { text: feedBody('abuseipdb'), type: 'text/plain' }
            : { text: JSON.stringify({ meta: { generatedAt: '2026-11-27T14:00:00+00:00' }, data: feedBody('abuseipdb').trim().split('\n').map((ip) => ({ ipAddress: ip, countryCode: 'CN', abuseConfidenceScore: 100, lastReportedAt: '2026-11-27T13:00:00+00:00' })) }), type: 'application/json' });
      }
      if (name === 'otx') {
        if (req.headers['x-otx-api-key'] !== o.otxKey) return send(res, 403, JSON.stringify({ detail: 'Authentication required' }), 'application/json');
        const self = `http://${req.headers.host ?? '127.0.0.1'}/otx?limit=${u.searchParams.get('limit') ?? '50'}`;
        return serveFeed(u.pathname, req, res, () => ({ text: otxBody(Number(u.searchParams.get('page') ?? '1'), self), type: 'application/json' }));
      }
      if (!(name in FEED_HITS)) return send(res, 404, 'not found\n');
      return serveFeed(u.pathname, req, res, () => ({ text: feedBody(name), type: name.includes('json') || name.startsWith('spamhaus') ? 'application/json' : 'text/plain' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const emu: FeedEmulator = {
    url: `http://${hostPort(o.host ?? '127.0.0.1', addr.port)}`,
    hits,
    lastHeaders,
    lastQuery,
    graphRequests,
    get tokensIssued() {
      return tokensIssued;
    },
    set tokensIssued(v: number) {
      tokensIssued = v;
    },
    setFault(path, fault) {
      if (fault === 'none') faults.delete(path);
      else faults.set(path, fault);
    },
    async close() {
      for (const r of open) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emu;
}

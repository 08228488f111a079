/**
 * The built-in feed catalogue: where each public list lives, its format, the name its entries get,
 * and how often it may be fetched. Facts (URLs, formats, refresh limits, terms) are written down
 * with their sources in docs/threat-intel.md; the minimum interval here enforces each provider's
 * stated limit, so a misconfiguration cannot get the collector's address firewalled.
 */
import type { FeedFormatName } from './parse.js';

export interface CatalogueFeed {
  /** Feed id: the `sec.threat.feed.name` value, the stored file name, the name in option lists. */
  name: string;
  /** Provider URL; a base-URL override (tests, mirrors) keeps only its query string. */
  url: string;
  format: FeedFormatName;
  /** Threat name for entries the list does not name. */
  defaultName: string;
  /** Minutes: default refresh interval and the provider's floor. */
  intervalMin: number;
  minIntervalMin: number;
  /** Needs an API key (then it is off until the key is set). */
  key?: 'abuseipdb' | 'otx';
  /** In the set EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE turns on when no list is given. */
  keyFree: boolean;
  /** One line for docs and the Integrations page. */
  about: string;
}

export const CATALOGUE: readonly CatalogueFeed[] = [
  { name: 'spamhaus-drop-v4', url: 'https://www.spamhaus.org/drop/drop_v4.json', format: 'jsonl', defaultName: 'spamhaus-drop', intervalMin: 720, minIntervalMin: 60, keyFree: true,
    about: 'Spamhaus DROP (IPv4): netblocks hijacked or leased by spam and cyber-crime operations; entries named by SBL id.' },
  { name: 'spamhaus-drop-v6', url: 'https://www.spamhaus.org/drop/drop_v6.json', format: 'jsonl', defaultName: 'spamhaus-drop', intervalMin: 720, minIntervalMin: 60, keyFree: true,
    about: 'Spamhaus DROPv6: the IPv6 counterpart.' },
  { name: 'feodo', url: 'https://feodotracker.abuse.ch/downloads/ipblocklist_recommended.txt', format: 'plain', defaultName: 'botnet-c2', intervalMin: 60, minIntervalMin: 15, keyFree: true,
    about: 'abuse.ch Feodo Tracker recommended blocklist: botnet command-and-control servers.' },
  { name: 'feodo-json', url: 'https://feodotracker.abuse.ch/downloads/ipblocklist.json', format: 'json', defaultName: 'botnet-c2', intervalMin: 60, minIntervalMin: 15, keyFree: false,
    about: 'abuse.ch Feodo Tracker, JSON form: entries named by malware family (`malware`).' },
  { name: 'et-compromised', url: 'https://rules.emergingthreats.net/blockrules/compromised-ips.txt', format: 'plain', defaultName: 'compromised', intervalMin: 1440, minIntervalMin: 60, keyFree: true,
    about: 'Proofpoint Emerging Threats compromised hosts.' },
  { name: 'cins-army', url: 'https://cinsscore.com/list/ci-badguys.txt', format: 'plain', defaultName: 'cins-badguy', intervalMin: 360, minIntervalMin: 60, keyFree: true,
    about: 'CINS Army list (Sentinel IPS): addresses with poor Rogue Packet scores.' },
  { name: 'blocklist-de', url: 'https://lists.blocklist.de/lists/all.txt', format: 'plain', defaultName: 'attacker', intervalMin: 720, minIntervalMin: 30, keyFree: true,
    about: 'blocklist.de: addresses reported for attacks in the last 48 hours (fail2ban reporters).' },
  { name: 'tor-exit', url: 'https://check.torproject.org/torbulkexitlist', format: 'plain', defaultName: 'tor-exit', intervalMin: 60, minIntervalMin: 30, keyFree: true,
    about: 'Tor Project bulk exit list: current Tor exit relays (anonymiser, not malicious as such).' },
  { name: 'dshield', url: 'https://feeds.dshield.org/block.txt', format: 'dshield', defaultName: 'dshield-top20', intervalMin: 60, minIntervalMin: 60, keyFree: true,
    about: 'SANS ISC DShield recommended block list: the top 20 attacking /24 networks.' },
  ...[1, 2, 3, 4].map((n) => ({
    name: `firehol-level${n}`, url: `https://raw.githubusercontent.com/firehol/blocklist-ipsets/master/firehol_level${n}.netset`, format: 'plain' as const,
    defaultName: `firehol-level${n}`, intervalMin: 1440, minIntervalMin: 60, keyFree: n === 1,
    about: `FireHOL level ${n} netset${n === 1 ? ' (maximum protection, minimum false positives; includes bogons, which are dropped here)' : n === 4 ? ' (aggressive; more false positives)' : ''}.`,
  })),
  { name: 'abuseipdb', url: 'https://api.abuseipdb.com/api/v2/blacklist?confidenceMinimum=90&plaintext', format: 'plain', defaultName: 'abuseipdb', intervalMin: 1440, minIntervalMin: 360, key: 'abuseipdb', keyFree: false,
    about: 'AbuseIPDB blacklist API (key in the `Key` header; the free plan allows 5 downloads a day).' },
  { name: 'otx', url: 'https://otx.alienvault.com/api/v1/pulses/subscribed?limit=50', format: 'otx', defaultName: 'otx', intervalMin: 360, minIntervalMin: 60, key: 'otx', keyFree: false,
    about: 'AlienVault OTX subscribed pulses (key in `X-OTX-API-KEY`): IPv4, IPv6 and CIDR indicators, named by pulse.' },
];

export const CATALOGUE_NAMES = CATALOGUE.map((f) => f.name);

export function catalogueFeed(name: string): CatalogueFeed | undefined {
  return CATALOGUE.find((f) => f.name === name);
}

/** The provider URL, or `<base>/<name>` with the provider's query string when a base URL is set. */
export function feedUrl(f: CatalogueFeed, baseUrl: string, query?: Record<string, string>): string {
  const u = new URL(f.url);
  for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
  // `plaintext` is a bare flag AbuseIPDB reads by presence; URLSearchParams writes it as `plaintext=`.
  const search = u.search.replace(/([?&]plaintext)=(?=&|$)/, '$1');
  if (baseUrl.trim() === '') return u.origin + u.pathname + search;
  return `${baseUrl.replace(/\/+$/, '')}/${f.name}${search}`;
}

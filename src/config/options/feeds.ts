/** Threat feeds beyond PassiveTotal and Microsoft Graph host reputation (see docs/threat-intel.md). */
import { opt } from '../spec.js';
import { CATALOGUE_NAMES } from '../../threat/feeds/catalogue.js';

const G = 'Threat feeds';
const GM = 'Threat intelligence: Microsoft Graph host reputation';
const url = (s: string): string | null => (/^https?:\/\/[^\s]+$/i.test(s) ? null : 'an http or https URL');

export const FEED_OPTIONS = {
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: opt.bool(G, false, 'Download public threat lists and mark flow ends on them. With no _FEEDS list: every key-free built-in feed of the default set, plus AbuseIPDB and OTX when their keys are set.'),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: opt.list(G, '', 'Built-in feeds to use when _ENABLE is on (empty: the default set).', { test: (s) => CATALOGUE_NAMES.includes(s), allowed: CATALOGUE_NAMES.join(', ') }),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH: opt.str(G, '', 'YAML file of your own feeds (name, url, format, header, interval); an entry named like a built-in changes its url or interval.', 'a file path'),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: opt.checked(G, '', 'Fetch every built-in feed from `<base>/<feed name>` instead of the provider (a local mirror; tests).', 'an http or https URL', url),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_TIMEOUT: opt.int(G, 60, 'Seconds one feed download may take, the whole body included.', { min: 1, max: 3600 }),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY: opt.secret(G, 'AbuseIPDB API key, sent in the `Key` header. Never logged.'),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_CONFIDENCE_MINIMUM: opt.int(G, 90, 'AbuseIPDB blacklist `confidenceMinimum` (the free plan only returns 100).', { min: 25, max: 100 }),
  EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY: opt.secret(G, 'AlienVault OTX API key, sent in the `X-OTX-API-KEY` header. Never logged.'),

  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE: opt.bool(GM, false, 'Look up public addresses seen in flows with Microsoft Graph host reputation (cached; never on the hot path).'),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID: opt.str(GM, '', 'Entra ID tenant (directory) ID of the app registration.', 'a tenant ID'),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID: opt.str(GM, '', 'Application (client) ID; needs the ThreatIntelligence.Read.All application permission.', 'a client ID'),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET: opt.secret(GM, 'Client secret of the app registration. Never logged.'),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL: opt.checked(GM, 'https://login.microsoftonline.com', 'Entra ID token endpoint base.', 'an http or https URL', url),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL: opt.checked(GM, 'https://graph.microsoft.com', 'Microsoft Graph base URL.', 'an http or https URL', url),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CACHE_TTL: opt.int(GM, 1440, 'Minutes an answer stays cached.', { min: 1 }),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_RATE_LIMIT: opt.int(GM, 60, 'Most reputation requests per minute.', { min: 1, max: 6000 }),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_QUEUE_SIZE: opt.int(GM, 10000, 'Addresses waiting for a lookup; beyond it new ones are dropped and counted.', { min: 10 }),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_MIN_SCORE: opt.int(GM, 1, 'Lowest score that marks an address (classification `neutral`/`unknown` never marks).', { min: 0, max: 100 }),
  EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TIMEOUT: opt.int(GM, 10, 'Seconds one token or reputation request may take.', { min: 1, max: 300 }),
};

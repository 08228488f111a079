/**
 * The user-feed YAML file (EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_USERDEF_PATH): entries that could
 * only fail later, or quietly change another enricher or a built-in feed, stop start-up with the
 * entry and the key named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserFeeds, RESERVED_FEED_NAMES, UserFeedError } from '../src/threat/feeds/userdef.js';
import { resolveFeeds } from '../src/threat/feeds/resolve.js';
import { RISKIQ_FEED } from '../src/enrich/riskiq-threat.js';
import { MSGRAPH_FEED } from '../src/threat/reputation/enricher.js';
import { testConfig } from './helpers/collect.js';

const parse = (yaml: string) => parseUserFeeds(yaml, 'feeds.yaml');

test('a user feed may not take the feed name of the RiskIQ or Microsoft Graph enricher (their stored list, their status rows)', () => {
  assert.ok(RESERVED_FEED_NAMES.includes(RISKIQ_FEED) && RESERVED_FEED_NAMES.includes(MSGRAPH_FEED), 'both labels reserved');
  for (const name of [RISKIQ_FEED, MSGRAPH_FEED]) {
    assert.throws(() => parse(`feeds:\n  - name: corp\n    url: http://127.0.0.1:9/a\n  - name: ${name}\n    url: http://127.0.0.1:9/b\n`),
      (err: Error) => err instanceof UserFeedError && err.message.startsWith('feeds.yaml: feed 2: "name"') && err.message.includes(name),
      `${name} refused, entry 2 named`);
  }
  assert.equal(parse('- name: riskiq-mirror\n  url: http://127.0.0.1:9/a\n').length, 1, 'a name that only starts with one is fine');
});

test('a url that does not parse is refused at start-up with the entry named, not as a bare "Invalid URL"', () => {
  assert.throws(() => parse('- name: corp\n  url: "http://[bad"\n'), (err: Error) => err instanceof UserFeedError && /^feeds\.yaml: feed 1 \(corp\): "url"/.test(err.message) && err.message.includes('http://[bad'), 'named');
  assert.equal(parse('- name: corp\n  url: "http://[::1]:8080/x"\n')[0]!.url, 'http://[::1]:8080/x', 'a bracketed IPv6 host is fine');
});

test('header names that are no HTTP token and values with control characters are refused at start-up', () => {
  const bad = [
    ['a blank in the name', '  headers:\n    "X Api Key": abc\n', /header name "X Api Key"/],
    ['a colon-less name from the string form', '  header: "Bad Name: abc"\n', /header name "Bad Name"/],
    ['a line break in the value', '  headers:\n    X-Key: "abc\\r\\nX-Other: 1"\n', /header "X-Key" has a control character/],
    ['a NUL in the value', '  header: "X-Key: a\\0b"\n', /header "X-Key" has a control character/],
    ['a character beyond Latin-1', '  header: "X-Key: \\u0100"\n', /header "X-Key" has a control character .* beyond Latin-1/],
    ['a mapping as the value', '  headers:\n    X-Key: { a: 1 }\n', /header "X-Key" must have a text value/],
  ] as const;
  for (const [what, yaml, re] of bad) {
    assert.throws(() => parse(`- name: corp\n  url: http://127.0.0.1:9/a\n${yaml}`), (err: Error) => err instanceof UserFeedError && err.message.startsWith('feeds.yaml: feed 1 (corp): ') && re.test(err.message), what);
  }
  const ok = parse('- name: corp\n  url: http://127.0.0.1:9/a\n  headers:\n    Authorization: "Bearer a.b-c_d~e+f/g="\n    X-Tab: "a\\tb"\n');
  assert.deepEqual(ok[0]!.headers, { Authorization: 'Bearer a.b-c_d~e+f/g=', 'X-Tab': 'a\tb' }, 'ordinary headers pass');
});

test('an entry with a built-in feed\'s name changes a feed that is on; it never turns one on (nor skips its key check)', () => {
  const abuse = parse('- name: abuseipdb\n  interval: 360\n');
  const off = testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'feodo' });
  assert.throws(() => resolveFeeds(off, abuse), (err: Error) => err instanceof UserFeedError && err.message.includes('"abuseipdb" is a built-in feed that is not turned on') && err.message.includes('EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS'), 'named in neither _FEEDS nor the default set');
  const defaults = testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true' });
  assert.throws(() => resolveFeeds(defaults, abuse), /EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY/, 'the default set without its key: the key is what turns it on');
  assert.throws(() => resolveFeeds(defaults, parse('- name: feodo-json\n  interval: 30\n')), /"feodo-json" is a built-in feed that is not turned on/, 'a key-free built-in outside the default set');
  const on = testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY: 'abuse-key-0123456789' });
  const r = resolveFeeds(on, abuse).find((f) => f.name === 'abuseipdb');
  assert.equal(r?.intervalMin, 360, 'applies when the feed is on');
  assert.equal(r?.headers.Key, 'abuse-key-0123456789', 'with its key');
  const moved = resolveFeeds(defaults, parse('- name: feodo\n  url: http://127.0.0.1:9/feodo.txt\n'));
  assert.equal(moved.find((f) => f.name === 'feodo')?.url, 'http://127.0.0.1:9/feodo.txt', 'a default feed moved to a mirror');
});

test('threat_name on a built-in feed\'s entry is refused, not ignored', () => {
  assert.throws(() => parse('- name: spamhaus-drop-v4\n  url: http://127.0.0.1:9/drop\n  threat_name: drop\n'),
    (err: Error) => err instanceof UserFeedError && err.message.startsWith('feeds.yaml: feed 1 (spamhaus-drop-v4): "threat_name" does not apply'), 'named');
  assert.throws(() => resolveFeeds(testConfig({ EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true' }), [{ name: 'feodo', headers: {}, threatName: 'x' }]), /"threat_name" does not apply/, 'nor through resolveFeeds');
  assert.equal(parse('- name: corp\n  url: http://127.0.0.1:9/a\n  threat_name: corp-intel\n')[0]!.threatName, 'corp-intel', 'a user feed keeps it');
});

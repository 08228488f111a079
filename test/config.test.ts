import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseEnvFile, renderConfig, replacementFor, secretValues } from '../src/config/load.js';
import { tempDir } from './helpers/collect.js';
import { needTool } from './helpers/tools.js';
import { execFileSync } from 'node:child_process';

const SEED_KEY = 'twBovkmV8YIxx0QyulybZg==';
const SEED_API_KEY = '0ff5abcdefdaf9ef12345675c4c11abcdef61bfe7ad1234568ec395bb288639';

test('defaults match the seed page and the vendor reference', () => {
  const { config, errors } = loadConfig({ env: {} });
  assert.deepEqual(errors, []);
  assert.ok(config);
  assert.equal(config.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL, 1440);
  assert.equal(config.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT, 30);
  assert.equal(config.EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT, 'https://api.passivetotal.org/v2/netflow/blocklist/download');
  assert.equal(config.EF_OUTPUT_RISKIQ_HOST, 'flow.riskiq.net');
  assert.equal(config.EF_OUTPUT_RISKIQ_PORT, 20000);
  assert.deepEqual(config.EF_FLOW_SERVER_UDP_PORT, ['2055', '4739', '6343', '9995']);
  assert.equal(config.EF_FLOW_SERVER_UDP_IP, '0.0.0.0');
  assert.equal(config.EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE, true);
  assert.equal(config.EF_PROCESSOR_ENRICH_COMMUNITYID_SEED, 0);
});

test('a refresh interval below 60 minutes is a start-up error naming the variable', () => {
  const { config, errors } = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL: '59' } });
  assert.equal(config, null);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL="59": a whole number of at least 60$/);
});

test('every bad value is reported at once', () => {
  const { config, errors } = loadConfig({
    env: {
      EF_OUTPUT_RISKIQ_PORT: 'abc',
      EF_LOGGER_LEVEL: 'loud',
      EF_FLOW_SERVER_UDP_PORT: '2055,99999',
      EF_OUTPUT_STDOUT_ENABLE: 'maybe',
      EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'AAAAAAAAAAAAAA==',
    },
  });
  assert.equal(config, null);
  const names = errors.map((e) => e.split('=')[0]);
  assert.deepEqual(names.sort(), ['EF_FLOW_SERVER_UDP_PORT', 'EF_LOGGER_LEVEL', 'EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY', 'EF_OUTPUT_RISKIQ_PORT', 'EF_OUTPUT_STDOUT_ENABLE']);
  const key = errors.find((e) => e.startsWith('EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY'))!;
  assert.match(key, /decodes to 10 bytes; expected base64 of 16, 24 or 32 bytes/);
  assert.ok(!key.includes('AAAAAAAAAAAAAA=='), 'the key value itself is never echoed');
});

test('the RiskIQ key may come without its base64 padding (a copy that lost the ==), not with broken padding', () => {
  const keyOf = (k: string) => loadConfig({ env: { EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: k } });
  assert.equal(keyOf('twBovkmV8YIxx0QyulybZg').config?.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY, 'twBovkmV8YIxx0QyulybZg');
  assert.equal(Buffer.from('twBovkmV8YIxx0QyulybZg', 'base64').equals(Buffer.from('twBovkmV8YIxx0QyulybZg==', 'base64')), true);
  for (const bad of ['twBovkmV8YIxx0QyulybZg=', 'twBovkmV8YIxx0QyulybZ', 'twBovkmV8YIxx0Qyuly=bZg==']) {
    assert.match(keyOf(bad).errors.join('\n'), /ENCRYPTION_KEY=\*\*\*: not base64/, bad);
  }
  // Which of the three: a padding cut short is named as such.
  assert.match(keyOf('twBovkmV8YIxx0QyulybZg=').errors.join('\n'), /padding is not whole/);
  assert.match(keyOf('twBovkmV8YIxx0QyulybZ').errors.join('\n'), /a character too many or too few/);
});

test('a bad value does not hide a missing required one', () => {
  const { config, errors } = loadConfig({
    env: {
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
      EF_OUTPUT_RISKIQ_ENABLE: 'true',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL: '59',
      EF_OUTPUT_RISKIQ_PORT: '0',
    },
  });
  assert.equal(config, null);
  assert.deepEqual(errors.map((e) => e.split('=')[0]).sort(), [
    'EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY', 'EF_OUTPUT_RISKIQ_CUSTOMER_UUID', 'EF_OUTPUT_RISKIQ_PORT',
    'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY', 'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER', 'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_REFRESH_INTERVAL',
  ]);
  // A rule over an option that did not parse is skipped, not guessed: with the switch itself bad,
  // nothing is said about what it would need.
  const bad = loadConfig({ env: { EF_OUTPUT_RISKIQ_ENABLE: 'maybe' } });
  assert.deepEqual(bad.errors.map((e) => e.split('=')[0]), ['EF_OUTPUT_RISKIQ_ENABLE']);
});

test('the RiskIQ output host is a host name or address only', () => {
  const riskiq = { EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: SEED_KEY };
  for (const host of ['flow.riskiq.net', '192.0.2.7', '2001:db8::7', 'fe80::1%eth0', 'localhost', 'collector_1.example.']) {
    assert.deepEqual(loadConfig({ env: { ...riskiq, EF_OUTPUT_RISKIQ_HOST: host } }).errors, [], host);
  }
  for (const host of ['https://flow.riskiq.net', 'flow.riskiq.net:20000', '[2001:db8::7]', 'flow riskiq', 'flow.riskiq.net/in', ':::::', 'a..b', '1.2.3.4:80:', '192.0.2.7%eth0', '1.2.3', '-flow.example']) {
    const { errors } = loadConfig({ env: { ...riskiq, EF_OUTPUT_RISKIQ_HOST: host } });
    assert.deepEqual(errors, [`EF_OUTPUT_RISKIQ_HOST=${JSON.stringify(host)}: a host name or address, without brackets, scheme, port or path`], host);
  }
  // Empty would make the UDP transport connect to localhost instead.
  assert.deepEqual(loadConfig({ env: { ...riskiq, EF_OUTPUT_RISKIQ_HOST: '' } }).errors, [
    'EF_OUTPUT_RISKIQ_HOST="": required when EF_OUTPUT_RISKIQ_ENABLE=true; the RiskIQ collector\'s host name or address',
  ]);
  assert.deepEqual(loadConfig({ env: { EF_OUTPUT_RISKIQ_HOST: '' } }).errors, [], 'empty is fine with the output off');
});

test('an index prefix Elasticsearch would refuse is a configuration error, not an output that never indexes', () => {
  const rule = 'lower-case, without spaces or \\ / * ? " < > | , # :, not starting with - _ +';
  assert.deepEqual(loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_INDEX_PREFIX: 'Flows', EF_OUTPUT_OPENSEARCH_INDEX_PREFIX: '_x' } }).errors, [
    `EF_OUTPUT_ELASTICSEARCH_INDEX_PREFIX="Flows": ${rule}`,
    `EF_OUTPUT_OPENSEARCH_INDEX_PREFIX="_x": ${rule}`,
  ]);
  assert.deepEqual(loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_INDEX_PREFIX: 'my.flows-v2' } }).errors, []);
  assert.equal(loadConfig({ env: { EF_OUTPUT_OPENSEARCH_ENABLE: 'true', EF_OUTPUT_OPENSEARCH_INDEX_PREFIX: '' } }).errors.length, 1);
});

test('a zoned IPv6 address is no private range (it crashed start-up after passing validation)', () => {
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: 'fe80::1%eth0,10.9.0.0/16' } }).errors, [
    'EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS="fe80::1%eth0,10.9.0.0/16": a comma-separated list of IP addresses or CIDRs (bad: fe80::1%eth0)',
  ]);
});

test('a CIDR prefix longer than its family has is no range: /40 on an IPv4 address is refused, /128 on IPv6 and /32 on IPv4 taken', () => {
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '10.0.0.0/40' } }).errors, [
    'EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS="10.0.0.0/40": a comma-separated list of IP addresses or CIDRs (bad: 10.0.0.0/40)',
  ], 'an IPv4 prefix past 32');
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '10.0.0.1/32,2001:db8::1/128' } }).errors, [], 'the longest prefix of each family');
});

test('options that must not be empty: bind addresses and ports always, addresses and URLs while their feature is on; list items are given once', () => {
  const { errors } = loadConfig({ env: {
    EF_WEBUI_IP: '', EF_FLOW_SERVER_UDP_IP: '', EF_FLOW_SERVER_UDP_PORT: ' , ', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: '',
    EF_OUTPUT_ELASTICSEARCH_ENABLE: 'true', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: '', EF_OUTPUT_KAFKA_BROKERS: 'k1:9092,k2:9092,k1:9092', EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS: '',
  } });
  assert.deepEqual(errors, [
    'EF_OUTPUT_KAFKA_BROKERS="k1:9092,k2:9092,k1:9092": a comma-separated list of host:port ([v6]:port), each once (twice: k1:9092)',
    'EF_FLOW_SERVER_UDP_IP="": cannot be empty; an IPv4 or IPv6 address (unset it for the default 0.0.0.0)',
    'EF_FLOW_SERVER_UDP_PORT="": cannot be empty; a comma-separated list of UDP ports 0-65535 (0: any free port) (unset it for the default 2055,4739,6343,9995)',
    'EF_WEBUI_IP="": required when EF_WEBUI_ENABLE=true; an IPv4 or IPv6 address (unset it for the default 127.0.0.1)',
    'EF_OUTPUT_ELASTICSEARCH_ADDRESSES="": required when EF_OUTPUT_ELASTICSEARCH_ENABLE=true; a comma-separated list of host:port or http(s)://host:port (unset it for the default 127.0.0.1:9200)',
  ]);
  // Templates listing every option blank still load while those features are off.
  assert.deepEqual(loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_ADDRESSES: '', EF_OUTPUT_KAFKA_BROKERS: '', EF_OUTPUT_RISKIQ_HOST: '', EF_WEBUI_ENABLE: 'false', EF_WEBUI_IP: '' } }).errors, []);
});

test('ClickHouse\'s database and table and Kafka\'s topic cannot be empty while their output is on: refused with the configuration (exit 2), not at start-up (exit 1, restarted for ever)', () => {
  const { errors } = loadConfig({ env: {
    EF_OUTPUT_CLICKHOUSE_ENABLE: 'true', EF_OUTPUT_CLICKHOUSE_DATABASE: '', EF_OUTPUT_CLICKHOUSE_TABLE: '',
    EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_TOPIC: '',
  } });
  for (const name of ['EF_OUTPUT_CLICKHOUSE_DATABASE', 'EF_OUTPUT_CLICKHOUSE_TABLE', 'EF_OUTPUT_KAFKA_TOPIC']) {
    const when = name.startsWith('EF_OUTPUT_KAFKA') ? 'EF_OUTPUT_KAFKA_ENABLE' : 'EF_OUTPUT_CLICKHOUSE_ENABLE';
    assert.ok(errors.some((e) => e.startsWith(`${name}="": required when ${when}=true;`)), `${name} refused: ${JSON.stringify(errors)}`);
  }
  assert.equal(errors.length, 3, `three problems: ${JSON.stringify(errors)}`);
  assert.deepEqual(loadConfig({ env: { EF_OUTPUT_CLICKHOUSE_DATABASE: '', EF_OUTPUT_CLICKHOUSE_TABLE: '', EF_OUTPUT_KAFKA_TOPIC: '' } }).errors, [], 'empty while their outputs are off');
});

test('files read at start-up are checked with the configuration, when their feature is on', () => {
  const dir = tempDir('ufc-cfg-files-');
  const rates = join(dir, 'rates.yml');
  writeFileSync(rates, '');
  const { errors } = loadConfig({
    env: {
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'user@domain.com',
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: SEED_API_KEY,
      EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: join(dir, 'missing.yml'),
      EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE: 'true',
      EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH: dir,
      EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: 'true',
      EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: rates,
      // Off: its file is not read, so not checked.
      EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_ASN_PATH: join(dir, 'missing.mmdb'),
      // Kafka reads its CA only with TLS on.
      EF_OUTPUT_KAFKA_ENABLE: 'true',
      EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH: join(dir, 'missing-ca.pem'),
    },
  });
  assert.deepEqual(errors.filter((e) => !e.includes('EF_OUTPUT_RISKIQ_ENABLE')), [
    `EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_PATH=${JSON.stringify(dir)}: not a file (read at start-up because EF_PROCESSOR_ENRICH_IPADDR_MAXMIND_GEOIP_ENABLE=true)`,
    `EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH=${JSON.stringify(join(dir, 'missing.yml'))}: no such file (read at start-up because EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=true)`,
  ]);
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: 'true' } }).errors, [
    'EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH="": required when EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE=true; the file of sampling rates per exporter',
  ]);
  // Checked as the reader reads it: the include/exclude lists' path is trimmed, the rates file's is not.
  const spaced = loadConfig({ env: {
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'user@domain.com', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: SEED_API_KEY,
    EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: SEED_KEY,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_PATH: `${rates} `,
    EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_ENABLE: 'true', EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH: `${rates} `,
  } });
  assert.deepEqual(spaced.errors.map((e) => e.split('=')[0]), ['EF_PROCESSOR_ENRICH_SAMPLERATE_USERDEF_PATH']);
  const tls = loadConfig({ env: { EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_TLS_ENABLE: 'true', EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH: join(dir, 'missing-ca.pem') } });
  assert.deepEqual(tls.errors, [`EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH=${JSON.stringify(join(dir, 'missing-ca.pem'))}: no such file (read at start-up because EF_OUTPUT_KAFKA_ENABLE=true and EF_OUTPUT_KAFKA_TLS_ENABLE=true)`]);
});

test('a keyed threat feed named in _FEEDS without its key is a configuration error; the default set leaves it out', () => {
  const on = { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ENABLE: 'true' };
  assert.deepEqual(loadConfig({ env: { ...on, EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'feodo,abuseipdb,otx' } }).errors, [
    'EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY="": required when EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS names abuseipdb; the feed\'s API key',
    'EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_OTX_API_KEY="": required when EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS names otx; the feed\'s API key',
  ]);
  assert.deepEqual(loadConfig({ env: { ...on, EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'abuseipdb', EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_ABUSEIPDB_API_KEY: 'k' } }).errors, []);
  assert.deepEqual(loadConfig({ env: on }).errors, [], 'the default set needs no key');
  assert.deepEqual(loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS: 'abuseipdb' } }).errors, [], 'feeds off: not checked');
});

test('names from before 6.0.0 are errors naming the replacement', () => {
  assert.equal(replacementFor('EF_FLOW_OUTPUT_RISKIQ_ENABLE'), 'EF_OUTPUT_RISKIQ_ENABLE');
  assert.equal(replacementFor('EF_FLOW_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY'), 'EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY');
  assert.equal(replacementFor('EF_FLOW_DECODER_ENRICH_RISKIQ_THREAT_ENABLE'), 'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE');
  const { errors } = loadConfig({ env: { EF_FLOW_OUTPUT_RISKIQ_HOST: 'flow.riskiq.net', EF_FLOW_DECODER_ENRICH_RISKIQ_API_KEY: 'x' } });
  assert.deepEqual(errors, [
    'EF_FLOW_DECODER_ENRICH_RISKIQ_API_KEY: this name was removed in 6.0.0; use EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY instead',
    'EF_FLOW_OUTPUT_RISKIQ_HOST: this name was removed in 6.0.0; use EF_OUTPUT_RISKIQ_HOST instead',
  ]);
});

test('an unknown EF_ name is a warning with the closest known name', () => {
  const { config, warnings } = loadConfig({ env: { EF_OUTPUT_RISKIQ_HOSTT: 'x', PATH: '/bin' } });
  assert.ok(config);
  assert.deepEqual(warnings, ['EF_OUTPUT_RISKIQ_HOSTT: unknown option, ignored; did you mean EF_OUTPUT_RISKIQ_HOST?']);
});

test('the stores have no ECS layout: their _ECS_ENABLE is not an option, and setting it warns that it is ignored; the other outputs keep theirs', () => {
  const { config, warnings, errors } = loadConfig({ env: { EF_OUTPUT_CLICKHOUSE_ECS_ENABLE: 'true', EF_OUTPUT_DUCKDB_ECS_ENABLE: 'true', EF_OUTPUT_KAFKA_ECS_ENABLE: 'true' } });
  assert.deepEqual(errors, []);
  assert.ok(config);
  assert.equal(config.EF_OUTPUT_KAFKA_ECS_ENABLE, true);
  assert.ok(!('EF_OUTPUT_CLICKHOUSE_ECS_ENABLE' in config) && !('EF_OUTPUT_DUCKDB_ECS_ENABLE' in config));
  assert.deepEqual(warnings, [
    'EF_OUTPUT_CLICKHOUSE_ECS_ENABLE: ignored; the ClickHouse store writes its own columns (docs/stores.md), not CODEX or ECS documents',
    'EF_OUTPUT_DUCKDB_ECS_ENABLE: ignored; the DuckDB store writes its own columns (docs/stores.md), not CODEX or ECS documents',
  ]);
});

test('several --env-files as systemd reads them: an empty Environment= in a drop-in clears what the unit\'s Environment= lines set, not what an env file gives after', () => {
  const dir = tempDir();
  const unit = join(dir, 'flowcoll.service'), dropin = join(dir, 'flowcoll.conf'), env = join(dir, 'ufc.env');
  writeFileSync(unit, '[Service]\nEnvironment="EF_DATA_DIR=/var/lib/ufc" "EF_LOGGER_LEVEL=warn"\nExecStart=/usr/bin/ufc run\n');
  writeFileSync(dropin, '[Service]\nEnvironment=\nEnvironment="EF_LOGGER_LEVEL=debug"\n');
  writeFileSync(env, 'EF_WEBUI_PORT=8181\n');
  const { config, errors } = loadConfig({ env: {}, envFile: [unit, dropin, env] });
  assert.deepEqual(errors, []);
  assert.ok(config);
  assert.equal(config.EF_LOGGER_LEVEL, 'debug');
  assert.equal(config.EF_WEBUI_PORT, 8181);
  assert.notEqual(config.EF_DATA_DIR, '/var/lib/ufc', 'cleared by the drop-in\'s empty Environment=');
  // Without the empty line, the unit's value stands.
  writeFileSync(dropin, '[Service]\nEnvironment="EF_LOGGER_LEVEL=debug"\n');
  assert.equal(loadConfig({ env: {}, envFile: [unit, dropin, env] }).config?.EF_DATA_DIR, '/var/lib/ufc');
  // A KEY=value file's value is not the units' to clear, before or between them; and an empty
  // Environment= inside such a file clears only what that file set.
  writeFileSync(unit, '[Service]\nEnvironment="EF_WEBUI_PORT=9001"\n');
  writeFileSync(dropin, '[Service]\nEnvironment=\n');
  writeFileSync(env, 'EF_WEBUI_PORT=9002\n');
  assert.equal(loadConfig({ env: {}, envFile: [env, unit, dropin] }).config?.EF_WEBUI_PORT, 9002, 'the unit\'s 9001 over the file, cleared: the file\'s again');
  assert.equal(loadConfig({ env: {}, envFile: [unit, env, dropin] }).config?.EF_WEBUI_PORT, 9002);
  writeFileSync(env, 'EF_LOGGER_LEVEL=debug\nEnvironment=\n');
  assert.equal(loadConfig({ env: {}, envFile: [unit, env] }).config?.EF_WEBUI_PORT, 9001);
});

test('the seed systemd drop-in works verbatim through --env-file, and the environment wins', () => {
  const dropIn = `[Service]
Environment="EF_OUTPUT_RISKIQ_ENABLE=true"
Environment="EF_OUTPUT_RISKIQ_HOST=flow.riskiq.net"
Environment="EF_OUTPUT_RISKIQ_PORT=20000"
Environment="EF_OUTPUT_RISKIQ_CUSTOMER_UUID=527dd194-a116-11af-8380-034aba1ce438"
Environment="EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY=${SEED_KEY}"
`;
  const dir = tempDir('ufc-env-');
  const file = join(dir, 'flowcoll.conf');
  writeFileSync(file, dropIn);
  const { config, errors } = loadConfig({ env: { EF_OUTPUT_RISKIQ_PORT: '20001' }, envFile: file });
  assert.deepEqual(errors, []);
  assert.ok(config);
  assert.equal(config.EF_OUTPUT_RISKIQ_ENABLE, true);
  assert.equal(config.EF_OUTPUT_RISKIQ_CUSTOMER_UUID, '527dd194-a116-11af-8380-034aba1ce438');
  assert.equal(config.EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY, SEED_KEY);
  assert.equal(config.EF_OUTPUT_RISKIQ_PORT, 20001);
});

test('drop-in lines systemd would ignore are warned about: Environment= lines with no [Service] above them (read all the same), an option written bare in [Service]', () => {
  const dir = tempDir('ufc-env-');
  const headless = join(dir, 'flowcoll.conf');
  writeFileSync(headless, 'Environment="EF_OUTPUT_RISKIQ_PORT=20002"\nEnvironment="EF_WEBUI_PORT=8081"\n');
  const a = loadConfig({ env: {}, envFile: headless });
  assert.equal(a.config?.EF_OUTPUT_RISKIQ_PORT, 20002, 'read for ufc run --env-file');
  assert.deepEqual(a.warnings.filter((w) => w.includes('no [Service] line')), [`--env-file ${headless}: line 1: Environment= lines in a file with no [Service] line: read here, but as a systemd drop-in the service gets none of them (systemd: "Assignment outside of section. Ignoring"); put [Service] above them`]);
  const bare = join(dir, 'bare.conf');
  writeFileSync(bare, '[Service]\nEF_WEBUI_PORT=8082\nEF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY=secretvalue\n');
  const b = loadConfig({ env: {}, envFile: bare });
  assert.notEqual(b.config?.EF_WEBUI_PORT, 8082, 'not read, as systemd does not');
  const w = b.warnings.filter((x) => x.includes('is no directive'));
  assert.equal(w.length, 2, b.warnings.join('\n'));
  assert.match(w[0]!, /line 2: EF_WEBUI_PORT= in \[Service\] is no directive: systemd ignores it; write Environment="EF_WEBUI_PORT=\.\.\."/);
  assert.ok(!b.warnings.join('\n').includes('secretvalue'), 'no value in a warning');
});

test('the vendor page\'s example RiskIQ credentials, switched on, load with a warning for each; off, or the user\'s own, without', () => {
  const output = { EF_OUTPUT_RISKIQ_ENABLE: 'true', EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '527dd194-a116-11af-8380-034aba1ce438', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: SEED_KEY };
  const enricher = { EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'user@domain.com', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: SEED_API_KEY };
  const { config, errors, warnings } = loadConfig({ env: { ...output, ...enricher } });
  assert.deepEqual(errors, []);
  assert.ok(config);
  assert.deepEqual(warnings, [
    'EF_OUTPUT_RISKIQ_CUSTOMER_UUID=527dd194-a116-11af-8380-034aba1ce438: the example printed on the vendor\'s RiskIQ PassiveTotal page, not your account\'s; flows would be sent to RiskIQ under an example customer. Set the UUID from the "ElastiFlow Integration" pop-up of your PassiveTotal account (Integrations)',
    'EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: the example printed on the vendor\'s RiskIQ PassiveTotal page, not your account\'s; flows sent to RiskIQ would be encrypted with a key printed in public. Set the key from the "ElastiFlow Integration" pop-up of your PassiveTotal account (Integrations)',
    'EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: the example printed on the vendor\'s RiskIQ PassiveTotal page, not your account\'s; PassiveTotal will refuse the blocklist download. Set the KEY of your account\'s API Access section',
  ]);
  assert.doesNotMatch(warnings.join('\n'), /twBovkmV8YIxx0QyulybZg|0ff5abcdef/, 'secret values are not echoed');
  // The key without its padding is the same key.
  assert.equal(loadConfig({ env: { ...output, EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg' } }).warnings.filter((w) => w.includes('printed in public')).length, 1);
  // Off: nothing leaves and nothing is downloaded, so nothing to warn of.
  assert.doesNotMatch(loadConfig({ env: { ...output, ...enricher, EF_OUTPUT_RISKIQ_ENABLE: 'false', EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'false' } }).warnings.join('\n'), /example/);
  const own = loadConfig({ env: { ...output, ...enricher, EF_OUTPUT_RISKIQ_CUSTOMER_UUID: '0b6f5b3c-3f1e-4c1d-9f4a-2a7c1e9d8b11', EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: Buffer.alloc(16, 7).toString('base64'), EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: 'a'.repeat(64) } });
  assert.deepEqual(own.errors, []);
  assert.deepEqual(own.warnings, []);
});

function writeTemp(text: string): string {
  const p = join(tempDir('ufc-env-'), 'env');
  writeFileSync(p, text);
  return p;
}

test('env file: KEY=value, export, quotes, several assignments on one Environment= line', () => {
  assert.deepEqual(parseEnvFile(`# comment\nEF_A=1\nexport EF_B="two words"\nEnvironment="EF_C=3" 'EF_D=4 4'\n`), { EF_A: '1', EF_B: 'two words', EF_C: '3', EF_D: '4 4' });
});

test('unit file: only [Service] Environment= lines, unquoted as systemd does; an empty Environment= clears', () => {
  const unit = [
    '[Unit]', 'Description=ufc', 'Environment=EF_IGNORED=1', '[Service]', 'ExecStart=/usr/bin/ufc run', 'User=ufc',
    'Environment="EF_A=x\\"y" "EF_B=p\\\\q"', 'Environment=EF_C=b\\ c EF_D=d', 'Environment="EF_E=50%%"', '[Install]', 'Environment=EF_IGNORED=2',
  ].join('\n');
  assert.deepEqual(parseEnvFile(unit), { EF_A: 'x"y', EF_B: 'p\\q', EF_C: 'b c', EF_D: 'd', EF_E: '50%' });
  assert.deepEqual(parseEnvFile(`[Service]\nEnvironment=EF_A=1\nEnvironment=\nEnvironment=EF_B=2\n`), { EF_B: '2' });
  // Lines above a unit's first header are not read by systemd: not by us either, and said so.
  const ignored: string[] = [];
  assert.deepEqual(parseEnvFile(`Environment="EF_LOGGER_LEVEL=debug"\nEF_X=1\n[Service]\nEnvironment="EF_WEBUI_PORT=9999"\n`, ignored), { EF_WEBUI_PORT: '9999' });
  assert.deepEqual(ignored, [
    'line 1 is above the first section header: systemd reads Environment= only in [Service]; ignored',
    'line 2 is above the first section header: systemd reads Environment= only in [Service]; ignored',
  ]);
  const shown = loadConfig({ env: {}, envFile: writeTemp(`Environment="EF_LOGGER_LEVEL=debug"\n[Service]\n`) });
  assert.equal(shown.config?.EF_LOGGER_LEVEL, 'info');
  assert.match(shown.warnings.join('\n'), /--env-file .*: line 1 is above the first section header/);
  const { warnings } = loadConfig({ env: {}, envFile: writeTemp(`PATH=/bin\nEF_WEBUI_PROT=1\n`) });
  assert.deepEqual(warnings, ['EF_WEBUI_PROT: unknown option, ignored; did you mean EF_WEBUI_PORT?', 'PATH: not an EF_ option, ignored']);
});

test('env file: a line that is no NAME=value is an error naming its line only (a YAML line of a compose file put the RiskIQ key in the log)', () => {
  const yaml = [
    '# pasted from docker-compose',
    "EF_OUTPUT_RISKIQ_ENABLE: 'true'",
    "EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: 'twBovkmV8YIxx0QyulybZg=='",
    'EF_WEBUI_PORT 9999',
    'EF_LOGGER_LEVEL=debug',
  ].join('\n');
  const { config, errors, warnings } = loadConfig({ env: {}, envFile: writeTemp(yaml) });
  assert.equal(config, null, 'start-up stops');
  const file = /--env-file (\S+):/.exec(errors[0] ?? '')?.[1];
  assert.deepEqual(errors, [
    `--env-file ${file}: line 2: not NAME=value (a YAML line? write EF_NAME=value, one a line)`,
    `--env-file ${file}: line 3: not NAME=value (a YAML line? write EF_NAME=value, one a line)`,
    `--env-file ${file}: line 4: not NAME=value`,
  ]);
  assert.deepEqual(warnings, []);
  assert.doesNotMatch([...errors, ...warnings].join('\n'), /twBovkmV8YIxx0QyulybZg/);
  // What systemd and Docker accept is not refused: a unit line continued with a backslash (comments inside
  // the run skipped), and Docker's bare NAME ("from the environment", which wins anyway).
  const continued: string[] = [];
  assert.deepEqual(parseEnvFile('[Service]\nEnvironment="EF_LOGGER_LEVEL=debug" \\\n# between\n    "EF_WEBUI_PORT=8081"\nUser=ufc\n', [], continued), { EF_LOGGER_LEVEL: 'debug', EF_WEBUI_PORT: '8081' });
  assert.deepEqual(continued, []);
  const docker: string[] = [];
  assert.deepEqual(parseEnvFile('EF_LOGGER_LEVEL=debug\nEF_OUTPUT_RISKIQ_CUSTOMER_UUID\n', [], docker), { EF_LOGGER_LEVEL: 'debug' });
  assert.deepEqual(docker, []);
  const unitWords: string[] = [];
  assert.deepEqual(parseEnvFile('[Service]\nEnvironment=EF_A=1 stray\n', [], unitWords), { EF_A: '1' });
  assert.deepEqual(unitWords, ['line 2: an Environment= word is not NAME=value']);
});

test('companion options are checked with the rest: Microsoft Graph credentials, the file output path, one ClickHouse address', () => {
  const { errors, warnings } = loadConfig({ env: {
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE: 'true', EF_OUTPUT_FILE_ENABLE: 'true', EF_OUTPUT_FILE_PATH: ' ',
    EF_OUTPUT_CLICKHOUSE_ENABLE: 'true', EF_OUTPUT_CLICKHOUSE_ADDRESSES: 'http://a:8123,http://u:Secret99@b:8123',
  } });
  assert.deepEqual(errors, [
    'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID="": required when EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE=true; the Entra ID tenant ID of the app registration',
    'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID="": required when EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE=true; the application (client) ID of the app registration',
    'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET="": required when EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE=true; the client secret of the app registration',
    'EF_OUTPUT_FILE_PATH="": required when EF_OUTPUT_FILE_ENABLE=true; the file to append flows to',
  ]);
  assert.ok(warnings.includes('EF_OUTPUT_CLICKHOUSE_ADDRESSES: only the first address (http://a:8123) is used; the store writes to one server'), warnings.join('\n'));
});

test('a password in a URL is masked in error lines and in ufc config, with or without a scheme', () => {
  const { errors } = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: 'https://user:PtKey789@api.passive total.org/' } });
  assert.deepEqual(errors, ['EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT="***@api.passive total.org/": an http or https URL']);
  const { config } = loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_ADDRESSES: 'https://elastic:EsPass123@es:9200' } });
  const text = renderConfig(config!);
  assert.match(text, /^EF_OUTPUT_ELASTICSEARCH_ADDRESSES=https:\/\/elastic:\*\*\*@es:9200$/m);
  assert.ok(!/EsPass123/.test(text));
  // A broker is host:port: one with credentials is refused, and the error quotes it masked.
  const bad = loadConfig({ env: { EF_OUTPUT_KAFKA_BROKERS: 'user:KafkaPw@k:9092,k2:9092' } });
  assert.deepEqual(bad.errors, ['EF_OUTPUT_KAFKA_BROKERS="***@k:9092,k2:9092": a comma-separated list of host:port ([v6]:port) (the bad items are not shown: the value may hold credentials)']);
  // A password holding `@` or a space is masked whole, in ufc config and in the items a message would quote.
  const at = loadConfig({ env: { EF_OUTPUT_CLICKHOUSE_ADDRESSES: 'http://default:p@ssw0rd@127.0.0.1:8123', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: 'http://u:pa ss@127.0.0.1:9200' } });
  const shown = renderConfig(at.config!);
  assert.match(shown, /^EF_OUTPUT_CLICKHOUSE_ADDRESSES=http:\/\/default:\*\*\*@127\.0\.0\.1:8123$/m);
  assert.match(shown, /^EF_OUTPUT_ELASTICSEARCH_ADDRESSES=http:\/\/u:\*\*\*@127\.0\.0\.1:9200$/m);
  assert.ok(!/ssw0rd|pa ss/.test(shown));
  const twice = loadConfig({ env: { EF_OUTPUT_CLICKHOUSE_ADDRESSES: 'http://default:p@ssw0rd@127.0.0.1:8123,http://default:p@ssw0rd@127.0.0.1:8123' } });
  assert.ok(twice.errors.length === 1 && !twice.errors[0]!.includes('ssw0rd') && twice.errors[0]!.endsWith('(the items given twice are not shown: the value may hold credentials)'), twice.errors[0]);
  // A password holding what ends an authority (/ ? #) in an option checked only as http(s)://..., or a
  // comma a list splits, or with a scheme-less item before it: masked in ufc config and in errors, and
  // known to the log redactor.
  const delim = loadConfig({ env: {
    EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'https://u:p/ss@mirror.local/feeds',
    EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL: 'https://me:Sec#ret99@graph.local',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENDPOINT: 'https://me:Pa?ss#w0rd@mirror.local/v2/dl',
  } });
  const delimShown = renderConfig(delim.config!);
  assert.match(delimShown, /^EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL=https:\/\/u:\*\*\*@mirror\.local\/feeds$/m);
  assert.ok(!/p\/ss|Sec#ret99|Pa\?ss#w0rd/.test(delimShown), delimShown);
  assert.ok(['p/ss', 'Sec#ret99', 'Pa?ss#w0rd'].every((p) => secretValues(delim.config!).includes(p)));
  for (const v of ['elastic:Secr3tPw@h1:9200,https://elastic:p/w@h2:9200', 'h0:9200, elastic:Secr3tPw@h1:9200, http://h2:9200/x@y', 'http://u:hunter2xyz://q@127.0.0.1:8123', 'http://default:Pa,ssw0rd@ch:8123']) {
    const e = loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_ADDRESSES: v } }).errors.join('\n');
    assert.ok(e !== '' && !/Secr3tPw|p\/w@|hunter2|Pa,|ssw0rd/.test(e), e);
  }
  // As the URL parser reads them (a password holding a comma, or `@`), or as they were most likely meant
  // (`a:2024/Secret@h`: host a, port 2024 to the parser): masked, and known to the redactor.
  const parsed = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'https://u:1234,5678@h/feeds', EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL: 'https://admin:2024/Secret@h/login', EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL: 'https://u:p@ss,word@graph.local' } });
  const parsedShown = renderConfig(parsed.config!);
  assert.ok(!/1234,5678|2024\/Secret|ss,word/.test(parsedShown), parsedShown);
  assert.ok(['1234,5678', '2024/Secret', 'p@ss,word'].every((p) => secretValues(parsed.config!).includes(p)));
  // Values with an `@` and no credentials stay as they are: a query, a client ID, a user name.
  const plain = loadConfig({ env: { EF_WEBUI_PASSIVETOTAL_URL: 'https://x.example/search?q=a:b,c:d@e', EF_OUTPUT_KAFKA_CLIENT_ID: 'ufc:prod@dc1', EF_OUTPUT_KAFKA_SASL_USERNAME: 'svc:flows@corp.example' } });
  const plainShown = renderConfig(plain.config!);
  for (const line of ['EF_WEBUI_PASSIVETOTAL_URL=https://x.example/search?q=a:b,c:d@e', 'EF_OUTPUT_KAFKA_CLIENT_ID=ufc:prod@dc1', 'EF_OUTPUT_KAFKA_SASL_USERNAME=svc:flows@corp.example']) assert.ok(plainShown.includes(`${line}\n`), line);
  // An `@` in a URL's path is no password: shown as it is.
  const path = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL: 'https://cdn.jsdelivr.net/gh/firehol/blocklist-ipsets@master' } });
  assert.match(renderConfig(path.config!), /^EF_PROCESSOR_ENRICH_IPADDR_THREAT_FEEDS_BASE_URL=https:\/\/cdn\.jsdelivr\.net\/gh\/firehol\/blocklist-ipsets@master$/m);
  // A password holding a delimiter the masking patterns end at (`#`, `,`, `/`, `?`): nothing of it is shown.
  for (const [pw, host] of [['s3cr#et', 'es1:9200'], ['Pa,ssw0rd', 'ch:8123'], ['pa/ss', 'ch:8123'], ['pa?ss', 'ch:8123']] as const) {
    const r = loadConfig({ env: { EF_OUTPUT_ELASTICSEARCH_ADDRESSES: `https://elastic:${pw}@${host}`, EF_OUTPUT_CLICKHOUSE_ADDRESSES: `http://default:${pw}@${host}` } });
    assert.equal(r.errors.length, 2, r.errors.join('\n'));
    for (const e of r.errors) {
      assert.ok(!e.includes(pw) && !pw.split(/[#,/?]/).some((part) => part.length >= 4 && e.includes(part)), e);
      assert.match(e, new RegExp(`^EF_OUTPUT_[A-Z]+_ADDRESSES="\\*\\*\\*@${host}": .*\\(the bad items are not shown: the value may hold credentials\\)$`), e);
    }
  }
});

test('output addresses and names are checked at start-up (exit 2), not when the output first connects: ClickHouse URLs and identifiers, search nodes, Kafka brokers and SASL credentials', () => {
  const { errors } = loadConfig({ env: {
    EF_OUTPUT_CLICKHOUSE_ADDRESSES: '127.0.0.1:8123', EF_OUTPUT_CLICKHOUSE_DATABASE: 'my-db', EF_OUTPUT_CLICKHOUSE_TABLE: 'flows;drop',
    EF_OUTPUT_ELASTICSEARCH_ADDRESSES: '127.0.0.1:99999,foo bar,es:9200,https://es.example:9200/prefix,[::1]:9200',
    EF_OUTPUT_OPENSEARCH_ADDRESSES: 'ftp://os:9200,os',
    EF_OUTPUT_KAFKA_BROKERS: 'http://127.0.0.1:9092,k1:9092,[2001:db8::1]:9092,k2:0,k3:9092/x',
    EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_SASL_ENABLE: 'true',
  } });
  assert.deepEqual(errors, [
    'EF_OUTPUT_CLICKHOUSE_ADDRESSES="127.0.0.1:8123": a comma-separated list of http(s)://host:port URLs (bad: 127.0.0.1:8123)',
    'EF_OUTPUT_CLICKHOUSE_DATABASE="my-db": a plain identifier (letters, digits, _)',
    'EF_OUTPUT_CLICKHOUSE_TABLE="flows;drop": a plain identifier (letters, digits, _)',
    'EF_OUTPUT_ELASTICSEARCH_ADDRESSES="127.0.0.1:99999,foo bar,es:9200,https://es.example:9200/prefix,[::1]:9200": a comma-separated list of host:port or http(s)://host:port (bad: 127.0.0.1:99999, foo bar)',
    'EF_OUTPUT_OPENSEARCH_ADDRESSES="ftp://os:9200,os": a comma-separated list of host:port or http(s)://host:port (bad: ftp://os:9200, os)',
    'EF_OUTPUT_KAFKA_BROKERS="http://127.0.0.1:9092,k1:9092,[2001:db8::1]:9092,k2:0,k3:9092/x": a comma-separated list of host:port ([v6]:port) (bad: http://127.0.0.1:9092, k2:0, k3:9092/x)',
    'EF_OUTPUT_KAFKA_SASL_USERNAME="": required when EF_OUTPUT_KAFKA_SASL_ENABLE=true; the SASL user',
    'EF_OUTPUT_KAFKA_SASL_PASSWORD="": required when EF_OUTPUT_KAFKA_SASL_ENABLE=true; the SASL password',
  ]);
});

test('the docker-compose snippets of the seed parse, and the enricher needs user and key', () => {
  const ok = loadConfig({ env: {
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER: 'user@domain.com',
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: SEED_API_KEY,
    EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_TIMEOUT: '60',
  } });
  assert.deepEqual(ok.errors, []);
  assert.match(ok.warnings.join('\n'), /needs both the output and the threat enricher/);
  const bad = loadConfig({ env: { EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE: 'true' } });
  assert.equal(bad.errors.length, 2);
  assert.match(bad.errors[0]!, /^EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_USER/);
  assert.match(bad.errors[1]!, /^EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY/);
});

test('ufc config shows secrets as ***', () => {
  const { config } = loadConfig({ env: { EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY: SEED_KEY, EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_API_KEY: SEED_API_KEY, EF_OUTPUT_ELASTICSEARCH_PASSWORD: 'hunter2hunter2' } });
  const text = renderConfig(config!);
  assert.ok(!text.includes(SEED_KEY));
  assert.ok(!text.includes(SEED_API_KEY));
  assert.ok(!text.includes('hunter2hunter2'));
  assert.match(text, /^EF_OUTPUT_RISKIQ_CUSTOMER_ENCRYPTION_KEY=\*\*\*$/m);
  assert.match(text, /^EF_OUTPUT_ELASTICSEARCH_PASSWORD=\*\*\*$/m);
});

test('a Kafka topic name the brokers would refuse at every send stops start-up', () => {
  // (Empty is the default's, as for every option.)
  for (const bad of ['bad topic/name', 'x'.repeat(250), '..', 'flows\u00e9']) {
    const errors = loadConfig({ env: { EF_OUTPUT_KAFKA_TOPIC: bad } }).errors.join('\n');
    assert.match(errors, /EF_OUTPUT_KAFKA_TOPIC.*1-249 letters, digits/, JSON.stringify(bad));
  }
  assert.deepEqual(loadConfig({ env: { EF_OUTPUT_KAFKA_TOPIC: 'flows.v2_a-b' } }).errors, [], 'a good one');
});

test('a Kafka key by Community ID with the Community ID enricher off is warned about: every key would be empty', () => {
  const on = { EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_PARTITION_KEY: 'community_id' };
  assert.ok(loadConfig({ env: { ...on, EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE: 'false' } }).warnings.some((w) => w.startsWith('EF_OUTPUT_KAFKA_PARTITION_KEY=community_id with EF_PROCESSOR_ENRICH_COMMUNITYID_ENABLE=false')), 'warned');
  assert.ok(!loadConfig({ env: on }).warnings.some((w) => w.includes('EF_OUTPUT_KAFKA_PARTITION_KEY')), 'not with the enricher on');
});

test('the HTTP Basic form of a user and password (an option pair, or a URL\'s) is a secret too: a server may echo it in an error body', async () => {
  const { config } = loadConfig({ env: { EF_OUTPUT_CLICKHOUSE_USERNAME: 'chuser', EF_OUTPUT_CLICKHOUSE_PASSWORD: 'SEKRITchurlpw', EF_OUTPUT_ELASTICSEARCH_ADDRESSES: 'http://esuser:SEKRIT%2Fes@127.0.0.1:9200' } });
  const secrets = secretValues(config!);
  assert.ok(secrets.includes(Buffer.from('chuser:SEKRITchurlpw').toString('base64')), 'the option pair');
  assert.ok(secrets.includes(Buffer.from('esuser:SEKRIT/es').toString('base64')), 'the URL\'s, decoded');
  const { redact, registerSecrets } = await import('../src/log/redact.js');
  registerSecrets(secrets);
  assert.doesNotMatch(redact(`HTTP 500: auth=Basic ${Buffer.from('chuser:SEKRITchurlpw').toString('base64')}`), /Y2h1c2Vy/, 'redacted in a log line');
});

test('an output\'s CA file that holds no PEM certificate stops start-up naming it (TLS would take it as no CA and fail every connection as an unknown certificate)', (t) => {
  const dir = tempDir('ufc-ca-');
  const text = join(dir, 'hostname');
  writeFileSync(text, 'collector-1\n');
  const broken = join(dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  const env = (ca: string) => ({ EF_OUTPUT_KAFKA_ENABLE: 'true', EF_OUTPUT_KAFKA_TLS_ENABLE: 'true', EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH: ca });
  assert.match(loadConfig({ env: env(text) }).errors.join('\n'), /EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH=.*hostname": holds no PEM certificate/);
  assert.match(loadConfig({ env: env(broken) }).errors.join('\n'), /broken\.pem": a certificate in it does not parse/);
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const good = join(dir, 'ca.pem');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', good, '-days', '1', '-subj', '/CN=test-ca'], { stdio: 'ignore' });
  assert.deepEqual(loadConfig({ env: env(good) }).errors, [], 'a real certificate');
});

/**
 * EF_OUTPUT_ELASTICSEARCH_TLS_*: https to the ES test server with a throw-away self-signed
 * certificate (made with openssl): trusted through _TLS_CA_CERT_FILEPATH, refused without it, and
 * accepted with _TLS_SKIP_VERIFICATION.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SearchOutput, type SearchOutputOptions } from '../src/output/elasticsearch/output.js';
import { EsTestServer } from './servers/es-test-server.js';
import { fixtureRecords } from './servers/fixture-records.js';
import { needTool } from './helpers/tools.js';
import { tempDir, until } from './helpers/collect.js';

function makeCert(openssl: string): { key: string; cert: string; certPath: string } {
  const dir = tempDir('ufc-tls-');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
}

function opts(server: EsTestServer, tls: SearchOutputOptions['connection']['tls']): SearchOutputOptions {
  return {
    flavor: 'elasticsearch',
    connection: { flavor: 'elasticsearch', addresses: [server.address], username: 'u', password: 'p', apiKey: '', tls, requestTimeoutMs: 5000 },
    view: { ecs: false, timestampSource: 'collect' },
    indexPrefix: 'tls',
    indexPeriod: 'none',
    templateEnable: true,
    deadlineMs: 20,
    maxBytes: 1 << 20,
    batchRecords: 500,
  };
}

test('TLS: CA file trusted, unknown CA refused, skip-verification accepted', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const { key, cert, certPath } = makeCert(openssl);
  const server = new EsTestServer({ product: 'elasticsearch', tls: { key, cert }, auth: { username: 'u', password: 'p' } });
  await server.start();
  const records = (await fixtureRecords()).slice(0, 50);
  try {
    const trusted = new SearchOutput(opts(server, { enable: true, skipVerification: false, caCertPath: certPath }));
    await trusted.start();
    trusted.write(records);
    await trusted.close();
    assert.equal(server.docs.length, 50, 'delivered over https with the CA file');

    const untrusted = new SearchOutput({ ...opts(server, { enable: true, skipVerification: false, caCertPath: '' }), spill: { dir: tempDir('ufc-tls-spill-'), maxBytes: 1 << 24 } });
    await untrusted.start();
    untrusted.write(records);
    await until(() => untrusted.counters().failures! > 0, 5000);
    assert.ok(untrusted.counters().failures! > 0, 'self-signed certificate refused');
    assert.equal(server.docs.length, 50, 'nothing more delivered');
    await untrusted.close();
    assert.equal(untrusted.counters().spill_pending, 50, 'held on disk');

    const skip = new SearchOutput(opts(server, { enable: true, skipVerification: true, caCertPath: '' }));
    await skip.start();
    skip.write(records);
    await skip.close();
    assert.equal(server.docs.length, 100, 'delivered with verification off');

    // A full https:// address with _TLS_ENABLE off (it only picks bare addresses' scheme): skip-verification applies.
    const byUrl = opts(server, { enable: false, skipVerification: true, caCertPath: '' });
    byUrl.connection.addresses = [server.url];
    assert.ok(server.url.startsWith('https://'), server.url);
    const url = new SearchOutput(byUrl);
    await url.start();
    url.write(records);
    await url.close();
    assert.equal(server.docs.length, 150, 'delivered to an https:// address with verification off');
    assert.ok(server.requests.every((r) => r.status === 200 || r.status === 201), 'auth over TLS');
  } finally {
    await server.stop();
  }
});

test('TLS: a missing CA file is a clear start-up error naming the option', () => {
  assert.throws(
    () => new SearchOutput(opts(new EsTestServer({ product: 'elasticsearch' }), { enable: true, skipVerification: false, caCertPath: '/nonexistent/ca.pem' })),
    /EF_OUTPUT_ELASTICSEARCH_TLS_CA_CERT_FILEPATH: cannot read \/nonexistent\/ca.pem/,
  );
});

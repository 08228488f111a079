/**
 * The web server's login (EF_WEBUI_AUTH_*) and HTTPS (EF_WEBUI_TLS_*): what asks for the login and
 * what does not, wrong and right credentials, a certificate renewed while running, and the
 * configuration checks. Certificates are made by `openssl` for each run (skipped, naming it, when absent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request } from 'node:https';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Collector } from '../src/collector.js';
import { loadConfig } from '../src/config/load.js';
import { WebServer } from '../src/web/server.js';
import { redirectPlainHttp } from '../src/web/plain-redirect.js';
import { setLogger, createLogger } from '../src/log/logger.js';
import { tempDir, testConfig } from './helpers/collect.js';
import { needTool, toolPath } from './helpers/tools.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function withServer(t: TestContext, opts: Partial<ConstructorParameters<typeof WebServer>[1]>, body: (web: WebServer) => Promise<void>): Promise<void> {
  const collector = new Collector(testConfig());
  await collector.start();
  const web = new WebServer(collector, { ip: '127.0.0.1', port: 0, ...opts });
  await web.start();
  web.setReady(true);
  t.after(async () => {
    await web.stop();
    await collector.stop();
  });
  await body(web);
}

test('login: every page, the API and /metrics ask for it (401 with a Basic challenge); the probes do not; wrong credentials are refused and counted, right ones answered', async (t) => {
  await withServer(t, { auth: { user: 'ops', password: 'pä55:word' } }, async (web) => {
    const get = (path: string, auth?: string) => fetch(`${web.url()}${path}`, auth === undefined ? {} : { headers: { authorization: auth } });
    for (const path of ['/', '/flows', '/api/overview', '/api/exporters', '/metrics', '/static/app.js', '/nowhere']) {
      const res = await get(path);
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="ufc", charset="UTF-8"', path);
      assert.match(await res.text(), /login required/);
    }
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
    const wrong = [basic('ops', 'pä55:wor'), basic('ops', 'pä55:word '), basic('OPS', 'pä55:word'), basic('ops', ''), 'Basic !!!', 'Bearer x', basic('ops:pä55', 'word').replace('Basic', 'Digest')];
    for (const auth of wrong) assert.equal((await get('/api/overview', auth)).status, 401, auth);
    assert.equal(web.loginFailures, wrong.length, 'each refused login counted (a request without credentials is not a failure)');
    // The password holds a colon and a non-ASCII letter: the user ends at the first colon, and the text is UTF-8.
    const ok = basic('ops', 'pä55:word');
    assert.equal((await get('/', ok)).status, 200);
    assert.equal((await get('/api/exporters', ok)).status, 200);
    const metrics = await get('/metrics', ok);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^ufc_web_login_failed_total 7$/m);
    assert.equal(web.loginFailures, wrong.length);
  });
});

test('login: a burst of failed logins is counted in full but logged once (at most one line a minute, with the count)', async (t) => {
  const { BasicAuth } = await import('../src/web/basic-auth.js');
  const lines: string[] = [];
  setLogger(createLogger({ level: 'info', encoding: 'json', sink: (l) => lines.push(l) }));
  t.after(() => setLogger(createLogger({ level: 'info', encoding: 'json' })));
  const auth = new BasicAuth('ops', 'right');
  for (let i = 0; i < 50; i++) assert.equal(auth.check(basic('ops', `wrong${i}`), `192.0.2.${i}`), false, `attempt ${i} refused`);
  assert.equal(auth.failures, 50, 'every failed login counted');
  const logged = lines.filter((l) => l.includes('failed login'));
  assert.equal(logged.length, 1, `one "failed login" line for the burst, got ${logged.length}:\n${logged.slice(0, 3).join('\n')}`);
  assert.match(logged[0]!, /failed login from 192\.0\.2\.0 \(1 since the last such line/, 'the first failure is logged when it happens');
});

test('no login configured: nothing asks for one', async (t) => {
  await withServer(t, { auth: { user: '', password: '' } }, async (web) => {
    assert.equal((await fetch(`${web.url()}/api/exporters`)).status, 200);
    assert.equal((await fetch(`${web.url()}/metrics`)).status, 200);
    assert.deepEqual(((await (await fetch(`${web.url()}/api/integrations`)).json()) as { web: unknown }).web, { login: false, https: null });
  });
});

/** A self-signed certificate for 127.0.0.1 and its key (EC P-256, or RSA), written to `dir` under `name`. */
function makeCert(openssl: string, dir: string, name: string, type: 'ec' | 'rsa' = 'ec'): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`), key = join(dir, `${name}.key`);
  const keyArgs = type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  execFileSync(openssl, ['req', '-x509', ...keyArgs, '-nodes', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** GET over HTTPS trusting `ca` only: the status and the common name of the certificate served. */
function httpsGet(url: string, ca: Buffer, auth?: string): Promise<{ status: number; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: auth === undefined ? {} : { authorization: auth } }, (res) => {
      const cn = String((res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN ?? '');
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cn }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain-HTTP GET with this Host header: status, Location and body. */
function plainGet(port: number, path: string, host: string): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The body of a GET over HTTPS trusting `ca` only. */
function httpsBody(url: string, ca: Buffer, auth: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: auth } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTPS: served with the configured certificate, behind the login; a renewed certificate is served without a restart, and a bad pair keeps the one in use', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const dir = tempDir();
  // The renewal changes the key type too: a new certificate with the old key is a pair OpenSSL keeps.
  const first = makeCert(openssl, dir, 'first', 'rsa');
  const second = makeCert(openssl, dir, 'second');
  // The files the server reads: the first pair now, written over later.
  const cert = join(dir, 'server.crt'), key = join(dir, 'server.key');
  writeFileSync(cert, readFileSync(first.cert));
  writeFileSync(key, readFileSync(first.key));
  await withServer(t, { auth: { user: 'ops', password: 'secret' }, tls: { certPath: cert, keyPath: key } }, async (web) => {
    assert.match(web.url(), /^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = basic('ops', 'secret');
    assert.deepEqual(await httpsGet(`${web.url()}/api/exporters`, readFileSync(first.cert), ok), { status: 200, cn: 'first' });
    assert.equal((await httpsGet(`${web.url()}/api/overview`, readFileSync(first.cert))).status, 401);
    // Plain HTTP to the port: sent to the same address over HTTPS, before any login.
    const plain = await fetch(`${web.url().replace('https:', 'http:')}/flows?ip=10.0.0.1`, { redirect: 'manual' });
    assert.equal(plain.status, 307);
    assert.equal(plain.headers.get('location'), `${web.url()}/flows?ip=10.0.0.1`);
    // Unchanged files: nothing to do.
    assert.equal(await web.checkCertificate(), false);
    // Half a renewal (the new certificate, the old key): kept, the first pair still served.
    writeFileSync(cert, readFileSync(second.cert));
    assert.equal(await web.checkCertificate(), false);
    assert.deepEqual(await httpsGet(`${web.url()}/healthz`, readFileSync(first.cert)), { status: 200, cn: 'first' });
    const during = web.access().https!;
    assert.equal(during.subject, 'CN=first');
    assert.match(during.error ?? '', /the key is not the certificate's/);
    // The key too: served from the next look on.
    writeFileSync(key, readFileSync(second.key));
    assert.equal(await web.checkCertificate(), true);
    assert.deepEqual(await httpsGet(`${web.url()}/healthz`, readFileSync(second.cert)), { status: 200, cn: 'second' });
    // The Integrations page and /metrics say which certificate is served and when it ends (openssl -days 2).
    const integrations = await httpsBody(`${web.url()}/api/integrations`, readFileSync(second.cert), ok);
    const w = (JSON.parse(integrations) as { web: { login: boolean; https: { subject: string; notAfter: number; error: string | null; certPath: string } } }).web;
    assert.deepEqual([w.login, w.https.subject, w.https.error, w.https.certPath], [true, 'CN=second', null, cert]);
    assert.ok(Math.abs(w.https.notAfter - (Date.now() + 2 * 86_400_000)) < 120_000, `${new Date(w.https.notAfter).toISOString()}`);
    const metrics = await httpsBody(`${web.url()}/metrics`, readFileSync(second.cert), ok);
    assert.match(metrics, new RegExp(`^ufc_web_certificate_not_after_seconds ${w.https.notAfter / 1000}$`, 'm'));
  });
});

test('HTTPS: plain HTTP for a host not allowed is refused, not redirected; a connection that sends nothing does not hold the stop; the chain certificate that ends first is the one reported', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const dir = tempDir();
  const leaf = makeCert(openssl, dir, 'leaf');
  // A second certificate after the server's, as a chain's intermediate comes: it ends a day sooner.
  const inter = join(dir, 'inter.crt');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=intermediate',
    '-keyout', join(dir, 'inter.key'), '-out', inter], { stdio: 'ignore' });
  const chain = join(dir, 'chain.crt');
  writeFileSync(chain, Buffer.concat([readFileSync(leaf.cert), readFileSync(inter)]));
  const collector = new Collector(testConfig());
  await collector.start();
  t.after(() => collector.stop());
  const web = new WebServer(collector, { ip: '127.0.0.1', port: 0, allowedHosts: ['ufc.example'], tls: { certPath: chain, keyPath: leaf.key } });
  await web.start();
  let stopped = false;
  t.after(() => stopped ? undefined : web.stop());
  const https = web.access().https!;
  assert.equal(https.subject, 'CN=leaf');
  assert.equal(https.endsFirst, 'CN=intermediate');
  assert.ok(Math.abs(https.notAfter! - (Date.now() + 86_400_000)) < 120_000, new Date(https.notAfter!).toISOString());
  assert.equal((await httpsGet(`${web.url()}/healthz`, readFileSync(leaf.cert))).status, 200);
  const port = Number(new URL(web.url()).port);
  const foreign = await plainGet(port, '/', 'evil.example');
  assert.deepEqual([foreign.status, foreign.location], [400, undefined]);
  assert.match(foreign.body, /serves HTTPS; host "evil.example" is not one it answers to/);
  assert.deepEqual(await plainGet(port, '/a?b=1', `ufc.example:${port}`), { status: 307, location: `https://ufc.example:${port}/a?b=1`, body: `this port serves HTTPS: https://ufc.example:${port}/a?b=1\n` });
  // A client that connects and says nothing: the stop does not wait the 10 s it is given.
  const silent = connect(port, '127.0.0.1');
  await new Promise((resolve) => silent.once('connect', resolve));
  const closed = new Promise((resolve) => silent.once('close', resolve));
  const t0 = Date.now();
  await web.stop();
  stopped = true;
  await closed;
  assert.ok(Date.now() - t0 < 3_000, `stop took ${Date.now() - t0} ms`);
});

test('HTTPS port: a connection reset before its first byte is dropped, not the process; a plain request sent a byte at a time is cut at the deadline; TLS still served', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const { cert, key } = makeCert(openssl, tempDir(), 'edge');
  const server = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }, (_req, res) => res.end('tls'));
  const drop = redirectPlainHttp(server, () => true, 600);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    drop();
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  // A reset with nothing sent: before, an unhandled 'error' event on the waiting socket ended the process.
  const errors: unknown[] = [];
  const onUncaught = (err: unknown): void => void errors.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    for (let i = 0; i < 3; i++) {
      const c = connect(port, '127.0.0.1');
      c.on('error', () => undefined);
      await new Promise((r) => c.once('connect', r));
      c.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(errors, []);
  // A byte every 100 ms keeps an idle timeout away; the deadline (600 ms here) still ends it.
  const slow = connect(port, '127.0.0.1');
  slow.on('error', () => undefined);
  const closed = new Promise<number>((r) => slow.once('close', () => r(Date.now())));
  const t0 = Date.now();
  const text = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(100);
  let i = 0;
  const drip = setInterval(() => { if (!slow.destroyed) slow.write(text[i++ % text.length]!); }, 100);
  const end = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 5000))]);
  clearInterval(drip);
  slow.destroy();
  assert.ok(end - t0 < 2000, `closed after ${end - t0} ms`);
  assert.equal((await httpsGet(`https://127.0.0.1:${port}/`, readFileSync(cert))).status, 200);
});

test('HTTPS: a key that is not the certificate\'s stops start-up, naming both files, of the same key type or not', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const dir = tempDir();
  const a = makeCert(openssl, dir, 'a'), b = makeCert(openssl, dir, 'b'), c = makeCert(openssl, dir, 'c', 'rsa');
  const collector = new Collector(testConfig());
  await collector.start();
  t.after(() => collector.stop());
  for (const [cert, key] of [[a.cert, b.key], [a.cert, c.key], [c.cert, a.key]] as const) {
    const web = new WebServer(collector, { ip: '127.0.0.1', port: 0, tls: { certPath: cert, keyPath: key } });
    await assert.rejects(web.start(), (err: Error) => err.message.includes(cert) && err.message.includes(key) && /do not make a TLS server/.test(err.message), `${cert} ${key}`);
  }
});

test('the collector serves its web UI with EF_WEBUI_AUTH_* and EF_WEBUI_TLS_* as configured', async (t) => {
  const openssl = needTool(t, 'openssl');
  if (openssl === null) return;
  const { cert, key } = makeCert(openssl, tempDir(), 'ufc');
  // A free port, found by binding port 0 first.
  const probe = new Collector(testConfig());
  const free = new WebServer(probe, { ip: '127.0.0.1', port: 0 });
  await free.start();
  const port = Number(new URL(free.url()).port);
  await free.stop();
  const c = new Collector(testConfig({
    EF_WEBUI_ENABLE: 'true', EF_WEBUI_PORT: String(port), EF_FLOW_SERVER_UDP_IP: '127.0.0.1', EF_FLOW_SERVER_UDP_PORT: '0', EF_FLOW_SERVER_WORKERS: '0',
    EF_WEBUI_AUTH_USERNAME: 'admin', EF_WEBUI_AUTH_PASSWORD: 'hunter2', EF_WEBUI_TLS_ENABLE: 'true', EF_WEBUI_TLS_CERT_FILEPATH: cert, EF_WEBUI_TLS_KEY_FILEPATH: key,
  }));
  await c.start();
  await c.listen();
  t.after(() => c.stop());
  const url = `https://127.0.0.1:${port}/api/overview`;
  assert.deepEqual(await httpsGet(url, readFileSync(cert)), { status: 401, cn: 'ufc' });
  assert.deepEqual(await httpsGet(url, readFileSync(cert), basic('admin', 'hunter2')), { status: 503, cn: 'ufc' }, 'logged in (no store: 503)');
});

test('configuration: a login needs both halves and no colon in the user name; HTTPS needs both files, readable; warnings where the UI serves other machines without a login, or a password in clear text', () => {
  setLogger(createLogger({ level: 'error', encoding: 'json' }));
  const dir = tempDir();
  const errorsOf = (env: Record<string, string>) => loadConfig({ env: { EF_DATA_DIR: dir, ...env } });
  let r = errorsOf({ EF_WEBUI_AUTH_USERNAME: 'ops' });
  assert.deepEqual(r.errors, ['EF_WEBUI_AUTH_PASSWORD="": required when EF_WEBUI_AUTH_USERNAME is set; the password the login asks for']);
  r = errorsOf({ EF_WEBUI_AUTH_PASSWORD: 'x' });
  assert.deepEqual(r.errors, ['EF_WEBUI_AUTH_USERNAME="": required when EF_WEBUI_AUTH_PASSWORD is set; the user name the login asks for']);
  r = errorsOf({ EF_WEBUI_AUTH_USERNAME: 'a:b', EF_WEBUI_AUTH_PASSWORD: 'x' });
  assert.deepEqual(r.errors, ['EF_WEBUI_AUTH_USERNAME="a:b": HTTP Basic user names cannot hold \':\'']);
  r = errorsOf({ EF_WEBUI_TLS_ENABLE: 'true' });
  assert.deepEqual(r.errors, [
    'EF_WEBUI_TLS_CERT_FILEPATH="": required when EF_WEBUI_TLS_ENABLE=true; the server\'s certificate (PEM)',
    'EF_WEBUI_TLS_KEY_FILEPATH="": required when EF_WEBUI_TLS_ENABLE=true; the certificate\'s private key (PEM)',
  ]);
  r = errorsOf({ EF_WEBUI_TLS_ENABLE: 'true', EF_WEBUI_TLS_CERT_FILEPATH: join(dir, 'none.crt'), EF_WEBUI_TLS_KEY_FILEPATH: dir });
  assert.deepEqual(r.errors, [
    `EF_WEBUI_TLS_CERT_FILEPATH=${JSON.stringify(join(dir, 'none.crt'))}: no such file (read at start-up because EF_WEBUI_ENABLE=true and EF_WEBUI_TLS_ENABLE=true)`,
    `EF_WEBUI_TLS_KEY_FILEPATH=${JSON.stringify(dir)}: not a file (read at start-up because EF_WEBUI_ENABLE=true and EF_WEBUI_TLS_ENABLE=true)`,
  ]);
  // A readable certificate and key that are no pair: found by `ufc config` as at start-up.
  const openssl = toolPath('openssl');
  if (openssl !== null) {
    const a = makeCert(openssl, dir, 'pa'), b = makeCert(openssl, dir, 'pb', 'rsa');
    r = errorsOf({ EF_WEBUI_TLS_ENABLE: 'true', EF_WEBUI_TLS_CERT_FILEPATH: a.cert, EF_WEBUI_TLS_KEY_FILEPATH: b.key });
    assert.deepEqual(r.errors, [`EF_WEBUI_TLS_CERT_FILEPATH=${JSON.stringify(a.cert)} and EF_WEBUI_TLS_KEY_FILEPATH=${JSON.stringify(b.key)}: not a certificate and its key (the key is not the certificate's)`]);
    assert.deepEqual(errorsOf({ EF_WEBUI_TLS_ENABLE: 'true', EF_WEBUI_TLS_CERT_FILEPATH: a.cert, EF_WEBUI_TLS_KEY_FILEPATH: a.key }).errors, []);
  }
  // With the web UI off none of it matters.
  assert.deepEqual(errorsOf({ EF_WEBUI_ENABLE: 'false', EF_WEBUI_TLS_ENABLE: 'true', EF_WEBUI_AUTH_USERNAME: 'ops' }).errors, []);
  const warned = (env: Record<string, string>) => errorsOf(env).warnings.filter((w) => w.startsWith('EF_WEBUI_IP='));
  assert.deepEqual(warned({}), [], 'loopback: no warning');
  assert.deepEqual(warned({ EF_WEBUI_IP: '::1' }), []);
  assert.match(warned({ EF_WEBUI_IP: '0.0.0.0' }).join(), /^EF_WEBUI_IP=0\.0\.0\.0: the web UI and API serve other machines with no login/);
  assert.match(warned({ EF_WEBUI_IP: '::', EF_WEBUI_AUTH_USERNAME: 'ops', EF_WEBUI_AUTH_PASSWORD: 'x' }).join(), /password crosses the network in clear text/);
  const secret = errorsOf({ EF_WEBUI_AUTH_USERNAME: 'ops', EF_WEBUI_AUTH_PASSWORD: 'hunter2' });
  assert.deepEqual(secret.errors, []);
});

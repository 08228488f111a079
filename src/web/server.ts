/**
 * The collector's HTTP server (node:http): the UI pages, the JSON API under /api/, Prometheus
 * metrics at /metrics, and /healthz and /readyz for orchestrators.
 *
 * It only reads: every handler takes values from the live stages or the store's query module, so
 * the web server can never slow decoding by more than the event-loop time of a request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import { log } from '../log/logger.js';
import { ApiError, createApi, type Api, type WebAccess } from './api.js';
import { createMetrics } from './metrics.js';
import type { WebSources } from './sources.js';
import { loadStaticFiles, type StaticFile } from './static-files.js';
import { hostCheck, hostName, type HostCheck } from './host-check.js';
import { hostPort, listenFailure } from '../host-port.js';
import { BasicAuth } from './basic-auth.js';
import { CHECK_MS, TlsFiles } from './tls-files.js';
import { redirectPlainHttp } from './plain-redirect.js';
import { checkPair, type TlsPair } from '../config/validate.js';

/** Paths that serve the page shell; the client script picks the page from the path. */
export const PAGES = ['/', '/threats', '/flows', '/exporters', '/integrations'] as const;

// The pages load only their own scripts and styles; nothing inline, nothing third-party.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export interface WebServerOptions {
  ip: string;
  port: number;
  /** EF_WEBUI_ALLOWED_HOSTS (see host-check.ts). */
  allowedHosts?: readonly string[];
  /** EF_WEBUI_AUTH_*: a login for everything but the probes (basic-auth.ts); none when absent. */
  auth?: { user: string; password: string };
  /** EF_WEBUI_TLS_*: HTTPS with this certificate and key (tls-files.ts); HTTP when absent. */
  tls?: { certPath: string; keyPath: string };
}

/** Paths answered without the login: orchestrators' probes, which tell only whether the collector runs. */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export class WebServer {
  private server: Server | HttpsServer | null = null;
  private readonly auth: BasicAuth | null;
  private readonly tls: TlsFiles | null;
  private tlsTimer: NodeJS.Timeout | null = null;
  /** Destroys the connections not handed to TLS yet (plain-redirect.ts). */
  private dropWaiting: () => void = () => {};
  private readonly files: Map<string, StaticFile>;
  private readonly metrics: Registry;
  private readonly api: Api;
  private ready = false;
  private readonly hostAllowed: HostCheck;

  constructor(private readonly src: WebSources, private readonly opts: WebServerOptions) {
    this.files = loadStaticFiles();
    this.metrics = createMetrics(src);
    this.api = createApi(src, () => this.access());
    this.hostAllowed = hostCheck(opts.allowedHosts ?? []);
    this.auth = opts.auth === undefined || opts.auth.user === '' ? null : new BasicAuth(opts.auth.user, opts.auth.password);
    this.tls = opts.tls === undefined ? null : new TlsFiles(opts.tls.certPath, opts.tls.keyPath);
    const auth = this.auth, tls = this.tls;
    if (tls !== null) {
      new Gauge({
        name: 'ufc_web_certificate_not_after_seconds', help: 'End of validity of the web server\'s certificate (EF_WEBUI_TLS_CERT_FILEPATH), or of the chain certificate in that file that ends first, Unix seconds: alert before it passes.', registers: [this.metrics],
        collect() {
          const t = tls.certificate?.notAfter;
          if (t !== undefined && Number.isFinite(t)) this.set(t / 1000);
        },
      });
    }
    new Counter({
      name: 'ufc_web_login_failed_total', help: 'Requests refused for a wrong user name or password (EF_WEBUI_AUTH_USERNAME); requests without any are not counted.', registers: [this.metrics],
      collect() {
        this.reset();
        this.inc(auth?.failures ?? 0);
      },
    });
  }

  /** The login and the certificate in use, for the Integrations page. */
  access(): WebAccess {
    const t = this.tls;
    return {
      login: this.auth !== null,
      https: t === null ? null : {
        certPath: t.certPath, keyPath: t.keyPath, subject: t.certificate?.subject ?? '', issuer: t.certificate?.issuer ?? '',
        notAfter: t.certificate?.notAfter ?? null, endsFirst: t.certificate?.endsFirst ?? null, loadedAt: t.loadedAt, error: t.error,
      },
    };
  }

  /** Failed logins since start (0 without a login). */
  get loginFailures(): number {
    return this.auth?.failures ?? 0;
  }

  /** The certificate's files: looked at now as the timer would (tests; the timer does this every 10 minutes). */
  async checkCertificate(): Promise<boolean> {
    return this.tls !== null && this.server !== null ? this.tls.check(this.server as HttpsServer) : false;
  }

  /** Marks the collector ready (inputs bound, outputs started); /readyz answers 200 from then on. */
  setReady(ready: boolean): void {
    this.ready = ready;
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.route(req, res).catch((err: unknown) => this.fail(res, err));
    };
    let server: Server | HttpsServer;
    if (this.tls !== null) {
      let pair: TlsPair;
      try {
        pair = await this.tls.load();
      } catch (err) {
        throw new Error(`web UI: cannot read EF_WEBUI_TLS_CERT_FILEPATH or EF_WEBUI_TLS_KEY_FILEPATH: ${(err as Error).message}`, { cause: err });
      }
      try {
        checkPair(pair);
        const https = createHttpsServer({ ...pair, minVersion: 'TLSv1.2' }, handler);
        this.dropWaiting = redirectPlainHttp(https, this.hostAllowed);
        server = https;
      } catch (err) {
        // A key that is not the certificate's, or a file that is not PEM.
        throw new Error(`web UI: the certificate ${this.tls.certPath} and key ${this.tls.keyPath} do not make a TLS server: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
    } else {
      server = createServer(handler);
    }
    // Slow or idle clients must not hold sockets for ever.
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      const onListenError = (err: NodeJS.ErrnoException): void => {
        reject(new Error(`web UI: cannot listen on ${hostPort(this.opts.ip, this.opts.port)}: ${listenFailure(err.code, err.message)}; see EF_WEBUI_IP and EF_WEBUI_PORT, or EF_WEBUI_ENABLE=false`));
      };
      server.once('error', onListenError);
      server.listen(this.opts.port, this.opts.ip, () => {
        server.off('error', onListenError);
        resolve();
      });
    });
    this.server = server;
    if (this.tls !== null) {
      this.tlsTimer = setInterval(() => void this.checkCertificate(), CHECK_MS);
      this.tlsTimer.unref();
    }
    log.info(`web UI listening on ${this.url()}${this.auth !== null ? ' (login required)' : ''}`);
  }

  /** The base URL, with the port actually bound (port 0 picks a free one). */
  url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return `${this.tls !== null ? 'https' : 'http'}://${hostPort(this.opts.ip, a?.port ?? this.opts.port)}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.ready = false;
    if (this.tlsTimer !== null) clearInterval(this.tlsTimer);
    this.tlsTimer = null;
    if (s === null) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
      this.dropWaiting();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.hostAllowed(req.headers.host)) {
      return this.text(res, 421, `host ${JSON.stringify(hostName(req.headers.host ?? ''))} is not one this server answers to; add it to EF_WEBUI_ALLOWED_HOSTS\n`);
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return this.text(res, 400, 'bad request target\n');
    }
    const path = url.pathname;
    if (this.auth !== null && !OPEN_PATHS.has(path) && !this.auth.check(req.headers.authorization, req.socket.remoteAddress ?? '?')) {
      res.writeHead(401, { 'www-authenticate': BasicAuth.CHALLENGE, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('login required (EF_WEBUI_AUTH_USERNAME)\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') return this.text(res, 200, 'ok\n');
    if (path === '/readyz') {
      const store = await this.api.storeReady();
      const ok = this.ready && store.ok;
      return this.json(res, ok ? 200 : 503, { ready: ok, collector: this.ready, store });
    }
    if (path === '/metrics') {
      const body = await this.metrics.metrics();
      res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path.startsWith('/api/')) {
      await this.api.handle(path, url.searchParams, res);
      return;
    }
    const pagePath = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const file = (PAGES as readonly string[]).includes(pagePath) ? this.files.get('/static/index.html') : this.files.get(path);
    if (file === undefined) return this.text(res, 404, 'not found\n');
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, { etag: file.etag }).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }).end(JSON.stringify(body));
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (err instanceof ApiError) {
      if (!res.headersSent) this.json(res, err.status, { error: err.message });
      else res.destroy();
      return;
    }
    log.warn(`web request failed: ${(err as Error).message}`);
    if (!res.headersSent) this.json(res, 500, { error: 'internal error' });
    else res.destroy();
  }
}

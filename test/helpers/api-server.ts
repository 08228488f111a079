/**
 * The web API alone on a loopback HTTP server, for tests that read /api answers over HTTP without the
 * web UI's server (no login, no static files). An error the API throws is answered with its status.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../../src/config/schema.js';
import type { Output } from '../../src/pipeline/types.js';
import { createApi } from '../../src/web/api.js';
import type { WebSources } from '../../src/web/sources.js';

export interface ApiServer {
  /** http://127.0.0.1:<port>, for the paths asked. */
  readonly origin: string;
  /** The body of `url`, asserting it was answered 200. */
  text(url: string): Promise<string>;
  /** Ends open answers (an export cut short) with the server. */
  close(): void;
}

/** The API over `outputs` (the stores it queries) with `config`, listening on 127.0.0.1. */
export async function apiServer(config: Config, outputs: Output[]): Promise<ApiServer> {
  const api = createApi({ config, outputs } as unknown as WebSources);
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    void api.handle(url.pathname, url.searchParams, res).catch((err: { status?: number; message: string }) => {
      if (!res.headersSent) res.writeHead(err.status ?? 500).end(err.message);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async text(url) {
      const res = await fetch(url);
      const body = await res.text();
      assert.equal(res.status, 200, `${url}: ${body}`);
      return body;
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * Plain HTTP on the HTTPS port: a browser given `host:8080` without `https://` gets a redirect to
 * the same address over HTTPS instead of an empty reply.
 *
 * Each connection's first bytes decide: a TLS handshake record (0x16) goes to the HTTPS server's own
 * connection handling, unchanged (its timeouts, its connection tracking, the context a renewal
 * replaces); anything else to a small HTTP server that answers one request with 307 and closes.
 * Written here rather than taken from @httptoolkit/httpolyglot, which builds its own TLS server: ours
 * must stay the one whose secure context the certificate reload replaces.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { hostName, type HostCheck } from './host-check.js';

/** First byte of a TLS record carrying a handshake (RFC 8446 5.1, ContentType handshake(22)). */
const TLS_HANDSHAKE = 0x16;
/** How long a connection may take to send its first bytes, and a plain one to be answered. */
const PLAIN_WAIT_MS = 10_000;

/** The redirect's target: the request's host and path over HTTPS; null when the host is not one this server answers to. */
function httpsLocation(req: IncomingMessage, hostAllowed: HostCheck): string | null {
  const host = req.headers.host;
  if (host === undefined || host === '' || !hostAllowed(host) || /[\s/\\?#@]/.test(host)) return null;
  const path = req.url !== undefined && req.url.startsWith('/') ? req.url : '/';
  return `https://${host}${path}`;
}

/**
 * Makes `server` (listening or not yet) answer plain HTTP with a redirect. Returns what destroys the
 * connections not handed to TLS yet, for the server's stop.
 */
export function redirectPlainHttp(server: HttpsServer, hostAllowed: HostCheck, waitMs = PLAIN_WAIT_MS): () => void {
  const waiting = new Set<Socket>();
  const plain = createServer((req: IncomingMessage, res: ServerResponse) => {
    const location = httpsLocation(req, hostAllowed);
    const headers = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' };
    if (location === null) {
      res.writeHead(400, headers).end(`this port serves HTTPS; host ${JSON.stringify(hostName(req.headers.host ?? ''))} is not one it answers to\n`);
    } else {
      res.writeHead(307, { ...headers, location }).end(`this port serves HTTPS: ${location}\n`);
    }
  });
  const tlsHandlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    waiting.add(socket);
    // Until a server takes it, nothing else listens for its errors: a reset before the first byte
    // would be an unhandled 'error' event, which ends the process.
    const onError = (): void => void socket.destroy();
    socket.on('error', onError);
    // node:http's own timeouts do not cover a connection before it reaches a server, nor one given to
    // a server that does not listen: a deadline for the whole of it (a byte now and then keeps a
    // socket's idle timeout from firing).
    const deadline = setTimeout(() => socket.destroy(), waitMs);
    deadline.unref();
    socket.once('close', () => {
      clearTimeout(deadline);
      waiting.delete(socket);
    });
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) {
        clearTimeout(deadline);
        waiting.delete(socket);
        socket.off('error', onError);
        for (const handle of tlsHandlers) handle.call(server, socket);
      } else {
        plain.emit('connection', socket);
        socket.resume();
      }
    });
  });
  return () => {
    for (const s of waiting) s.destroy();
    waiting.clear();
  };
}

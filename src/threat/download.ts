/**
 * One list download over HTTP(S) with Node's fetch: HTTP Basic credentials in the Authorization
 * header (RFC 7617; never in the URL), and one deadline covering the whole exchange, headers and
 * every byte of the body, so a stalled or trickling body fails at the deadline instead of hanging
 * the refresh. Failure causes are worded like Go's net/http errors, which the vendor's log lines
 * (and its users' searches) carry.
 *
 * Redirects are followed here, not by fetch: fetch drops only `Authorization` when a redirect
 * leaves the origin, and would send an API key header (AbuseIPDB's `Key`, OTX's
 * `X-OTX-API-KEY`) to whatever host the redirect names. The body is bounded in bytes as well as in
 * time: at the deadline alone, a fast link could deliver gigabytes.
 */
import { percentDecoded } from '../percent-decoded.js';

export type DownloadStage = 'request' | 'status' | 'body';

export class DownloadError extends Error {
  constructor(
    message: string,
    /** request: no response headers; status: a non-2xx answer; body: the body did not arrive whole. */
    readonly stage: DownloadStage,
    readonly status = 0,
    /** A 429 or 503 answer's `Retry-After`, in milliseconds (RFC 9110 section 10.2.3); 0 when none. */
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

export interface DownloadOptions {
  url: string;
  user?: string;
  password?: string;
  /** The deadline for the whole exchange, body included. */
  timeoutMs: number;
  /** Aborts the download early (collector stopping). */
  signal?: AbortSignal;
  /** Extra request headers (an API key header such as AbuseIPDB's `Key`); they override the defaults. */
  headers?: Record<string, string>;
  /** The largest body accepted, in bytes (default MAX_BODY_BYTES). */
  maxBytes?: number;
  /**
   * How a URL reads in error messages (default displayUrl): a feed whose query string may carry a
   * key gives maskedUrl, as the messages reach the log and the status page.
   */
  showUrl?: (url: string) => string;
}

/**
 * The largest list body accepted (and, in formats.ts, the largest a gzip body may inflate to):
 * the PassiveTotal list is about 29 MB and the largest public feeds a few MB, so this leaves room
 * for lists ten times their size while a runaway server cannot fill the memory or the disk.
 */
export const MAX_BODY_BYTES = 512 * 1024 * 1024;
/** Redirects followed before the download fails (fetch's own limit is 20). */
export const MAX_REDIRECTS = 5;

/** The URL without user:password@, fit for logs and error messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

/** Query parameter names that carry keys in the wild (`apikey`, `access_token`, `X-Amz-Signature`, `password`). */
export const KEY_LIKE_PARAM = /key|token|secret|auth|pass|sig/i;

/**
 * The URL without user:password@ and with query values masked (`?code=***`, names kept): every value
 * when `everyValue` (a URL the user wrote, whose query may carry a key under any name, such as Azure
 * Functions' `code`), else those whose name looks like a key's. A bare flag (`?plaintext`) or an empty
 * value has nothing to hide and stays as written.
 */
export function maskedUrl(url: string, everyValue: boolean): string {
  const shown = displayUrl(url);
  const h = shown.indexOf('#');
  const end = h < 0 ? shown.length : h;
  // A fragment is never sent, but a URL copied from a browser may carry a token there too.
  const fragment = h < 0 || h === shown.length - 1 ? shown.slice(end) : '#***';
  const q = shown.slice(0, end).indexOf('?');
  if (q < 0) return shown.slice(0, end) + fragment;
  const params = shown.slice(q + 1, end).split('&').map((p) => {
    const eq = p.indexOf('=');
    if (eq < 0 || eq === p.length - 1) return p;
    const name = p.slice(0, eq);
    return everyValue || KEY_LIKE_PARAM.test(percentDecoded(name.replace(/\+/g, ' '))) ? `${name}=***` : p;
  });
  return shown.slice(0, q + 1) + params.join('&') + fragment;
}

export const BODY_DEADLINE = 'context deadline exceeded (Client.Timeout or context cancellation while reading body)';
export const HEADER_DEADLINE = 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';

export async function download(opts: DownloadOptions): Promise<Buffer> {
  let target = displayUrl(opts.url);
  const show = opts.showUrl ?? displayUrl;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const headers: Record<string, string> = { accept: '*/*' };
  if (opts.user !== undefined && opts.user !== '') {
    headers.authorization = 'Basic ' + Buffer.from(`${opts.user}:${opts.password ?? ''}`, 'utf8').toString('base64');
  }
  if (opts.headers !== undefined) for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
  const origin = originOf(target);
  let res: Response;
  for (let redirects = 0; ; redirects++) {
    try {
      res = await fetch(target, { headers: originOf(target) === origin ? headers : { accept: '*/*' }, signal, redirect: 'manual' });
    } catch (err) {
      throw new DownloadError(`Get "${show(target)}": ${cause(err, timeout, HEADER_DEADLINE)}`, 'request');
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (location === null) break;
    await res.body?.cancel().catch(() => undefined);
    if (redirects === MAX_REDIRECTS) throw new DownloadError(`Get "${show(target)}": stopped after ${MAX_REDIRECTS} redirects`, 'request');
    let next: URL;
    try {
      next = new URL(location, target);
    } catch {
      throw new DownloadError(`Get "${show(target)}": redirect to an invalid URL ${JSON.stringify(location.slice(0, 200))}`, 'request');
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new DownloadError(`Get "${show(target)}": redirect to ${next.protocol} refused`, 'request');
    // Credentials and API key headers go to the configured origin only (see the top of this file).
    target = displayUrl(next.toString());
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    const retryAfterMs = res.status === 429 || res.status === 503 ? retryAfter(res.headers.get('retry-after')) : 0;
    // The reason phrase as the server wrote it, of any length: only its start.
    throw new DownloadError(`enrichment API answered HTTP ${res.status} ${res.statusText.slice(0, 100)}`.trimEnd(), 'status', res.status, retryAfterMs);
  }
  const max = opts.maxBytes ?? MAX_BODY_BYTES;
  const declared = Number(res.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(`response of ${declared} bytes is larger than the ${max} accepted`, 'body');
  }
  try {
    return await readBody(res, max);
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    throw new DownloadError(cause(err, timeout, BODY_DEADLINE), 'body');
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** `Retry-After` as delay-seconds or an HTTP date (RFC 9110 section 10.2.3), in ms; 0 when absent or unreadable. */
export function retryAfter(value: string | null, now = Date.now()): number {
  if (value === null) return 0;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : 0;
}

/**
 * The body as one Buffer: chunks are kept as they arrive and copied once at the end (one memcpy of
 * the whole body, a few milliseconds for 30 MB), which keeps the event loop free while it streams in.
 */
async function readBody(res: Response, max: number): Promise<Buffer> {
  if (res.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new DownloadError(`response larger than the ${max} bytes accepted; download stopped`, 'body');
    }
  }
  return Buffer.concat(chunks, total);
}

function cause(err: unknown, timeout: AbortSignal, deadline: string): string {
  if (timeout.aborted) return deadline;
  const e = err as Error & { cause?: Error & { code?: string } };
  if (e.name === 'AbortError') return 'context canceled';
  const c = e.cause;
  if (c !== undefined && c !== null) {
    // undici reports a body cut short as "terminated" caused by "other side closed".
    if (e.message === 'terminated') return `unexpected EOF (${c.message})`;
    // A kept-alive connection the server closed, or one closed before any response: Go says EOF.
    if (c.code === 'UND_ERR_SOCKET') return `EOF (${c.message})`;
    return c.code !== undefined && !c.message.includes(c.code) ? `${c.code}: ${c.message}` : c.message;
  }
  return e.message;
}

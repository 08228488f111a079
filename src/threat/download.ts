/**
 * One list download over HTTP(S) with Node's fetch: HTTP Basic credentials in the Authorization
 * header (RFC 7617; never in the URL), and one deadline covering the whole exchange, headers and
 * every byte of the body, so a stalled or trickling body fails at the deadline instead of hanging
 * the refresh. Failure causes are worded like Go's net/http errors, which the vendor's log lines
 * (and its users' searches) carry.
 */

export type DownloadStage = 'request' | 'status' | 'body';

export class DownloadError extends Error {
  constructor(
    message: string,
    /** request: no response headers; status: a non-2xx answer; body: the body did not arrive whole. */
    readonly stage: DownloadStage,
    readonly status = 0,
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
}

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

export const BODY_DEADLINE = 'context deadline exceeded (Client.Timeout or context cancellation while reading body)';
export const HEADER_DEADLINE = 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';

export async function download(opts: DownloadOptions): Promise<Buffer> {
  const shown = displayUrl(opts.url);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const headers: Record<string, string> = { accept: '*/*' };
  if (opts.user !== undefined && opts.user !== '') {
    headers.authorization = 'Basic ' + Buffer.from(`${opts.user}:${opts.password ?? ''}`, 'utf8').toString('base64');
  }
  if (opts.headers !== undefined) for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
  let res: Response;
  try {
    res = await fetch(shown, { headers, signal, redirect: 'follow' });
  } catch (err) {
    throw new DownloadError(`Get "${shown}": ${cause(err, timeout, HEADER_DEADLINE)}`, 'request');
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(`enrichment API answered HTTP ${res.status} ${res.statusText}`.trimEnd(), 'status', res.status);
  }
  try {
    return await readBody(res);
  } catch (err) {
    throw new DownloadError(cause(err, timeout, BODY_DEADLINE), 'body');
  }
}

/**
 * The body as one Buffer: chunks are kept as they arrive and copied once at the end (one memcpy of
 * the whole body, a few milliseconds for 30 MB), which keeps the event loop free while it streams in.
 */
async function readBody(res: Response): Promise<Buffer> {
  if (res.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
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

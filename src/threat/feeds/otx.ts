/**
 * AlienVault OTX subscribed pulses come in pages (`{count, next, previous, results}`, `next` the
 * URL of the following page, null on the last). The feed follows `next` up to a page limit and
 * hands the parser one `{results: [...]}` body, so the list is every subscribed pulse's indicators,
 * not only the first page's. `next` is followed only on the configured URL's origin: the API key
 * header must never be sent elsewhere. The pages share one timeout: the option bounds one refresh,
 * not each page of it; and one size limit, as the pages make one list: page by page, 20 pages could
 * otherwise hold twenty times the bytes any other feed may.
 */
import { download, DownloadError, MAX_BODY_BYTES, type DownloadOptions } from '../download.js';

export const OTX_MAX_PAGES = 20;

export async function fetchOtxPages(req: DownloadOptions, maxPages = OTX_MAX_PAGES): Promise<Buffer> {
  const origin = new URL(req.url).origin;
  const results: unknown[] = [];
  let next: string | null = req.url;
  let pages = 0;
  const deadline = Date.now() + req.timeoutMs;
  const maxBytes = req.maxBytes ?? MAX_BODY_BYTES;
  let bytes = 0;
  while (next !== null && pages < maxPages) {
    // A page gets what the pages before it left of the limit.
    const left = maxBytes - bytes;
    let body: Buffer;
    try {
      body = await download({ ...req, url: next, timeoutMs: Math.max(1, deadline - Date.now()), maxBytes: left });
    } catch (err) {
      if (err instanceof DownloadError && pages > 0 && /larger than/.test(err.message)) {
        throw new DownloadError(`OTX page ${pages + 1} takes the pages past the ${maxBytes} bytes accepted for all of them together (${bytes} bytes in ${pages} pages before it)`, 'body');
      }
      throw err;
    }
    bytes += body.length;
    let doc: { results?: unknown; next?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as typeof doc;
    } catch (err) {
      throw new DownloadError(`OTX page ${pages + 1} is not JSON: ${(err as Error).message}`, 'body');
    }
    if (!Array.isArray(doc.results)) throw new DownloadError(`OTX page ${pages + 1} holds no "results" array`, 'body');
    for (const r of doc.results) results.push(r);
    pages++;
    next = typeof doc.next === 'string' && doc.next !== '' ? doc.next : null;
    if (next !== null && new URL(next, req.url).origin !== origin) throw new DownloadError(`OTX "next" points to another host (${new URL(next, req.url).origin}); not followed`, 'body');
    if (next !== null) next = new URL(next, req.url).toString();
  }
  return Buffer.from(JSON.stringify({ count: results.length, pages, results }));
}

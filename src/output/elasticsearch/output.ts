/**
 * EF_OUTPUT_ELASTICSEARCH_* and EF_OUTPUT_OPENSEARCH_*: records indexed with the bulk API into
 * `<prefix>-<codex|ecs>[-<period>]`, under an index template installed at start.
 *
 * A bulk response reports each item: accepted items are done, items the cluster cannot take for now
 * (429, 5xx, or its set-up: 401/403/404, see bulk.ts) are sent again on their own (a few times, with
 * backoff, inside one send), and items answered with another 4xx (a document the mapping refuses)
 * are dropped, counted and logged at most every 10 s. Items still failing after those tries, and
 * everything not yet accepted when a request fails as a whole, go back to the batching queue as a
 * PartialSendError, which retries them or spills them to disk. A request refused as too large (413)
 * is sent again in halves, and later requests kept to half its size for RESIZE_AFTER_MS; a lone
 * document refused so is dropped when it is over LONE_TOO_LARGE or larger than a request the cluster
 * took lately; when the next document alone is refused too (a limit below ordinary documents), the
 * send ends and keeps its records as a failed send does.
 */
import type { FlowRecord } from '../../record/flow-record.js';
import { pickTimestamp, type ViewOptions } from '../../record/fields.js';
import { encodeRecord } from '../../record/json.js';
import { log } from '../../log/logger.js';
import { BatchingOutput, PartialSendError } from '../batching.js';
import { CLOSE_SEND_MS, START_WAIT_MS } from '../close-deadline.js';
import { within } from '../../within.js';
import { bodyBytes, bodyText, itemResults, recordsOf, splitBodies, type BulkItem } from './bulk.js';
import { ClusterHttpError, openConnection, type ConnectionOptions, type SearchConnection } from './connection.js';
import { IndexNamer, type IndexPeriod, type Schema } from './index-name.js';
import { buildTemplate, leafRenames, type Flavor, type IndexTemplate } from './template.js';

export interface SearchOutputOptions {
  flavor: Flavor;
  connection: ConnectionOptions;
  view: ViewOptions;
  indexPrefix: string;
  indexPeriod: IndexPeriod;
  templateEnable: boolean;
  /** Milliseconds a partial batch waits (_BATCH_DEADLINE). */
  deadlineMs: number;
  /** Largest bulk request body (_BATCH_MAX_BYTES). */
  maxBytes: number;
  /** Records taken from the queue per send (split into bodies of at most maxBytes). */
  batchRecords?: number;
  /** Disk spill; without it the memory queue drops when full. */
  spill?: { dir: string; maxBytes: number };
  /** Sends of a failing item (retriable() in bulk.ts, or a lone document refused as too large) within one send before it goes back to the queue. */
  itemAttempts?: number;
  itemBackoffMs?: number;
  /** How long requests stay smaller after a 413 (RESIZE_AFTER_MS; tests). */
  resizeAfterMs?: number;
}

const LOG_EVERY_MS = 10_000;
/** How long requests stay smaller after the last one refused as too large (413). */
const RESIZE_AFTER_MS = 10 * 60_000;
/**
 * A lone document refused as too large is dropped only from this size on (its two bulk lines): flow
 * documents are a few KB, so a limit below this refuses ordinary ones and is the set-up's to mend.
 */
const LONE_TOO_LARGE = 1 << 20;

export class SearchOutput extends BatchingOutput {
  readonly name: string;
  private readonly conn: SearchConnection;
  private readonly namer: IndexNamer;
  private readonly template: IndexTemplate;
  private readonly renames: [string, string][];
  private templateReady: boolean;
  private lastRejectLog = 0;
  private rejectedSinceLog = 0;
  private lastRejectReason = '';
  private rejectLogTimer: NodeJS.Timeout | null = null;
  /** Largest request body: _BATCH_MAX_BYTES, or less after the cluster refused one as too large (413). */
  private bodyMax: number;
  private last413 = 0;
  /** An ordinary document was refused alone as too large, and no request taken since: see send(). */
  private loneRefused = false;
  /** The largest request the cluster took lately and when (kept for RESIZE_AFTER_MS): a lone document larger than it is refused for its own size. */
  private acceptedBytes = 0;
  private acceptedAt = 0;

  constructor(private readonly o: SearchOutputOptions) {
    const batchRecords = o.batchRecords ?? 10_000;
    super({
      batchMax: batchRecords,
      deadlineMs: o.deadlineMs,
      // With a spill, memory holds the batch being filled (besides the one in flight) and the rest
      // waits on disk, so a crash loses at most those; without one, a larger queue rides out short
      // stalls before dropping.
      queueMax: o.spill !== undefined ? batchRecords : 20 * batchRecords,
      queueMaxWithoutSpill: 20 * batchRecords,
      // Without a spill a batch is given up (and counted) after some minutes of failures, so an
      // unreachable cluster cannot hold shutdown for ever.
      ...(o.spill !== undefined ? { spill: o.spill } : { maxRetries: 10 }),
    });
    this.name = o.flavor;
    Object.assign(this.c, { indexed: 0, rejected: 0, item_retries: 0, templates_installed: 0 });
    const schema: Schema = o.view.ecs ? 'ecs' : 'codex';
    this.namer = new IndexNamer(o.indexPrefix, schema, o.indexPeriod);
    this.template = buildTemplate(o.flavor, `${o.indexPrefix}-${schema}`, this.namer.pattern, schema);
    // Written as `"name":` fragments by the JSON encoder; a name is never a prefix of another inside quotes.
    this.renames = o.flavor === 'opensearch' ? [...leafRenames(schema)].map(([a, b]) => [`,${JSON.stringify(a)}:`, `,${JSON.stringify(b)}:`]) : [];
    this.templateReady = !o.templateEnable;
    this.conn = openConnection(o.connection);
    this.bodyMax = o.maxBytes;
  }

  override async start(): Promise<void> {
    try {
      // A node that accepts and stays silent must not hold up the collector's start (its UDP sockets,
      // so the flows sent meanwhile) for the request timeout, twice: past START_WAIT_MS records queue
      // and the template is installed before the first bulk request, as after any failure here.
      const ready = (async () => {
        const info = await this.conn.info();
        log.info(`${this.name} output: connected to ${info.distribution} ${info.version} at ${this.o.connection.addresses.join(',')}`);
        await this.installTemplate();
      })();
      if (!(await within(ready, START_WAIT_MS))) {
        ready.catch(() => undefined);
        throw new Error(`no answer within ${START_WAIT_MS / 1000} s`);
      }
      await ready;
    } catch (err) {
      // Not fatal: records queue (and spill) until the cluster answers; the template is retried first.
      log.warn(`${this.name} output: cluster not ready at start (${(err as Error).message}); records are held and the template retried before the first bulk request`);
    }
    await super.start();
  }

  private async installTemplate(): Promise<void> {
    if (this.templateReady) return;
    await this.conn.putIndexTemplate(this.template);
    this.templateReady = true;
    this.c.templates_installed!++;
    log.info(`${this.name} output: index template ${this.template.name} installed for ${this.template.body.index_patterns.join(',')}`);
  }

  /** The two bulk lines of each record. */
  private items(batch: readonly FlowRecord[]): BulkItem[] {
    const src = this.o.view.timestampSource;
    const out: BulkItem[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      // The index period follows @timestamp, chosen as fields.ts chooses it.
      const index = this.namer.nameFor(pickTimestamp(r, src));
      let doc = encodeRecord(r, this.o.view);
      for (let k = 0; k < this.renames.length; k++) doc = doc.replace(this.renames[k]![0], this.renames[k]![1]);
      const text = `{"index":{"_index":${JSON.stringify(index)}}}\n${doc}\n`;
      out[i] = { index: i, text, bytes: Buffer.byteLength(text) };
    }
    return out;
  }

  protected async send(batch: FlowRecord[]): Promise<void> {
    await this.installTemplate();
    if (this.bodyMax < this.o.maxBytes && Date.now() - this.last413 >= (this.o.resizeAfterMs ?? RESIZE_AFTER_MS)) {
      // The limit may have been raised since (a proxy's set-up mended): full-size requests again.
      this.bodyMax = this.o.maxBytes;
      log.info(`${this.name} output: no request refused as too large for ${Math.round((Date.now() - this.last413) / 60_000)} minutes; requests of up to ${this.bodyMax} bytes again (_BATCH_MAX_BYTES)`);
    }
    const attempts = Math.max(1, this.o.itemAttempts ?? 5);
    let pending = this.items(batch);
    for (let attempt = 1; ; attempt++) {
      const retry: BulkItem[] = [];
      let lastFail = '';
      // After an ordinary document was refused alone as too large: one alone first, to learn whether the limit was mended.
      const bodies = this.loneRefused && pending.length > 1 ? smallestAlone(pending, this.bodyMax) : splitBodies(pending, this.bodyMax);
      for (let b = 0; b < bodies.length; b++) {
        const body = bodies[b]!;
        let results;
        try {
          results = itemResults(await this.conn.bulk(bodyText(body)), body.length);
        } catch (err) {
          if (err instanceof ClusterHttpError && err.status === 413) {
            this.last413 = Date.now();
            if (body.length > 1) {
              // This body and the ones after it, cut again to half its size (an item larger alone, alone).
              this.tooLarge(body, err);
              bodies.splice(b, bodies.length - b, ...splitBodies(bodies.slice(b).flat(), this.bodyMax));
              b--;
              continue;
            }
            const lone = body[0]!;
            if (lone.bytes >= LONE_TOO_LARGE || (lone.bytes > this.acceptedBytes && Date.now() - this.acceptedAt < (this.o.resizeAfterMs ?? RESIZE_AFTER_MS))) {
              // Larger than any limit set for ordinary documents, or than a request the cluster took
              // lately: the document is the problem, and it never will go.
              this.reject(413, err.message.replace(/^HTTP 413 ?/, ''));
              continue;
            }
            // Nothing as large taken lately: the limit may refuse ordinary documents (a proxy set up
            // wrong), the set-up's to mend, or only this one. The smallest document left, alone, tells
            // (the next could be as large; bulk requests keep no order anyway): taken,
            // this one is tried again after the rest (and dropped then, as larger than what was
            // taken); refused too, the send ends here and keeps them all, as in an outage (sending
            // the rest one by one would only be refused too, a request a record at every try). The
            // next send then tries the smallest document alone first, and the halving, which found no size the
            // cluster takes, is undone: full-size requests once the limit is mended.
            retry.push(lone);
            lastFail = `413 ${err.message}`;
            if (this.loneRefused) {
              this.bodyMax = this.o.maxBytes;
              const left = retry.map((it) => it.index);
              for (let k = b + 1; k < bodies.length; k++) for (const it of bodies[k]!) left.push(it.index);
              throw new PartialSendError(recordsOf(batch, left), new Error(`documents of ${lone.bytes} bytes refused alone as too large (${err.message}): the limit refuses ordinary flow documents`));
            }
            this.loneRefused = true;
            const rest = bodies.slice(b + 1).flat();
            if (rest.length > 1) bodies.splice(b + 1, bodies.length - b - 1, ...smallestAlone(rest, this.bodyMax));
            continue;
          }
          const left = retry.map((it) => it.index);
          for (let k = b; k < bodies.length; k++) for (const it of bodies[k]!) left.push(it.index);
          throw new PartialSendError(recordsOf(batch, left), err);
        }
        this.loneRefused = false;
        const bytes = bodyBytes(body);
        // The largest taken in the last RESIZE_AFTER_MS, and when: a limit lowered since ages it out.
        if (bytes >= this.acceptedBytes || Date.now() - this.acceptedAt >= (this.o.resizeAfterMs ?? RESIZE_AFTER_MS)) {
          this.acceptedBytes = bytes;
          this.acceptedAt = Date.now();
        }
        for (let j = 0; j < results.length; j++) {
          const res = results[j]!;
          if (res.outcome === 'ok') this.c.indexed!++;
          else if (res.outcome === 'retry') {
            retry.push(body[j]!);
            lastFail = `${res.status} ${res.reason}`;
          } else this.reject(res.status, res.reason);
        }
      }
      if (retry.length === 0) return;
      this.c.item_retries! += retry.length;
      if (attempt >= attempts) {
        throw new PartialSendError(recordsOf(batch, retry.map((it) => it.index)), new Error(`${retry.length} bulk items still failing (last: ${lastFail})`));
      }
      await new Promise((r) => setTimeout(r, (this.o.itemBackoffMs ?? 200) * 2 ** (attempt - 1)));
      pending = retry;
    }
  }

  /** A request of these items was refused as too large: the next ones are kept to half its size. */
  private tooLarge(body: readonly BulkItem[], err: Error): void {
    const bytes = bodyBytes(body);
    // Never more than bodyMax (only a lone item exceeds it, and a lone item is not cut): this lowers it.
    const max = Math.max(1, bytes >> 1);
    this.bodyMax = max;
    log.warn(`${this.name} output: a bulk request of ${bytes} bytes was refused (${err.message}); sending it in halves, and requests of at most ${max} bytes from now on`);
  }

  private reject(status: number, reason: string): void {
    this.c.rejected!++;
    this.refused(1);
    this.rejectedSinceLog++;
    this.lastRejectReason = `${status} ${reason.slice(0, 300)}`;
    if (this.rejectLogTimer !== null) return;
    // The rejections of one response come together: counted first, logged once after them.
    const wait = Math.max(0, this.lastRejectLog + LOG_EVERY_MS - Date.now());
    this.rejectLogTimer = setTimeout(() => this.logRejections(), wait);
    this.rejectLogTimer.unref();
  }

  private logRejections(): void {
    if (this.rejectLogTimer !== null) clearTimeout(this.rejectLogTimer);
    this.rejectLogTimer = null;
    if (this.rejectedSinceLog === 0) return;
    this.lastRejectLog = Date.now();
    log.warn(`${this.name} output: ${this.rejectedSinceLog} records rejected by the cluster and dropped (last: ${this.lastRejectReason})`);
    this.rejectedSinceLog = 0;
  }

  override async close(flushMs?: number): Promise<void> {
    await super.close(flushMs);
    this.logRejections();
    // Bounded like Kafka's and ClickHouse's: closing waits for a request close() gave up on.
    await within(this.conn.close(), CLOSE_SEND_MS);
  }
}

/**
 * `items` as bodies with the smallest alone first: the document that best tells whether a limit that
 * refused one alone refuses ordinary documents too (send()).
 */
function smallestAlone(items: readonly BulkItem[], maxBytes: number): BulkItem[][] {
  let k = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.bytes < items[k]!.bytes) k = i;
  return [[items[k]!], ...splitBodies([...items.slice(0, k), ...items.slice(k + 1)], maxBytes)];
}

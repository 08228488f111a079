/**
 * The few cluster calls the output makes, over the official client of each product:
 * `@elastic/elasticsearch` for Elasticsearch and `@opensearch-project/opensearch` for OpenSearch.
 * Both clients' own retries are off (maxRetries 0): the output retries failed items itself and
 * spills to disk while the cluster is away, which the clients' in-request retries would only delay.
 */
import { readFileSync } from 'node:fs';
import { Client as EsClient } from '@elastic/elasticsearch';
import { Client as OsClient } from '@opensearch-project/opensearch';
import type { BulkResponseBody } from './bulk.js';
import type { Flavor, IndexTemplate } from './template.js';
import { ConfigFileError } from '../../config/file-error.js';

export interface ConnectionOptions {
  flavor: Flavor;
  /** host:port, or full URLs. */
  addresses: string[];
  username: string;
  password: string;
  apiKey: string;
  tls: { enable: boolean; skipVerification: boolean; caCertPath: string };
  requestTimeoutMs: number;
}

export interface ClusterInfo {
  distribution: string;
  version: string;
}

export interface SearchConnection {
  info(): Promise<ClusterInfo>;
  putIndexTemplate(t: IndexTemplate): Promise<void>;
  /** POST /_bulk with a ready NDJSON body; throws when the request as a whole fails. */
  bulk(ndjson: string): Promise<BulkResponseBody>;
  close(): Promise<void>;
}

export function nodeUrls(o: Pick<ConnectionOptions, 'addresses' | 'tls'>): string[] {
  return o.addresses.map((a) => (a.includes('://') ? a : `${o.tls.enable ? 'https' : 'http'}://${a}`));
}

function tlsOptions(o: ConnectionOptions): { ca?: Buffer; rejectUnauthorized: boolean } | undefined {
  // An https:// address uses TLS whatever _TLS_ENABLE says (which only picks the scheme of bare
  // host:port addresses), so its CA file and skip-verification apply to it too.
  if (!o.tls.enable && o.tls.caCertPath === '' && !o.tls.skipVerification) return undefined;
  const out: { ca?: Buffer; rejectUnauthorized: boolean } = { rejectUnauthorized: !o.tls.skipVerification };
  if (o.tls.caCertPath !== '') {
    try {
      out.ca = readFileSync(o.tls.caCertPath);
    } catch (err) {
      const name = o.flavor === 'opensearch' ? 'OPENSEARCH' : 'ELASTICSEARCH';
      throw new ConfigFileError(`EF_OUTPUT_${name}_TLS_CA_CERT_FILEPATH: cannot read ${o.tls.caCertPath}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** A request the cluster answered as a whole with an HTTP error status. */
export class ClusterHttpError extends Error {
  constructor(readonly status: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** What the cluster's error body says: `type: reason` of Elasticsearch's error object, else the text's start. */
function bodyReason(body: unknown): string {
  if (typeof body === 'string') return body.trim().slice(0, 200);
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === 'string') return e;
  if (e !== null && typeof e === 'object') {
    const { type, reason } = e as { type?: unknown; reason?: unknown };
    return [type, reason].filter((x) => typeof x === 'string' && x !== '').join(': ');
  }
  return '';
}

/**
 * The clients' response errors as ClusterHttpError, naming the status, what the body says (a proxy's
 * 413 has none: the clients' own message was then empty) and, for the statuses an operator mends, how.
 */
function httpError(err: unknown, flavor: Flavor): unknown {
  const meta = (err as { meta?: { statusCode?: unknown; body?: unknown } } | null)?.meta;
  const status = meta?.statusCode;
  if (typeof status !== 'number' || status < 400) return err;
  const name = flavor === 'opensearch' ? 'OPENSEARCH' : 'ELASTICSEARCH';
  const hint = status === 401 ? ` (the credentials were refused: EF_OUTPUT_${name}_USERNAME and _PASSWORD, or _API_KEY)`
    : status === 403 ? ' (the user lacks a privilege this request needs)'
      : status === 413 ? ` (the request is larger than the cluster or a proxy in front of it takes: EF_OUTPUT_${name}_BATCH_MAX_BYTES)` : '';
  const reason = bodyReason(meta?.body);
  return new ClusterHttpError(status, `HTTP ${status}${reason === '' ? '' : ` ${reason}`}${hint}`, { cause: err });
}

export function openConnection(o: ConnectionOptions): SearchConnection {
  return o.flavor === 'opensearch' ? new OpenSearchConnection(o) : new ElasticsearchConnection(o);
}

/**
 * The 9.x client asks for REST API compatibility with 9, which Elasticsearch 8 refuses. Asking for
 * compatibility with 8 is accepted by 8.x (its own version) and by 9.x (which serves the previous
 * major), so one build talks to both. The request and response bodies used here are the same in both.
 */
const COMPAT_JSON = 'application/vnd.elasticsearch+json; compatible-with=8';
const COMPAT_NDJSON = 'application/vnd.elasticsearch+x-ndjson; compatible-with=8';
const JSON_HEADERS = { accept: COMPAT_JSON, 'content-type': COMPAT_JSON };
const BULK_HEADERS = { accept: COMPAT_JSON, 'content-type': COMPAT_NDJSON };

class ElasticsearchConnection implements SearchConnection {
  private readonly client: EsClient;

  constructor(o: ConnectionOptions) {
    const auth = o.apiKey !== '' ? { apiKey: o.apiKey } : o.username !== '' ? { username: o.username, password: o.password } : undefined;
    const tls = tlsOptions(o);
    this.client = new EsClient({
      nodes: nodeUrls(o),
      maxRetries: 0,
      requestTimeout: o.requestTimeoutMs,
      ...(auth !== undefined ? { auth } : {}),
      ...(tls !== undefined ? { tls } : {}),
    });
  }

  async info(): Promise<ClusterInfo> {
    const r = await this.client.info(undefined, { headers: JSON_HEADERS }).catch(this.fail);
    return { distribution: 'elasticsearch', version: r.version.number };
  }

  async putIndexTemplate(t: IndexTemplate): Promise<void> {
    await this.client.indices.putIndexTemplate({ name: t.name, ...t.body } as Parameters<EsClient['indices']['putIndexTemplate']>[0], { headers: JSON_HEADERS }).catch(this.fail);
  }

  async bulk(ndjson: string): Promise<BulkResponseBody> {
    return this.client.transport.request<BulkResponseBody>({ method: 'POST', path: '/_bulk', bulkBody: ndjson }, { headers: BULK_HEADERS }).catch(this.fail);
  }

  private readonly fail = (err: unknown): never => {
    throw httpError(err, 'elasticsearch');
  };

  async close(): Promise<void> {
    await this.client.close();
  }
}

class OpenSearchConnection implements SearchConnection {
  private readonly client: OsClient;

  constructor(o: ConnectionOptions) {
    const ssl = tlsOptions(o);
    // OpenSearch's security plugin knows no API keys of its own; a key given is sent as the
    // Elasticsearch-style `Authorization: ApiKey` header for proxies and managed services that take it.
    const headers = o.apiKey !== '' ? { authorization: `ApiKey ${o.apiKey}` } : undefined;
    this.client = new OsClient({
      nodes: nodeUrls(o),
      maxRetries: 0,
      requestTimeout: o.requestTimeoutMs,
      ...(o.apiKey === '' && o.username !== '' ? { auth: { username: o.username, password: o.password } } : {}),
      ...(headers !== undefined ? { headers } : {}),
      ...(ssl !== undefined ? { ssl } : {}),
    });
  }

  async info(): Promise<ClusterInfo> {
    const r = await this.client.info().catch(this.fail);
    const v = (r.body as { version?: { number?: string; distribution?: string } }).version;
    return { distribution: v?.distribution ?? 'opensearch', version: v?.number ?? '' };
  }

  async putIndexTemplate(t: IndexTemplate): Promise<void> {
    await this.client.indices.putIndexTemplate({ name: t.name, body: t.body as never }).catch(this.fail);
  }

  async bulk(ndjson: string): Promise<BulkResponseBody> {
    const r = await this.client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: ndjson }).catch(this.fail);
    return r.body as BulkResponseBody;
  }

  private readonly fail = (err: unknown): never => {
    throw httpError(err, 'opensearch');
  };

  async close(): Promise<void> {
    await this.client.close();
  }
}

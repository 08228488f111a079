/** EF_OUTPUT_ELASTICSEARCH_* / EF_OUTPUT_OPENSEARCH_* to a SearchOutput. */
import type { Config } from '../../config/schema.js';
import { SearchOutput } from './output.js';
import type { Flavor } from './template.js';

export function createSearchOutput(c: Config, flavor: Flavor, spillDir: string): SearchOutput {
  const p = flavor === 'opensearch'
    ? {
        addresses: c.EF_OUTPUT_OPENSEARCH_ADDRESSES, username: c.EF_OUTPUT_OPENSEARCH_USERNAME, password: c.EF_OUTPUT_OPENSEARCH_PASSWORD,
        apiKey: c.EF_OUTPUT_OPENSEARCH_API_KEY, tlsEnable: c.EF_OUTPUT_OPENSEARCH_TLS_ENABLE, tlsSkip: c.EF_OUTPUT_OPENSEARCH_TLS_SKIP_VERIFICATION,
        tlsCa: c.EF_OUTPUT_OPENSEARCH_TLS_CA_CERT_FILEPATH, prefix: c.EF_OUTPUT_OPENSEARCH_INDEX_PREFIX, period: c.EF_OUTPUT_OPENSEARCH_INDEX_PERIOD,
        template: c.EF_OUTPUT_OPENSEARCH_INDEX_TEMPLATE_ENABLE, deadline: c.EF_OUTPUT_OPENSEARCH_BATCH_DEADLINE, maxBytes: c.EF_OUTPUT_OPENSEARCH_BATCH_MAX_BYTES,
        spillMax: c.EF_OUTPUT_OPENSEARCH_SPILL_MAX_BYTES, ecs: c.EF_OUTPUT_OPENSEARCH_ECS_ENABLE, ts: c.EF_OUTPUT_OPENSEARCH_TIMESTAMP_SOURCE, drop: c.EF_OUTPUT_OPENSEARCH_DROP_FIELDS,
      }
    : {
        addresses: c.EF_OUTPUT_ELASTICSEARCH_ADDRESSES, username: c.EF_OUTPUT_ELASTICSEARCH_USERNAME, password: c.EF_OUTPUT_ELASTICSEARCH_PASSWORD,
        apiKey: c.EF_OUTPUT_ELASTICSEARCH_API_KEY, tlsEnable: c.EF_OUTPUT_ELASTICSEARCH_TLS_ENABLE, tlsSkip: c.EF_OUTPUT_ELASTICSEARCH_TLS_SKIP_VERIFICATION,
        tlsCa: c.EF_OUTPUT_ELASTICSEARCH_TLS_CA_CERT_FILEPATH, prefix: c.EF_OUTPUT_ELASTICSEARCH_INDEX_PREFIX, period: c.EF_OUTPUT_ELASTICSEARCH_INDEX_PERIOD,
        template: c.EF_OUTPUT_ELASTICSEARCH_INDEX_TEMPLATE_ENABLE, deadline: c.EF_OUTPUT_ELASTICSEARCH_BATCH_DEADLINE, maxBytes: c.EF_OUTPUT_ELASTICSEARCH_BATCH_MAX_BYTES,
        spillMax: c.EF_OUTPUT_ELASTICSEARCH_SPILL_MAX_BYTES, ecs: c.EF_OUTPUT_ELASTICSEARCH_ECS_ENABLE, ts: c.EF_OUTPUT_ELASTICSEARCH_TIMESTAMP_SOURCE, drop: c.EF_OUTPUT_ELASTICSEARCH_DROP_FIELDS,
      };
  return new SearchOutput({
    flavor,
    connection: {
      flavor,
      addresses: p.addresses,
      username: p.username,
      password: p.password,
      apiKey: p.apiKey,
      tls: { enable: p.tlsEnable, skipVerification: p.tlsSkip, caCertPath: p.tlsCa },
      requestTimeoutMs: 30_000,
    },
    view: { ecs: p.ecs, timestampSource: p.ts, drop: p.drop },
    indexPrefix: p.prefix,
    indexPeriod: p.period,
    templateEnable: p.template,
    deadlineMs: p.deadline,
    maxBytes: p.maxBytes,
    ...(p.spillMax > 0 ? { spill: { dir: spillDir, maxBytes: p.spillMax } } : {}),
  });
}

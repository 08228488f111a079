import { opt, outputCommon, storeCommon } from '../spec.js';
import { dropEntryAllowed } from '../../record/drop-fields.js';
import { isHostPort, isHttpUrl, isSearchNode, SQL_IDENT } from '../validate.js';

/** ClickHouse names go into statements unquoted: plain identifiers only. */
const identifier = (s: string): string | null => (SQL_IDENT.test(s) ? null : 'a plain identifier (letters, digits, _)');

/**
 * A batch deadline is a setTimeout, which holds at most 2^31-1 ms: past it Node runs the timer after
 * 1 ms. An hour is far more than a batch should wait and well inside it.
 */
const BATCH_DEADLINE_MAX = 3_600_000;

const period = ['none', 'hourly', 'daily', 'weekly', 'monthly'] as const;

/** Elasticsearch and OpenSearch refuse other index names (and every bulk request into them, for ever). */
const INDEX_PREFIX_RULE = 'lower-case, without spaces or \\ / * ? " < > | , # :, not starting with - _ +';

function indexPrefixProblem(s: string): string | null {
  if (s !== s.toLowerCase() || /[\\/*?"<>|,# :]/.test(s) || /^[-_+]/.test(s) || s === '.' || s === '..' || Buffer.byteLength(s) > 200) return INDEX_PREFIX_RULE;
  return null;
}

/** EF_OUTPUT_<N>_DROP_FIELDS, for the outputs that write records as JSON. */
function dropFields<N extends string>(name: N, label: string): Record<`EF_OUTPUT_${N}_DROP_FIELDS`, ReturnType<typeof opt.list>> {
  return {
    [`EF_OUTPUT_${name}_DROP_FIELDS`]: opt.list(`Output: ${label}`, '', 'Fields left out of every record this output writes: CODEX or ECS names (either, whichever view it writes), or a prefix ending in * (`flow.src.geo.*`), extras (`ipfix.*`) included. @timestamp always stays. Empty: every field.', {
      test: dropEntryAllowed,
      allowed: 'field names or prefixes ending in * (letters, digits, _ . @ -), not @timestamp',
    }),
  } as Record<`EF_OUTPUT_${N}_DROP_FIELDS`, ReturnType<typeof opt.list>>;
}

function searchOutput<N extends string>(name: N, label: string) {
  const G = `Output: ${label}`;
  return {
    ...outputCommon(name, label),
    ...dropFields(name, label),
    [`EF_OUTPUT_${name}_ADDRESSES`]: opt.list(G, '127.0.0.1:9200', 'Nodes as host:port (http unless _TLS_ENABLE), or as http(s) URLs.', { test: isSearchNode, allowed: 'host:port or http(s)://host:port' }),
    [`EF_OUTPUT_${name}_USERNAME`]: opt.str(G, '', 'Basic auth user.', 'a user name'),
    [`EF_OUTPUT_${name}_PASSWORD`]: opt.secret(G, 'Basic auth password.'),
    [`EF_OUTPUT_${name}_API_KEY`]: opt.secret(G, 'API key (base64 id:key), used instead of user and password.'),
    [`EF_OUTPUT_${name}_TLS_ENABLE`]: opt.bool(G, false, 'Use https.'),
    [`EF_OUTPUT_${name}_TLS_SKIP_VERIFICATION`]: opt.bool(G, false, 'Accept any server certificate (testing only).'),
    [`EF_OUTPUT_${name}_TLS_CA_CERT_FILEPATH`]: opt.str(G, '', 'CA certificate (PEM) to trust.', 'a file path'),
    [`EF_OUTPUT_${name}_INDEX_PREFIX`]: opt.checked(G, 'elastiflow-flow', 'Index name prefix; the schema (codex or ecs) and period are appended.', INDEX_PREFIX_RULE, indexPrefixProblem),
    [`EF_OUTPUT_${name}_INDEX_PERIOD`]: opt.oneOf(G, 'daily', period, 'How often a new index starts.'),
    [`EF_OUTPUT_${name}_INDEX_TEMPLATE_ENABLE`]: opt.bool(G, true, 'Install the index template at start.'),
    [`EF_OUTPUT_${name}_BATCH_DEADLINE`]: opt.int(G, 2000, 'Milliseconds a partial bulk request waits (at most an hour).', { min: 1, max: BATCH_DEADLINE_MAX }),
    [`EF_OUTPUT_${name}_BATCH_MAX_BYTES`]: opt.int(G, 8388608, 'Largest bulk request body in bytes.', { min: 1024 }),
    [`EF_OUTPUT_${name}_SPILL_MAX_BYTES`]: opt.int(G, 1073741824, 'Disk used to hold records while the cluster is away; beyond it the oldest are dropped and counted.', { min: 0 }),
  } as ReturnType<typeof outputCommon<N>> & ReturnType<typeof dropFields<N>> & Record<`EF_OUTPUT_${N}_${'ADDRESSES'}`, ReturnType<typeof opt.list>> &
    Record<`EF_OUTPUT_${N}_${'USERNAME' | 'PASSWORD' | 'API_KEY' | 'TLS_CA_CERT_FILEPATH' | 'INDEX_PREFIX'}`, ReturnType<typeof opt.str>> &
    Record<`EF_OUTPUT_${N}_${'TLS_ENABLE' | 'TLS_SKIP_VERIFICATION' | 'INDEX_TEMPLATE_ENABLE'}`, ReturnType<typeof opt.bool>> &
    Record<`EF_OUTPUT_${N}_INDEX_PERIOD`, ReturnType<typeof opt.oneOf<(typeof period)[number]>>> &
    Record<`EF_OUTPUT_${N}_${'BATCH_DEADLINE' | 'BATCH_MAX_BYTES' | 'SPILL_MAX_BYTES'}`, ReturnType<typeof opt.int>>;
}

const GS = 'Output: stdout';
const GF = 'Output: file';
const GD = 'Output: embedded store (DuckDB)';
const GC = 'Output: ClickHouse';
const GK = 'Output: Kafka';

/** What Kafka takes as a topic name (its own check): any other is refused by the brokers at every send. */
const KAFKA_TOPIC_RULE = '1-249 letters, digits, ".", "_" or "-" (not "." or "..")';
function kafkaTopicProblem(s: string): string | null {
  return /^[A-Za-z0-9._-]{1,249}$/.test(s) && s !== '.' && s !== '..' ? null : KAFKA_TOPIC_RULE;
}

export const OUTPUT_OPTIONS = {
  ...outputCommon('STDOUT', 'stdout'),
  ...dropFields('STDOUT', 'stdout'),
  EF_OUTPUT_STDOUT_FORMAT: opt.oneOf(GS, 'json', ['json', 'json_pretty'] as const, 'json: one record per line. json_pretty: indented.'),

  ...outputCommon('FILE', 'file'),
  ...dropFields('FILE', 'file'),
  EF_OUTPUT_FILE_PATH: opt.str(GF, 'data/flows.ndjson', 'NDJSON file to append to; rotated files get a numeric suffix. A relative path starting with `data/` is in EF_DATA_DIR (the default: flows.ndjson there); another relative path is from the working directory.', 'a file path'),
  EF_OUTPUT_FILE_MAX_SIZE: opt.int(GF, 100, 'Megabytes before the file is rotated (0: never).', { min: 0 }),
  EF_OUTPUT_FILE_MAX_FILES: opt.int(GF, 10, 'Rotated files kept (at most 1000: each rotation renames every generation, on the thread that writes).', { min: 1, max: 1000 }),

  ...storeCommon('DUCKDB', 'embedded store (DuckDB)', true),
  EF_OUTPUT_DUCKDB_PATH: opt.str(GD, '', 'Database file. Empty: flows.duckdb in EF_DATA_DIR.', 'a file path'),
  EF_OUTPUT_DUCKDB_RETENTION: opt.int(GD, 7, 'Days of flows kept (at most 36500, a hundred years).', { min: 1, max: 36_500 }),
  EF_OUTPUT_DUCKDB_MAX_SIZE: opt.int(GD, 10240, 'Megabytes the database may use (its used blocks and its WAL, not the file\'s size on disk, which DuckDB does not shrink) before the oldest days are removed early.', { min: 16 }),
  EF_OUTPUT_DUCKDB_BATCH_DEADLINE: opt.int(GD, 1000, 'Milliseconds a partial batch waits before it is appended (at most an hour).', { min: 1, max: BATCH_DEADLINE_MAX }),
  EF_OUTPUT_DUCKDB_MEMORY_LIMIT: opt.int(GD, 0, "Megabytes of memory DuckDB may use for its buffers and queries (larger queries spill to disk beside the database). 0: DuckDB's own default, 80% of the machine's memory. Else from 16 (less and DuckDB cannot append a batch) to 16777216 (16 TB).", { min: 16, max: 16_777_216, orZero: true }),

  ...storeCommon('CLICKHOUSE', 'ClickHouse'),
  EF_OUTPUT_CLICKHOUSE_ADDRESSES: opt.list(GC, 'http://127.0.0.1:8123', 'ClickHouse HTTP endpoints.', { test: isHttpUrl, allowed: 'http(s)://host:port URLs' }),
  EF_OUTPUT_CLICKHOUSE_TLS_CA_CERT_FILEPATH: opt.str(GC, '', 'CA certificate (PEM) to trust for https addresses, besides the system\'s (a private CA, a self-signed server).', 'a file path'),
  EF_OUTPUT_CLICKHOUSE_TLS_SKIP_VERIFICATION: opt.bool(GC, false, 'Accept any server certificate for https addresses (testing only).'),
  EF_OUTPUT_CLICKHOUSE_DATABASE: opt.checked(GC, 'default', 'Database.', 'a plain identifier (letters, digits, _)', identifier),
  EF_OUTPUT_CLICKHOUSE_TABLE: opt.checked(GC, 'flows', 'Table (created when missing).', 'a plain identifier (letters, digits, _)', identifier),
  EF_OUTPUT_CLICKHOUSE_USERNAME: opt.str(GC, 'default', 'User.', 'a user name'),
  EF_OUTPUT_CLICKHOUSE_PASSWORD: opt.secret(GC, 'Password.'),
  EF_OUTPUT_CLICKHOUSE_RETENTION: opt.int(GC, 30, 'Days kept (table TTL; at most 36500, a hundred years: ClickHouse dates end in 2149, and a TTL date past it wraps to the past).', { min: 1, max: 36_500 }),
  EF_OUTPUT_CLICKHOUSE_SUMMARIES_ENABLE: opt.bool(GC, true, 'Hourly summaries kept by the server (two materialized views beside the table), so that the web UI\'s overview over days reads them rather than every flow; they add about 40% to the server\'s work per insert. false drops the views.'),
  EF_OUTPUT_CLICKHOUSE_BATCH_DEADLINE: opt.int(GC, 2000, 'Milliseconds a partial batch waits (at most an hour).', { min: 1, max: BATCH_DEADLINE_MAX }),
  EF_OUTPUT_CLICKHOUSE_BATCH_MAX_RECORDS: opt.int(GC, 50000, 'Records per insert (at most 1000000). Memory holds 2 batches with a spill, 20 without one (about 1 KB a record).', { min: 1, max: 1_000_000 }),
  EF_OUTPUT_CLICKHOUSE_SPILL_MAX_BYTES: opt.int(GC, 1073741824, 'Disk used to hold records while ClickHouse is away.', { min: 0 }),

  ...searchOutput('ELASTICSEARCH', 'Elasticsearch'),
  ...searchOutput('OPENSEARCH', 'OpenSearch'),

  ...outputCommon('KAFKA', 'Kafka'),
  ...dropFields('KAFKA', 'Kafka'),
  EF_OUTPUT_KAFKA_BROKERS: opt.list(GK, '127.0.0.1:9092', 'Bootstrap brokers as host:port.', { test: isHostPort, allowed: 'host:port ([v6]:port)' }),
  EF_OUTPUT_KAFKA_TOPIC: opt.checked(GK, 'elastiflow-flow-codex', 'Topic.', KAFKA_TOPIC_RULE, kafkaTopicProblem),
  EF_OUTPUT_KAFKA_PARTITION_KEY: opt.oneOf(GK, 'exporter', ['exporter', 'none', 'src_ip', 'community_id'] as const, 'Message key, which picks the partition.'),
  EF_OUTPUT_KAFKA_CLIENT_ID: opt.str(GK, 'ufc', 'Kafka client ID.', 'a client ID'),
  EF_OUTPUT_KAFKA_SASL_ENABLE: opt.bool(GK, false, 'Authenticate with SASL.'),
  EF_OUTPUT_KAFKA_SASL_MECHANISM: opt.oneOf(GK, 'plain', ['plain', 'scram-sha-256', 'scram-sha-512'] as const, 'SASL mechanism.'),
  EF_OUTPUT_KAFKA_SASL_USERNAME: opt.str(GK, '', 'SASL user.', 'a user name'),
  EF_OUTPUT_KAFKA_SASL_PASSWORD: opt.secret(GK, 'SASL password.'),
  EF_OUTPUT_KAFKA_TLS_ENABLE: opt.bool(GK, false, 'Use TLS.'),
  EF_OUTPUT_KAFKA_TLS_SKIP_VERIFICATION: opt.bool(GK, false, 'Accept any broker certificate (testing only).'),
  EF_OUTPUT_KAFKA_TLS_CA_CERT_FILEPATH: opt.str(GK, '', 'CA certificate (PEM) to trust.', 'a file path'),
  EF_OUTPUT_KAFKA_BATCH_DEADLINE: opt.int(GK, 1000, 'Milliseconds a partial batch waits (at most an hour).', { min: 1, max: BATCH_DEADLINE_MAX }),
  EF_OUTPUT_KAFKA_BATCH_MAX_RECORDS: opt.int(GK, 10000, 'Records per produce request (at most 1000000). Memory holds 1 batch besides the one sent with a spill, 20 without one (about 1 KB a record).', { min: 1, max: 1_000_000 }),
  EF_OUTPUT_KAFKA_SPILL_MAX_BYTES: opt.int(GK, 1073741824, 'Disk used to hold records while the brokers are away.', { min: 0 }),
};

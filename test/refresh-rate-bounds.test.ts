/**
 * Every `*_REFRESH_RATE` option is minutes for a setInterval, which holds at most 2^31-1 ms (about
 * 35,791 minutes): beyond that Node warns (TimeoutOverflowWarning) and runs the timer every 1 ms, a
 * re-read loop that burns a core and, with a broken file, fills the disk with log lines. Each option
 * stops at a week (10,080 minutes), well inside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config/load.js';
import { OPTION_NAMES } from '../src/config/schema.js';

const RATES = OPTION_NAMES.filter((n) => n.endsWith('_REFRESH_RATE'));

test('the *_REFRESH_RATE options are found (the checks below are not vacuous)', () => {
  assert.ok(RATES.length >= 4, `found ${RATES.join(', ')}`);
  assert.ok(RATES.includes('EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_INCLEXCL_REFRESH_RATE'), 'the RiskIQ include/exclude one among them');
});

for (const name of RATES) {
  test(`${name}: a week (10080 minutes) is the most, well inside setInterval's 2^31-1 ms`, () => {
    const week = loadConfig({ env: { [name]: '10080' } });
    assert.deepEqual(week.errors, [], `${name}=10080 is accepted`);
    assert.equal((week.config as Record<string, unknown> | null)?.[name], 10080, `${name} reads 10080`);
    assert.ok(10080 * 60_000 <= 2 ** 31 - 1, 'a week of milliseconds fits a timer');
    for (const v of ['10081', '40000']) {
      const res = loadConfig({ env: { [name]: v } });
      assert.equal(res.config, null, `${name}=${v} is refused`);
      assert.ok(res.errors.some((e) => e.includes(name) && e.includes('10080')), `the error names ${name} and its bound: ${res.errors.join(' | ')}`);
    }
  });
}

const DEADLINES = OPTION_NAMES.filter((n) => n.endsWith('_BATCH_DEADLINE') && n !== 'EF_OUTPUT_RISKIQ_BATCH_DEADLINE');

test('the outputs\' *_BATCH_DEADLINE options (milliseconds for a setTimeout) stop at an hour', () => {
  assert.ok(DEADLINES.length >= 5, `found ${DEADLINES.join(', ')}`);
  for (const name of DEADLINES) {
    const hour = loadConfig({ env: { [name]: '3600000' } });
    assert.deepEqual(hour.errors, [], `${name}=3600000 is accepted`);
    const res = loadConfig({ env: { [name]: '2147483648' } });
    assert.equal(res.config, null, `${name}=2147483648 is refused`);
    assert.ok(res.errors.some((e) => e.includes(name) && e.includes('3600000')), `the error names ${name} and its bound: ${res.errors.join(' | ')}`);
  }
});

test('numeric options whose extremes broke the collector are bounded, each error naming the option and its range', () => {
  // [option, accepted values, refused values]
  const cases: [string, string[], string[]][] = [
    // A queue smaller than the largest datagram dropped every datagram over it, the pipeline idle.
    ['EF_FLOW_SERVER_UDP_RECEIVE_QUEUE_MAX_SIZE', ['0', '65536', '2147483647'], ['1', '65535']],
    // Each rotation renames every generation on the writing thread: 10^9 froze the collector.
    ['EF_OUTPUT_FILE_MAX_FILES', ['1', '1000'], ['1001', '1000000000']],
    // DuckDB cannot append a batch under 16 MB, and refuses ~10^14 MB at start-up without naming the option.
    ['EF_OUTPUT_DUCKDB_MEMORY_LIMIT', ['0', '16', '16777216'], ['1', '2', '15', '16777217']],
    // A TTL date past ClickHouse's 2149 wraps to the past (every row deleted).
    ['EF_OUTPUT_CLICKHOUSE_RETENTION', ['1', '36500'], ['36501', '50001']],
    ['EF_OUTPUT_DUCKDB_RETENTION', ['1', '36500'], ['36501']],
    // The memory queues are counted in batches: a huge batch left them unbounded.
    ['EF_OUTPUT_CLICKHOUSE_BATCH_MAX_RECORDS', ['1', '1000000'], ['1000001', '1000000000000000']],
    ['EF_OUTPUT_KAFKA_BATCH_MAX_RECORDS', ['1', '1000000'], ['1000001']],
  ];
  for (const [name, good, bad] of cases) {
    for (const v of good) assert.deepEqual(loadConfig({ env: { [name]: v } }).errors, [], `${name}=${v} is accepted`);
    for (const v of bad) {
      const res = loadConfig({ env: { [name]: v } });
      assert.equal(res.config, null, `${name}=${v} is refused`);
      assert.ok(res.errors.some((e) => e.includes(name)), `the error names ${name}: ${res.errors.join(' | ')}`);
    }
  }
});

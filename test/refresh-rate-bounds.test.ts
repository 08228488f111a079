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

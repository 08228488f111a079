/**
 * The Exporters page and Flow search's exporter suggestions with thousands of exporters, in a real
 * browser (as web-browser.test.ts). With 10,000 exporters the page drew all of them (190,000
 * elements, drawn again at each 10 s refresh: the tab froze for seconds) and Flow search filled a
 * suggestion list of 10,000 from a 5.85 MB answer. A fixture of its own: these exporters would be
 * rows in the other files' tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blankPage, browserSuite } from './helpers/browser.js';
import { startWebFixture } from './web-fixture.js';

/** Exporters added beside the fixture's, each with one NetFlow v5 record. */
const MANY = 3000;
/** What the pages show or suggest at most (ROWS_SHOWN in exporters.js, EXPORTERS_SUGGESTED in flows.js). */
const SHOWN = 200;

/** 198.18.0.0/15 is for benchmarks (RFC 2544): exporter i is 198.18.(i >> 8).(i & 255). */
const exporterAt = (i: number): string => `198.18.${i >> 8}.${i & 255}`;

const suite = browserSuite(async () => {
  const f = await startWebFixture({ replays: 1 });
  const now = Date.now();
  for (let i = 0; i < MANY; i++) {
    const v5 = Buffer.alloc(24 + 48);
    v5.writeUInt16BE(5, 0); v5.writeUInt16BE(1, 2); v5.writeUInt32BE(100_000, 4); v5.writeUInt32BE(Math.floor(now / 1000), 8);
    v5.writeUInt32BE(0x2d21209c, 24); v5.writeUInt32BE(0x5db8d822, 28); v5.writeUInt32BE(1, 40); v5.writeUInt32BE(64, 44);
    v5.writeUInt32BE(99_000, 48); v5.writeUInt32BE(99_500, 52); v5[62] = 17;
    f.collector.pipeline.handle(v5, { exporterIp: exporterAt(i), exporterPort: 2055, receivedAt: now });
  }
  await f.collector.flush();
  return f;
});

const fmtInt = (n: number) => new Intl.NumberFormat('en-US').format(n);
/** The first `n` exporters by records, busiest first, as the API orders them. */
const busiestOf = (n: number): string[] => suite.fixture!.collector.pipeline.stats.snapshot()
  .sort((a, b) => b.records - a.records || a.exporter.localeCompare(b.exporter)).slice(0, n).map((s) => s.exporter);
const ROWS = 'section[aria-label="Exporters"] tbody tr';

test(`exporters page with ${fmtInt(MANY)} exporters: the busiest ${SHOWN} drawn, how many there are said, a search finds any other`, async (t) => {
  const b = await blankPage(t, suite);
  if (b === null) return;
  const { page, errors } = b;
  const stats = suite.fixture!.collector.pipeline.stats.snapshot();
  assert.ok(stats.length > MANY, `the collector counts them all: ${stats.length}`);
  await page.goto(`${suite.fixture!.url}/exporters`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  assert.equal(await page.locator(ROWS).count(), SHOWN, `at most ${SHOWN} rows`);
  const busiest = busiestOf(SHOWN);
  const shown = await page.$$eval(ROWS, (trs) => trs.map((tr) => tr.querySelector('td a.ip')?.textContent ?? ''));
  assert.deepEqual(shown, busiest, 'the busiest by records, busiest first');
  assert.match((await page.textContent('#exporters-shown')) ?? '', new RegExp(`busiest ${SHOWN} of ${fmtInt(stats.length)} exporters.*search`), 'says how many are not shown');
  // The totals are over every exporter, not the rows drawn.
  assert.equal(await page.textContent('#stat-exporters .stat-value'), fmtInt(stats.length), 'every exporter counted');
  const errorsAll = stats.reduce((a, s) => a + Object.values(s.errors).reduce((x, n) => x + n, 0), 0);
  assert.equal(await page.textContent('#stat-exporter-errors .stat-value'), fmtInt(errorsAll), 'errors over every exporter');
  // One far down the list, found by its address; the search goes in the URL.
  const quiet = exporterAt(2836);
  assert.ok(!busiest.includes(quiet), `${quiet} is not among the rows drawn`);
  await page.fill('#exporter-q', quiet);
  await page.locator('#exporters-shown', { hasText: 'match' }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.$$eval(ROWS, (trs) => trs.map((tr) => tr.querySelector('td a.ip')?.textContent ?? '')), [quiet], 'only the exporter searched for');
  assert.equal(await page.textContent('#exporters-shown'), `1 of ${fmtInt(stats.length)} exporters match “${quiet}”.`, 'the count found');
  assert.equal(new URL(page.url()).searchParams.get('q'), quiet, 'the search is in the URL');
  // Opened from that URL, the page shows the same search.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  assert.equal(await page.inputValue('#exporter-q'), quiet, 'the box holds the search of the URL');
  assert.equal(await page.locator(ROWS).count(), 1, 'the page from the URL shows the search');
  // The search is a history entry: Back shows the list before it.
  await page.goBack();
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  assert.equal(new URL(page.url()).searchParams.get('q'), null, 'Back: the URL without the search');
  assert.equal(await page.inputValue('#exporter-q'), '', 'Back: the box empty');
  assert.equal(await page.locator(ROWS).count(), SHOWN, 'Back: the busiest again');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

test(`flow search suggests the busiest ${SHOWN} exporters, not all ${fmtInt(MANY)}`, async (t) => {
  const b = await blankPage(t, suite);
  if (b === null) return;
  const { page, errors } = b;
  const answered = page.waitForResponse((r) => r.url().includes('/api/exporters'), { timeout: 30_000 });
  await page.goto(`${suite.fixture!.url}/flows`);
  await answered;
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  const options = page.locator('#exporter-list option');
  await options.first().waitFor({ state: 'attached', timeout: 10_000 });
  const values = await options.evaluateAll((os) => os.map((o) => o.getAttribute('value')));
  assert.ok(values.length <= SHOWN, `${values.length} suggestions, at most ${SHOWN}`);
  assert.deepEqual(values, busiestOf(SHOWN), 'the busiest, busiest first');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

/**
 * The web UI over time, in a real browser (playwright-core driving Debian's chromium, as
 * web-browser.test.ts): flows arriving while a search is paged, a slow API under the Overview's
 * refreshes, answers coming late or not at all, and the keyboard focus across redraws. A fixture of
 * its own, as these tests add flows and hold requests back.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { blankPage as blankPageOf, browserSuite, editAnswers } from './helpers/browser.js';
import { startWebFixture } from './web-fixture.js';

const suite = browserSuite(() => startWebFixture({ replays: 3 }));


/** A page with no navigation yet, its uncaught errors collected. */
const blankPage = (t: TestContext) => blankPageOf(t, suite);

/** One NetFlow v5 flow between two public addresses, received (and so stamped, by default) at `at`. */
function v5Flow(at: number): Buffer {
  const v5 = Buffer.alloc(24 + 48);
  v5.writeUInt16BE(5, 0); v5.writeUInt16BE(1, 2); v5.writeUInt32BE(100_000, 4); v5.writeUInt32BE(Math.floor(at / 1000), 8);
  v5.writeUInt32BE(0x2d21209c, 24); v5.writeUInt32BE(0x5db8d822, 28); v5.writeUInt32BE(1, 40); v5.writeUInt32BE(64, 44);
  v5.writeUInt32BE(99_000, 48); v5.writeUInt32BE(99_500, 52); v5[62] = 17;
  return v5;
}

const totalOf = (summary: string | null): string => /of ([\d,]+),/.exec(summary ?? '')?.[1] ?? `no total in ${JSON.stringify(summary)}`;

test('flow search: a flow stamped just before the search, stored after page 1 was read, does not push page 1\'s rows onto "Older"', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  const asked = page.waitForRequest((r) => r.url().includes('/api/flows?'));
  await page.goto(`${suite.fixture!.url}/flows`);
  await asked;
  const sent = Date.now();
  await page.waitForSelector('body[data-ready="true"]');
  const summary = page.locator('p.summary');
  const first = totalOf(await summary.textContent());
  assert.ok(Number(first.replace(/,/g, '')) > 50, `more than a page of flows: ${first}`);
  // Stamped a second before the search went out, stored only now: an output's batch on its way.
  suite.fixture!.collector.pipeline.handle(v5Flow(sent - 1000), { exporterIp: '198.51.100.77', exporterPort: 2055, receivedAt: sent - 1000 });
  await suite.fixture!.collector.flush();
  await page.click('nav.pager button:has-text("Older")');
  await summary.filter({ hasText: 'Flows 51–' }).waitFor({ timeout: 10_000 });
  assert.equal(totalOf(await summary.textContent()), first, 'page 2 is of the same flows as page 1');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

test('overview: a conversations request the API has not answered is not asked again at each refresh', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  // The API never answers it while the test looks: each one asked would hold one of its request slots.
  const held: (() => void)[] = [];
  let asked = 0;
  await page.route('**/api/conversations?*', (route) => {
    asked++;
    return new Promise<void>((ok) => held.push(ok)).then(() => route.abort().catch(() => {}));
  });
  let overviews = 0;
  page.on('request', (r) => { if (r.url().includes('/api/overview?')) overviews++; });
  await page.clock.install();
  await page.goto(`${suite.fixture!.url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  for (let i = 0; i < 2; i++) {
    await page.clock.runFor(10_500);
    for (const end = Date.now() + 5000; overviews < i + 2 && Date.now() < end;) await sleep(50);
    // That refresh done (a timed one is skipped while one runs).
    await sleep(500);
  }
  assert.equal(overviews, 3, 'two timed refreshes came');
  await sleep(300);
  assert.equal(asked, 1, 'one conversations request at a time');
  assert.match((await page.textContent('section[aria-label="Top conversations"]'))!, /Loading/, 'the card waits for it');
  for (const ok of held) ok();
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

test('overview: an interface\'s counters answering late for the range before do not replace the new range\'s', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  const counters = (samples: number) => ({
    from: 0, to: 1, ifIndex: 1, samples, resets: 0, sources: 1, source: null, truncated: false,
    latest: { speed: 1e9, status: 3 }, totals: { inErrors: 0, outErrors: 0, inDiscards: 0, outDiscards: 0 },
    points: [{ ts: Date.now() - 60_000, inBps: 1e6, outBps: 2e6 }, { ts: Date.now() - 30_000, inBps: 1e6, outBps: 2e6 }],
  });
  let n = 0;
  await page.route('**/api/interface-counters?*', async (route) => {
    // The first (15 minutes) answers after the one for the range chosen meanwhile.
    const first = n++ === 0;
    if (first) await sleep(1500);
    await route.fulfill({ json: counters(first ? 111 : 222) }).catch(() => {});
  });
  const asked = page.waitForRequest((r) => r.url().includes('/api/interface-counters?'));
  await page.goto(`${suite.fixture!.url}/?exporter=192.0.2.250&ifIndex=1&range=15m`);
  await asked;
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#range', '24h');
  const summary = page.locator('#counters-summary');
  await summary.filter({ hasText: /^222 counter samples/ }).waitFor({ timeout: 10_000 });
  await sleep(1700);
  assert.match((await summary.textContent())!, /^222 counter samples/, 'the 24 hours\' counters stay');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

test('flow search: the form shows a link\'s protocol the list does not name and threat=true, and Search keeps them', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  await page.goto(`${suite.fixture!.url}/flows?proto=4&threat=true`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.inputValue('#proto'), '4', 'the protocol select shows 4');
  assert.equal(await page.locator('#proto option:checked').textContent(), 'Protocol 4', 'and names it');
  assert.equal(await page.isChecked('#threat'), true, 'threat=true ticks the box');
  const asked = page.waitForRequest((r) => r.url().includes('/api/flows?'));
  await page.click('form.filters button[type="submit"]');
  const p = new URL((await asked).url()).searchParams;
  assert.deepEqual([p.get('proto'), p.get('threat')], ['4', '1'], 'Search keeps both filters');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

test('overview charts: traffic only in the step still filling says so, not "No data"', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  // The API leaves out the step still filling: a 7-day range's first two hours have every flow in it.
  await editAnswers<{ series: { flows: number; bytes: number; packets: number }[] }>(page, '**/api/overview?*', (body) => {
    for (const p of body.series) Object.assign(p, { flows: 0, bytes: 0, packets: 0 });
  });
  await page.goto(`${suite.fixture!.url}/?range=7d`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.notEqual(await page.textContent('#stat-flows .stat-value'), '0', 'the cards show traffic');
  assert.deepEqual(await page.locator('figure.chart-fig .chart-empty').allTextContents(), Array(3).fill('The current 2-hour step is still filling'), 'each chart says why it has no line');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

/** The focused element: its tag, link and text, or BODY when focus was lost. */
const focused = (page: Page) => page.evaluate(() => {
  const el = document.activeElement;
  if (el === null) return 'none';
  // Which card, and which of its controls: an address is linked in several cards, and twice in one table.
  const card = el.parentElement?.closest('[aria-label]');
  const at = card === null || card === undefined ? -1 : [...card.querySelectorAll(el.tagName)].indexOf(el);
  return `${el.tagName} ${el.getAttribute('href') ?? ''} ${el.textContent ?? ''} in ${card?.getAttribute('aria-label') ?? ''} #${at}`.slice(0, 300);
});

test('keyboard focus stays on the same link across the Overview\'s timed refresh and on the pager button across "Older"', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  await page.clock.install();
  await page.goto(`${suite.fixture!.url}/`);
  await page.waitForSelector('section[aria-label="Top conversations"] tbody a.ip');
  for (const card of ['Top talkers', 'Interfaces', 'Top conversations']) {
    // A link whose address is linked before it too (in an earlier card or row), when there is one: that
    // earlier one, the first alike in the page, must not take the focus.
    const at = await page.evaluate((label) => {
      const all = [...document.querySelectorAll('section[aria-label] tbody a')];
      const mine = [...document.querySelectorAll(`section[aria-label="${label}"] tbody a`)];
      const i = mine.findIndex((a) => all.findIndex((b) => b.getAttribute('href') === a.getAttribute('href') && b.textContent === a.textContent) < all.indexOf(a));
      return i < 0 ? mine.length - 1 : i;
    }, card);
    const link = page.locator(`section[aria-label="${card}"] tbody a`).nth(at);
    await link.focus();
    const before = await focused(page);
    assert.notEqual(before.split(' ')[0], 'BODY', `${card}: a link has the focus`);
    const answered = page.waitForResponse((r) => r.url().includes('/api/conversations?'));
    await page.clock.runFor(10_500);
    await answered;
    // The refresh done: the conversations card drawn from its new answer.
    await sleep(300);
    assert.equal(await focused(page), before, `${card}: the focus is on the same link after the refresh`);
  }
  await page.goto(`${suite.fixture!.url}/flows`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.locator('nav.pager button', { hasText: 'Older' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('p.summary').filter({ hasText: 'Flows 51–' }).waitFor({ timeout: 10_000 });
  assert.match(await focused(page), /^BUTTON {2}Older → in /, 'the focus is on "Older" of the new page');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

test('flow search: "Older" answered 503 busy keeps the page shown, with the error, and can be pressed again', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  await page.goto(`${suite.fixture!.url}/flows`);
  await page.waitForSelector('body[data-ready="true"]');
  const summary = page.locator('p.summary');
  const before = await summary.textContent();
  assert.match(before!, /^Flows 1–50 of/, 'page 1 shown');
  let busy = true;
  await page.route('**/api/flows?*', async (route) => {
    if (!busy) return route.continue();
    busy = false;
    return route.fulfill({ status: 503, headers: { 'retry-after': '5' }, json: { error: 'busy: 16 API requests are running; try again in a few seconds' } });
  });
  await page.click('nav.pager button:has-text("Older")');
  await page.locator('#foot-status').filter({ hasText: 'update failed: busy' }).waitFor({ timeout: 10_000 });
  assert.match((await page.textContent('main'))!, /busy: 16 API requests are running/, 'the error is shown');
  assert.equal(await summary.textContent(), before, 'the summary of page 1 stays');
  assert.equal(await page.locator('.results tbody tr').count(), 50, 'page 1\'s rows stay');
  assert.equal(new URL(page.url()).searchParams.get('offset'), null, 'the URL is page 1\'s');
  await page.click('nav.pager button:has-text("Older")');
  await summary.filter({ hasText: 'Flows 51–' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('.turn-error .error').count(), 0, 'the error goes once a page comes');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});

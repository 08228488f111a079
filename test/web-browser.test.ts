/**
 * The web UI in a real browser: playwright-core driving Debian's chromium against a running
 * collector fed by replayed captures. Every page renders real data, filters change the results,
 * PassiveTotal links carry the right address, the keyboard reaches everything, and no page logs
 * an error. Screenshots (1280×800) go to test-artifacts/.
 */
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { blankPage as blankPageOf, browserSuite, editAnswers } from './helpers/browser.js';
import { EXPORTER_NETWORK, LISTED, NAMED_EXPORTER, NAMED_INTERFACES, OFFICE_NAME, startWebFixture, touchesListed } from './web-fixture.js';
import { REPO_ROOT, needTool } from './helpers/tools.js';
import { conversations } from './store-reference.js';

const PT = 'https://pt.example.test/research?query=';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const suite = browserSuite(() => startWebFixture({ replays: 30, passiveTotalUrl: PT }));
const problems: string[] = [];

before(() => {
  mkdirSync(ARTIFACTS, { recursive: true });
});

async function open(t: TestContext, path: string): Promise<Page | null> {
  if (needTool(t, 'chromium') === null) return null;
  const page = await suite.ctx!.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${path}: console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${path}: ${e.message}`));
  // A search replaced by a newer one is abandoned on purpose (net::ERR_ABORTED); other failures are problems.
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`${path}: request failed ${r.url()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${path}: HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(suite.fixture!.url + path);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return page;
}

/**
 * Goes Back or Forward and waits for the view of that entry: a page loaded anew, ready (an entry the
 * page pushed is shown by loading it again; waiting for `data-ready` alone could see the old one).
 */
async function loaded(page: Page, go: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForEvent('load', { timeout: 15_000 }), go()]);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: false });
}

const flows = () => suite.fixture!.records.records.filter((r) => r.kind === 'flow');
const fmtInt = (n: number) => new Intl.NumberFormat('en-US').format(n);

/** Every address link points at the PassiveTotal base URL with exactly the address shown. */
async function checkIpLinks(page: Page): Promise<number> {
  const links = await page.$$eval('a.ip', (as) => as.map((a) => ({ href: a.getAttribute('href'), text: a.textContent, target: a.getAttribute('target') })));
  for (const l of links) {
    assert.equal(l.href, PT + encodeURIComponent(l.text!), `link for ${l.text}`);
    assert.equal(l.target, '_blank');
  }
  return links.length;
}

test('overview renders rates and top lists from the store', async (t) => {
  const page = await open(t, '/');
  if (page === null) return;
  const recs = flows();
  const total = recs.length;
  // The flows card shows the count, scaled ("1.2k") or plain.
  const shown = await page.textContent('#stat-flows .stat-value');
  const expected = total >= 1000 ? `${(total / 1000).toFixed(total >= 10_000 ? 1 : 2)}k` : String(total);
  assert.equal(shown, expected);
  assert.equal(await page.locator('figure.chart-fig svg path.line').count(), 3);
  const talkers = page.locator('section[aria-label="Top talkers"] tbody tr');
  assert.ok((await talkers.count()) >= 5);
  assert.ok((await checkIpLinks(page)) >= 5);
  assert.equal(await page.textContent('#stat-threats .stat-value'), fmtInt(recs.filter(touchesListed).length));
  // Interfaces: the busiest first (bytes in plus out), its exporter a link to that exporter's flows.
  const byIf = new Map<string, number>();
  for (const r of recs) for (const k of [`${r.exporterIp} ${r.inIf}`, `${r.exporterIp} ${r.outIf}`]) byIf.set(k, (byIf.get(k) ?? 0) + r.bytes);
  // Ties as the API breaks them: by exporter, then by index.
  const tie = (k: string): [string, number] => [k.split(' ')[0]!, Number(k.split(' ')[1])];
  const [busiest] = [...byIf].sort((a, b) => b[1] - a[1] || (tie(a[0])[0] < tie(b[0])[0] ? -1 : tie(a[0])[0] > tie(b[0])[0] ? 1 : tie(a[0])[1] - tie(b[0])[1]))[0]!;
  const ifRows = page.locator('section[aria-label="Interfaces"] tbody tr');
  assert.ok((await ifRows.count()) >= 2);
  const cells = await ifRows.first().locator('td').allTextContents();
  // An interface the exporter named shows its name, then its index.
  const [exporter, index] = [busiest.split(' ')[0]!, Number(busiest.split(' ')[1])];
  const name = recs.find((r) => r.exporterIp === exporter && r.inIf === index && r.inIfName !== '')?.inIfName ?? '';
  assert.equal(name, exporter === NAMED_EXPORTER ? NAMED_INTERFACES[index] : '', 'the busiest interface is a named one');
  assert.equal(`${cells[0]} ${cells[1]}`, `${exporter} ${name !== '' ? `${name} (${index})` : index === 0 ? 'unknown' : index}`);
  await shot(page, 'overview');
  // The page ends at its footer: the charts' hidden tables (a row per point) no longer stretch it.
  const ends = await page.evaluate(`[document.documentElement.scrollHeight, document.querySelector('footer').getBoundingClientRect().bottom + window.scrollY]`) as number[];
  assert.ok(ends[0]! <= ends[1]! + 40, `page ${ends[0]} px tall, footer ends at ${ends[1]} px`);
  // An IPv4 address never breaks inside (it read as another address); an IPv6 one may.
  const wraps = await page.$$eval('a.ip', (as) => as.map((a) => [a.textContent!.includes(':'), getComputedStyle(a).whiteSpace]));
  assert.ok(wraps.length > 0 && wraps.every(([v6, ws]) => ws === (v6 ? 'normal' : 'nowrap')), JSON.stringify(wraps.slice(0, 5)));
  // The interface's link: the Overview of that exporter's flows in or out of it.
  const throughIt = recs.filter((r) => r.exporterIp === exporter && (r.inIf === index || r.outIf === index));
  const through = throughIt.length;
  await ifRows.first().locator('td').nth(1).locator('a').click();
  await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('exporter') === exporter && u.searchParams.get('ifIndex') === String(index));
  await page.waitForSelector('#stat-flows .stat-value');
  // The interface by its name once the Interfaces card has it.
  await page.locator('p.filter-bar').filter({ hasText: `Only flows from exporter ${exporter}, through interface ${name} (${index}). These flows → · All traffic` }).waitFor({ timeout: 10_000 });
  // Another time range: the bar's links follow it.
  await page.selectOption('#range', '6h');
  await page.locator('p.filter-bar a[href*="range=6h"]').nth(1).waitFor({ timeout: 10_000 });
  assert.deepEqual(await page.locator('p.filter-bar a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))), [`/flows?exporter=${exporter}&ifIndex=${index}&range=6h`, '/?range=6h']);
  assert.equal(await page.textContent('#stat-flows .stat-value'), through >= 1000 ? `${(through / 1000).toFixed(through >= 10_000 ? 1 : 2)}k` : String(through));
  assert.equal(await page.textContent('#stat-threats .stat-value'), fmtInt(throughIt.filter(touchesListed).length));
  // Its Interfaces card: only interfaces of that exporter its flows used, itself first.
  const narrowed = await page.locator('section[aria-label="Interfaces"] tbody tr').evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')!.textContent));
  assert.ok(narrowed.length > 0 && narrowed.every((e) => e === exporter), narrowed.join(' '));
  await shot(page, 'overview-interface');
  // From there, those flows.
  await page.locator('p.filter-bar a', { hasText: 'These flows' }).click();
  await page.waitForURL(/\/flows\?/);
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual([await page.inputValue('input[name="exporter"]'), await page.inputValue('input[name="ifIndex"]')], [exporter, String(index)]);
  await assert.doesNotReject(page.locator('p.summary').filter({ hasText: `of ${fmtInt(through)}` }).waitFor({ timeout: 10_000 }));
  // Each row names both of its interfaces as the exporter does.
  const headers = await page.locator('.results thead th').allTextContents();
  const ifCells = await page.locator('.results tbody tr').evaluateAll((trs, i) => trs.map((tr) => tr.querySelectorAll('td')[i]!.textContent), headers.indexOf('In → out'));
  const pairs = new Set(recs.filter((r) => r.exporterIp === exporter && (r.inIf === index || r.outIf === index)).map((r) => `${r.inIfName || r.inIf} → ${r.outIfName || r.outIf}`));
  assert.ok(ifCells.length > 0 && ifCells.every((c) => pairs.has(c!)), `${[...new Set(ifCells)].join(' | ')} within ${[...pairs].join(' | ')}`);
  assert.ok(ifCells.some((c) => c!.includes(name)), 'the interface name is shown');
  // Back: the interface's Overview in 6 hours, then (the range change undone) in the hour, then the Overview.
  await page.goBack();
  await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('range') === '6h');
  await loaded(page, () => page.goBack());
  await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('ifIndex') === String(index) && !u.searchParams.has('range'));
  assert.equal(await page.inputValue('#range'), '1h', 'Back shows the range before the change');
  await page.goBack();
  await page.waitForURL((u) => u.pathname === '/' && u.search === '');
  await page.reload();
  await page.waitForSelector('section[aria-label="Interfaces"] tbody tr td a');
  // The exporter's link: all of its flows.
  await page.locator('section[aria-label="Interfaces"] tbody tr').first().locator('td').first().locator('a').click();
  await page.waitForURL(/\/flows\?/);
  await page.waitForSelector('body[data-ready="true"]');
  assert.deepEqual([await page.inputValue('input[name="exporter"]'), await page.inputValue('input[name="ifIndex"]')], [exporter, '']);
  // The threat filter as the API reads it: threat=1 filters (and says so), threat=0 does not.
  for (const [q, bar, count] of [['threat=1', 'Only flows touching listed addresses.', recs.filter(touchesListed).length], ['threat=0', null, recs.length]] as const) {
    await page.goto(`${suite.fixture!.url}/?${q}`);
    await page.waitForSelector('#stat-flows .stat-value');
    assert.equal(await page.locator('p.filter-bar').count(), bar === null ? 0 : 1, q);
    if (bar !== null) assert.ok((await page.textContent('p.filter-bar'))!.startsWith(bar), q);
    assert.equal(await page.textContent('#stat-flows .stat-value'), count >= 1000 ? `${(count / 1000).toFixed(count >= 10_000 ? 1 : 2)}k` : String(count), q);
  }
  await page.close();
});

test('threats page lists listed addresses by name and feed; links carry the right IP', async (t) => {
  const page = await open(t, '/threats');
  if (page === null) return;
  const recs = flows().filter(touchesListed);
  assert.equal(await page.textContent('#stat-threat-flows .stat-value'), fmtInt(recs.length));
  const names = await page.$$eval('section[aria-label="By threat name"] tbody tr', (rows) => rows.map((r) => r.querySelector('td')!.textContent));
  assert.deepEqual([...names].sort(), Object.values(LISTED).sort());
  assert.equal(await page.textContent('section[aria-label="By feed"] tbody tr td'), 'riskiq');
  // The named network's threat flows, linked to Flow search for them.
  const byNet = await page.$$eval('section[aria-label="By network"] tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent).concat(r.querySelector('a')!.getAttribute('href')!)));
  const netFlows = recs.filter((r) => r.srcSubnetName === OFFICE_NAME).length + recs.filter((r) => r.dstSubnetName === OFFICE_NAME).length;
  assert.deepEqual(byNet.map((c) => [c[0], c[1], c[3]]), [[OFFICE_NAME, fmtInt(netFlows), '/flows?net=office+lan&threat=1']]);
  // A listed address in the recent flows links to PassiveTotal with that address.
  const ip = '202.160.21.5';
  const link = page.locator(`section[aria-label="Recent threat flows"] a.ip:text-is("${ip}")`).first();
  assert.equal(await link.getAttribute('href'), `${PT}${ip}`);
  await checkIpLinks(page);
  await shot(page, 'threats');
  await page.close();
});

test('flow search: filters change the results, paging, exports', async (t) => {
  const page = await open(t, '/flows');
  if (page === null) return;
  const recs = flows();
  const summary = page.locator('p.summary');
  await assert.doesNotReject(summary.filter({ hasText: `of ${fmtInt(recs.length)}` }).waitFor({ timeout: 10_000 }));
  // No notice to show: nothing stands in its place (a null child once printed "null" above the results).
  assert.deepEqual(await page.$eval('main .page', (el) => [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent)), []);
  // Keyboard only: type an address, Enter submits.
  const ip = '202.160.21.5';
  await page.focus('#ip');
  await page.keyboard.type(ip);
  await page.keyboard.press('Enter');
  const byIp = recs.filter((r) => r.srcIp === ip || r.dstIp === ip);
  await summary.filter({ hasText: `of ${fmtInt(byIp.length)}` }).waitFor({ timeout: 10_000 });
  const rows = await page.$$eval('.results tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
  assert.equal(rows.length, Math.min(50, byIp.length));
  for (const r of rows) assert.ok(r.includes(ip), r);
  assert.match(new URL(page.url()).search, /ip=202\.160\.21\.5/);
  await checkIpLinks(page);
  // Narrow further by protocol (no UDP flows touch this address) and widen by CIDR.
  await page.selectOption('#proto', '17');
  await page.keyboard.press('Enter');
  await page.click('form.filters button[type="submit"]');
  const byIpUdp = byIp.filter((r) => r.proto === 17);
  await summary.filter({ hasText: byIpUdp.length === 0 ? 'No flows match.' : `of ${fmtInt(byIpUdp.length)}` }).waitFor({ timeout: 10_000 });
  await page.selectOption('#proto', '');
  await page.fill('#ip', '192.168.1.0/24');
  await page.click('form.filters button[type="submit"]');
  const inNet = recs.filter((r) => r.srcIp.startsWith('192.168.1.') || r.dstIp.startsWith('192.168.1.'));
  await summary.filter({ hasText: `of ${fmtInt(inNet.length)}` }).waitFor({ timeout: 10_000 });
  // The address metadata file names 192.168.1.0/24: each end in it shows the name and its tags.
  const ends = await page.$$eval('.results tbody tr td .end', (els) => els.map((el) => ({ ip: el.querySelector('a.ip')?.textContent ?? '', net: el.querySelector('.net')?.textContent ?? null, title: el.querySelector('.net')?.getAttribute('title') ?? null, tags: [...el.querySelectorAll('a.tag')].map((a) => a.textContent) })));
  assert.ok(ends.length >= 2);
  for (const e of ends) {
    const inside = e.ip.startsWith('192.168.1.');
    assert.deepEqual([e.net, e.title, e.tags], inside ? [OFFICE_NAME, `network ${OFFICE_NAME}`, ['office', 'wired']] : [null, null, []], e.ip);
  }
  assert.ok(ends.some((e) => e.net !== null));
  await shot(page, 'flows');
  // Paging: the next page starts at 51.
  if (inNet.length > 50) {
    await page.click('nav.pager button:has-text("Older")');
    await summary.filter({ hasText: `Flows 51–` }).waitFor({ timeout: 10_000 });
  }
  // The export links carry the same filter; the CSV holds every matching row.
  const csvHref = await page.getAttribute('#export-csv', 'href');
  assert.match(csvHref!, /ip=192\.168\.1\.0%2F24/);
  const csv = await page.request.get(suite.fixture!.url + csvHref!);
  assert.equal((await csv.text()).trimEnd().split('\n').length, inNet.length + 1);
  const nd = await page.request.get(suite.fixture!.url + (await page.getAttribute('#export-ndjson', 'href'))!);
  assert.equal((await nd.text()).trimEnd().split('\n').length, inNet.length);
  // An exporter and one of its interfaces, in or out: one that only some of the exporter's flows use.
  const through = (r: { exporterIp: string; inIf: number; outIf: number }, e: string, i: number): boolean => r.exporterIp === e && (r.inIf === i || r.outIf === i);
  const pick = recs.find((r) => r.inIf > 0 && recs.some((o) => through(o, r.exporterIp, r.inIf) && o.inIf !== r.inIf) && recs.some((o) => o.exporterIp === r.exporterIp && !through(o, r.exporterIp, r.inIf)))!;
  assert.ok(pick !== undefined, 'an interface some flows leave by and some do not use');
  await page.fill('#ip', '');
  await page.fill('#exporter', pick.exporterIp);
  await page.fill('#ifIndex', String(pick.inIf));
  await page.click('form.filters button[type="submit"]');
  await summary.filter({ hasText: `of ${fmtInt(recs.filter((r) => through(r, pick.exporterIp, pick.inIf)).length)}` }).waitFor({ timeout: 10_000 });
  await page.close();
});

test('networks: the Overview lists the named networks; a network links to its own Overview and on to its flows, and a flow\'s network name to its flows', async (t) => {
  const page = await open(t, '/');
  if (page === null) return;
  const recs = flows();
  const mine = recs.filter((r) => r.srcSubnetName === OFFICE_NAME || r.dstSubnetName === OFFICE_NAME);
  const rows = page.locator('section[aria-label="Networks"] tbody tr');
  await rows.first().waitFor({ timeout: 10_000 });
  assert.equal(await rows.count(), 1);
  const cells = await rows.first().locator('td').allTextContents();
  assert.equal(cells[0], OFFICE_NAME);
  assert.equal(cells.length, 4, 'network, bytes, sent, received');
  const flowCount = mine.length + recs.filter((r) => r.srcSubnetName === OFFICE_NAME && r.dstSubnetName === OFFICE_NAME).length;
  assert.match((await rows.first().locator('a').getAttribute('title'))!, new RegExp(`: ${fmtInt(flowCount)} flows$`));
  // The card shows all its columns: its table is no wider than the card.
  const fits = await page.locator('section[aria-label="Networks"]').evaluate((card) => card.querySelector('table')!.scrollWidth <= card.clientWidth);
  assert.ok(fits, 'the Networks table fits its card');
  await rows.first().locator('a').click();
  await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('net') === OFFICE_NAME);
  await page.locator('p.filter-bar').filter({ hasText: `Only flows of network ${OFFICE_NAME}.` }).waitFor({ timeout: 10_000 });
  await page.locator('#stat-flows .stat-value').filter({ hasText: new RegExp(`^${fmtInt(mine.length)}$`) }).waitFor({ timeout: 10_000 });
  await page.locator('p.filter-bar a', { hasText: 'These flows' }).click();
  await page.waitForURL((u) => u.pathname === '/flows' && u.searchParams.get('net') === OFFICE_NAME);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.inputValue('input[name="net"]'), OFFICE_NAME);
  // The field suggests the networks of the time range's flows.
  await page.locator('#net-list option').first().waitFor({ state: 'attached', timeout: 10_000 });
  assert.deepEqual(await page.locator('#net-list option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))), [OFFICE_NAME]);
  await page.locator('p.summary').filter({ hasText: `of ${fmtInt(mine.length)}` }).waitFor({ timeout: 10_000 });
  await shot(page, 'flows-network');
  // Every row has an end in the network, whose name links to the network's flows.
  const hrefs = await page.$$eval('.results tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('a.net')].map((a) => a.getAttribute('href'))));
  // The search's pinned times go with it: the same flows, not the time range's newest.
  const here = new URL(page.url()).searchParams;
  assert.ok(here.get('from') !== null && here.get('to') !== null, page.url());
  const want = `/flows?${new URLSearchParams({ net: OFFICE_NAME, from: here.get('from')!, to: here.get('to')! })}`;
  assert.ok(hrefs.length > 0 && hrefs.every((h) => h.length > 0 && h.every((x) => x === want)), `${JSON.stringify(hrefs.slice(0, 3))} ${want}`);
  // A tag's link: the flows of every network with that tag, with the same pinned times; the Tag field
  // holds it and suggests the time range's tags.
  const tagHref = await page.locator('.results tbody tr a.tag', { hasText: 'wired' }).first().getAttribute('href');
  assert.equal(tagHref, `/flows?${new URLSearchParams({ tag: 'wired', from: here.get('from')!, to: here.get('to')! })}`);
  await page.locator('.results tbody tr a.tag', { hasText: 'wired' }).first().click();
  await page.waitForURL((u) => u.pathname === '/flows' && u.searchParams.get('tag') === 'wired' && u.searchParams.get('net') === null);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.inputValue('input[name="tag"]'), 'wired');
  await page.locator('p.summary').filter({ hasText: `of ${fmtInt(mine.length)}` }).waitFor({ timeout: 10_000 });
  await page.locator('#tag-list option').first().waitFor({ state: 'attached', timeout: 10_000 });
  assert.deepEqual(await page.locator('#tag-list option').evaluateAll((os) => os.map((o) => o.getAttribute('value'))), ['office', 'wired']);
  // A tag no network has finds nothing; part of one is not the tag.
  await page.fill('#tag', 'wire');
  await page.click('form.filters button[type="submit"]');
  await page.locator('p.summary').filter({ hasText: 'No flows match.' }).waitFor({ timeout: 10_000 });
  await page.fill('#tag', '');
  // Cleared, the form searches everything again.
  await page.fill('#net', '');
  await page.click('form.filters button[type="submit"]');
  await page.locator('p.summary').filter({ hasText: `of ${fmtInt(recs.length)}` }).waitFor({ timeout: 10_000 });
  await page.close();
});

test('overview: the top conversations, client and server:port, busiest first', async (t) => {
  const page = await open(t, '/');
  if (page === null) return;
  const want = conversations(suite.fixture!.records.records, 0, Date.now() + 1, 'bytes', 10);
  const rows = page.locator('section[aria-label="Top conversations"] tbody tr');
  await rows.first().waitFor({ timeout: 10_000 });
  const got = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
  assert.deepEqual(got, want.map((c) => [c.client, c.server, c.proto === 1 || c.proto === 58 ? '' : String(c.port)]));
  await page.close();
});

test('exporters page shows each exporter with protocol, counters and templates', async (t) => {
  const page = await open(t, '/exporters');
  if (page === null) return;
  // One NetFlow v5 record whose Last is before its First: kept, its end set to its start.
  const now = Date.now();
  const v5 = Buffer.alloc(24 + 48);
  v5.writeUInt16BE(5, 0); v5.writeUInt16BE(1, 2); v5.writeUInt32BE(100_000, 4); v5.writeUInt32BE(Math.floor(now / 1000), 8);
  // Public ends (45.33.32.156 to 93.184.216.34), so every test counting what the RiskIQ output sent sees it too.
  v5.writeUInt32BE(0x2d21209c, 24); v5.writeUInt32BE(0x5db8d822, 28); v5.writeUInt32BE(1, 40); v5.writeUInt32BE(64, 44);
  v5.writeUInt32BE(99_000, 48); v5.writeUInt32BE(90_000, 52); v5[62] = 17;
  suite.fixture!.collector.pipeline.handle(v5, { exporterIp: '198.51.100.21', exporterPort: 2055, receivedAt: now });
  // The same again numbered 5: records 1 to 4 never came (v5 numbers the records sent before).
  const next = Buffer.from(v5);
  next.writeUInt32BE(5, 16);
  suite.fixture!.collector.pipeline.handle(next, { exporterIp: '198.51.100.21', exporterPort: 2055, receivedAt: now });
  await page.reload();
  await page.waitForSelector('section[aria-label="Exporters"] tbody tr');
  // The first cell: the address (its link), and below it the network the address metadata file names.
  const rows = await page.$$eval('section[aria-label="Exporters"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td, i) => (i === 0 ? td.querySelector('a.ip')?.textContent ?? '' : td.textContent))));
  const nets = await page.$$eval('section[aria-label="Exporters"] tbody tr', (trs) => trs.map((tr) => [tr.querySelector('td a.ip')?.textContent ?? '', tr.querySelector('td .net')?.textContent ?? null]));
  assert.deepEqual(nets.filter(([, n]) => n !== null), [[NAMED_EXPORTER, EXPORTER_NETWORK]]);
  const stats = suite.fixture!.collector.pipeline.stats.snapshot();
  assert.equal(rows.length, stats.length);
  const label: Record<string, string> = { ipfix: 'IPFIX', netflow5: 'NetFlow v5', netflow9: 'NetFlow v9', sflow5: 'sFlow v5' };
  for (const s of stats) {
    const row = rows.find((r) => r[0] === s.exporter);
    assert.ok(row, s.exporter);
    assert.equal(row[1], label[s.protocol]);
    assert.equal(row[2], fmtInt(s.packets));
    assert.equal(row[3], fmtInt(s.records));
  }
  assert.equal(rows.find((r) => r[1] === 'NetFlow v9')![7], '1');
  // The crafted IPFIX exporter's options data named two interfaces: said under its templates.
  assert.equal(rows.find((r) => r[0] === NAMED_EXPORTER)![7], `2${Object.keys(NAMED_INTERFACES).length} interfaces named`);
  // Each error reason, then each reason the decoders changed a record's times for, with its count.
  const api = (await (await page.request.get(suite.fixture!.url + '/api/exporters')).json()) as { exporters: { exporter: string; errors: Record<string, number>; timesChanged: Record<string, number>; sequence: Record<string, number> }[] };
  for (const e of api.exporters) {
    // What the sequence numbers told, by kind.
    const q = e.sequence, told = [[q.missingDatagrams, 'datagrams'], [q.missingRecords, 'records'], [q.agentDrops, 'samples dropped by the agent'], [q.late, 'late'], [q.resets, 'restarts']] as const;
    const missing = rows.find((r) => r[0] === e.exporter)![5]!;
    if (told.every(([n]) => n === 0)) assert.equal(missing, 'none', e.exporter);
    for (const [n, what] of told) if (n > 0) assert.ok(missing.includes(`${fmtInt(n!)} ${what}`), `${e.exporter}: ${missing} lacks ${n} ${what}`);
    const cell = rows.find((r) => r[0] === e.exporter)![6]!;
    const reasons = { ...e.errors, ...e.timesChanged };
    if (Object.keys(reasons).length === 0) assert.equal(cell, 'none', e.exporter);
    for (const [k, n] of Object.entries(reasons)) assert.ok(cell.includes(`${fmtInt(n)} ${k}`), `${e.exporter}: ${cell} lacks ${n} ${k}`);
  }
  assert.ok(api.exporters.some((e) => Object.keys(e.timesChanged).length > 0), 'a fixture exporter had times changed');
  assert.equal(rows.find((r) => r[0] === '198.51.100.21')![5], '4 records');
  await checkIpLinks(page);
  await shot(page, 'exporters');
  await page.close();
});

test('integrations page shows the blocklist and the RiskIQ output', async (t) => {
  // The exporters test's datagram goes out with the RiskIQ output's next batch.
  const sent = async (): Promise<number> => ((await (await fetch(suite.fixture!.url + '/api/integrations')).json()) as { riskiqOutput: { sent: number } }).riskiqOutput.sent;
  for (const end = Date.now() + 10_000; (await sent()) !== flows().length && Date.now() < end;) await new Promise((r) => setTimeout(r, 50));
  const page = await open(t, '/integrations');
  if (page === null) return;
  assert.equal(await page.textContent('#feed-riskiq-entries .stat-value'), String(Object.keys(LISTED).length));
  assert.equal(await page.textContent('#riskiq-sent .stat-value'), fmtInt(flows().length));
  assert.match((await page.textContent('main'))!, /Last refresh succeeded/);
  // The address metadata file: its entries, loaded.
  const file = page.locator('section', { hasText: 'File: address metadata' });
  assert.match((await file.textContent())!, /Entries\s*2.*The last read succeeded; the file is looked at again every 15 minutes/s);
  // The web UI's own access: this fixture has neither a login nor HTTPS.
  assert.deepEqual([await page.textContent('#web-login .stat-value'), await page.textContent('#web-https .stat-value')], ['none', 'off']);
  await shot(page, 'integrations');
  await page.close();
});

test('keyboard: skip link first, then the page links in order; Enter follows a link', async (t) => {
  const page = await open(t, '/');
  if (page === null) return;
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  const seen: string[] = [];
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    seen.push((await page.evaluate(() => document.activeElement?.textContent)) ?? '');
  }
  assert.deepEqual(seen, ['Overview', 'Threats', 'Flow search', 'Exporters', 'Integrations']);
  // Focus is visible: the focused link has an outline.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/integrations/);
  await page.waitForSelector('body[data-ready="true"]');
  await page.close();
});

test('time range: a window before the data shows none, and the choice carries across pages', async (t) => {
  const page = await open(t, '/?range=15m');
  if (page === null) return;
  const recent = flows().filter((r) => r.collectTs >= Date.now() - 15 * 60_000);
  assert.ok(recent.length < flows().length, 'the replay spans more than 15 minutes');
  const shown = await page.textContent('#stat-flows .stat-value');
  const all = await (await page.request.get(`${suite.fixture!.url}/api/overview`)).json() as { totals: { flows: number } };
  assert.notEqual(shown, String(all.totals.flows));
  assert.equal(await page.getAttribute('header nav a[href^="/threats"]', 'href'), '/threats?range=15m');
  await page.selectOption('#range', '24h');
  await page.waitForFunction(() => location.search.includes('range=24h'));
  assert.equal(await page.getAttribute('header nav a[href^="/threats"]', 'href'), '/threats?range=24h');
  await page.close();
});

test('"All stored" asks the API for everything from the oldest flow', async (t) => {
  if (needTool(t, 'chromium') === null) return;
  const page = await suite.ctx!.newPage();
  const asked = page.waitForRequest((r) => r.url().includes('/api/overview'));
  await page.goto(`${suite.fixture!.url}/?range=all`);
  const u = new URL((await asked).url());
  assert.equal(u.searchParams.get('from'), '0');
  assert.equal(u.searchParams.get('to'), null);
  await page.waitForSelector('body[data-ready="true"]');
  const flowsAsked = page.waitForRequest((r) => r.url().includes('/api/flows?'));
  await page.goto(`${suite.fixture!.url}/flows?range=all`);
  assert.equal(new URL((await flowsAsked).url()).searchParams.get('from'), '0');
  await page.close();
});

/** A page with no navigation yet, its uncaught errors collected (for tests that make requests fail on purpose). */
const blankPage = (t: TestContext) => blankPageOf(t, suite);

const flowsAsked = (page: Page) => page.waitForRequest((r) => r.url().includes('/api/flows?'), { timeout: 10_000 }).then((r) => new URL(r.url()).searchParams);
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

test('flow search pins its times: "Older" walks the same flows; a new search or range re-pins, from page 1', async (t) => {
  if (needTool(t, 'chromium') === null) return;
  const page = await suite.ctx!.newPage();
  const first = flowsAsked(page);
  await page.goto(`${suite.fixture!.url}/flows`);
  const p1 = await first;
  await page.waitForSelector('body[data-ready="true"]');
  const url = new URL(page.url()).searchParams;
  assert.equal(url.get('from'), p1.get('from'));
  assert.equal(url.get('to'), p1.get('to'));
  assert.ok(flows().length > 50);
  await sleep(50);
  const older = flowsAsked(page);
  await page.click('nav.pager button:has-text("Older")');
  const p2 = await older;
  assert.deepEqual([p2.get('from'), p2.get('to'), p2.get('offset')], [p1.get('from'), p1.get('to'), '50']);
  await page.locator('p.summary').filter({ hasText: 'Flows 51–' }).waitFor({ timeout: 10_000 });
  // A new range: page 1, times pinned again.
  const ranged = flowsAsked(page);
  await page.selectOption('#range', '24h');
  const p3 = await ranged;
  assert.equal(p3.get('offset'), '0');
  assert.ok(Number(p3.get('to')) > Number(p1.get('to')));
  assert.equal(Number(p3.get('to')) - Number(p3.get('from')), 24 * 3600e3);
  await page.locator('p.summary').filter({ hasText: 'Flows 1–' }).waitFor({ timeout: 10_000 });
  assert.equal(new URL(page.url()).searchParams.get('offset'), null);
  await sleep(50);
  const again = flowsAsked(page);
  await page.click('form.filters button[type="submit"]');
  assert.ok(Number((await again).get('to')) > Number(p3.get('to')));
  await page.close();
});

test('Back and Forward walk the searches, page turns and ranges, each shown as it was', async (t) => {
  if (needTool(t, 'chromium') === null) return;
  const page = await suite.ctx!.newPage();
  const summary = (text: string) => page.locator('p.summary').filter({ hasText: text }).waitFor({ timeout: 10_000 });
  await page.goto(`${suite.fixture!.url}/flows?range=1h`);
  await page.waitForSelector('body[data-ready="true"]');
  await summary('Flows 1–');
  const page1 = page.url();
  await page.click('nav.pager button:has-text("Older")');
  await summary('Flows 51–');
  const page2 = page.url();
  assert.equal(new URL(page2).searchParams.get('offset'), '50', 'page 2 has its offset in the URL');
  await page.fill('#port', '1');
  await page.click('form.filters button[type="submit"]');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('port') === '1', null, { timeout: 10_000 });
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#range', '24h');
  await page.waitForFunction(() => new URLSearchParams(location.search).get('range') === '24h', null, { timeout: 10_000 });

  await loaded(page, () => page.goBack());
  assert.equal(new URL(page.url()).searchParams.get('range'), '1h', 'Back undoes the range change');
  assert.equal(await page.inputValue('#port'), '1', 'the search before it is in the form');
  assert.equal(await page.inputValue('#range'), '1h', 'and its range in the range control');
  await loaded(page, () => page.goBack());
  assert.equal(page.url(), page2, 'Back again: page 2 of the first search');
  await summary('Flows 51–');
  assert.equal(await page.inputValue('#port'), '', 'without the later search\'s port');
  await loaded(page, () => page.goBack());
  assert.equal(page.url(), page1, 'and again: its page 1');
  await summary('Flows 1–');
  await loaded(page, () => page.goForward());
  assert.equal(page.url(), page2, 'Forward: page 2 again');
  await summary('Flows 51–');
  // The skip link (#main) is a history entry too, of the same view: it does not load the page again.
  let loads = 0;
  page.on('load', () => loads++);
  await page.evaluate(() => (document.querySelector('a.skip') as HTMLElement).click());
  await page.waitForURL(/#main$/);
  await sleep(300);
  await page.goBack();
  await page.waitForURL((u) => u.hash === '');
  await sleep(300);
  assert.equal(loads, 0, 'the skip link and Back from it did not reload the page');
  await summary('Flows 51–');
  await page.close();
});

test('a link to a page past the end says so, and "Newer" goes to the last page', async (t) => {
  if (needTool(t, 'chromium') === null) return;
  const page = await suite.ctx!.newPage();
  const total = flows().length;
  await page.goto(`${suite.fixture!.url}/flows?range=all&offset=${Math.ceil(total / 50) * 50 + 500}`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.ok((await page.textContent('p.summary'))!.startsWith(`No flows on this page: the search has ${fmtInt(total)}, `), 'the summary says the page is past the end');
  await page.click('nav.pager button:has-text("Newer")');
  const lastFirst = Math.floor((total - 1) / 50) * 50 + 1;
  await assert.doesNotReject(page.locator('p.summary').filter({ hasText: `Flows ${fmtInt(lastFirst)}–${fmtInt(total)} of ${fmtInt(total)}` }).waitFor({ timeout: 10_000 }), 'Newer shows the last page');
  await page.close();
});

test('a range chosen while the overview loads wins, and the older answer is dropped', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  let n = 0;
  await page.route('**/api/overview?*', async (route) => {
    // The first answer (15 minutes) comes late, after the one for the range chosen meanwhile.
    if (n++ === 0) await sleep(1500);
    await route.continue().catch(() => {});
  });
  const asked = page.waitForRequest((r) => r.url().includes('/api/overview?'));
  await page.goto(`${suite.fixture!.url}/?range=15m`);
  await asked;
  await page.selectOption('#range', '24h');
  await page.waitForSelector('body[data-ready="true"]');
  const all = flows().length;
  const expected = all >= 1000 ? `${(all / 1000).toFixed(all >= 10_000 ? 1 : 2)}k` : String(all);
  assert.equal(await page.textContent('#stat-flows .stat-value'), expected);
  await sleep(1700);
  assert.equal(await page.textContent('#stat-flows .stat-value'), expected);
  assert.match((await page.textContent('#foot-status'))!, /updated/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('flow search: an older search answering last does not replace the newer one', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  await page.goto(`${suite.fixture!.url}/flows`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.route('**/api/flows?*', async (route) => {
    if (new URL(route.request().url()).searchParams.get('ip') === '202.160.21.5') await sleep(1500);
    await route.continue().catch(() => {});
  });
  await page.fill('#ip', '202.160.21.5');
  await page.keyboard.press('Enter');
  await page.fill('#ip', '192.168.1.0/24');
  await page.keyboard.press('Enter');
  const inNet = flows().filter((r) => r.srcIp.startsWith('192.168.1.') || r.dstIp.startsWith('192.168.1.')).length;
  const summary = page.locator('p.summary');
  await summary.filter({ hasText: `of ${fmtInt(inNet)},` }).waitFor({ timeout: 10_000 });
  await sleep(1700);
  assert.match((await summary.textContent())!, new RegExp(` of ${fmtInt(inNet)},`));
  assert.deepEqual(errors, []);
  await page.close();
});

test('flow search with only "To": From is an hour before it; a failing search says so in the footer', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  const to = suite.fixture!.startedAt - 5 * 60_000;
  const asked = flowsAsked(page);
  const answered = page.waitForResponse((r) => r.url().includes('/api/flows?'));
  await page.goto(`${suite.fixture!.url}/flows?to=${to}`);
  const p = await asked;
  assert.equal(Number(p.get('from')), to - 3600e3);
  assert.equal((await answered).status(), 200);
  const n = flows().filter((r) => r.collectTs >= to - 3600e3 && r.collectTs < to).length;
  await page.locator('p.summary').filter({ hasText: `of ${fmtInt(n)},` }).waitFor({ timeout: 10_000 });
  await page.route('**/api/flows?*', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"store on fire"}' }));
  await page.click('form.filters button[type="submit"]');
  await page.locator('#foot-status').filter({ hasText: 'update failed: store on fire' }).waitFor({ timeout: 10_000 });
  assert.match((await page.textContent('.results'))!, /store on fire/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a shared search link is searched to the millisecond, across a DST fall-back too', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'America/New_York' });
  // 2026-11-01 01:30:15.123 EST; an hour before is 01:30:15.123 EDT, the same wall time.
  const to = Date.UTC(2026, 10, 1, 6, 30, 15, 123);
  const from = to - 3600e3;
  const asked = flowsAsked(page);
  await page.goto(`${suite.fixture!.url}/flows?from=${from}&to=${to}`);
  const p1 = await asked;
  assert.deepEqual([p1.get('from'), p1.get('to')], [String(from), String(to)]);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.inputValue('#from'), '2026-11-01T01:30:15');
  assert.equal(await page.inputValue('#to'), '2026-11-01T01:30:15');
  assert.match((await page.textContent('#foot-status'))!, /updated \d\d:\d\d:\d\d · times in America\/New_York/);
  const again = flowsAsked(page);
  await page.click('form.filters button[type="submit"]');
  const p2 = await again;
  assert.deepEqual([p2.get('from'), p2.get('to')], [String(from), String(to)]);
  // Edited, the input is read as the wall time it shows.
  await page.fill('#to', '2026-11-01T03:00:00');
  const edited = flowsAsked(page);
  await page.click('form.filters button[type="submit"]');
  const p3 = await edited;
  assert.deepEqual([p3.get('from'), p3.get('to')], [String(from), String(Date.UTC(2026, 10, 1, 8, 0, 0))]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('flow search ignores a time it cannot use, says so, and sends to=1 as 1', async (t) => {
  const page = await open(t, '/flows?from=99999999999999999');
  if (page === null) return;
  assert.match((await page.textContent('.notice'))!, /from=99999999999999999 is ignored/);
  assert.match((await page.textContent('p.summary'))!, /^Flows 1–|No flows match/);
  const asked = flowsAsked(page);
  await page.goto(`${suite.fixture!.url}/flows?to=1`);
  const p = await asked;
  assert.deepEqual([p.get('from'), p.get('to')], ['0', '1']);
  await page.waitForSelector('body[data-ready="true"]');
  assert.match((await page.textContent('p.summary'))!, /No flows match/);
  await page.close();
});

test('threats page counts every at-risk server and high-risk client, not the 20 listed', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  await editAnswers<{ totals: Record<string, number> }>(page, '**/api/threats?*', (body) => {
    body.totals.atRiskServers = 57;
    body.totals.highRiskClients = 1234;
  });
  await page.goto(`${suite.fixture!.url}/threats`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.textContent('#stat-at-risk .stat-value'), '57');
  assert.equal(await page.textContent('#stat-high-risk .stat-value'), '1,234');
  assert.match((await page.textContent('section[aria-label="High-risk clients"]'))!, /of 1,234/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('charts: no data says so, small rates keep their digits, values are in a table for screen readers', async (t) => {
  const b = await blankPage(t);
  if (b === null) return;
  const { page, errors } = b;
  let rate = 0;
  await editAnswers<{ series: { flows: number; bytes: number; packets: number }[] }>(page, '**/api/overview?*', (body) => {
    for (const p of body.series) Object.assign(p, { flows: rate, bytes: rate, packets: rate });
  });
  await page.goto(`${suite.fixture!.url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.equal(await page.locator('figure.chart-fig .chart-empty').count(), 3);
  assert.equal(await page.locator('figure.chart-fig text.axis').count(), 0);
  rate = 0.0005;
  await page.selectOption('#range', '6h');
  await page.locator('figure.chart-fig path.line').first().waitFor({ state: 'attached', timeout: 10_000 });
  assert.equal(await page.textContent('figure.chart-fig .chart-now'), '0.0005');
  const rows = await page.$$eval('figure.chart-fig .visually-hidden table.chart-data', (ts) => ts.map((x) => x.querySelectorAll('tbody tr').length));
  assert.equal(rows.length, 3);
  assert.ok(rows[0]! > 50, `${rows[0]} rows`);
  // A string, so the test's transpiler leaves the browser's import() alone.
  const shown = await page.evaluate(`import('/static/lib/format.js').then((f) =>
    [f.bytes(999999), f.count(999.5), f.count(0.0005), f.bits(0.25), f.count(1234), f.count(42)])`) as string[];
  assert.deepEqual(shown, ['1.00 MB', '1.00k', '0.0005', '0.25 bit/s', '1.23k', '42']);
  assert.deepEqual(errors, []);
  await page.close();
});

/** An sFlow v5 datagram from `agent` with one counters sample of the generic interface counters of `ifIndex`. */
function sflowCounters(agent: string, seq: number, ifIndex: number, c: { speed: number; status: number; inOctets: number; outOctets: number; inErrors: number }): Buffer {
  const u32 = (...v: number[]) => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i)); return b; };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
  const generic = Buffer.concat([u32(ifIndex, 6), u64(c.speed), u32(1, c.status), u64(c.inOctets), u32(0, 0, 0, 0, c.inErrors, 0), u64(c.outOctets), u32(0, 0, 0, 0, 0, 0)]);
  const record = Buffer.concat([u32(1, generic.length), generic]);
  const body = Buffer.concat([u32(seq, ifIndex, 1), record]);
  const sample = Buffer.concat([u32(2, body.length), body]);
  return Buffer.concat([u32(5, 1), Buffer.from(agent.split('.').map(Number)), u32(0, seq, 1000 * seq, 1), sample]);
}

test('an interface\'s own Overview shows its sFlow counters: speed, state, peak rates against the speed, errors, and charts in and out', async (t) => {
  if (needTool(t, 'chromium') === null) return;
  // Ten samples 30 s apart, ending two minutes ago: 500 Mbit/s in, 250 out on a 1 Gbit/s interface, 3 errors an interval.
  const agent = '192.0.2.240', ifIndex = 7, end = Date.now() - 120_000;
  for (let i = 0; i < 10; i++) {
    const dg = sflowCounters(agent, i + 1, ifIndex, { speed: 1e9, status: 3, inOctets: i * 30 * 62.5e6, outOctets: i * 30 * 31.25e6, inErrors: 3 * i });
    suite.fixture!.collector.pipeline.handle(dg, { exporterIp: agent, exporterPort: 6343, receivedAt: end - (9 - i) * 30_000 });
  }
  await suite.fixture!.collector.flush();
  const page = await open(t, `/?exporter=${agent}&ifIndex=${ifIndex}`);
  if (page === null) return;
  const summary = page.locator('#counters-summary');
  await summary.waitFor({ timeout: 10_000 });
  assert.equal(await summary.textContent(),
    '10 counter samples; speed 1.00 Gbit/s, up; peak in 500 Mbit/s (50.0% of 1.00 Gbit/s), out 250 Mbit/s (25.0% of 1.00 Gbit/s); errors 27 in, 0 out; discards 0 in, 0 out');
  const charts = page.locator('section[aria-label="Interface counters (sFlow)"] figure.chart-fig');
  assert.equal(await charts.count(), 2);
  assert.deepEqual(await charts.locator('.chart-now').allTextContents(), ['500 Mbit/s', '250 Mbit/s']);
  await shot(page, 'overview-interface-counters');
  // An interface no agent polls has no such card.
  await page.goto(`${suite.fixture!.url}/?exporter=${agent}&ifIndex=8`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForTimeout(500);
  assert.equal(await page.locator('section[aria-label="Interface counters (sFlow)"]').count(), 0);
  await page.close();
});

test('no page logged an error or failed a request', (t) => {
  if (needTool(t, 'chromium') === null) return;
  assert.deepEqual(problems, []);
});

/**
 * The web UI in a real browser: playwright-core driving Debian's chromium against a running
 * collector fed by replayed captures. Every page renders real data, filters change the results,
 * PassiveTotal links carry the right address, the keyboard reaches everything, and no page logs
 * an error. Screenshots (1280×800) go to test-artifacts/.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { LISTED, startWebFixture, touchesListed, type WebFixture } from './web-fixture.js';
import { REPO_ROOT, toolPath, needTool } from './helpers/tools.js';
import { tempDir } from './helpers/collect.js';

const PT = 'https://pt.example.test/research?query=';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
/** Chromium flags for a sandbox-less CI box with no network beyond loopback. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

let f: WebFixture | null = null;
let ctx: BrowserContext | null = null;
let profile = '';
const problems: string[] = [];

export async function launchChromium(path: string): Promise<{ ctx: BrowserContext; profile: string }> {
  const dir = tempDir('ufc-chromium-');
  const c = await chromium.launchPersistentContext(dir, {
    executablePath: path, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 }, timeout: 60_000,
  });
  return { ctx: c, profile: dir };
}

before(async () => {
  const path = toolPath('chromium');
  if (path === null) return;
  f = await startWebFixture({ replays: 30, passiveTotalUrl: PT });
  ({ ctx, profile } = await launchChromium(path));
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await ctx?.close();
  await f?.stop();
  if (profile !== '') rmSync(profile, { recursive: true, force: true });
});

async function open(t: TestContext, path: string): Promise<Page | null> {
  if (needTool(t, 'chromium') === null) return null;
  const page = await ctx!.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${path}: console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${path}: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`${path}: request failed ${r.url()}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${path}: HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(f!.url + path);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `web-${name}.png`), fullPage: false });
}

const flows = () => f!.records.records.filter((r) => r.kind === 'flow');
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
  await shot(page, 'overview');
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
  await shot(page, 'flows');
  // Paging: the next page starts at 51.
  if (inNet.length > 50) {
    await page.click('nav.pager button:has-text("Older")');
    await summary.filter({ hasText: `Flows 51–` }).waitFor({ timeout: 10_000 });
  }
  // The export links carry the same filter; the CSV holds every matching row.
  const csvHref = await page.getAttribute('#export-csv', 'href');
  assert.match(csvHref!, /ip=192\.168\.1\.0%2F24/);
  const csv = await page.request.get(f!.url + csvHref!);
  assert.equal((await csv.text()).trimEnd().split('\n').length, inNet.length + 1);
  const nd = await page.request.get(f!.url + (await page.getAttribute('#export-ndjson', 'href'))!);
  assert.equal((await nd.text()).trimEnd().split('\n').length, inNet.length);
  await page.close();
});

test('exporters page shows each exporter with protocol, counters and templates', async (t) => {
  const page = await open(t, '/exporters');
  if (page === null) return;
  const rows = await page.$$eval('section[aria-label="Exporters"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  const stats = f!.collector.pipeline.stats.snapshot();
  assert.equal(rows.length, stats.length);
  const label: Record<string, string> = { netflow5: 'NetFlow v5', netflow9: 'NetFlow v9', sflow5: 'sFlow v5' };
  for (const s of stats) {
    const row = rows.find((r) => r[0] === s.exporter);
    assert.ok(row, s.exporter);
    assert.equal(row[1], label[s.protocol]);
    assert.equal(row[2], fmtInt(s.packets));
    assert.equal(row[3], fmtInt(s.records));
  }
  assert.equal(rows.find((r) => r[1] === 'NetFlow v9')![6], '1');
  await checkIpLinks(page);
  await shot(page, 'exporters');
  await page.close();
});

test('integrations page shows the blocklist and the RiskIQ output', async (t) => {
  const page = await open(t, '/integrations');
  if (page === null) return;
  assert.equal(await page.textContent('#feed-riskiq-entries .stat-value'), String(Object.keys(LISTED).length));
  assert.equal(await page.textContent('#riskiq-sent .stat-value'), fmtInt(flows().length));
  assert.match((await page.textContent('main'))!, /Last refresh succeeded/);
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
  const all = await (await page.request.get(`${f!.url}/api/overview`)).json() as { totals: { flows: number } };
  assert.notEqual(shown, String(all.totals.flows));
  assert.equal(await page.getAttribute('header nav a[href^="/threats"]', 'href'), '/threats?range=15m');
  await page.selectOption('#range', '24h');
  await page.waitForFunction(() => location.search.includes('range=24h'));
  assert.equal(await page.getAttribute('header nav a[href^="/threats"]', 'href'), '/threats?range=24h');
  await page.close();
});

test('"All stored" asks the API for everything from the oldest flow', async (t) => {
  if (needTool(t, 'chromium') === null) return;
  const page = await ctx!.newPage();
  const asked = page.waitForRequest((r) => r.url().includes('/api/overview'));
  await page.goto(`${f!.url}/?range=all`);
  const u = new URL((await asked).url());
  assert.equal(u.searchParams.get('from'), '0');
  assert.equal(u.searchParams.get('to'), null);
  await page.waitForSelector('body[data-ready="true"]');
  const flowsAsked = page.waitForRequest((r) => r.url().includes('/api/flows?'));
  await page.goto(`${f!.url}/flows?range=all`);
  assert.equal(new URL((await flowsAsked).url()).searchParams.get('from'), '0');
  await page.close();
});

test('no page logged an error or failed a request', (t) => {
  if (toolPath('chromium') === null) return t.skip('chromium not installed');
  assert.deepEqual(problems, []);
});

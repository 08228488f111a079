/**
 * The web UI given hostile names and counters, in a real browser (playwright-core driving Debian's
 * chromium, as web-browser.test.ts): the API's answers from the fixture's collector are changed on
 * the way, as an exporter's options data, a DNS answer, a threat feed or the address metadata file
 * could make them.
 *
 * - A name with an unterminated U+202E (right-to-left override) reorders nothing around it.
 * - A name of 255 or 100,000 characters without a space keeps the columns after it in view.
 * - Counters of 2^63 read in exa- units, and a chart's value labels are never cut on the left.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { blankPage, browserSuite, editAnswers } from './helpers/browser.js';
import { NAMED_EXPORTER, OFFICE_NAME, startWebFixture } from './web-fixture.js';

const RLO = '\u202E';
/** An interface name leaving an override open: it showed the next interface's name mirrored. */
const SPOOF = `${RLO}up-link`;
const LONG_IF = 'X'.repeat(255);
const HUGE_THREAT = 'T'.repeat(100_000);

const suite = browserSuite(() => startWebFixture({ replays: 3 }));

type Json = Record<string, unknown>;

/** A page whose answers from `api` (a path such as /api/interfaces) go through `edit` first. */
async function pageWith(t: TestContext, edits: Record<string, (body: Json) => void>): Promise<{ page: Page; errors: string[] } | null> {
  const b = await blankPage(t, suite);
  if (b === null) return null;
  for (const [api, edit] of Object.entries(edits)) await editAnswers<Json>(b.page, (u) => u.pathname === api, edit);
  return b;
}

async function go(page: Page, path: string): Promise<void> {
  await page.goto(suite.fixture!.url + path);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
}

/** Where the text `text` (in a text node under `root`) is drawn: its left and right edges. */
async function textBox(page: Page, root: string, text: string): Promise<{ left: number; right: number }> {
  const box = await page.evaluate(([sel, want]) => {
    const walk = document.createTreeWalker(document.querySelector(sel)!, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n !== null; n = walk.nextNode()) {
      const at = n.textContent!.indexOf(want);
      if (at < 0) continue;
      const r = document.createRange();
      r.setStart(n, at);
      r.setEnd(n, at + want.length);
      const b = r.getBoundingClientRect();
      return { left: b.left, right: b.right };
    }
    return null;
  }, [root, text] as const);
  assert.ok(box !== null, `"${text}" under ${root}`);
  return box;
}

/** The text nodes under `root` holding U+202E that no <bdi> (and no isolate marks) sets apart. */
const unisolated = (page: Page, root = 'main') => page.evaluate((sel) => {
  const out: string[] = [];
  const walk = document.createTreeWalker(document.querySelector(sel)!, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n !== null; n = walk.nextNode()) {
    const t = n.textContent!;
    if (t.includes('\u202E') && n.parentElement!.closest('bdi') === null && !/^\u2068[^]*\u2069$/.test(t)) out.push(`${n.parentElement!.tagName}: ${t}`);
  }
  return out;
}, root);

const renameInterfaces = (name: string) => (body: Json) => {
  for (const x of body.interfaces as Json[]) if (x.exporter === NAMED_EXPORTER && x.ifIndex === 1) x.name = name;
};
const renameFlowInterfaces = (name: string) => (body: Json) => {
  for (const r of (body.rows ?? body.recent) as Json[]) {
    if (r.exporter !== NAMED_EXPORTER) continue;
    if (r.inIf === 1) r.inIfName = name;
    if (r.outIf === 1) r.outIfName = name;
  }
};

test('an interface name with an open right-to-left override reorders nothing around it', async (t) => {
  const b = await pageWith(t, { '/api/interfaces': renameInterfaces(SPOOF), '/api/flows': renameFlowInterfaces(SPOOF) });
  if (b === null) return;
  const { page, errors } = b;
  // The Overview of that interface: its name in the filter bar, the bar's two links in their order.
  await go(page, `/?exporter=${NAMED_EXPORTER}&ifIndex=1`);
  const bar = page.locator('p.filter-bar');
  await bar.filter({ hasText: `through interface ${SPOOF} (1).` }).waitFor({ timeout: 10_000 });
  const flowsLink = await bar.locator('a', { hasText: 'These flows' }).boundingBox();
  const allLink = await bar.locator('a', { hasText: 'All traffic' }).boundingBox();
  assert.ok(flowsLink!.x < allLink!.x, `"These flows →" at ${flowsLink!.x} px, "All traffic" at ${allLink!.x} px`);
  const name = await textBox(page, 'p.filter-bar', 'up-link');
  const index = await textBox(page, 'p.filter-bar', '(1)');
  assert.ok(name.right <= index.left, `name ends at ${name.right} px, its index starts at ${index.left} px`);
  // The Interfaces card: the name, then its index.
  const row = 'section[aria-label="Interfaces"] tbody tr:first-child td:nth-child(2)';
  await page.locator(row, { hasText: 'up-link' }).waitFor({ timeout: 10_000 });
  const cellName = await textBox(page, row, 'up-link');
  const cellIndex = await textBox(page, row, '(1)');
  assert.ok(cellName.right <= cellIndex.left, `Interfaces card: name ends at ${cellName.right} px, its index starts at ${cellIndex.left} px`);
  assert.deepEqual(await unisolated(page), []);
  // Flow search: "In → out" shows the in interface, then the arrow, then the out one.
  await go(page, `/flows?exporter=${NAMED_EXPORTER}&ifIndex=1`);
  await page.locator('p.summary').filter({ hasText: /^Flows 1–/ }).waitFor({ timeout: 10_000 });
  const headers = await page.locator('.results thead th').allTextContents();
  const col = headers.indexOf('In → out') + 1;
  let checked = 0;
  for (const [inName, outName] of [[SPOOF, 'Gi0/1'], ['Gi0/1', SPOOF]]) {
    // The first row with this pair, marked for the look-ups below.
    const found = await page.$$eval('.results tbody tr', (trs, [i, want]) => {
      const td = trs.map((tr) => tr.querySelectorAll('td')[i]!).find((c) => c.textContent === want);
      td?.setAttribute('data-probe', want);
      return td !== undefined;
    }, [col - 1, `${inName} → ${outName}`] as const);
    if (!found) continue;
    const probe = `td[data-probe="${inName} → ${outName}"]`;
    const a = await textBox(page, probe, inName.replace(RLO, ''));
    const arrow = await textBox(page, probe, '→');
    const z = await textBox(page, probe, outName.replace(RLO, ''));
    assert.ok(a.right <= arrow.left && arrow.right <= z.left, `${JSON.stringify(inName)} ${a.left}–${a.right} px, → ${arrow.left} px, ${JSON.stringify(outName)} ${z.left}–${z.right} px`);
    checked++;
  }
  assert.equal(checked, 2, 'flows in by the named interface and out by it');
  assert.deepEqual(await unisolated(page), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('names from the metadata file, DNS and threat feeds are set apart wherever they are shown, titles too', async (t) => {
  const net = `${RLO}lab net`;
  const host = `${RLO}gw.example`;
  const b = await pageWith(t, {
    '/api/exporters': (body) => { for (const x of body.exporters as Json[]) Object.assign(x, { host, network: net }); },
    '/api/threats': (body) => {
      for (const x of body.byName as Json[]) x.name = `${RLO}${String(x.name)}`;
      for (const x of [...body.atRiskServers as Json[], ...body.highRiskClients as Json[]]) x.network = net;
      (body.byNetwork as Json[]).push({ network: net, flows: 1, bytes: 1 });
      for (const r of body.recent as Json[]) Object.assign(r, { srcNet: net, srcHost: host, srcNetTags: [`${RLO}tag`] });
    },
    '/api/overview': (body) => {
      const top = body.top as { networks: Json[] };
      top.networks.push({ name: net, flows: 1, bytes: 1, inBytes: 1, outBytes: 0 });
    },
  });
  if (b === null) return;
  const { page, errors } = b;
  await go(page, '/exporters');
  await page.locator('section[aria-label="Exporters"] tbody tr', { hasText: 'gw.example' }).first().waitFor({ timeout: 10_000 });
  assert.deepEqual(await unisolated(page), []);
  assert.equal(await page.locator('section[aria-label="Exporters"] .net').first().getAttribute('title'), `network \u2068${net}\u2069`);
  await go(page, '/threats');
  await page.locator('section[aria-label="By network"] tbody tr', { hasText: 'lab net' }).waitFor({ timeout: 10_000 });
  assert.deepEqual(await unisolated(page), []);
  assert.equal(await page.locator('section[aria-label="By network"] a', { hasText: 'lab net' }).getAttribute('title'), `threat flows of network \u2068${net}\u2069`);
  assert.equal(await page.locator('section[aria-label="Recent threat flows"] a.net').first().getAttribute('title'), `network \u2068${net}\u2069`);
  assert.equal(await page.locator('section[aria-label="Recent threat flows"] a.tag').first().getAttribute('title'), `tag \u2068${RLO}tag\u2069`);
  await go(page, '/');
  const link = page.locator('section[aria-label="Networks"] a', { hasText: 'lab net' });
  await link.waitFor({ timeout: 10_000 });
  assert.match((await link.getAttribute('title'))!, new RegExp(`^the traffic of network \u2068${net}\u2069: 1 flows$`));
  assert.deepEqual(await unisolated(page), []);
  // The UI's own text stays plain text: a <bdi> only where a name needs one.
  assert.equal(await page.locator(`section[aria-label="Networks"] bdi`).count(), 1);
  assert.equal(await page.locator(`section[aria-label="Networks"] tbody tr`, { hasText: OFFICE_NAME }).locator('bdi').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

/** How far the element's content reaches past its own box on the right (0: all in view). */
const overflow = (page: Page, sel: string) => page.locator(sel).first().evaluate((el) => {
  const box = el.getBoundingClientRect();
  const table = el.querySelector('table')!;
  return Math.max(table.scrollWidth - el.clientWidth, ...[...table.querySelectorAll('td, th')].map((c) => c.getBoundingClientRect().right - box.right));
});

test('long names without spaces keep the columns after them in view', async (t) => {
  const b = await pageWith(t, {
    '/api/interfaces': renameInterfaces(LONG_IF),
    '/api/flows': (body) => {
      renameFlowInterfaces(LONG_IF)(body);
      for (const r of body.rows as Json[]) r.srcThreat = [HUGE_THREAT];
    },
    '/api/threats': (body) => {
      (body.byName as Json[])[0]!.name = HUGE_THREAT;
      for (const x of body.highRiskClients as Json[]) x.names = [HUGE_THREAT];
      for (const r of body.recent as Json[]) r.srcThreat = [HUGE_THREAT];
      renameFlowInterfaces(LONG_IF)(body);
    },
  });
  if (b === null) return;
  const { page, errors } = b;
  await go(page, '/');
  const ifCard = 'section[aria-label="Interfaces"]';
  await page.locator(`${ifCard} tbody tr`, { hasText: 'XXXX' }).first().waitFor({ timeout: 10_000 });
  assert.ok((await overflow(page, ifCard)) <= 1, `the Interfaces card reaches ${await overflow(page, ifCard)} px past its edge`);
  // Cut for display, whole in the title.
  const a = page.locator(`${ifCard} a`, { hasText: 'XXXX' }).first();
  assert.equal(await a.textContent(), `${'X'.repeat(64)}… (1)`);
  assert.match((await a.getAttribute('title'))!, new RegExp(`^Traffic in or out of X{255}, ifIndex 1 of ${NAMED_EXPORTER.replaceAll('.', '\\.')}$`));
  await go(page, '/threats');
  for (const card of ['By threat name', 'High-risk clients', 'Recent threat flows']) {
    const sel = `section[aria-label="${card}"]`;
    await page.locator(`${sel} tbody tr .tag.threat`, { hasText: 'TTTT' }).first().waitFor({ timeout: 10_000 });
    const over = await overflow(page, sel);
    assert.ok(over <= 1, `${card}: ${over} px past the card's edge`);
  }
  const pill = page.locator('section[aria-label="By threat name"] .tag.threat', { hasText: 'TTTT' });
  assert.equal(await pill.textContent(), `${'T'.repeat(64)}…`);
  assert.equal((await pill.getAttribute('title'))!.length, HUGE_THREAT.length);
  await go(page, `/flows?exporter=${NAMED_EXPORTER}`);
  await page.locator('.results tbody tr', { hasText: 'XXXX' }).first().waitFor({ timeout: 10_000 });
  const over = await overflow(page, '.results');
  assert.ok(over <= 1, `Flow search: ${over} px past the results' edge`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('counters of 2^63 read in exa- units; chart labels are never cut on the left', async (t) => {
  const big = 2 ** 63;
  const b = await pageWith(t, {
    '/api/overview': (body) => {
      Object.assign(body.totals as Json, { flows: 6, bytes: 6 * big, packets: 4 * big });
      for (const p of body.series as Json[]) Object.assign(p, { bytes: big, packets: big });
    },
  });
  if (b === null) return;
  const { page, errors } = b;
  await go(page, '/');
  await page.locator('#stat-bytes .stat-value').filter({ hasText: 'EB' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.textContent('#stat-bytes .stat-value'), '55.3 EB');
  assert.equal(await page.textContent('#stat-packets .stat-value'), '36.9E');
  assert.equal(await page.textContent('figure.chart-fig:nth-of-type(2) .chart-now'), '73.8 Ebit/s');
  // Every value label starts inside its chart.
  const cut = (sel: string) => page.$$eval(sel, (svgs) => svgs.flatMap((svg) => [...svg.querySelectorAll('text.axis')]
    .filter((x) => x.getBoundingClientRect().left < svg.getBoundingClientRect().left - 0.5).map((x) => x.textContent)));
  assert.deepEqual(await cut('figure.chart-fig svg'), []);
  // A chart whose labels are long however they are formatted ("1,000,000,000,000 flows/s").
  await page.evaluate(`import('/static/lib/chart.js').then(({ lineChart }) => {
    const points = [0, 1, 2, 3].map((i) => ({ t: 1e12 + i * 60e3, v: i * 1e12 }));
    const fig = lineChart('Long labels', points, (v) => new Intl.NumberFormat('en-US').format(v) + ' flows/s');
    fig.id = 'long-labels';
    document.querySelector('main').prepend(fig);
  })`);
  assert.deepEqual(await cut('#long-labels svg'), []);
  // The units up to yotta, then powers of ten; the small end as before.
  const shown = await page.evaluate(`import('/static/lib/format.js').then((f) =>
    [f.bytes(5.53e19), f.bytes(2 ** 64), f.bits(1.23e20), f.bits(7.38e21), f.count(2 ** 63), f.count(4.5e15), f.bytes(1.5e30), f.count(999.5), f.bytes(999999)])`) as string[];
  assert.deepEqual(shown, ['55.3 EB', '18.4 EB', '123 Ebit/s', '7.38 Zbit/s', '9.22E', '4.50P', '1.50e6 YB', '1.00k', '1.00 MB']);
  assert.deepEqual(errors, []);
  await page.close();
});

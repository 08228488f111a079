/** Debian's chromium driven by playwright-core, as the browser tests launch it. */
import { rmSync } from 'node:fs';
import { after, before, type TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { WebFixture } from '../web-fixture.js';
import { tempDir } from './collect.js';
import { needTool, toolPath } from './tools.js';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
  '--no-first-run', '--disable-component-update', '--disable-sync',
];

/** A headless chromium with a profile of its own (remove `profile` when done). */
export async function launchChromium(path: string): Promise<{ ctx: BrowserContext; profile: string }> {
  const dir = tempDir('ufc-chromium-');
  const c = await chromium.launchPersistentContext(dir, {
    executablePath: path, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 }, timeout: 60_000,
  });
  return { ctx: c, profile: dir };
}

/** What a browser test file's tests share: the web fixture and the browser, null without chromium. */
export interface BrowserSuite {
  fixture: WebFixture | null;
  ctx: BrowserContext | null;
}

/**
 * Registers a browser test file's before and after: the web fixture `start` makes and a chromium
 * context, both only when chromium is installed (the tests then skip, naming it), both stopped after.
 */
export function browserSuite(start: () => Promise<WebFixture>): BrowserSuite {
  const suite: BrowserSuite = { fixture: null, ctx: null };
  let profile = '';
  before(async () => {
    const path = toolPath('chromium');
    if (path === null) return;
    suite.fixture = await start();
    ({ ctx: suite.ctx, profile } = await launchChromium(path));
  });
  after(async () => {
    await suite.ctx?.close();
    await suite.fixture?.stop();
    if (profile !== '') rmSync(profile, { recursive: true, force: true });
  });
  return suite;
}

/** A new page whose uncaught errors are kept in `errors`, or null (the test skipped) without chromium. */
export async function blankPage(t: TestContext, suite: BrowserSuite): Promise<{ page: Page; errors: string[] } | null> {
  if (needTool(t, 'chromium') === null) return null;
  const page = await suite.ctx!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** The API's answers to requests `url` matches go through `edit` before the page sees them. */
export async function editAnswers<T>(page: Page, url: string | ((u: URL) => boolean), edit: (body: T) => void): Promise<void> {
  await page.route(url, async (route) => {
    const res = await route.fetch();
    const body = await res.json() as T;
    edit(body);
    await route.fulfill({ response: res, json: body });
  });
}

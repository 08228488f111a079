/** Debian's chromium driven by playwright-core, as the browser tests launch it. */
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from './collect.js';

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

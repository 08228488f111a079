/* global document, location */
// The page shell: marks the current page in the navigation, loads the page's module, mounts the
// time range control and refreshes live pages on a timer (paused while the tab is hidden).
import { fill, h } from './lib/dom.js';
import { meta } from './lib/api.js';
import { errorBox, keepRange, rangeControl, setPassiveTotalUrl, setStatus } from './lib/widgets.js';

const PAGES = {
  '/': { title: 'Overview', module: './pages/overview.js', live: true, range: true },
  '/threats': { title: 'Threats', module: './pages/threats.js', live: true, range: true },
  '/flows': { title: 'Flow search', module: './pages/flows.js', live: false, range: true },
  '/exporters': { title: 'Exporters', module: './pages/exporters.js', live: true, range: false },
  '/integrations': { title: 'Integrations', module: './pages/integrations.js', live: true, range: false },
};
const REFRESH_MS = 10_000;

async function main() {
  const path = location.pathname.replace(/\/$/, '') || '/';
  const page = PAGES[path] ?? PAGES['/'];
  document.title = `${page.title} · ufc`;
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page');
    keepRange(a);
  }
  const main = document.getElementById('main');
  let info;
  try {
    info = await meta();
  } catch (err) {
    fill(main, errorBox(err));
    return;
  }
  setPassiveTotalUrl(info.passiveTotalUrl);
  const mod = await import(page.module);
  const root = h('div', { class: 'page' });
  fill(main, h('h1', { class: 'page-title' }, page.title), root);
  const view = mod.mount(root, info);
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      await view.refresh();
      setStatus(`${info.store ? `store: ${info.store}` : 'no store'} · ufc ${info.version} · updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      setStatus(`update failed: ${err.message}`);
    } finally {
      busy = false;
      document.body.dataset.ready = 'true';
    }
  };
  if (page.range) fill(document.getElementById('range-slot'), rangeControl(refresh));
  await refresh();
  if (page.live) {
    setInterval(() => {
      if (document.visibilityState === 'visible') refresh();
    }, REFRESH_MS);
  }
}

main().catch((err) => {
  fill(document.getElementById('main'), errorBox(err));
});

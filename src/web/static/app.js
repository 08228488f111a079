/* global document, location, window */
// The page shell: marks the current page in the navigation, loads the page's module, mounts the
// time range control and refreshes live pages on a timer (paused while the tab is hidden).
// Pages get `shell.refresh` for their own actions (a search), so those fail and finish alike.
import { fill, h } from './lib/dom.js';
import { meta } from './lib/api.js';
import { urlChanged } from './lib/history.js';
import { errorBox, fmt, keepRange, rangeControl, setPassiveTotalUrl, setStatus } from './lib/widgets.js';

const PAGES = {
  '/': { title: 'Overview', module: './pages/overview.js', live: true, range: true },
  '/threats': { title: 'Threats', module: './pages/threats.js', live: true, range: true },
  '/flows': { title: 'Flow search', module: './pages/flows.js', live: false, range: true },
  '/exporters': { title: 'Exporters', module: './pages/exporters.js', live: true, range: false },
  '/integrations': { title: 'Integrations', module: './pages/integrations.js', live: true, range: false },
};
const REFRESH_MS = 10_000;
/** Every time on the pages is local to the browser; the footer says which zone that is. */
const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

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
  // The last user action wins: a refresh abandons the one still loading (its answer is dropped,
  // so an older search never draws over a newer one); a timed refresh is skipped meanwhile.
  let current = null;
  const refresh = async ({ timed = false } = {}) => {
    if (timed && current !== null) return;
    current?.abort();
    const ac = new AbortController();
    current = ac;
    try {
      await view.refresh(ac.signal);
      if (ac.signal.aborted) return;
      setStatus(`${info.store ? `store: ${info.store}` : 'no store'} · ufc ${info.version} · updated ${fmt.time(Date.now()).slice(11)} · times in ${TIME_ZONE}`);
    } catch (err) {
      if (ac.signal.aborted) return;
      setStatus(`update failed: ${err.message}`);
    } finally {
      if (current === ac) {
        current = null;
        document.body.dataset.ready = 'true';
      }
    }
  };
  const view = mod.mount(root, info, { refresh });
  if (page.range) {
    fill(document.getElementById('range-slot'), rangeControl(() => {
      view.rangeChanged?.();
      refresh();
    }));
  }
  await refresh();
  if (page.live) {
    setInterval(() => {
      if (document.visibilityState === 'visible') refresh({ timed: true });
    }, REFRESH_MS);
  }
}

// Every view is made from its URL: going Back or Forward to an entry a range, search or page turn
// pushed shows that entry's view by loading it again (not for an in-page anchor: lib/history.js).
window.addEventListener('popstate', () => {
  if (urlChanged()) location.reload();
});

main().catch((err) => {
  fill(document.getElementById('main'), errorBox(err));
});

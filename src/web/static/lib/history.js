/* global history, location */
// The page's URL is its view (range, search, page). Every change the page makes to it goes through
// here, so the shell knows which query the view on screen was made from: going Back or Forward to
// another query loads that view (app.js), while an in-page anchor (the skip link's #main), also a
// history entry, changes nothing.

let shown = location.pathname + location.search;

/** A new history entry for a view the user asked for (a range, a search, a page turn). */
export function pushUrl(u) {
  history.pushState(null, '', u);
  shown = location.pathname + location.search;
}

/** The same view's URL, completed or corrected (pinned times, a time it could not use). */
export function replaceUrl(u) {
  history.replaceState(null, '', u);
  shown = location.pathname + location.search;
}

/** Whether the URL now names another view than the one on screen. */
export function urlChanged() {
  return location.pathname + location.search !== shown;
}

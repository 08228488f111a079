/* global URLSearchParams */
// Fetches from the collector's JSON API (/api/...). Errors carry the server's message.

/**
 * `signal` abandons the request: an answer that comes after the abort is never returned (it
 * rejects with the abort reason), so a page cannot draw an older request over a newer one.
 */
export async function getJson(path, params, signal) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')) : null;
  const url = q && [...q].length > 0 ? `${path}?${q}` : path;
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal });
  const body = await res.json().catch(() => ({}));
  signal?.throwIfAborted();
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

let metaPromise = null;
/** Version, PassiveTotal base URL and the store in use; fetched once per page load. */
export function meta() {
  metaPromise ??= getJson('/api/meta');
  return metaPromise;
}

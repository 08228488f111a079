/* global URLSearchParams */
// Fetches from the collector's JSON API (/api/...). Errors carry the server's message.

export async function getJson(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')) : null;
  const url = q && [...q].length > 0 ? `${path}?${q}` : path;
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

let metaPromise = null;
/** Version, PassiveTotal base URL and the store in use; fetched once per page load. */
export function meta() {
  metaPromise ??= getJson('/api/meta');
  return metaPromise;
}

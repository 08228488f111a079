/**
 * Microsoft Graph lookups are paced on the monotonic clock: a backward step of the wall clock (NTP,
 * a VM resumed) must not pause them for as long as the step, and a 429 Retry-After longer than a
 * timer holds (2^31-1 ms) must pause, not turn into a 1 ms retry loop. The wall clock is stepped by
 * faking Date.now (restored after each test); a small loopback server stands in for Entra ID and Graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, setLogger } from '../src/log/logger.js';
import { GraphReputation } from '../src/threat/reputation/msgraph.js';

setLogger(createLogger({ level: 'error', encoding: 'json', sink: () => {} }));

const realNow = Date.now;
/** Steps the wall clock by `ms` (negative: back) until restoreClock(). */
function stepClock(ms: number): void {
  Date.now = () => realNow.call(Date) + ms;
}
function restoreClock(): void {
  Date.now = realNow;
}

interface Graph {
  url: string;
  /** performance.now() of each reputation request's arrival. */
  arrivals: number[];
  close(): Promise<void>;
}

/** Answers tokens, and each reputation request with `answer(n)` (n counts from 1); `onRequest` runs before the answer. */
async function graph(answer: (n: number) => { status: number; headers?: Record<string, string> }, onRequest: (n: number) => void = () => {}): Promise<Graph> {
  const arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.endsWith('/oauth2/v2.0/token') === true) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'tok', expires_in: 3599 }));
      return;
    }
    arrivals.push(performance.now());
    const n = arrivals.length;
    onRequest(n);
    const a = answer(n);
    if (a.status === 200) res.writeHead(200, { 'content-type': 'application/json', ...a.headers }).end(JSON.stringify({ classification: 'malicious', score: 90 }));
    else res.writeHead(a.status, a.headers).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, arrivals, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function rep(url: string, ratePerMinute: number): GraphReputation {
  return new GraphReputation({ tenantId: 't', clientId: 'c', clientSecret: 's', loginUrl: url, graphUrl: url, ttlMs: 60_000, ratePerMinute, queueSize: 10, timeoutMs: 2000 });
}

/** Resolves true when `p` settles within `ms`, else false. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)));
  const done = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(t);
  return done;
}

test('a backward wall-clock step between two lookups neither stalls them nor undoes the rate limit', async () => {
  // The clock goes back an hour while the first request is at the server: after its start, before the next wait.
  const g0 = await graph(() => ({ status: 200 }), (n) => { if (n === 1) stepClock(-3_600_000); });
  const g = rep(g0.url, 600); // one request per 100 ms
  try {
    const t0 = performance.now();
    for (const ip of ['45.148.10.1', '45.148.10.2', '45.148.10.3']) g.enqueue(ip);
    assert.ok(await within(g.idle(), 3000), `all three looked up within 3 s (${g0.arrivals.length} were)`);
    assert.equal(g0.arrivals.length, 3, 'three requests');
    // Starts are paced (the first request's token fetch delays its arrival, not the next start).
    const [, second, third] = g0.arrivals.map((t) => t - t0);
    assert.ok(second! >= 95 && third! >= 195 && third! - second! >= 80, `still paced at 600 a minute: requests at ${g0.arrivals.map((t) => (t - t0).toFixed(0)).join(', ')} ms`);
  } finally {
    g.stop();
    restoreClock();
    await g0.close();
  }
});

test('a 429 pause is Retry-After long, the wall clock stepping back an hour as the 429 is answered', async () => {
  const g0 = await graph((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }), (n) => { if (n === 1) stepClock(-3_600_000); });
  const g = rep(g0.url, 6000);
  try {
    g.enqueue('45.148.10.1');
    assert.ok(await within(g.idle(), 4000), `looked up again after the 1 s pause (${g0.arrivals.length} requests)`);
    assert.equal(g.counters.throttled, 1, 'one 429');
    const pause = g0.arrivals[1]! - g0.arrivals[0]!;
    assert.ok(pause >= 950 && pause < 3000, `retried after Retry-After: 1 (${pause.toFixed(0)} ms)`);
  } finally {
    g.stop();
    restoreClock();
    await g0.close();
  }
});

test('a Retry-After longer than a timer holds pauses lookups instead of retrying every millisecond', async () => {
  // 2,500,000 s is about 29 days, past setTimeout's 2^31-1 ms (which Node would run after 1 ms).
  const g0 = await graph(() => ({ status: 429, headers: { 'retry-after': '2500000' } }));
  const g = rep(g0.url, 6000);
  try {
    g.enqueue('45.148.10.1');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(g0.arrivals.length, 1, `one request, then the pause (${g0.arrivals.length} requests in 500 ms)`);
    assert.equal(g.queued, 1, 'the address waits in the queue');
  } finally {
    g.stop();
    await g0.close();
  }
});

/**
 * Microsoft Graph host reputation, the successor of PassiveTotal's per-host lookups:
 * `GET /v1.0/security/threatIntelligence/hosts/{ip}/reputation` (resource hostReputation:
 * `classification` one of unknown, neutral, suspicious, malicious; `score` 0-100), authorised with
 * an Entra ID client-credentials token (`POST {login}/{tenant}/oauth2/v2.0/token`, scope
 * `https://graph.microsoft.com/.default`, application permission ThreatIntelligence.Read.All).
 *
 * Never on the hot path: `peek(ip)` is one Map lookup; a miss (or an expired answer) queues the
 * address, and a single pump drains the queue at most `ratePerMinute` requests a minute. Answers,
 * including "not known" (404), are cached for the TTL; a 429 pauses the pump for its Retry-After.
 */
import { log } from '../../log/logger.js';

export interface Reputation {
  classification: string;
  score: number;
  /** Epoch ms after which the answer is looked up again. */
  expires: number;
}

export interface GraphReputationOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  loginUrl: string;
  graphUrl: string;
  ttlMs: number;
  ratePerMinute: number;
  queueSize: number;
  timeoutMs: number;
  /** Most answers kept (oldest dropped first). */
  cacheMax?: number;
}

export interface GraphCounters {
  requests: number;
  answers: number;
  notFound: number;
  errors: number;
  throttled: number;
  tokens: number;
  queueDropped: number;
}

const SCOPE = 'https://graph.microsoft.com/.default';
/** The longest wait setTimeout holds (2^31-1 ms, about 24.8 days); a longer one would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class GraphReputation {
  private readonly cache = new Map<string, Reputation>();
  private readonly queue = new Set<string>();
  private token: { value: string; expires: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  /**
   * When the next request may start, on the monotonic clock (performance.now()): pacing on the wall
   * clock would pause lookups for as long as a backward step of it (NTP, a VM resumed).
   */
  private nextStart = 0;
  readonly counters: GraphCounters = { requests: 0, answers: 0, notFound: 0, errors: 0, throttled: 0, tokens: 0, queueDropped: 0 };
  lastError: string | null = null;
  lastAnswerAt: number | null = null;
  /** Resolves waiters once the queue is empty and no request runs (tests). */
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: GraphReputationOptions) {}

  get cacheSize(): number {
    return this.cache.size;
  }

  get queued(): number {
    return this.queue.size;
  }

  /** The cached answer (possibly expired, then queued again), or undefined (queued). Hot path: no allocation on a hit. */
  peek(ip: string, now: number): Reputation | undefined {
    const r = this.cache.get(ip);
    if (r !== undefined && r.expires > now) return r;
    this.enqueue(ip);
    return r;
  }

  enqueue(ip: string): void {
    if (this.stopped || this.queue.has(ip)) return;
    if (this.queue.size >= this.o.queueSize) {
      this.counters.queueDropped++;
      return;
    }
    this.queue.add(ip);
    if (this.timer === null && !this.busy) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.clear();
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.size === 0 && !this.busy) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private schedule(): void {
    const left = this.nextStart - performance.now();
    // A Retry-After beyond what a timer holds is waited in parts.
    const wait = Math.min(Math.max(0, left), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (wait < left) this.schedule();
      else void this.pumpOne();
    }, wait);
    this.timer.unref();
  }

  private async pumpOne(): Promise<void> {
    const first = this.queue.values().next();
    if (first.done === true || this.stopped) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    const ip = first.value;
    this.queue.delete(ip);
    this.busy = true;
    // The rate limit spaces request starts evenly: 60 a minute is one a second.
    this.nextStart = performance.now() + 60_000 / this.o.ratePerMinute;
    try {
      await this.lookup(ip);
    } catch (err) {
      this.counters.errors++;
      this.lastError = (err as Error).message;
    }
    this.busy = false;
    if (this.stopped) return;
    if (this.queue.size > 0) this.schedule();
    else for (const w of this.idleWaiters.splice(0)) w();
  }

  private async getToken(force: boolean): Promise<string> {
    if (!force && this.token !== null && this.token.expires > Date.now() + 60_000) return this.token.value;
    const url = `${this.o.loginUrl.replace(/\/+$/, '')}/${encodeURIComponent(this.o.tenantId)}/oauth2/v2.0/token`;
    const body = new URLSearchParams({ client_id: this.o.clientId, client_secret: this.o.clientSecret, scope: SCOPE, grant_type: 'client_credentials' });
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(this.o.timeoutMs) });
    const j = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!res.ok || typeof j.access_token !== 'string') {
      // error_description carries the AADSTS code and never the secret.
      throw new Error(`Entra ID token request answered HTTP ${res.status}${j.error ? `: ${j.error}` : ''}${j.error_description ? ` (${j.error_description.split('\n')[0]})` : ''}`);
    }
    this.counters.tokens++;
    this.token = { value: j.access_token, expires: Date.now() + (j.expires_in ?? 3599) * 1000 };
    return this.token.value;
  }

  private async lookup(ip: string, retried = false): Promise<void> {
    const token = await this.getToken(false);
    const url = `${this.o.graphUrl.replace(/\/+$/, '')}/v1.0/security/threatIntelligence/hosts/${encodeURIComponent(ip)}/reputation`;
    this.counters.requests++;
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(this.o.timeoutMs) });
    const now = Date.now();
    if (res.status === 401 && !retried) {
      await res.body?.cancel();
      this.token = null;
      return this.lookup(ip, true);
    }
    if (res.status === 429) {
      await res.body?.cancel();
      this.counters.throttled++;
      const after = Number(res.headers.get('retry-after'));
      const pauseMs = Number.isFinite(after) && after > 0 ? after * 1000 : 60_000;
      this.nextStart = performance.now() + pauseMs;
      // Put it back at the end; it is looked up once the pause is over.
      this.queue.add(ip);
      log.warn(`Microsoft Graph reputation: throttled (HTTP 429), pausing lookups for ${Math.round(pauseMs / 1000)} s`);
      return;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      this.counters.notFound++;
      this.put(ip, { classification: 'unknown', score: 0, expires: now + this.o.ttlMs });
      return;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`reputation request for a host answered HTTP ${res.status}`);
    }
    const j = (await res.json()) as { classification?: unknown; score?: unknown };
    this.counters.answers++;
    this.lastAnswerAt = now;
    this.lastError = null;
    this.put(ip, {
      classification: typeof j.classification === 'string' ? j.classification : 'unknown',
      score: typeof j.score === 'number' ? j.score : 0,
      expires: now + this.o.ttlMs,
    });
  }

  private put(ip: string, r: Reputation): void {
    this.cache.delete(ip);
    this.cache.set(ip, r);
    const max = this.o.cacheMax ?? 200_000;
    if (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
  }
}

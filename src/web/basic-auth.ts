/**
 * The web server's login (EF_WEBUI_AUTH_USERNAME/_PASSWORD): HTTP Basic (RFC 7617), checked on every
 * request but the probes'. Browsers ask once and send it with each request of the origin, the API's
 * fetches included, and Prometheus and curl take it as they are; no sessions or cookies to keep.
 * Credentials are compared by SHA-256 digest with timingSafeEqual, so neither their length nor their
 * first differing byte shows in the time an answer takes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { log } from '../log/logger.js';

/** Failed logins are logged at most this often, with their count and the last address. */
const FAILURE_LOG_MS = 60_000;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class BasicAuth {
  private readonly want: Buffer;
  private failed = 0;
  private lastFrom = '';
  private loggedAt = 0;
  /** Failed logins since start (the ufc_web_login_failed_total metric). */
  failures = 0;

  constructor(user: string, password: string) {
    this.want = digest(`${user}:${password}`);
  }

  /** The `WWW-Authenticate` value of a 401: UTF-8 credentials (RFC 7617 §2.1). */
  static readonly CHALLENGE = 'Basic realm="ufc", charset="UTF-8"';

  /** Whether an `Authorization` header carries the configured user and password; `from` names the client in the log. */
  check(header: string | undefined, from: string): boolean {
    if (header === undefined) return false;
    const m = /^basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i.exec(header);
    const given = m === null ? '' : Buffer.from(m[1]!, 'base64').toString('utf8');
    if (timingSafeEqual(digest(given), this.want)) return true;
    this.failures++;
    this.failed++;
    this.lastFrom = from;
    const now = Date.now();
    if (now - this.loggedAt >= FAILURE_LOG_MS) {
      log.warn(`web UI: failed login from ${this.lastFrom} (${this.failed} since the last such line; EF_WEBUI_AUTH_USERNAME)`);
      this.failed = 0;
      this.loggedAt = now;
    }
    return false;
  }
}

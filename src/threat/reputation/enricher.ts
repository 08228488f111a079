/**
 * Marks flow ends with their Microsoft Graph host reputation when the answer is already cached
 * (see msgraph.ts): `sec.threat.name` gets `<classification>:<score>` (e.g. `malicious:92`) and
 * `sec.threat.feed.name` gets `msgraph`, appended to what other feeds set. Only public addresses
 * are looked up: an end the locality enricher, the registries or EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS
 * call private is never asked about (the strictest answer wins, as for the RiskIQ output: the address
 * metadata file's `internal: false` does not make such an address one to send to Graph); only
 * `suspicious` and `malicious` answers at or above the minimum score mark a flow.
 */
import type { Config } from '../../config/schema.js';
import { LocalityEnricher } from '../../enrich/locality.js';
import { registerSecrets } from '../../log/redact.js';
import type { Enricher } from '../../pipeline/types.js';
import type { FlowRecord } from '../../record/flow-record.js';
import { GraphReputation, type Reputation } from './msgraph.js';

export const MSGRAPH_FEED = 'msgraph';

export class MsGraphReputationEnricher implements Enricher {
  readonly name = 'msgraph-threat-reputation';
  /** One cache and one request pump per process. */
  readonly placement = 'main' as const;
  readonly rep: GraphReputation;
  private readonly minScore: number;
  /** The registries and the user's private ranges. */
  private readonly privateRanges: LocalityEnricher;

  constructor(c: Config) {
    this.privateRanges = new LocalityEnricher(c.EF_PROCESSOR_ENRICH_IPADDR_PRIVATE_CIDRS);
    registerSecrets([c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET]);
    for (const k of ['EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID', 'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID', 'EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET'] as const) {
      if (c[k].trim() === '') throw new Error(`EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_ENABLE needs ${k}`);
    }
    this.minScore = c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_MIN_SCORE;
    this.rep = new GraphReputation({
      tenantId: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TENANT_ID.trim(),
      clientId: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_ID.trim(),
      clientSecret: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CLIENT_SECRET,
      loginUrl: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_LOGIN_URL,
      graphUrl: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_GRAPH_URL,
      ttlMs: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_CACHE_TTL * 60_000,
      ratePerMinute: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_RATE_LIMIT,
      queueSize: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_QUEUE_SIZE,
      timeoutMs: c.EF_PROCESSOR_ENRICH_IPADDR_MSGRAPH_TIMEOUT * 1000,
    });
  }

  async stop(): Promise<void> {
    this.rep.stop();
  }

  private marks(r: Reputation | undefined): boolean {
    return r !== undefined && (r.classification === 'malicious' || r.classification === 'suspicious') && r.score >= this.minScore;
  }

  enrich(batch: FlowRecord[]): void {
    const now = Date.now();
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      if (r.kind !== 'flow') continue;
      if (r.srcIp !== '' && r.srcLocality !== 'private' && !this.privateRanges.isPrivate(r.srcIp)) {
        const a = this.rep.peek(r.srcIp, now);
        if (this.marks(a)) {
          const n = `${a!.classification}:${a!.score}`;
          r.srcThreatName = r.srcThreatName === '' ? n : r.srcThreatName + ',' + n;
          r.srcThreatFeed = r.srcThreatFeed === '' ? MSGRAPH_FEED : r.srcThreatFeed + ',' + MSGRAPH_FEED;
        }
      }
      if (r.dstIp !== '' && r.dstLocality !== 'private' && !this.privateRanges.isPrivate(r.dstIp)) {
        const a = this.rep.peek(r.dstIp, now);
        if (this.marks(a)) {
          const n = `${a!.classification}:${a!.score}`;
          r.dstThreatName = r.dstThreatName === '' ? n : r.dstThreatName + ',' + n;
          r.dstThreatFeed = r.dstThreatFeed === '' ? MSGRAPH_FEED : r.dstThreatFeed + ',' + MSGRAPH_FEED;
        }
      }
    }
  }

  /** For the Integrations page and /metrics (src/web/integrations.ts). */
  status(): Record<string, unknown> {
    return {
      feed: MSGRAPH_FEED,
      enabled: true,
      entries: this.rep.cacheSize,
      queued: this.rep.queued,
      lastRefresh: this.rep.lastAnswerAt,
      nextRefresh: null,
      lastError: this.rep.lastError,
      source: this.rep === null ? null : 'Microsoft Graph host reputation',
      ...this.rep.counters,
    };
  }
}

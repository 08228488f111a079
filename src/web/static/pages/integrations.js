// Integrations: the RiskIQ PassiveTotal blocklist (size, last and next refresh, last error), the
// RiskIQ output's counters (sent, skipped, dropped), the files of yours the enrichers read
// (entries, when loaded, a failed read), and the web UI's login and certificate. Shows "not enabled" for what is off.
import { h, fill } from '../lib/dom.js';
import { getJson } from '../lib/api.js';
import { card, errorBox, fmt, kv, stat } from '../lib/widgets.js';

function notEnabled(what, how) {
  return h('div', { class: 'off' }, h('span', { class: 'tag muted' }, 'not enabled'), ' ', what, ' ', h('small', null, how));
}

/** Days a certificate has left before its end, below which the page warns. */
const CERT_WARN_DAYS = 14;

/** The web UI's own access: the login, and HTTPS's certificate (when it ends, whether a renewal loaded). */
function webAccess(w, now) {
  const t = w.https;
  const days = t && t.notAfter !== null ? Math.floor((t.notAfter - now) / 86_400_000) : null;
  return card('Web UI access',
    h('div', { class: 'stats' },
      stat('Login', w.login ? 'required' : 'none', w.login ? 'EF_WEBUI_AUTH_USERNAME' : 'set EF_WEBUI_AUTH_USERNAME and _PASSWORD', 'web-login'),
      stat('HTTPS', t ? (days === null ? 'on' : t.notAfter < now ? 'expired' : days < 1 ? `${fmt.num(Math.floor((t.notAfter - now) / 3_600_000))} hours left` : `${fmt.num(days)} days left`) : 'off', t && t.notAfter !== null ? `${t.endsFirst ? 'chain' : 'certificate'} valid until ${fmt.time(t.notAfter)}` : t ? null : 'EF_WEBUI_TLS_ENABLE', 'web-https')),
    t && t.error ? h('div', { class: 'error', role: 'alert' }, h('strong', null, 'The certificate files changed but did not load; the certificate before is served: '), t.error) : null,
    t && days !== null && days < CERT_WARN_DAYS ? h('div', { class: 'error', role: 'alert' }, t.notAfter < now ? `${t.endsFirst ? `A certificate of the chain (${t.endsFirst}) has` : 'The certificate has'} expired: browsers refuse it.`
      : `${t.endsFirst ? `A certificate of the chain (${t.endsFirst})` : 'The certificate'} ends in ${days < 1 ? `${fmt.num(Math.floor((t.notAfter - now) / 3_600_000))} hours` : `${fmt.num(days)} days`}: renew it (the new files are served within 10 minutes, no restart).`) : null,
    t ? kv([['Certificate', h('code', null, t.certPath)], ['Key', h('code', null, t.keyPath)], ['Subject', t.subject], ['Issuer', t.issuer], t.endsFirst ? ['Ends first', `${t.endsFirst} (in the chain)`] : null, t.loadedAt ? ['Loaded', fmt.time(t.loadedAt)] : null]) : null);
}

export function mount(root, info) {
  const body = h('div', { class: 'grid two' });
  root.append(body);
  return {
    async refresh(signal) {
      let d;
      try {
        d = await getJson('/api/integrations', undefined, signal);
      } catch (err) {
        if (!signal?.aborted) fill(body, errorBox(err));
        throw err;
      }
      const feeds = d.feeds.length === 0
        ? [card('RiskIQ PassiveTotal blocklist', notEnabled('The threat enricher is off.', 'Set EF_PROCESSOR_ENRICH_IPADDR_RISKIQ_THREAT_ENABLE=true with _API_USER and _API_KEY.'))]
        : d.feeds.map((f) => card(`Threat feed: ${f.feed}`,
          h('div', { class: 'stats' },
            stat('Blocklist entries', f.entries === null ? 'not loaded' : fmt.num(f.entries), null, `feed-${f.feed}-entries`),
            stat('Last refresh', f.lastRefresh ? fmt.ago(f.lastRefresh, d.now) : 'never', f.lastRefresh ? fmt.time(f.lastRefresh) : null),
            stat('Next refresh', f.nextRefresh ? fmt.ago(f.nextRefresh, d.now) : '–', f.nextRefresh ? fmt.time(f.nextRefresh) : null)),
          f.lastError ? h('div', { class: 'error', role: 'alert' }, h('strong', null, 'Last error: '), f.lastError) : h('p', { class: 'ok' }, 'Last refresh succeeded.'),
          kv([f.source ? ['Source', f.source] : null, f.lastAttempt ? ['Last attempt', fmt.time(f.lastAttempt)] : null,
            f.feed === 'riskiq' ? ['Launch in-context', h('code', null, info.passiveTotalUrl + '<ip>')] : null])));
      const o = d.riskiqOutput;
      const out = !o.enabled
        ? card('RiskIQ output', notEnabled('The RiskIQ output is off.', 'Set EF_OUTPUT_RISKIQ_ENABLE=true with _CUSTOMER_UUID and _CUSTOMER_ENCRYPTION_KEY.'))
        : card('RiskIQ output',
          h('div', { class: 'stats' },
            stat('Sent', fmt.num(o.sent), 'records', 'riskiq-sent'),
            stat('Skipped', fmt.num(o.skipped), 'private on both ends', 'riskiq-skipped'),
            stat('Dropped', fmt.num(o.dropped), null, 'riskiq-dropped')),
          kv(Object.entries(o.counters).map(([k, v]) => [k.replace(/_/g, ' '), fmt.num(v)])));
      // Files of yours the enrichers read (only those whose enricher is on): did the last edit load?
      const files = d.files.map((x) => card(`File: ${x.what}`,
        h('div', { class: 'stats' },
          x.entries === null ? stat('Database', x.description || '–', null) : stat('Entries', fmt.num(x.entries), null),
          stat('Loaded', x.loadedAt ? fmt.ago(x.loadedAt, d.now) : 'not yet', x.loadedAt ? fmt.time(x.loadedAt) : null)),
        x.error ? h('div', { class: 'error', role: 'alert' }, h('strong', null, x.loadedAt === null
          // A decode worker restarted after a crash while the file did not load: it runs without it.
          ? `The file did not load; enriching goes on without it until it does: `
          : `Last read failed, the previous ${x.entries === null ? 'database' : 'table'} stays in use: `), x.error)
          : h('p', { class: 'ok' }, `The last read succeeded; the file is looked at again every ${x.refreshMinutes === 1 ? 'minute' : `${fmt.num(x.refreshMinutes)} minutes`}, and read when it changed.`),
        kv([['File', h('code', null, x.path)], ['Option', h('code', null, x.option)], x.checkedAt ? ['Last looked at', fmt.time(x.checkedAt)] : null])));
      fill(body, ...feeds, out, ...files, ...(d.web ? [webAccess(d.web, d.now)] : []));
    },
  };
}

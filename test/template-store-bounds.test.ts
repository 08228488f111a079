/**
 * The template store's bounds at its own API (src/decode/template/store.ts): what a full table evicts
 * and what it refuses, what a refused change of layout leaves behind, and the per-address accounting.
 * The same bounds seen through the decoders are in decode-ipfix-quirks.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TemplateStore, type AddressShare, type DomainState } from '../src/decode/template/store.js';
import type { TemplateField } from '../src/decode/template/compile.js';
import { mulberry32 } from '../src/dev/prng.js';

const HOUR = 3_600_000;
/** The store's idle window (IDLE_MS): a template neither announced nor used this long may be evicted. */
const IDLE = 35 * 60_000;

/** `n` fields; `len` varies the layout with the same field count. */
function fieldsOf(n: number, len = 4): TemplateField[] {
  return Array.from({ length: n }, (_, i) => ({ id: 1 + (i % 200), pen: 0, len }));
}
const F10 = fieldsOf(10);

interface StoreInside {
  domains: Map<string, DomainState>;
  addresses: Map<string, AddressShare>;
  templateCount: number;
  fieldTotal: number;
  appNames: { n: number };
  ifNames: { n: number };
  evictFor: (...args: unknown[]) => boolean;
}
const inside = (s: TemplateStore): StoreInside => s as unknown as StoreInside;

const refused = (ev: string): boolean => ev.includes('refused');

/** Evicted templates by address since the last call, as a plain object. */
function evicted(s: TemplateStore): Record<string, number> {
  return Object.fromEntries(s.takeEvicted() ?? []);
}

/** `ids` templates of 10 fields in `d` at `now`; how many were refused. */
function announce(s: TemplateStore, d: DomainState, first: number, n: number, now: number): number {
  let no = 0;
  for (let id = first; id < first + n; id++) if (refused(s.add(d, id, F10, 0, false, now))) no++;
  return no;
}

test('a full table does not evict an active router\'s templates for many small spoofed addresses', () => {
  const s = new TemplateStore(false, HOUR);
  const router = s.domain('192.0.2.1', 0, true, 0)!;
  assert.equal(announce(s, router, 256, 200, 0), 0);
  const spoofed: DomainState[] = [];
  for (let i = 0; i < 996; i++) {
    const d = s.domain(`10.66.${i >> 8}.${i & 0xff}`, 0, true, 0)!;
    spoofed.push(d);
    assert.equal(announce(s, d, 256, 50, 0), 0);
  }
  assert.equal(s.counts().templates, 50_000, 'the table is full');
  let routerRefused = 0, spoofedRefused = 0;
  const lost: Record<string, number> = {};
  for (let sec = 0; sec < 20; sec++) {
    const now = sec * 1000;
    for (const d of spoofed) spoofedRefused += announce(s, d, 306 + sec, 1, now);
    routerRefused += announce(s, router, 256, 200, now);
    for (const [a, n] of Object.entries(evicted(s))) lost[a] = (lost[a] ?? 0) + n;
  }
  assert.equal(router.templates.size, 200, 'the router keeps all its templates');
  assert.equal(routerRefused, 0, 'none of its announcements is refused');
  assert.equal(spoofedRefused, 996 * 20, 'the newcomers are refused: nothing is idle');
  assert.deepEqual(lost, {});
});

test('nine addresses each wanting a full share settle: the ninth is refused, no active template is evicted', () => {
  const s = new TemplateStore(false, HOUR);
  const scopes = Array.from({ length: 9 }, (_, a) => [s.domain(`198.51.100.${a + 1}`, 1, true, 0)!, s.domain(`198.51.100.${a + 1}`, 2, true, 0)!] as const);
  let lost = 0, refusedNinth = 0;
  for (let round = 0; round < 10; round++) {
    const now = round * 1000;
    scopes.forEach(([d1, d2], a) => {
      const no = announce(s, d1, 256, 4096, now) + announce(s, d2, 256, 2154, now);
      if (a === 8) refusedNinth += no;
      else assert.equal(no, 0, `address ${a + 1}, round ${round}: nothing refused`);
    });
    lost += Object.values(evicted(s)).reduce((x, y) => x + y, 0);
  }
  assert.equal(lost, 0);
  assert.equal(refusedNinth, 10 * 6250);
  assert.equal(s.counts().templates, 50_000);
});

test('a full table evicts templates idle for the idle window, least recently active first; templates used by data are not idle', () => {
  const s = new TemplateStore(false, 24 * HOUR);
  const holders = Array.from({ length: 8 }, (_, a) => [s.domain(`198.51.100.${a + 1}`, 1, true, 0)!, s.domain(`198.51.100.${a + 1}`, 2, true, 0)!] as const);
  // Domain 1 announced at 0, domain 2 a second later: 8 x 6,250 = 50,000.
  for (const [d1, d2] of holders) { announce(s, d1, 256, 4096, 0); announce(s, d2, 256, 2154, 1000); }
  const [first1, first2] = holders[0]!;
  // The first address falls silent, but data keeps using its templates until 30 minutes.
  let t = 30 * 60_000;
  for (const d of [first1, first2]) for (const id of d.templates.keys()) assert.ok(s.get(d, id, t) !== undefined);
  // The others keep announcing theirs.
  const others = (now: number): void => { for (const [d1, d2] of holders.slice(1)) { announce(s, d1, 256, 4096, now); announce(s, d2, 256, 2154, now); } };
  t = IDLE + 60_000;
  others(t);
  const newcomer = s.domain('192.0.2.50', 1, true, t)!;
  assert.equal(announce(s, newcomer, 256, 1, t), 1, 'nothing idle: refused (the first address\'s data used its templates 6 minutes ago)');
  assert.deepEqual(evicted(s), {});
  // Past the idle window after that use: its templates are idle, the others' are not.
  t = 30 * 60_000 + IDLE + 1000;
  others(t);
  assert.equal(announce(s, newcomer, 256, 1, t), 0);
  // One batch: 1/64 of the table (782); all were last used at 30 minutes, so in the order stored: domain 1's first.
  assert.deepEqual(evicted(s), { '198.51.100.1': 782 });
  assert.deepEqual([first1.templates.size, first2.templates.size], [4096 - 782, 2154]);
  assert.equal(first1.templates.has(256 + 781), false);
  assert.equal(first1.templates.has(256 + 782), true);
  // The batch's room takes 781 more without evicting again; the next one evicts the next batch.
  assert.equal(announce(s, newcomer, 257, 781, t), 0);
  assert.deepEqual(evicted(s), {});
  assert.equal(announce(s, newcomer, 257 + 781, 1, t), 0);
  assert.deepEqual(evicted(s), { '198.51.100.1': 782 });
  for (const [d1, d2] of holders.slice(1)) assert.equal(d1.templates.size + d2.templates.size, 6250, 'active holders keep all theirs');
});

test('a full table with nothing idle refuses templates without a pass over every address each time', () => {
  const s = new TemplateStore(false, 24 * HOUR);
  const scopes: DomainState[] = [];
  for (let i = 0; i < 10_000; i++) {
    const d = s.domain(`10.${i >> 16}.${(i >> 8) & 0xff}.${i & 0xff}`, 0, true, 0)!;
    scopes.push(d);
    announce(s, d, 256, 5, 0);
  }
  assert.equal(s.counts().templates, 50_000);
  const x = inside(s);
  const evictFor = x.evictFor.bind(s);
  let passes = 0;
  x.evictFor = (...args: unknown[]): boolean => { passes++; return evictFor(...args); };
  // 20,000 new templates over 20 s, nothing idle: all refused.
  let no = 0;
  for (let i = 0; i < 20_000; i++) no += announce(s, scopes[i % 10_000]!, 261 + Math.floor(i / 10_000), 1, i);
  assert.equal(no, 20_000);
  assert.ok(passes <= 200, `${passes} eviction passes for 20,000 refused templates`);
  // All idle: each pass evicts a batch the next templates fill.
  passes = 0;
  const t = 20_000 + IDLE + 1000;
  for (let i = 0; i < 20_000; i++) assert.equal(announce(s, scopes[i % 10_000]!, 300 + Math.floor(i / 10_000), 1, t), 0);
  assert.ok(passes <= Math.ceil(20_000 / 782), `${passes} eviction passes for 20,000 templates`);
});

test('a scope holds exactly 4,096 templates (MAX_TEMPLATES_PER_DOMAIN): the 4,096th is taken, the 4,097th refused', () => {
  const s = new TemplateStore(false, HOUR);
  const d = s.domain('192.0.2.1', 1, true, 0)!;
  assert.equal(announce(s, d, 256, 4096, 0), 0, 'all 4,096 taken');
  assert.equal(d.templates.size, 4096, 'the scope holds 4,096');
  assert.equal(s.add(d, 256 + 4096, F10, 0, false, 0), 'refused', 'one more ID is refused');
  assert.equal(d.templates.size, 4096, 'still 4,096');
  // A full scope still takes a new layout for an ID it holds: that adds no template.
  assert.equal(s.add(d, 256, fieldsOf(10, 2), 0, false, 1000), 'changed', 'a changed layout at the bound');
  // Another scope of the same address has its own 4,096.
  assert.equal(s.add(s.domain('192.0.2.1', 2, true, 0)!, 256, F10, 0, false, 0), 'new', 'another scope');
});

test('the store holds exactly 10,000 scopes (MAX_DOMAINS): the 10,000th is made, the 10,001st is not', () => {
  const s = new TemplateStore(false, 24 * HOUR);
  // One scope an address (an address holds at most 256), each with a template so reclaiming frees none.
  const addr = (i: number): string => `10.${i >> 16}.${(i >> 8) & 0xff}.${i & 0xff}`;
  for (let i = 0; i < 10_000; i++) {
    const d = s.domain(addr(i), 0, true, 0);
    assert.ok(d !== undefined, `scope ${i + 1} is made`);
    assert.equal(s.add(d, 256, F10, 0, false, 0), 'new', `scope ${i + 1} takes its template`);
  }
  assert.equal(inside(s).domains.size, 10_000, '10,000 scopes');
  assert.equal(s.domain(addr(10_000), 0, true, 1000), undefined, 'the 10,001st scope is not made');
  assert.equal(s.domain(addr(0), 1, true, 1000), undefined, 'nor a new scope of a known address');
  assert.ok(s.domain(addr(0), 0, true, 1000) !== undefined, 'a scope it holds is still found');
  assert.equal(inside(s).domains.size, 10_000, 'still 10,000');
});

test('a template ID reused with a layout that is refused no longer serves the old layout', () => {
  const s = new TemplateStore(false, HOUR);
  // A scope's fields: 16 templates of 4,096 fields fill its 65,536.
  const d = s.domain('192.0.2.1', 1, true, 0)!;
  for (let id = 256; id < 272; id++) assert.equal(s.add(d, id, fieldsOf(4096), 0, false, 0), 'new');
  assert.equal(s.add(d, 256, fieldsOf(4097), 0, false, 1000), 'changed, refused');
  assert.equal(s.get(d, 256, 1000), undefined, 'withdrawn: its data waits for a template');
  assert.equal(s.add(d, 256, fieldsOf(4096, 2), 0, false, 2000), 'new', 'the room it left takes a layout that fits');
  // The address's share: 6,250 templates, then a changed layout of more fields than the share has left.
  // Two scopes of 4 x 16,000 fields (128,000 of its 131,072), and one template of 16 fields.
  const e = s.domain('192.0.2.2', 1, true, 0)!;
  assert.equal(s.add(e, 256, fieldsOf(16), 0, false, 0), 'new');
  const f = [2, 3].map((domain) => s.domain('192.0.2.2', domain, true, 0)!);
  for (const x of f) for (let i = 0; i < 4; i++) assert.equal(s.add(x, 256 + i, fieldsOf(16_000), 0, false, 0), 'new');
  assert.equal(s.add(e, 256, fieldsOf(6200), 0, false, 1000), 'changed, refused: address share');
  assert.equal(s.get(e, 256, 1000), undefined);
  // The same layout again is no change: kept.
  assert.equal(s.add(f[0]!, 256, fieldsOf(16_000), 0, false, 1000), 'same');
  assert.ok(s.get(f[0]!, 256, 1000) !== undefined);
});

/** Each address's share is the sum over its scopes, and the store's totals the sum over all. */
function checkAccounts(s: TemplateStore, seen: Set<AddressShare>, when: string): void {
  const x = inside(s);
  const sums = new Map<AddressShare, { templates: number; fields: number; appNames: number; ifNames: number; scopes: number }>();
  let templates = 0, fields = 0, appNames = 0, ifNames = 0;
  for (const d of x.domains.values()) {
    assert.equal(x.addresses.get(d.exporter), d.share, `${when}: ${d.exporter} has its share entry`);
    assert.ok(d.share.scopes.has(d), `${when}: the share lists scope ${d.exporter}|${d.domain}`);
    let f = 0;
    for (const t of d.templates.values()) f += t.fields.length;
    assert.equal(d.fieldCount, f, `${when}: ${d.exporter}|${d.domain} field count`);
    const sum = sums.get(d.share) ?? { templates: 0, fields: 0, appNames: 0, ifNames: 0, scopes: 0 };
    sum.templates += d.templates.size; sum.fields += f; sum.appNames += d.appNames.size; sum.ifNames += d.ifNames.size; sum.scopes++;
    sums.set(d.share, sum);
    templates += d.templates.size; fields += f; appNames += d.appNames.size; ifNames += d.ifNames.size;
  }
  for (const [exporter, share] of x.addresses) {
    const sum = sums.get(share) ?? { templates: 0, fields: 0, appNames: 0, ifNames: 0, scopes: 0 };
    assert.deepEqual({ templates: share.templates, fields: share.fields, appNames: share.appNames, ifNames: share.ifNames, scopes: share.scopes.size }, sum, `${when}: ${exporter}'s share`);
  }
  for (const share of seen) {
    if (x.addresses.get(share.exporter) === share) continue;
    // An address entry that was let go holds nothing.
    assert.deepEqual([share.templates, share.fields, share.appNames, share.ifNames, share.scopes.size], [0, 0, 0, 0, 0], `${when}: ${share.exporter}'s old share`);
  }
  assert.deepEqual([x.templateCount, x.fieldTotal, x.appNames.n, x.ifNames.n], [templates, fields, appNames, ifNames], `${when}: store totals`);
}

test('address shares add up to their scopes and the store totals through layout changes, withdrawals, expiry and names', () => {
  const LIFE = 60_000;
  const s = new TemplateStore(false, LIFE);
  // Seeded: the rounds are the same on every run.
  const rnd = mulberry32(20261129);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const seen = new Set<AddressShare>();
  const did = { changed: 0, withdrawnOne: 0, withdrawnAll: 0, expiredByGet: 0, expiredByReclaim: 0, scopesGone: 0, appNames: 0, ifNames: 0 };
  let now = 0;
  for (let round = 0; round < 400; round++) {
    now += 1000 + pick(5000);
    for (const exporter of ['192.0.2.1', '192.0.2.2']) {
      for (const domain of [1, 2, 3]) {
        // Scopes fall silent for longer than the lifetime while others of their address live on, and
        // the second address falls silent whole; data for them still comes.
        const quiet = exporter === '192.0.2.1' ? domain === 3 && round % 100 >= 50
          : round % 80 >= 60 || (domain === 2 && round % 50 >= 30);
        const d = s.domain(exporter, domain, !quiet, now);
        if (d === undefined) continue;
        seen.add(d.share);
        if (!quiet && rnd() < 0.6) {
          for (let k = 0; k < 3; k++) {
            const options = rnd() < 0.3;
            const ev = s.add(d, 256 + pick(6), fieldsOf(1 + pick(4), 1 + pick(3)), options ? 1 : 0, options, now);
            if (ev === 'changed') did.changed++;
          }
          if (rnd() < 0.1) did.withdrawnOne += s.withdraw(d, 256 + pick(6), null);
          if (rnd() < 0.05) did.withdrawnAll += s.withdraw(d, 0, rnd() < 0.5 ? 'data' : 'options');
          if (rnd() < 0.3 && !s.learnAppName(d, `app${pick(20)}`, `name${pick(3)}`)) did.appNames++;
          if (rnd() < 0.3 && !s.learnIfName(d, 1 + pick(20), `if${pick(3)}`)) did.ifNames++;
        }
        if (rnd() < 0.5) {
          s.get(d, 256 + pick(6), now);
          did.expiredByGet += s.takeExpired();
        }
      }
    }
    if (round % 10 === 9) {
      const scopes = inside(s).domains.size;
      s.reclaim(now);
      did.expiredByReclaim += s.takeExpired();
      did.scopesGone += scopes - inside(s).domains.size;
    }
    checkAccounts(s, seen, `round ${round}`);
  }
  // Every kind of change happened, several times.
  for (const [what, n] of Object.entries(did)) assert.ok(n >= 5, `${what}: ${n}`);
  // Everything ages out: all counts back to zero, and the address entries go with their last scope.
  now += LIFE + 1;
  s.reclaim(now);
  checkAccounts(s, seen, 'at the end');
  const x = inside(s);
  assert.deepEqual([x.domains.size, x.addresses.size, x.templateCount, x.fieldTotal, x.appNames.n, x.ifNames.n], [0, 0, 0, 0, 0, 0]);
  assert.equal(seen.size >= 2, true);
});

test('interface names are bounded per address over several scopes of that address', () => {
  const s = new TemplateStore(false, HOUR);
  // Five scopes of one address, 20,000 interfaces each: the address holds 65,536 (a quarter of 262,144).
  let no = 0;
  const scopes = [1, 2, 3, 4, 5].map((domain) => s.domain('192.0.2.1', domain, true, 0)!);
  for (const d of scopes) for (let i = 1; i <= 20_000; i++) if (s.learnIfName(d, i, `if${i}`)) no++;
  assert.deepEqual(scopes.map((d) => d.ifNames.size), [20_000, 20_000, 20_000, 5536, 0]);
  assert.equal(no, 100_000 - 65_536);
  assert.equal(scopes[0]!.share.ifNames, 65_536);
  // A known interface renamed is no new name: taken.
  assert.equal(s.learnIfName(scopes[0]!, 1, 'renamed'), false);
  assert.equal(scopes[0]!.ifNames.get(1), 'renamed');
  // Another address has its own share.
  const other = s.domain('192.0.2.2', 1, true, 0)!;
  assert.equal(s.learnIfName(other, 1, 'if1'), false);
});

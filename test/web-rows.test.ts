/** CSV rows (RFC 4180 quoting, no spreadsheet formulas), chart steps and the metrics' counter split. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSV_COLUMNS, flowRow, toCsvRow } from '../src/web/flow-rows.js';
import { chooseStep } from '../src/web/api.js';
import { isDepthCounter } from '../src/web/metrics.js';

test('CSV cells are quoted per RFC 4180 and never start a formula', () => {
  const row = flowRow({
    '@timestamp': 1700000000000, 'flow.export.ip.addr': '192.0.2.1', 'flow.src.ip.addr': '2001:db8::1', 'flow.dst.ip.addr': '198.51.100.7',
    'flow.src.l4.port.id': 443, 'flow.dst.l4.port.id': 51000, 'l4.proto.id': 6, 'l4.proto.name': 'tcp', 'flow.bytes': 1200, 'flow.packets': 3,
    'flow.src.geo.country.name': 'Korea, Republic of', 'flow.dst.sec.threat.name': ['=HYPERLINK("x")', 'c2'], 'flow.dst.sec.threat.feed.name': ['riskiq'],
    'flow.in.netif.index': 3, 'flow.out.netif.index': 4, 'flow.in.netif.name': '-Gi0/3, "core"', 'flow.out.netif.name': 'Te1/4',
    'flow.src.host.name': 'www.example.net', 'flow.dst.host.name': '+evil.example',
    'flow.src.ip.subnet.name': 'guest wifi, floor 2', 'flow.src.ip.subnet.tags': ['wifi', 'dhcp'], 'flow.export.host.name': 'core-1.example',
    'flow.dst.ip.subnet.name': '@dmz', 'flow.dst.ip.subnet.tags': ['web'],
  });
  assert.deepEqual([row.srcNet, row.srcNetTags, row.dstNet, row.dstNetTags], ['guest wifi, floor 2', ['wifi', 'dhcp'], '@dmz', ['web']]);
  const cells = toCsvRow(row);
  assert.match(cells, /,"Korea, Republic of",/);
  // The formula is neutralised with a leading quote, and the embedded quotes are doubled.
  assert.match(cells, /,"'=HYPERLINK\(""x""\);c2",/);
  assert.equal(CSV_COLUMNS.length, 29);
  // The interface columns came last, after the 20 earlier ones, then the host names, then the network names.
  assert.deepEqual(CSV_COLUMNS.slice(19), ['flow.community.id', 'flow.in.netif.index', 'flow.out.netif.index', 'flow.in.netif.name', 'flow.out.netif.name', 'flow.src.host.name', 'flow.dst.host.name', 'flow.src.ip.subnet.name', 'flow.dst.ip.subnet.name', 'flow.export.host.name']);
  // Parsed back as RFC 4180: one cell per column, values intact.
  const parsed = parseCsvLine(cells);
  assert.equal(parsed.length, CSV_COLUMNS.length);
  assert.equal(parsed[CSV_COLUMNS.indexOf('flow.src.ip.addr')], '2001:db8::1');
  assert.equal(parsed[CSV_COLUMNS.indexOf('flow.dst.sec.threat.name')], `'=HYPERLINK("x");c2`);
  assert.deepEqual(parsed.slice(20), ['3', '4', `'-Gi0/3, "core"`, 'Te1/4', 'www.example.net', `'+evil.example`, 'guest wifi, floor 2', `'@dmz`, 'core-1.example']);
});

test('chart steps give at most 120 points on round steps', () => {
  for (const span of [60e3, 15 * 60e3, 3600e3, 6 * 3600e3, 86400e3, 7 * 86400e3, 400 * 86400e3]) {
    const step = chooseStep(span);
    assert.ok(span / step <= 120, `${span}: ${step}`);
    assert.equal(step % 1000, 0);
  }
  assert.equal(chooseStep(3600e3), 30e3);
});

test('output counters: depths are gauges, the rest are running totals', () => {
  assert.equal(isDepthCounter('queued'), true);
  assert.equal(isDepthCounter('queued_records'), true);
  // Both go back down (a spill drained; frames confirmed): as counters Prometheus read them as resets.
  assert.equal(isDepthCounter('spill_pending'), true);
  assert.equal(isDepthCounter('inflight_records'), true);
  assert.equal(isDepthCounter('sent'), false);
  assert.equal(isDepthCounter('dropped_queue_full'), false);
});

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') { v += '"'; i += 2; }
        else if (line[i] === '"') { i++; break; }
        else v += line[i++];
      }
      out.push(v);
      i++;
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

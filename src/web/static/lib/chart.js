// A small SVG line chart for rate series: no library. The SVG is an image with a summary for
// screen readers, and the values are in a visually hidden table after it.
import { h, s } from './dom.js';
import * as fmt from './format.js';

const W = 560;
const H = 180;
const PAD = { l: 74, r: 12, t: 12, b: 26 };
/**
 * Width of an axis label of `chars` characters at 11 px, with room to spare: a digit is about 6.2 px
 * wide, the units' letters and separators less on average ("500 Mbit/s" is 51 px). The chart is built
 * before it is in the page, so its text cannot be measured.
 */
const labelWidth = (chars) => Math.ceil(6.5 * chars);

/**
 * points: [{ t, v }], format: value -> label. opts.empty: what to say when every point is 0, in
 * place of "No data in this time range" (the page knows when it has data the steps do not show yet).
 */
export function lineChart(title, points, format, opts = {}) {
  // A range with no flow still has every step (zeros): that is no data, not a flat line at 0.
  if (points.every((p) => p.v === 0)) {
    const said = opts.empty ?? 'No data in this time range';
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${title}: ${said}` });
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, said));
    return h('figure', { class: 'chart-fig' }, h('figcaption', null, title), svg);
  }
  const t0 = points[0].t;
  const t1 = points[points.length - 1].t;
  const span = Math.max(1, t1 - t0);
  const last = points[points.length - 1];
  const peak = Math.max(...points.map((p) => p.v));
  const avg = points.reduce((a, p) => a + p.v, 0) / points.length;
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
    'aria-label': `${title}: ${points.length} points, latest ${format(last.v)}, average ${format(avg)}, peak ${format(peak)}`,
  });
  const top = niceCeil(peak);
  const ticks = [0, 1, 2, 3, 4].map((i) => ({ v: (top * i) / 4, label: format((top * i) / 4) }));
  // The left margin fits the longest value label (a fixed 74 px cut "7380000 Tbit/s" to "00000 Tbit/s").
  const left = Math.max(PAD.l, 6 + 4 + labelWidth(Math.max(...ticks.map((k) => k.label.length))));
  const x = (t) => left + ((t - t0) / span) * (W - left - PAD.r);
  const y = (v) => H - PAD.b - (v / top) * (H - PAD.t - PAD.b);
  for (const { v, label } of ticks) {
    svg.append(s('line', { x1: left, x2: W - PAD.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, label));
  }
  for (const t of [t0, t0 + span / 2, t1]) {
    svg.append(s('text', { x: x(t), y: H - 8, 'text-anchor': t === t0 ? 'start' : t === t1 ? 'end' : 'middle', class: 'axis' }, span > 86_400_000 ? fmt.time(t).slice(5, 16) : fmt.time(t).slice(11, 16)));
  }
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
  const area = `${d}L${x(t1).toFixed(1)},${y(0)}L${x(t0).toFixed(1)},${y(0)}Z`;
  svg.append(s('path', { d: area, class: `area ${opts.tone ?? ''}` }));
  svg.append(s('path', { d, class: `line ${opts.tone ?? ''}` }));
  return h('figure', { class: 'chart-fig' },
    h('figcaption', null, h('span', null, title), h('span', { class: 'chart-now' }, format(last.v))),
    svg,
    h('div', { class: 'chart-legend' }, `avg ${format(avg)} · peak ${format(peak)}`),
    dataTable(title, points, format));
}

/**
 * The chart's values for screen readers (the SVG alone says nothing about them). In a hidden box of
 * its own: a table is never shorter than its rows, so hidden itself it still made the page as long
 * as all of them (a day's Overview scrolled 2,400 px past its footer).
 */
function dataTable(title, points, format) {
  return h('div', { class: 'visually-hidden' }, h('table', { class: 'chart-data' },
    h('caption', null, `${title}, by time`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, title))),
    h('tbody', null, points.map((p) => h('tr', null, h('th', { scope: 'row' }, fmt.time(p.t)), h('td', null, format(p.v)))))));
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  // Tops whose quarters are round numbers too (the grid has 4 steps).
  for (const m of [1, 2, 3, 4, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/* global document, Node */
// DOM building without innerHTML: every value from the API (addresses, names, application
// strings an exporter sent) becomes a text node, so nothing a flow carries can inject markup.

/** h('a', { href: '/x', class: 'y' }, 'text', childNode, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : textOf(el, String(c)));
  }
}

/**
 * Bidirectional text: a name may hold an override (U+202E with no U+202C after it) or right-to-left
 * letters, which reorder what follows them up to the end of the block: an interface named
 * "\u202Eup-link" once showed the other interface's name mirrored after it ("knilpu 41/0iG → knil-pu"),
 * and swapped the filter bar's two links. Text holding such a character is set apart in a <bdi>, whose
 * direction is its own and ends with it. Text without any (all of the UI's own) stays a plain text
 * node. Where an element may not hold one (an option, an SVG text), the text is wrapped in isolate marks.
 */
// Right-to-left scripts (Hebrew to Arabic Extended, their presentation forms, and the historic ones
// above U+10800), the marks, embeddings, overrides and isolates.
const BIDI = /[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefc\u{10800}-\u{10fff}\u{1e800}-\u{1efff}]/u;
const PLAIN_TEXT_ONLY = new Set(['OPTION', 'TEXTAREA', 'TITLE', 'SCRIPT', 'STYLE']);

function textOf(parent, text) {
  if (!BIDI.test(text)) return document.createTextNode(text);
  if (PLAIN_TEXT_ONLY.has(parent.tagName)) return document.createTextNode(isolate(text));
  const b = document.createElement('bdi');
  b.textContent = text;
  return b;
}

/**
 * `text` between U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE when it holds a
 * bidirectional character: for a name inside a tooltip (`title: \`network ${isolate(net)}\``) or
 * other attribute, where no element can set it apart. The marks end any override the name opened.
 */
export function isolate(text) {
  const t = String(text);
  return BIDI.test(t) ? `\u2068${t}\u2069` : t;
}

/** What tells a control from those around it, and finds it again once drawn anew: its kind, id, link, name and text. */
const focusKey = (el) => [el.tagName, el.id, el.getAttribute('href'), el.getAttribute('name'), el.textContent].join('\n');

/**
 * Runs `redraw`, which puts what is in `next` where `old` (or what it held) was. When the keyboard
 * focus was in `old`, it goes to the same control in `next` (the link to the same address, the same
 * pager button) rather than to the page's body: live pages redraw every 10 s, and a keyboard user
 * was sent back to the top of the page each time.
 */
function keepingFocus(old, next, redraw) {
  const had = document.activeElement;
  if (had === null || had === document.body || !old.contains(had)) {
    redraw();
    return;
  }
  const key = focusKey(had);
  // Where it is: the labelled card or table around it, and which of the controls alike in there (an
  // address is often linked in several cards, and twice in one table).
  const place = placeOf(had);
  const alike = (root) => [...root.querySelectorAll(had.tagName)].filter((el) => !el.disabled && focusKey(el) === key);
  const nth = alike(old).filter((el) => placeOf(el) === place).indexOf(had);
  redraw();
  if (document.activeElement === had) return;
  const candidates = alike(next);
  const there = candidates.filter((el) => placeOf(el) === place);
  const same = there.length > 0 ? there[Math.min(Math.max(nth, 0), there.length - 1)] : candidates[0];
  same?.focus({ preventScroll: true });
}

/** The label of the card or table a control is in ('' for none). */
function placeOf(el) {
  return el.parentElement?.closest('[aria-label]')?.getAttribute('aria-label') ?? '';
}

/** Replaces the children of `el`; the keyboard focus stays on the same control when it was in there. */
export function fill(el, ...children) {
  keepingFocus(el, el, () => {
    el.replaceChildren();
    append(el, children);
  });
  return el;
}

/** Puts `next` in the place of `old`; the keyboard focus stays on the same control when it was in `old`. */
export function swap(old, next) {
  keepingFocus(old, next, () => old.replaceWith(next));
  return next;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(isolate(c)));
  return el;
}

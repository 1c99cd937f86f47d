// Tiny DOM helpers shared by the inbox and the messenger. Everything is built with createElement and text
// nodes: customer-supplied text is never parsed as HTML.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, unknown>} Props
 */

/**
 * Creates an element. `props`: `class` (string), `dataset` (object), `on` (event name → handler), any other key
 * is set as an attribute (`true` → empty attribute, `false`/null/undefined → omitted). Children: strings and
 * numbers become text nodes, nodes are appended, falsy values are skipped.
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props | null} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'on') {
        for (const [ev, fn] of Object.entries(/** @type {Record<string, EventListener>} */ (value))) {
          el.addEventListener(ev, fn);
        }
      } else if (key.startsWith('on')) {
        throw new Error(`use the "on" prop for ${key}`);
      } else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
function append(parent, children) {
  for (const child of children) {
    if (Array.isArray(child)) append(parent, child);
    else if (child === null || child === undefined || child === false) continue;
    else if (typeof child === 'string' || typeof child === 'number')
      parent.appendChild(document.createTextNode(String(child)));
    else parent.appendChild(child);
  }
}

/**
 * Replaces the children of `parent`.
 *
 * @param {Node} parent
 * @param {...(Child | Child[])} children
 */
export function replace(parent, ...children) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/**
 * An inline SVG icon from a list of path `d` strings (24×24, stroked). Paths are constants of this code base.
 *
 * @param {string[]} paths
 * @param {string} [cls]
 */
export function icon(paths, cls = 'icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', cls);
  for (const d of paths) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

/** @param {number | null | undefined} unixSeconds */
export function toDate(unixSeconds) {
  return typeof unixSeconds === 'number' ? new Date(unixSeconds * 1000) : null;
}

/**
 * "just now", "5m", "3h", "Tue", "12 Mar", "12 Mar 2024": short enough for a list.
 *
 * @param {number | null | undefined} unixSeconds
 * @param {number} [now]
 */
export function shortTime(unixSeconds, now = Date.now()) {
  const d = toDate(unixSeconds);
  if (!d) return '';
  const diff = (now - d.getTime()) / 1000;
  if (diff < 45) return 'now';
  if (diff < 3600) return `${Math.round(diff / 60)}m`;
  if (diff < 86400) return `${Math.round(diff / 3600)}h`;
  if (diff < 6 * 86400) return d.toLocaleDateString(undefined, { weekday: 'short' });
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString(undefined, {
    day: 'numeric',
    month: 'short',
    ...(sameYear ? {} : { year: 'numeric' }),
  });
}

/** @param {number | null | undefined} unixSeconds */
export function fullTime(unixSeconds) {
  const d = toDate(unixSeconds);
  return d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

/** @param {number | null | undefined} unixSeconds */
export function clockTime(unixSeconds) {
  const d = toDate(unixSeconds);
  return d ? d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }) : '';
}

/** @type {Intl.Segmenter | undefined} */
let graphemes;

/**
 * The first user-perceived character of a word: "É" written as E + a combining accent stays whole, and so does an
 * emoji made of several code points.
 *
 * @param {string} word
 */
function firstGrapheme(word) {
  // Browsers before Intl.Segmenter (Firefox < 125) get the first code point: never half a surrogate pair.
  if (typeof Intl.Segmenter !== 'function') return Array.from(word)[0] ?? '';
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const { segment } of graphemes.segment(word)) return segment;
  return '';
}

/**
 * Initials for an avatar, from the first and last words that start with a letter (of any script): "Ada Lovelace" →
 * "AL", "Bulk Customer 19" → "BC" (numbers and symbols are not initials), "Cher" → "C", an email by its local part
 * ("ada.lovelace@example.com" → "AL", "ada@example.com" → "A"), "山田 太郎" → "山太"; a name with no letter at
 * all → its first character ("42" → "4"), nothing → "?".
 *
 * @param {string | null | undefined} name
 */
export function initials(name) {
  let text = (name ?? '').trim();
  // An email's domain says nothing about the person ("ada@example.com" is not "AE").
  if (/^[^\s@]+@[^\s@]+$/.test(text)) text = text.slice(0, text.indexOf('@'));
  const words = text.split(/[\s@._+-]+/).filter(Boolean);
  const lettered = words.filter((w) => /^\p{L}/u.test(w));
  if (lettered.length === 0) return words[0] ? firstGrapheme(words[0]).toUpperCase() : '?';
  const first = firstGrapheme(lettered[0] ?? '');
  const last = lettered.length > 1 ? firstGrapheme(lettered[lettered.length - 1] ?? '') : '';
  return (first + last).toUpperCase();
}

/**
 * A stable hue for an avatar, from a contact id.
 *
 * @param {string} id
 */
export function hueOf(id) {
  let n = 0;
  for (let i = 0; i < id.length; i++) n = (n * 31 + id.charCodeAt(i)) % 360;
  return n;
}

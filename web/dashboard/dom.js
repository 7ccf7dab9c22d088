/** Small DOM helpers. Text always goes in as text nodes: nothing from the server is parsed as HTML. */

export function $(id) {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`missing #${id}`);
  return el;
}

/** h('p', { class: 'x', 'data-id': 1 }, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
  }
}

export function setText(id, text) {
  const el = $(id);
  const value = String(text);
  if (el.textContent !== value) el.textContent = value;
}

export function replaceChildren(el, children) {
  el.replaceChildren();
  append(el, children);
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function count(n) {
  return typeof n === 'number' && Number.isFinite(n) ? integer.format(n) : '–';
}

export function rate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n >= 100 ? integer.format(n) : decimal.format(n);
}

/** Microseconds as a short human duration. */
export function micros(us, samples) {
  if (samples === 0 || typeof us !== 'number') return '–';
  if (us < 1000) return `${decimal.format(us)} µs`;
  if (us < 1_000_000) return `${decimal.format(us / 1000)} ms`;
  return `${decimal.format(us / 1_000_000)} s`;
}

export function time(ms) {
  if (typeof ms !== 'number') return '–';
  return new Date(ms).toLocaleString();
}

/** "in 4 min" / "3 s ago" relative to now. */
export function relative(ms, now = Date.now()) {
  if (typeof ms !== 'number') return '–';
  const d = ms - now;
  const abs = Math.abs(d);
  const text = abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 3_600_000 ? `${Math.round(abs / 60_000)} min` : `${decimal.format(abs / 3_600_000)} h`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

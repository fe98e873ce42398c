// Small DOM helpers: elements are built with textContent only (never HTML from data).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  append(el, children);
  return el;
}

export const num = (n) => (n ?? 0).toLocaleString('en');

export function ago(ts) {
  if (!ts) return '';
  const secs = Math.round((Date.now() - Date.parse(ts)) / 1000);
  if (!Number.isFinite(secs)) return ts;
  if (secs < 60) return `${Math.max(secs, 0)} s ago`;
  if (secs < 3600) return `${Math.round(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.round(secs / 3600)} h ago`;
  return `${Math.round(secs / 86400)} d ago`;
}

export function badge(text, kind = text) {
  return h('span', { class: `badge b-${String(kind).replace(/[^a-z0-9-]/gi, '')}` }, text);
}

/** A table: columns are `{ label, cell(row) -> node|string, num: bool }`. */
export function table(caption, columns, rows, { empty = 'Nothing yet.' } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'n' : null }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'n' : null }, c.cell(r))))))));
}

// Each navigation starts a new page; a page still loading when the user has moved on must not
// replace the new one (its `show` is dropped).
let generation = 0;
export function nextPage() {
  generation += 1;
}

/** The page a loader belongs to: pass it to `show`. */
export function current() {
  return generation;
}

/** Replaces the page's content (unless `page` is no longer current), names it, and moves
 * focus to its heading. Returns false when dropped. */
export function show(page, title, ...nodes) {
  if (page !== generation) return false;
  const view = document.getElementById('view');
  const heading = h('h1', { tabindex: '-1' }, title);
  view.replaceChildren(heading, ...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
  document.title = `${title} · Portcullis`;
  heading.focus({ preventScroll: true });
  return true;
}

export function card(title, ...body) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...body);
}

export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e.message || String(e));
}

export function endpointLink(api, method, path) {
  const q = new URLSearchParams({ api: api || '', method, path });
  return h('a', { href: `#/endpoint?${q}` }, h('span', { class: 'method' }, method), ' ', path);
}

/** The OWASP API Security Top 10 (2023) category of a decision rule (the dashboard's map). */
export function owasp(rule) {
  if (!rule) return null;
  const table = [
    ['authz.owner', 'API1:2023 BOLA'],
    ['auth.', 'API2:2023 Broken authentication'],
    ['request.unknown-field', 'API3:2023 Property authorization'],
    ['ratelimit', 'API4:2023 Resource consumption'],
    ['request.too-large', 'API4:2023 Resource consumption'],
    ['request.timeout', 'API4:2023 Resource consumption'],
    ['client.banned', 'API4:2023 Resource consumption'],
    ['authz.', 'API5:2023 Function authorization'],
    ['threat.ssrf', 'API7:2023 SSRF'],
    ['route.undocumented', 'API9:2023 Inventory'],
    ['route.deprecated', 'API9:2023 Inventory'],
    ['route.method', 'API9:2023 Inventory'],
    ['response.sensitive', 'API3:2023 Property authorization'],
    ['response.schema', 'API3:2023 Property authorization'],
    ['upstream.', 'API10:2023 Unsafe consumption'],
    ['threat.', 'API8:2023 Misconfiguration (injection)'],
  ];
  for (const [prefix, cat] of table) if (rule.startsWith(prefix)) return cat;
  return 'API8:2023 Misconfiguration';
}

// Inventory: every endpoint (documented, shadow, zombie, unused) with its auth posture,
// sensitive data and status mix; search, filters and pages, so that tens of thousands of
// endpoints stay quick (only one page of rows is ever in the document).

import { api } from './api.js';
import { h, current, show, card, num, badge, endpointLink, ago } from './ui.js';

const PAGE = 50;

/** The inventory, or the declared operations when this gateway serves no inventory. */
export async function loadInventory() {
  const inv = await api('/api/inventory', { missing: null });
  if (inv) return { endpoints: inv.endpoints || [], findings: inv.findings || [], learned: true };
  const config = await api('/api/config');
  const endpoints = [];
  for (const a of config.apis || []) {
    for (const op of a.operations || []) {
      endpoints.push({
        api: a.name, method: op.method.toUpperCase(), path: op.path, operation: op.operation,
        class: op.deprecated ? 'zombie' : 'documented', auth: { required: !op.public },
        posture: null, sensitive: [], status: {}, requests: null,
      });
    }
  }
  return { endpoints, findings: [], learned: false };
}

function statusMix(st) {
  if (!st) return '';
  const parts = ['2xx', '3xx', '4xx', '5xx'].filter((k) => st[k]).map((k) => `${k} ${num(st[k])}`);
  return parts.join(' · ');
}

function authCell(e) {
  const a = e.auth || {};
  const text = a.required === false ? 'public' : 'required';
  return h('span', {}, badge(text, a.required === false ? 'public' : 'auth'),
    a.unauthenticated_2xx ? h('span', { class: 'warn-text' }, ` ${num(a.unauthenticated_2xx)} unauthenticated 2xx`) : null);
}

export async function inventory(params) {
  const page = current();
  const inv = await loadInventory();
  const all = inv.endpoints;
  const state = {
    q: params.get('q') || '', cls: params.get('class') || '', posture: '', api: '', sort: 'requests', page: 0,
  };
  const apis = [...new Set(all.map((e) => e.api))].sort();
  const counts = {};
  for (const e of all) counts[e.class] = (counts[e.class] || 0) + 1;

  const body = h('tbody');
  const status = h('p', { class: 'hint', role: 'status' });
  const prev = h('button', { type: 'button', class: 'quiet', onclick: () => { state.page -= 1; render(); } }, '← Previous');
  const next = h('button', { type: 'button', class: 'quiet', onclick: () => { state.page += 1; render(); } }, 'Next →');
  let filtered = all;

  function refilter() {
    const q = state.q.toLowerCase();
    filtered = all.filter((e) => (!state.cls || e.class === state.cls)
      && (!state.posture || e.posture === state.posture)
      && (!state.api || e.api === state.api)
      && (!q || e.path.toLowerCase().includes(q) || (e.operation || '').toLowerCase().includes(q) || e.method.toLowerCase() === q));
    const key = state.sort;
    filtered.sort((a, b) => (key === 'path' ? a.path.localeCompare(b.path) : (b[key] || 0) - (a[key] || 0)));
    state.page = 0;
    render();
  }

  function render() {
    const pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    state.page = Math.min(Math.max(state.page, 0), pages - 1);
    const rows = filtered.slice(state.page * PAGE, (state.page + 1) * PAGE);
    body.replaceChildren(...rows.map((e) => h('tr', {},
      h('td', {}, endpointLink(e.api, e.method, e.path)),
      h('td', {}, badge(e.class)),
      h('td', {}, authCell(e)),
      h('td', {}, e.posture ? badge(e.posture, `posture-${e.posture}`) : ''),
      h('td', {}, (e.sensitive || []).map((k) => badge(k, 'sensitive'))),
      h('td', {}, statusMix(e.status)),
      h('td', { class: 'n' }, e.requests === null || e.requests === undefined ? '' : num(e.requests)),
      h('td', {}, ago(e.last_seen)))));
    status.textContent = `${num(filtered.length)} of ${num(all.length)} endpoints · page ${state.page + 1} of ${pages}`;
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
  }

  const select = (label, key, options) => h('label', {}, label, ' ',
    h('select', { onchange: (ev) => { state[key] = ev.target.value; refilter(); } },
      options.map(([v, t]) => h('option', { value: v, selected: state[key] === v }, t))));
  let timer = 0;
  const search = h('input', {
    type: 'search', value: state.q, placeholder: 'path, operation or method', 'aria-label': 'Search endpoints',
    oninput: (ev) => { clearTimeout(timer); timer = setTimeout(() => { state.q = ev.target.value; refilter(); }, 120); },
  });

  show(page, 'Inventory',
    inv.learned ? null : h('p', { class: 'notice' }, 'This gateway serves no learned inventory (/api/inventory): the declared operations are shown, without traffic.'),
    h('div', { class: 'stats' }, ['documented', 'shadow', 'zombie', 'unused'].map((c) => h('a', { class: 'stat', href: `#/inventory?class=${c}` },
      h('span', { class: 'stat-value' }, num(counts[c] || 0)), h('span', { class: 'stat-label' }, badge(c))))),
    card('Endpoints',
      h('form', { class: 'filters', role: 'search', onsubmit: (ev) => ev.preventDefault() },
        search,
        select('Class', 'cls', [['', 'all'], ['documented', 'documented'], ['shadow', 'shadow'], ['zombie', 'zombie'], ['unused', 'unused']]),
        select('Posture', 'posture', [['', 'all'], ['critical', 'critical'], ['high', 'high'], ['ok', 'ok']]),
        select('API', 'api', [['', 'all'], ...apis.map((a) => [a, a])]),
        select('Sort', 'sort', [['requests', 'most requests'], ['clients', 'most clients'], ['path', 'path']])),
      status,
      h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Endpoints' },
        h('table', { id: 'inventory-table' },
          h('caption', {}, 'Endpoints'),
          h('thead', {}, h('tr', {}, ['Endpoint', 'Class', 'Auth', 'Posture', 'Sensitive data', 'Status mix', 'Requests', 'Last seen']
            .map((t) => h('th', { scope: 'col', class: t === 'Requests' ? 'n' : null }, t)))),
          body)),
      h('div', { class: 'pager' }, prev, next)));
  refilter();
}

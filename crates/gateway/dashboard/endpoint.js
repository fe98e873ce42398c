// One endpoint: its methods, declared operation (security, limits, deprecation) beside what
// was learned from traffic (inventory record and learned schema), its clients and recent
// decisions.

import { api } from './api.js';
import { h, current, show, card, num, badge, table, ago, endpointLink } from './ui.js';
import { loadInventory } from './inventory.js';

function pretty(v) {
  return h('pre', { class: 'code', tabindex: '0' }, JSON.stringify(v, null, 2));
}

export async function endpoint(params) {
  const page = current();
  const apiName = params.get('api');
  const method = (params.get('method') || '').toUpperCase();
  const path = params.get('path') || '';
  const [inv, config, learned, decisions] = await Promise.all([
    loadInventory(),
    api('/api/config'),
    api('/api/inventory?format=openapi', { missing: null }),
    api('/api/decisions?limit=1000'),
  ]);
  const same = inv.endpoints.filter((e) => e.path === path && (!apiName || e.api === apiName));
  const record = same.find((e) => e.method === method) || same[0];
  const declaredApi = (config.apis || []).find((a) => a.name === apiName);
  const declared = (declaredApi?.operations || []).filter((o) => o.path === path);
  const op = declared.find((o) => o.method.toUpperCase() === method);
  const mine = decisions.filter((d) => d.path === path || (op && d.operation === op.operation) || (record?.operation && d.operation === record.operation)).reverse();
  const clients = new Map();
  for (const d of mine) clients.set(d.client.ip, (clients.get(d.client.ip) || 0) + 1);
  const learnedOp = learned?.paths?.[path]?.[method.toLowerCase()];
  const spec = op && apiName
    ? await api(`/api/operations/${encodeURIComponent(apiName)}/${encodeURIComponent(op.operation)}`, { missing: null })
    : null;

  show(page, `${method} ${path}`,
    h('p', {}, apiName ? `API ${apiName}` : '', ' ', record ? badge(record.class) : badge(op ? 'documented' : 'shadow')),
    h('div', { class: 'grid' },
      card('Methods', h('ul', { class: 'plain' }, [...new Set([...same.map((e) => e.method), ...declared.map((o) => o.method.toUpperCase())])]
        .map((m) => h('li', {}, endpointLink(apiName, m, path))))),
      card('Traffic', inv.learned && record ? h('dl', { class: 'facts' },
        h('dt', {}, 'Requests'), h('dd', {}, num(record.requests)),
        h('dt', {}, 'Clients'), h('dd', {}, num(record.clients)),
        h('dt', {}, 'Auth'), h('dd', {}, record.auth?.required === false ? 'public' : `required · presented ${num(record.auth?.presented)} · valid ${num(record.auth?.valid)}`),
        h('dt', {}, 'Posture'), h('dd', {}, record.posture || ''),
        h('dt', {}, 'Sensitive data'), h('dd', {}, (record.sensitive || []).join(', ') || 'none seen'),
        h('dt', {}, 'First seen'), h('dd', {}, ago(record.first_seen)),
        h('dt', {}, 'Last seen'), h('dd', {}, ago(record.last_seen))) : h('dl', { class: 'facts' },
        h('dt', {}, 'Requests'), h('dd', {}, `${num(mine.length)} of the last ${num(decisions.length)}`),
        h('dt', {}, 'Clients'), h('dd', {}, num(clients.size)),
        h('dt', {}, 'Refused'), h('dd', {}, num(mine.filter((d) => d.decision !== 'allow').length)),
        h('dt', {}, 'Last seen'), h('dd', {}, mine.length ? ago(mine[0].ts) : 'not among the recent requests')))),
    h('div', { class: 'grid' },
      card('Declared (spec)', op
        ? [pretty({ security: op.security, public: op.public, admin: op.admin, owner: op.owner, deprecated: op.deprecated, limits: op.limits }),
          spec ? pretty({ parameters: spec.parameters, request_body: spec.request_body, responses: spec.responses, $defs: spec.$defs }) : null]
        : h('p', { class: 'empty' }, 'Not in the spec: a shadow endpoint.')),
      card('Learned (traffic)', learnedOp ? pretty(learnedOp) : h('p', { class: 'empty' }, learned ? 'Nothing learned for this method yet.' : 'This gateway serves no learned document.'))),
    card('Clients', table('Clients of this endpoint', [
      { label: 'Client', cell: ([ip]) => h('a', { href: `#/alerts?client=${encodeURIComponent(ip)}` }, ip) },
      { label: 'Requests', num: true, cell: ([, n]) => num(n) },
    ], [...clients.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20))),
    card('Recent decisions', table('Recent decisions on this endpoint', [
      { label: 'When', cell: (d) => ago(d.ts) },
      { label: 'Method', cell: (d) => d.method },
      { label: 'Decision', cell: (d) => badge(d.decision) },
      { label: 'Rule', cell: (d) => d.rule || '' },
      { label: 'Client', cell: (d) => d.client.ip },
      { label: 'Status', num: true, cell: (d) => d.status },
    ], mine.slice(0, 50))));
}

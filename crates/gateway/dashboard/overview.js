// Overview: requests and decisions since start (metrics), blocks by rule and by OWASP
// category, top clients and recent blocks (the recent decisions), alerts over time.

import { api } from './api.js';
import { h, current, show, card, num, table, badge, owasp, ago, endpointLink } from './ui.js';
import { bars, columns } from './chart.js';

/** `name{labels} value` lines of the OpenMetrics text, for one metric. */
export function samples(text, metric) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = {};
    for (const m of line.slice(metric.length + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    out.push([labels, Number(line.slice(close + 1).trim().split(' ')[0])]);
  }
  return out;
}

function sumBy(items, key) {
  const m = new Map();
  for (const [k, v] of items) m.set(key(k), (m.get(key(k)) || 0) + v);
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

export async function overview() {
  const page = current();
  const [metrics, decisions, alerts] = await Promise.all([
    api('/metrics', { text: true }),
    api('/api/decisions?limit=1000'),
    api('/api/alerts?limit=1000', { missing: null }),
  ]);
  const requests = samples(metrics, 'portcullis_requests_total');
  const total = requests.reduce((a, [, v]) => a + v, 0);
  const byDecision = Object.fromEntries(sumBy(requests, (l) => l.decision));
  const ruleHits = samples(metrics, 'portcullis_rule_hits_total');
  const byRule = sumBy(ruleHits, (l) => l.rule);
  const byOwasp = sumBy(ruleHits, (l) => owasp(l.rule));
  const clients = sumBy(decisions.map((d) => [d, 1]), (d) => d.client.ip);
  const blockedClients = new Map(sumBy(decisions.filter((d) => d.decision !== 'allow').map((d) => [d, 1]), (d) => d.client.ip));
  const blocks = decisions.filter((d) => d.decision !== 'allow').reverse();
  const stat = (label, value, cls) => h('div', { class: `stat ${cls || ''}` }, h('span', { class: 'stat-value' }, num(value)), h('span', { class: 'stat-label' }, label));

  show(page, 'Overview',
    h('div', { class: 'stats' },
      stat('requests', total),
      stat('allowed', byDecision.allow || 0, 'ok'),
      stat('blocked', byDecision.block || 0, 'bad'),
      stat('monitored (would block)', byDecision.monitor || 0, 'warn'),
      stat('alerts', alerts ? alerts.alerts.length : 0)),
    h('div', { class: 'grid' },
      card('Blocks by rule', bars('Denials by rule since start', byRule)),
      card('Blocks by OWASP API Top 10', bars('Denials by OWASP category since start', byOwasp)),
      card('Top clients', h('p', { class: 'hint' }, `of the last ${num(decisions.length)} requests`),
        table('Top clients', [
          { label: 'Client', cell: ([ip]) => h('a', { href: `#/alerts?client=${encodeURIComponent(ip)}` }, ip) },
          { label: 'Requests', num: true, cell: ([, n]) => num(n) },
          { label: 'Refused', num: true, cell: ([ip]) => num(blockedClients.get(ip) || 0) },
        ], clients.slice(0, 8))),
      card('Alerts over time',
        alerts === null
          ? h('p', { class: 'empty' }, 'This gateway runs without the anomaly detectors (detect.enabled).')
          : columns('Alerts', alerts.alerts.map((a) => [Date.parse(a.ts), 1]), { bucketMs: 60000, buckets: 30 })),
      card('Requests over time', columns('Requests', decisions.map((d) => [Date.parse(d.ts), 1]), { bucketMs: 10000, buckets: 30 }))),
    card('Recent refusals',
      table('Recent refusals', [
        { label: 'When', cell: (d) => ago(d.ts) },
        { label: 'Decision', cell: (d) => badge(d.decision) },
        { label: 'Rule', cell: (d) => d.rule || '' },
        { label: 'Endpoint', cell: (d) => endpointLink(d.api, d.method, d.path) },
        { label: 'Client', cell: (d) => d.client.ip },
        { label: 'Status', num: true, cell: (d) => d.status },
      ], blocks.slice(0, 15), { empty: 'No refusal among the recent requests.' })));
}

// The audit findings of the loaded specs (served by `portcullis serve` at /api/audit).

import { api } from './api.js';
import { h, current, show, card, badge, table } from './ui.js';

const ORDER = ['critical', 'high', 'medium', 'low', 'info'];

export async function audit() {
  const page = current();
  const report = await api('/api/audit', { missing: null });
  if (!report) {
    show(page, 'Audit', card('Findings', h('p', { class: 'empty' }, 'This gateway does not serve the audit of its specs (/api/audit); run portcullis audit on them.')));
    return;
  }
  const findings = [...(report.findings || [])].sort((a, b) => ORDER.indexOf(a.severity) - ORDER.indexOf(b.severity));
  const counts = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] || 0) + 1;
  show(page, 'Audit',
    h('div', { class: 'stats' }, ORDER.map((s) => h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, counts[s] || 0), h('span', { class: 'stat-label' }, badge(s))))),
    card('Findings of the loaded specs', table('Findings', [
      { label: 'Severity', cell: (f) => badge(f.severity) },
      { label: 'Rule', cell: (f) => f.rule },
      { label: 'OWASP', cell: (f) => f.owasp || '' },
      { label: 'Title', cell: (f) => f.title },
      { label: 'Where', cell: (f) => [f.location?.file, f.location?.line].filter(Boolean).join(':') + (f.location?.pointer ? ` ${f.location.pointer}` : '') },
    ], findings.slice(0, 500), { empty: 'No finding: the specs pass the audit.' })));
}

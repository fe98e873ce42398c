// Alerts of the anomaly detectors, the bans in force, and the ban and unban actions; the
// rate-limit state of one client.

import { api } from './api.js';
import { h, current, show, card, num, badge, table, ago, errorBox } from './ui.js';

function until(ms) {
  const secs = Math.round((ms - Date.now()) / 1000);
  if (secs <= 0) return 'expiring';
  if (secs < 3600) return `${Math.ceil(secs / 60)} min left`;
  return `${Math.round(secs / 3600)} h left`;
}

export async function alerts(params) {
  const page = current();
  const client = params.get('client') || '';
  const [alertList, bans, limits] = await Promise.all([
    api('/api/alerts?limit=200', { missing: null }),
    api('/api/bans', { missing: null }),
    client ? api(`/api/limits/${encodeURIComponent(client)}`).catch((e) => ({ error: e })) : null,
  ]);
  const message = h('p', { role: 'status', class: 'hint' });
  const reload = () => alerts(params);

  async function ban(ip, duration, reason) {
    try {
      await api('/api/bans', { method: 'POST', body: { client: ip, duration, reason } });
      await reload();
      if (page === current()) document.getElementById('view').querySelector('[role=status]').textContent = `${ip} banned for ${duration}.`;
    } catch (e) {
      message.textContent = e.message;
    }
  }

  async function unban(ip) {
    try {
      await api(`/api/bans/${encodeURIComponent(ip)}`, { method: 'DELETE' });
      await reload();
      if (page === current()) document.getElementById('view').querySelector('[role=status]').textContent = `${ip} unbanned.`;
    } catch (e) {
      message.textContent = e.message;
    }
  }

  const form = h('form', {
    class: 'filters',
    onsubmit: (ev) => {
      ev.preventDefault();
      const f = new FormData(ev.target);
      ban(String(f.get('client')).trim(), String(f.get('duration')), String(f.get('reason')).trim() || 'banned from the dashboard');
    },
  },
  h('label', {}, 'Client address ', h('input', { name: 'client', required: true, value: client, pattern: '[0-9A-Fa-f:.]+', autocomplete: 'off' })),
  h('label', {}, 'For ', h('select', { name: 'duration' }, ['10m', '1h', '24h', '7d'].map((d) => h('option', { value: d }, d)))),
  h('label', {}, 'Reason ', h('input', { name: 'reason', maxlength: '200', autocomplete: 'off' })),
  h('button', { type: 'submit' }, 'Ban'));

  show(page, 'Alerts & bans',
    message,
    card('Bans in force', bans === null
      ? h('p', { class: 'empty' }, 'This gateway does not serve bans (/api/bans).')
      : [table('Bans in force', [
        { label: 'Client', cell: (b) => b.client },
        { label: 'Until', cell: (b) => until(b.until_unix_ms) },
        { label: 'Reason', cell: (b) => b.reason },
        { label: 'By', cell: (b) => b.source },
        { label: 'Action', cell: (b) => h('button', { type: 'button', class: 'quiet', onclick: () => unban(b.client), 'aria-label': `Unban ${b.client}` }, 'Unban') },
      ], bans.bans, { empty: 'No ban in force.' }), form]),
    card('Alerts', alertList === null
      ? h('p', { class: 'empty' }, 'This gateway runs without the anomaly detectors (detect.enabled).')
      : table('Alerts, newest first', [
        { label: 'When', cell: (a) => ago(a.ts) },
        { label: 'Detector', cell: (a) => badge(a.detector, 'detector') },
        { label: 'Client', cell: (a) => h('a', { href: `#/alerts?client=${encodeURIComponent(a.client)}` }, a.client) },
        { label: 'Where', cell: (a) => [a.api, a.operation].filter(Boolean).join(' · ') },
        { label: 'What', cell: (a) => a.message || `${a.figure}: ${a.value} (threshold ${a.threshold})` },
        { label: 'Banned', cell: (a) => (a.banned ? badge('banned') : h('button', { type: 'button', class: 'quiet', onclick: () => ban(a.client, '1h', `alert ${a.id}: ${a.detector}`), 'aria-label': `Ban ${a.client} for an hour` }, 'Ban 1 h')) },
      ], alertList.alerts, { empty: 'No alert.' })),
    client ? card(`Rate limits of ${client}`, limits?.error ? errorBox(limits.error) : table(`Rate limits of ${client}`, [
      { label: 'Limit', cell: (l) => `${l.api} · ${l.name}` },
      { label: 'Key', cell: (l) => l.key },
      { label: 'Rate', cell: (l) => `${num(l.limit)} per ${num(l.per_secs)} s (burst ${num(l.burst)})` },
      { label: 'Operations', cell: (l) => (l.operations || ['all']).join(', ') },
      { label: 'Remaining now', num: true, cell: (l) => `${l.exact ? '' : '≥ '}${num(l.remaining)}` },
      { label: 'Full again in', num: true, cell: (l) => `${num(l.reset_secs)} s` },
    ], limits.limits, { empty: 'No rate limit keys on this client.' })) : null);
}

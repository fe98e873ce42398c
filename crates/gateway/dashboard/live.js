// The live decision stream (server-sent events, opened with a one-use ticket), pausable.

import { events } from './api.js';
import { h, current, show, card, badge, endpointLink } from './ui.js';

const KEEP = 200;

export async function live() {
  const page = current();
  let source = null;
  let paused = false;
  let held = [];
  let received = 0;
  let retry = 0;
  let timer = 0;
  let filter = '';
  const body = h('tbody');
  const state = h('p', { class: 'hint', role: 'status' }, 'connecting…');
  const pause = h('button', { type: 'button', 'aria-pressed': 'false', onclick: toggle }, 'Pause');

  function row(d) {
    const t = new Date(d.ts);
    return h('tr', { class: `d-${d.decision}` },
      h('td', {}, Number.isNaN(t.getTime()) ? d.ts : t.toLocaleTimeString()),
      h('td', {}, badge(d.decision)),
      h('td', {}, endpointLink(d.api, d.method, d.path)),
      h('td', {}, d.rule || ''),
      h('td', {}, d.client?.ip || ''),
      h('td', { class: 'n' }, d.status),
      h('td', { class: 'n' }, `${Math.round((d.latency_us || 0) / 100) / 10} ms`));
  }

  function add(list) {
    const shown = list.filter((d) => !filter || d.decision === filter);
    if (!shown.length) return;
    body.prepend(...shown.reverse().map(row));
    while (body.rows.length > KEEP) body.deleteRow(-1);
  }

  function describe() {
    state.textContent = `${paused ? 'paused' : 'live'} · ${received} received${held.length ? ` · ${held.length} held while paused` : ''}`;
  }

  function toggle() {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) {
      add(held);
      held = [];
    }
    describe();
  }

  async function connect() {
    try {
      source = await events();
    } catch (e) {
      state.textContent = `cannot open the stream: ${e.message}`;
      return;
    }
    source.addEventListener('ready', () => { retry = 0; describe(); });
    source.addEventListener('decision', (ev) => {
      received += 1;
      const d = JSON.parse(ev.data);
      if (paused) {
        held.push(d);
        if (held.length > KEEP) held.shift();
      } else add([d]);
      describe();
    });
    source.addEventListener('lagged', (ev) => {
      state.textContent = `the stream skipped ${JSON.parse(ev.data).missed} decisions (too many at once)`;
    });
    source.onerror = () => {
      // A ticket works once: reconnect with a new one, backing off, at most every 30 s.
      source.close();
      if (page !== current()) return;
      retry = Math.min(retry + 1, 6);
      state.textContent = 'disconnected; reconnecting…';
      timer = setTimeout(connect, Math.min(30000, 500 * 2 ** retry));
    };
  }

  const shown = show(page, 'Live decisions',
    card('Stream',
      h('div', { class: 'filters' }, pause,
        h('label', {}, 'Show ', h('select', { onchange: (ev) => { filter = ev.target.value; } },
          h('option', { value: '' }, 'every decision'), h('option', { value: 'block' }, 'blocks'),
          h('option', { value: 'monitor' }, 'monitored'), h('option', { value: 'allow' }, 'allowed')))),
      state,
      h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': 'Live decisions' },
        h('table', { id: 'live-table' }, h('caption', {}, 'Decisions as they happen, newest first'),
          h('thead', {}, h('tr', {}, ['Time', 'Decision', 'Endpoint', 'Rule', 'Client', 'Status', 'Latency']
            .map((t) => h('th', { scope: 'col' }, t)))),
          body))));
  if (!shown) return undefined;
  await connect();
  if (page !== current()) { // left while connecting
    if (source) source.close();
    return undefined;
  }
  return () => {
    clearTimeout(timer);
    if (source) source.close();
  };
}

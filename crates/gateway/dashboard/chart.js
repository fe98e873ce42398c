// Charts drawn as SVG by the dashboard itself (no library): horizontal bars and columns over
// time. Each chart has a text alternative (a title and a table-like description).

import { h, s, num } from './ui.js';

/** Horizontal bars: `items` are `[label, value]`, largest first. */
export function bars(label, items, { max = 10 } = {}) {
  const shown = items.slice(0, max);
  if (!shown.length) return h('p', { class: 'empty' }, 'Nothing yet.');
  const top = Math.max(...shown.map(([, v]) => v), 1);
  return h('ul', { class: 'bars', 'aria-label': label },
    shown.map(([name, value]) => h('li', {},
      h('span', { class: 'bar-label' }, name),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' },
        h('span', { class: `bar-fill w${Math.max(1, Math.round((value / top) * 20))}` })),
      h('span', { class: 'bar-value' }, num(value)))));
}

/** Columns over time: `points` are `[time ms, value]` in buckets of `bucketMs`. */
export function columns(label, points, { bucketMs = 60000, buckets = 30, now = Date.now() } = {}) {
  const start = now - bucketMs * buckets;
  const counts = new Array(buckets).fill(0);
  for (const [t, v] of points) {
    const i = Math.floor((t - start) / bucketMs);
    if (i >= 0 && i < buckets) counts[i] += v;
  }
  const top = Math.max(...counts, 1);
  const W = 300;
  const H = 80;
  const w = W / buckets;
  const total = counts.reduce((a, b) => a + b, 0);
  const minutes = Math.round((bucketMs * buckets) / 60000);
  return s('svg', { viewBox: `0 0 ${W} ${H + 14}`, role: 'img', class: 'columns', 'aria-label': `${label}: ${num(total)} in the last ${minutes} min` },
    s('title', {}, `${label}: ${num(total)} in the last ${minutes} min`),
    s('line', { x1: 0, y1: H, x2: W, y2: H, class: 'axis' }),
    counts.map((c, i) => {
      const bh = (c / top) * (H - 4);
      return s('rect', { x: (i * w + 1).toFixed(1), y: (H - bh).toFixed(1), width: Math.max(w - 2, 1).toFixed(1), height: bh.toFixed(1), class: 'col' },
        s('title', {}, `${num(c)}`));
    }),
    s('text', { x: 0, y: H + 12, class: 'tick' }, `-${minutes} min`),
    s('text', { x: W, y: H + 12, class: 'tick end' }, 'now'));
}

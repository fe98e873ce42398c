// The dashboard in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
// against a running `portcullis demo` filled with benign and hostile traffic:
//
// - every page loads, with no script error and no Content-Security-Policy violation;
// - no request leaves 127.0.0.1 (every request the browser makes is recorded);
// - axe-core finds no serious or critical accessibility violation (WCAG 2 A and AA);
// - the overview shows the blocks by rule, the inventory the zombie endpoint (and the shadow
//   ones and an alert when the gateway serves the inventory and alerts), and unbanning a
//   client from the alerts page lifts its ban;
// - screenshots of each page at 1280x800 and 390x844 go to target/screenshots;
// - budgets, measured and printed (and written to target/screenshots/measures.json):
//   embedded assets gzipped, the inventory with 10 000 endpoints interactive, a decision
//   visible in the live stream, the gateway's RSS added by the dashboard.
//
// Usage: node dashboard.test.mjs  (PORTCULLIS_BIN: the binary, default target/debug/portcullis;
// CHROMIUM: default /usr/bin/chromium). Exits non-zero with the failures listed.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const bin = process.env.PORTCULLIS_BIN || join(root, 'target', 'debug', 'portcullis');
const shots = join(root, 'target', 'screenshots');
const PATIENCE = 30000;
const failures = [];
const measures = {};

function fail(what) {
  failures.push(what);
  console.error(`FAIL ${what}`);
}

function check(ok, what) {
  if (!ok) fail(what);
  else console.log(`ok   ${what}`);
}

/** Polls `probe` until it returns a truthy value, for at most `ms`. */
async function until(what, probe, ms = PATIENCE) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `page.waitForFunction`, failing with what was awaited (and the page's status line). */
async function waitIn(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: PATIENCE });
  } catch (e) {
    const seen = await page.evaluate(() => `${document.querySelector('#view h1')?.textContent} | ${document.querySelector('#view [role=status]')?.textContent}`).catch(() => '?');
    throw new Error(`timed out waiting for ${what} (page: ${seen})`);
  }
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

// ---- the demo -------------------------------------------------------------------------
const demo = spawn(bin, ['demo'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
let banner = '';
demo.stdout.on('data', (d) => { if (banner.length < 100000) banner += d; });
demo.stderr.on('data', (d) => process.stderr.write(d));
const stopDemo = () => { try { demo.kill('SIGINT'); } catch (_) { /* gone */ } };
process.on('exit', stopDemo);

let context;
try {
  const dashboard = await until('the demo banner', () => /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/#token=([0-9a-f]+)/.exec(banner));
  const [, admin, token] = dashboard;
  const gateway = /through Portcullis (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)[1];
  const direct = /unprotected bank\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)[1];
  const auth = { Authorization: `Bearer ${token}` };
  const adminApi = async (path, init = {}) => fetch(`${admin}${path}`, { ...init, headers: { ...auth, ...(init.headers || {}) } });

  // ---- traffic: benign and hostile -----------------------------------------------------
  const login = await fetch(`${direct}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-demo-pw' }) });
  const { access_token: alice } = await login.json();
  const bearer = { authorization: `Bearer ${alice}` };
  const traffic = [
    ['GET', '/users/me', bearer], ['GET', '/users/alice/accounts', bearer], ['GET', '/accounts/search?q=rent', bearer],
    ['GET', '/users/bob/accounts', bearer], // BOLA: authz.owner
    ['GET', '/debug/config', {}], ['GET', '/internal/metrics', {}], // undocumented (shadow)
    ['GET', '/v1/accounts/1', bearer], // deprecated (zombie)
    ['GET', "/accounts/search?q=x'%20OR%201=1--", bearer], // injection
    ['PATCH', '/users/me', { ...bearer, 'content-type': 'application/json' }, '{"role":"admin"}'], // mass assignment
  ];
  for (let round = 0; round < 3; round += 1) {
    for (const [method, path, headers, body] of traffic) {
      await fetch(`${gateway}${path}`, { method, headers, body }).then((r) => r.arrayBuffer()).catch(() => null);
    }
  }
  for (let i = 0; i < 20; i += 1) { // scanning: distinct undocumented paths
    await fetch(`${gateway}/scan-${i}/admin.php`).then((r) => r.arrayBuffer()).catch(() => null);
  }
  for (let i = 0; i < 12; i += 1) { // credential stuffing: over the login limit
    await fetch(`${gateway}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `u${i}`, password: 'x' }) }).catch(() => null);
  }
  const banned = '192.0.2.44';
  const ban = await adminApi('/api/bans', { method: 'POST', headers: { 'content-type': 'application/json', 'x-portcullis-admin': '1' }, body: JSON.stringify({ client: banned, duration: '1h', reason: 'browser test' }) });
  check(ban.status === 201, `a ban through the admin API (${ban.status})`);
  const inventoryServed = (await adminApi('/api/inventory')).status === 200;
  const alertsServed = (await adminApi('/api/alerts')).status === 200;
  const rssBefore = rssKiB(demo.pid);

  // ---- the browser ---------------------------------------------------------------------
  const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  const requests = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });

  await page.goto(`${admin}/#token=${token}`);
  await page.waitForSelector('#view h1', { timeout: PATIENCE });
  check(!page.url().includes(token), 'the token leaves the address bar at once');
  check(await page.evaluate(() => sessionStorage.length === 1 && localStorage.length === 0 && document.cookie === ''),
    'the token is in session storage only (no local storage, no cookie)');

  const pages = [
    ['overview', '#/overview', 'Overview'],
    ['inventory', '#/inventory', 'Inventory'],
    ['endpoint', `#/endpoint?${new URLSearchParams({ api: 'bank', method: 'GET', path: '/v1/accounts/{accountId}' })}`, 'GET /v1/accounts/{accountId}'],
    ['live', '#/live', 'Live decisions'],
    ['alerts', '#/alerts?client=127.0.0.1', 'Alerts & bans'],
    ['audit', '#/audit', 'Audit'],
  ];
  mkdirSync(shots, { recursive: true });
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width, height });
    for (const [name, hash, title] of pages) {
      await page.goto(`${admin}/${hash}`);
      await waitIn(page, `the ${name} page at ${width}x${height}`, (t) => document.querySelector('#view h1')?.textContent === t, title);
      await page.waitForLoadState('networkidle').catch(() => null);
      await page.screenshot({ path: join(shots, `${name}-${width}x${height}.png`) });
      await page.evaluate(axeSource);
      const result = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
      const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      check(bad.length === 0, `${name} at ${width}x${height}: no serious or critical axe violation${bad.length ? `: ${bad.map((v) => `${v.id} (${v.nodes.length}: ${v.nodes[0]?.target})`).join(', ')}` : ''}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // What the pages show.
  await page.goto(`${admin}/#/overview`);
  await page.waitForSelector('.bars li', { timeout: PATIENCE });
  const rules = await page.locator('.card', { hasText: 'Blocks by rule' }).innerText();
  for (const rule of ['route.undocumented', 'authz.owner', 'route.deprecated']) check(rules.includes(rule), `the overview shows blocks by ${rule}`);
  check((await page.locator('.card', { hasText: 'Blocks by OWASP' }).innerText()).includes('API1:2023'), 'the overview shows blocks by OWASP category');
  await page.goto(`${admin}/#/inventory`);
  await page.waitForSelector('#inventory-table tbody tr', { timeout: PATIENCE });
  const inventory = await page.locator('#inventory-table').innerText();
  check(inventory.includes('zombie'), 'the inventory shows the zombie endpoint');
  if (inventoryServed) check(inventory.includes('shadow'), 'the inventory shows shadow endpoints');
  else console.log('note: this gateway serves no /api/inventory: shadow endpoints are not shown (the inventory helper wires them)');
  const raised = alertsServed ? (await (await adminApi('/api/alerts')).json()).alerts : [];
  if (raised.length) {
    await page.goto(`${admin}/#/alerts`);
    await waitIn(page, 'the alerts page', () => document.querySelector('#view h1')?.textContent === 'Alerts & bans');
    const shown = await page.locator('#view').innerText();
    check(shown.includes(raised[0].detector) && shown.includes(raised[0].client), `the alerts page shows the ${raised[0].detector} alert`);
  } else if (alertsServed) console.log('note: the demo raised no alert (detect is not enabled in examples/demo/portcullis.yaml)');
  else console.log('note: this gateway serves no /api/alerts (the detectors are wired by the inventory helper)');
  check(!(await page.locator('#view').innerText()).includes('null'), 'no "null" shown on the page');

  // Unbanning from the dashboard.
  await page.goto(`${admin}/#/alerts`);
  const unban = page.getByRole('button', { name: `Unban ${banned}` });
  await unban.waitFor({ timeout: PATIENCE });
  await unban.press('Enter'); // the keyboard, as a keyboard user would
  await until('the ban to be lifted', async () => !(await (await adminApi('/api/bans')).json()).bans.some((b) => b.client === banned));
  check(true, 'unbanning from the alerts page lifts the ban');

  // A decision in the live stream.
  await page.goto(`${admin}/#/live`);
  await waitIn(page, 'the live stream to open', () => /^live/.test(document.querySelector('#view [role=status]')?.textContent || ''));
  const latencies = [];
  for (let i = 0; i < 5; i += 1) {
    const probe = `/live-probe-${i}-${Date.now()}`;
    const sent = performance.now();
    await fetch(`${gateway}${probe}`).then((r) => r.arrayBuffer());
    await waitIn(page, `${probe} in the live stream`, (p) => document.querySelector('#live-table tbody')?.textContent.includes(p), probe);
    latencies.push(performance.now() - sent);
  }
  latencies.sort((a, b) => a - b);
  measures.live_stream_ms = { median: Math.round(latencies[2]), max: Math.round(latencies[4]), samples: latencies.length };
  check(true, `a decision shows in the live stream: median ${measures.live_stream_ms.median} ms, max ${measures.live_stream_ms.max} ms`);
  const pause = page.getByRole('button', { name: 'Pause' });
  await pause.click();
  await fetch(`${gateway}/while-paused`).then((r) => r.arrayBuffer());
  await waitIn(page, 'a decision held while paused', () => /held while paused/.test(document.querySelector('#view [role=status]')?.textContent || ''));
  check(!(await page.locator('#live-table').innerText()).includes('/while-paused'), 'a paused stream holds new decisions back');
  await page.getByRole('button', { name: 'Resume' }).click();
  await waitIn(page, 'the held decision after resuming', () => document.querySelector('#live-table tbody')?.textContent.includes('/while-paused'));
  check(true, 'resuming shows what was held');

  measures.rss_added_kib = rssKiB(demo.pid) - rssBefore;

  // The inventory with 10 000 endpoints (a synthetic inventory served to the page).
  const classes = ['documented', 'shadow', 'zombie', 'unused'];
  const big = {
    generated_at: new Date().toISOString(),
    endpoints: Array.from({ length: 10000 }, (_, i) => ({
      api: 'bank', method: ['GET', 'POST', 'PUT', 'DELETE'][i % 4], path: `/resource-${Math.floor(i / 4)}/items/{id}`, operation: `op${i}`,
      class: classes[i % 4], auth: { required: i % 3 !== 0, presented: i, valid: i, unauthenticated_2xx: 0 }, posture: ['ok', 'high', 'critical'][i % 3],
      sensitive: i % 7 === 0 ? ['card'] : [], status: { '2xx': i, '3xx': 0, '4xx': i % 5, '5xx': 0 }, requests: i * 3, clients: i % 50,
      first_seen: '2026-12-07T00:00:00Z', last_seen: new Date().toISOString(),
    })),
    findings: [],
  };
  const bigBody = JSON.stringify(big);
  await page.route('**/api/inventory', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: bigBody }));
  await page.goto(`${admin}/#/overview`);
  await page.waitForSelector('#view h1');
  const interactive = await page.evaluate(async () => {
    // The transfer alone (3.5 MB through the test's interception), to tell it from the page's work.
    const tf = performance.now();
    await (await fetch('/api/inventory', { headers: { Authorization: 'Bearer x' } })).json();
    const transfer = performance.now() - tf;
    const t0 = performance.now();
    location.hash = '#/inventory';
    const rows = () => document.querySelectorAll('#inventory-table tbody tr').length;
    while (rows() === 0) await new Promise((r) => setTimeout(r, 5));
    const shown = performance.now() - t0;
    // Interactive: a search filters the 10 000 at once.
    const search = document.querySelector('input[type=search]');
    const t1 = performance.now();
    search.value = 'resource-2499/';
    search.dispatchEvent(new Event('input'));
    const status = document.querySelector('#view [role=status]');
    while (!/^4 of 10,000/.test(status.textContent)) await new Promise((r) => setTimeout(r, 5));
    return { shown_ms: Math.round(shown), transfer_and_parse_ms: Math.round(transfer), search_ms_including_120ms_debounce: Math.round(performance.now() - t1), rows: rows() };
  });
  measures.inventory_10000 = interactive;
  check(interactive.rows === 4, `the inventory of 10 000 endpoints shows and filters (shown in ${interactive.shown_ms} ms, search ${interactive.search_ms_including_120ms_debounce} ms)`);
  await page.screenshot({ path: join(shots, 'inventory-10000-1280x800.png') });
  await page.unroute('**/api/inventory');

  // Nothing but 127.0.0.1.
  const outside = requests.filter((u) => !/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:|about:)/.test(u));
  check(outside.length === 0, `every request of the browser went to 127.0.0.1 (${requests.length} requests)${outside.length ? `: ${outside.slice(0, 5).join(' ')}` : ''}`);
  check(problems.length === 0, `no script error and no CSP violation${problems.length ? `: ${problems.slice(0, 5).join(' | ')}` : ''}`);

  // The assets' size, gzipped, as embedded.
  const assets = join(root, 'crates', 'gateway', 'dashboard');
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(assets)) {
    const body = readFileSync(join(assets, f));
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  measures.assets = { files: readdirSync(assets).length, bytes: raw, gzipped_bytes: gz };
  check(gz <= 150 * 1024, `embedded assets: ${gz} bytes gzipped (${raw} raw), budget 153600`);
  writeFileSync(join(shots, 'measures.json'), `${JSON.stringify(measures, null, 2)}\n`);
  console.log(JSON.stringify(measures));
  await context.close();
  rmSync(profile, { recursive: true, force: true });
} catch (e) {
  fail(`the browser test stopped: ${e.stack || e}`);
  if (context) await context.close().catch(() => null);
}
stopDemo();
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('\nthe dashboard passed in headless Chromium; screenshots in target/screenshots');

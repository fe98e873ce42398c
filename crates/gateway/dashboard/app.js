// The dashboard's shell: the token prompt, the navigation and the router (location hash).

import { token, setToken, forget, whenUnauthorized, api } from './api.js';
import { show, errorBox, nextPage, current } from './ui.js';
import { overview } from './overview.js';
import { inventory } from './inventory.js';
import { endpoint } from './endpoint.js';
import { live } from './live.js';
import { alerts } from './alerts.js';
import { audit } from './audit.js';

const pages = { overview, inventory, endpoint, live, alerts, audit };
let leave = null;

function loggedIn(yes) {
  document.getElementById('login').hidden = yes;
  document.getElementById('view').hidden = !yes;
  document.getElementById('logout').hidden = !yes;
  document.getElementById('nav').hidden = !yes;
  if (!yes) document.getElementById('token').focus();
}

async function route() {
  nextPage();
  if (leave) {
    leave();
    leave = null;
  }
  if (!token()) {
    loggedIn(false);
    return;
  }
  loggedIn(true);
  const [name, query] = (location.hash.replace(/^#\/?/, '') || 'overview').split('?');
  const page = pages[name] || overview;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    leave = (await page(new URLSearchParams(query || ''))) || null;
  } catch (e) {
    if (e.status !== 401) show(current(), 'Error', errorBox(e));
  }
}

whenUnauthorized(() => {
  forget();
  document.getElementById('login-error').textContent = 'The gateway refused the token: enter it again.';
  loggedIn(false);
});

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('token');
  setToken(input.value.trim());
  input.value = '';
  document.getElementById('login-error').textContent = '';
  try {
    await api('/readyz');
    route();
  } catch (e) {
    if (e.status !== 401) document.getElementById('login-error').textContent = e.message;
  }
});

document.getElementById('logout').addEventListener('click', () => {
  forget();
  route();
});

// `portcullis demo` prints the dashboard's address with its (per-run) token in the fragment,
// which browsers never send to a server: taken into session storage, then removed from the
// address bar and the history entry.
if (location.hash.startsWith('#token=')) {
  setToken(decodeURIComponent(location.hash.slice('#token='.length)));
  history.replaceState(null, '', `${location.pathname}#/overview`);
}

window.addEventListener('hashchange', route);
route();

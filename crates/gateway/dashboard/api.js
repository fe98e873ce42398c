// The admin API from the dashboard: the token is asked once and kept in this tab's session
// storage only; every call sends it as a bearer token, and state-changing calls add the
// X-Portcullis-Admin header (no cookie is ever used).

const KEY = 'portcullis.admin-token';

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

/** An answer the dashboard did not expect; `status` 0 when the gateway could not be reached. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(f) {
  onUnauthorized = f;
}

/** Calls the admin API: JSON in and out. `missing` is returned on 404 (a route this gateway
 * does not serve, such as the inventory without detectors). */
export async function api(path, { method = 'GET', body, missing, text = false } = {}) {
  const headers = { Authorization: `Bearer ${token() || ''}` };
  if (method !== 'GET') headers['X-Portcullis-Admin'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, `the gateway cannot be reached (${e.message})`);
  }
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, 'the admin token was refused');
  }
  if (response.status === 404 && missing !== undefined) return missing;
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail || detail;
    } catch (_) { /* not problem+json */ }
    throw new ApiError(response.status, `${method} ${path}: ${response.status} ${detail}`);
  }
  if (response.status === 204) return null;
  return text ? response.text() : response.json();
}

/** Opens the live stream: a one-use ticket first (EventSource cannot send the token, and the
 * token never goes in a URL). */
export async function events() {
  const { ticket } = await api('/api/events/ticket', { method: 'POST' });
  return new EventSource(`/api/events?ticket=${encodeURIComponent(ticket)}`);
}

// The control API as the console calls it: the super-admin's bearer token lives in
// sessionStorage (gone when the tab closes, never in a cookie, so no request is sent with
// it unless this code adds it); every error arrives as a `Problem` built from the API's
// problem+json; a 401 ends the session and returns to the login page with a message.

const TOKEN = 'console.token';
const FLASH = 'console.flash';

/** An error answer from the API: status, code, title, detail and field errors. */
export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? null;
    this.title = body?.title ?? `HTTP ${status}`;
    this.detail = body?.detail ?? '';
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }

  /** The route does not exist on this server (an older build): not a failure of the request. */
  get unavailable() {
    return this.status === 404 && this.code === 'not_found' && this.detail === 'no such route';
  }
}

/** Thrown after a 401 has sent the user back to the login page: views just stop. */
export class SessionEnded extends Error {}

export const session = {
  token: () => sessionStorage.getItem(TOKEN),
  start(token) {
    sessionStorage.setItem(TOKEN, token);
  },
  /** Forgets the token; `message` ({kind, title, detail}) is shown on the login page. */
  end(message) {
    sessionStorage.removeItem(TOKEN);
    if (message) sessionStorage.setItem(FLASH, JSON.stringify(message));
  },
  /** The message left for the login page, read once. */
  takeFlash() {
    const m = sessionStorage.getItem(FLASH);
    sessionStorage.removeItem(FLASH);
    try {
      return m ? JSON.parse(m) : null;
    } catch {
      return null;
    }
  },
};

/** Calls the API; resolves to the parsed JSON body (or null), rejects with a `Problem`. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new Problem(0, { title: 'The control API could not be reached', detail: String(e.message || e) });
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = { title: res.statusText, detail: text.slice(0, 200) };
    }
  }
  if (res.status === 401 && path !== '/v1/auth/login') {
    session.end({ kind: 'error', title: 'Your session has expired', detail: 'It ran out or was revoked. Sign in again to continue.' });
    location.hash = '#/login';
    throw new SessionEnded();
  }
  if (!res.ok) throw new Problem(res.status, json);
  return json;
}

/** `path?k=v` with the empty values left out. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

let cached = null;

/**
 * What this server offers beyond the core routes, read from its own /openapi.json, so the
 * console works with a build that has no audit log, server registry or features yet.
 */
export async function capabilities() {
  if (cached) return cached;
  let spec = null;
  try {
    const res = await fetch('/openapi.json', { cache: 'no-store' });
    if (res.ok) spec = await res.json();
  } catch {
    spec = null;
  }
  const paths = spec?.paths ?? {};
  const schemas = spec?.components?.schemas ?? {};
  cached = {
    audit: Boolean(paths['/v1/audit']?.get),
    servers: Boolean(paths['/v1/servers']?.get),
    drain: Boolean(paths['/v1/servers/{name}']?.patch),
    features: Boolean(schemas.UpdateTenant?.properties?.features),
  };
  return cached;
}

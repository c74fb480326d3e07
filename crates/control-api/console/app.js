// The console's shell: hash routing (`#/tenants/acme`), so the server serves one page and
// every view is a link that can be bookmarked, opened in a new tab or reloaded.

import { Problem, SessionEnded, session } from './api.js';
import { fill, h, notice } from './dom.js';
import { renderLogin } from './login.js';
import { renderTenants } from './tenants.js';
import { renderCreate } from './create.js';
import { renderTenant } from './tenant.js';
import { renderServers } from './servers.js';
import { renderAudit } from './audit.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');

const ROUTES = [
  [/^\/login$/, renderLogin, 'Sign in', null],
  [/^\/tenants$/, renderTenants, 'Tenants', 'tenants'],
  [/^\/tenants\/new$/, renderCreate, 'New tenant', 'tenants'],
  [/^\/tenants\/([^/]+)$/, renderTenant, 'Tenant', 'tenants'],
  [/^\/servers$/, renderServers, 'Servers', 'servers'],
  [/^\/audit$/, renderAudit, 'Audit log', 'audit'],
];

/** The current hash as a path and its query parameters. */
function location_() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path, query: new URLSearchParams(query) };
}

let generation = 0;

async function route() {
  const mine = ++generation;
  const { path, query } = location_();
  const signedIn = Boolean(session.token());
  if (!signedIn && path !== '/login') {
    location.replace('#/login');
    return;
  }
  if (path === '/' || (signedIn && path === '/login')) {
    location.replace('#/tenants');
    return;
  }
  const found = ROUTES.map(([re, view, title, nav]) => ({ m: path.match(re), view, title, nav })).find((r) => r.m);
  topbar.hidden = !signedIn;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (found && a.dataset.nav === found.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page = h('div', { class: 'page' });
  fill(main, page);
  if (!found) {
    document.title = 'Not found · Tenancy console';
    fill(page, notice('error', 'No such page', `Nothing lives at #${path}.`), h('p', {}, h('a', { href: '#/tenants' }, 'Back to tenants')));
    return;
  }
  document.title = `${found.title} · Tenancy console`;
  try {
    await found.view(page, found.m.slice(1).map(decodeURIComponent), query);
  } catch (e) {
    if (e instanceof SessionEnded || mine !== generation) return;
    const p = e instanceof Problem ? e : new Problem(0, { title: 'Something went wrong', detail: String(e?.message || e) });
    page.append(notice('error', p.title, p.detail));
    console.error(e);
  }
  if (mine !== generation) return;
  // Moves keyboard and screen-reader focus to the new page, as a full load would.
  // (unless the view already put it somewhere, such as the login form's first field).
  if (!page.contains(document.activeElement)) {
    const heading = page.querySelector('#page-title');
    (heading || main).focus({ preventScroll: true });
  }
}

document.getElementById('logout').addEventListener('click', () => {
  session.end({ kind: 'info', title: 'You have signed out', detail: 'Close this tab, or sign in again.' });
  location.hash = '#/login';
});

window.addEventListener('hashchange', route);
route();

// Database servers: tenants placed against capacity, and draining (no new tenants placed).

import { api, capabilities, Problem } from './api.js';
import { badge, busy, fill, h, notice, pageHeader, table } from './dom.js';

const count = (s) => s.tenants ?? s.tenant_count ?? s.tenants_count ?? null;

function load(s) {
  const n = count(s);
  if (n == null || !s.capacity) return n ?? '—';
  const pct = Math.min(100, Math.round((n / s.capacity) * 100));
  return h('div', { class: 'load' },
    h('meter', { min: 0, max: s.capacity, value: n, high: Math.floor(s.capacity * 0.8), optimum: 0, 'aria-label': `${s.name}: ${n} of ${s.capacity} tenants` }),
    h('span', { class: 'load-text' }, `${n} / ${s.capacity}`, h('span', { class: 'muted' }, ` (${pct} %)`)));
}

export async function renderServers(page) {
  page.append(pageHeader('Servers', 'PostgreSQL servers tenants are placed on.'));
  const caps = await capabilities();
  if (!caps.servers) {
    page.append(notice('unavailable', 'Not available on this server', 'This build of control-api has one database server and no server registry; tenants live on the server TENANT_DB_ADMIN_URL names.'));
    return;
  }
  const status = h('div', { 'aria-live': 'polite' });
  page.append(status);
  let res;
  try {
    res = await api('GET', '/v1/servers');
  } catch (e) {
    if (e instanceof Problem && e.unavailable) {
      page.append(notice('unavailable', 'Not available on this server'));
      return;
    }
    throw e;
  }
  const servers = Array.isArray(res) ? res : res?.items ?? [];
  const drain = (s) => async (ev) => {
    fill(status);
    await busy(ev.currentTarget, async () => {
      try {
        await api('PATCH', `/v1/servers/${encodeURIComponent(s.name)}`, { state: 'draining' });
        fill(page);
        await renderServers(page);
        page.querySelector('[aria-live]')?.append(notice('success', `${s.name} is draining`, 'No new tenant is placed on it; its tenants stay until moved.'));
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        fill(status, notice('error', `Drain refused: ${e.title}`, e.detail));
      }
    });
  };
  page.append(table('Database servers', [
    { label: 'Name', cell: (s) => h('strong', {}, s.name) },
    { label: 'Address', cell: (s) => h('code', {}, `${s.host}:${s.port}`) },
    { label: 'State', cell: (s) => badge(s.state) },
    { label: 'Tenants / capacity', cell: load },
    { label: 'Action', cell: (s) => (caps.drain && s.state === 'accepting'
      ? h('button', { type: 'button', class: 'button small', onclick: drain(s), 'aria-label': `Drain ${s.name}` }, 'Drain')
      : h('span', { class: 'muted' }, '—')) },
  ], servers, 'No servers registered.'));
}

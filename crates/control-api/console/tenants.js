// The tenants table: status and server filters, search by slug or name, pagination. The
// filters live in the URL (`#/tenants?status=active&q=acme&page=2`), so a filtered view
// can be shared and the back button works.

import { api, capabilities, withQuery } from './api.js';
import { badge, field, h, pageHeader, table, when } from './dom.js';

const STATUSES = ['provisioning', 'active', 'suspended', 'failed', 'deleted', 'moving'];
const PER_PAGE = 20;

/** Options for a server filter or picker, or null when this server has no registry. */
export async function serverNames() {
  const caps = await capabilities();
  if (!caps.servers) return null;
  try {
    const res = await api('GET', '/v1/servers');
    const list = Array.isArray(res) ? res : res?.items ?? [];
    return list.map((s) => s.name);
  } catch {
    return null;
  }
}

export async function renderTenants(page, _params, query) {
  const filters = {
    q: query.get('q') ?? '',
    status: query.get('status') ?? '',
    server: query.get('server') ?? '',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
  };
  const [result, servers] = await Promise.all([
    api('GET', withQuery('/v1/tenants', { ...filters, per_page: PER_PAGE })),
    serverNames(),
  ]);

  page.append(pageHeader('Tenants', filters.q || filters.status || filters.server
    ? `${result.total} tenant${result.total === 1 ? ' matches' : 's match'} these filters`
    : `${result.total} tenant${result.total === 1 ? '' : 's'}`,
    h('a', { class: 'button primary', href: '#/tenants/new' }, 'New tenant')));

  const q = h('input', { id: 'filter-q', name: 'q', type: 'search', value: filters.q, placeholder: 'Slug or name' });
  const status = h('select', { id: 'filter-status', name: 'status' },
    h('option', { value: '' }, 'Any status'),
    STATUSES.map((s) => h('option', { value: s, selected: s === filters.status }, s)));
  const server = servers
    ? h('select', { id: 'filter-server', name: 'server' },
      h('option', { value: '' }, 'Any server'),
      servers.map((s) => h('option', { value: s, selected: s === filters.server }, s)))
    : null;
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tenants' },
    field('Search', q), field('Status', status), server ? field('Server', server) : null,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'button' }, 'Apply'),
      (filters.q || filters.status || filters.server) ? h('a', { class: 'button ghost', href: '#/tenants' }, 'Clear') : null));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = withQuery('#/tenants', { q: q.value.trim(), status: status.value, server: server?.value });
  });
  // A changed select applies at once; typing waits for Enter or Apply.
  for (const sel of [status, server]) sel?.addEventListener('change', () => form.requestSubmit());
  page.append(form);

  page.append(table('Tenants', [
    { label: 'Slug', cell: (t) => h('a', { href: `#/tenants/${encodeURIComponent(t.slug)}`, class: 'strong' }, t.slug) },
    { label: 'Name', cell: (t) => t.name },
    { label: 'Status', cell: (t) => badge(t.status) },
    { label: 'Plan', cell: (t) => t.plan },
    { label: 'Server', cell: (t) => t.server ?? '—' },
    { label: 'Created', cell: (t) => when(t.created_at) },
  ], result.items, filters.q || filters.status || filters.server ? 'No tenant matches these filters.' : 'No tenants yet. Create the first one.'));

  const pages = Math.max(1, Math.ceil(result.total / result.per_page));
  if (result.total > 0) {
    const first = (result.page - 1) * result.per_page + 1;
    const last = Math.min(result.total, result.page * result.per_page);
    const link = (n, label, rel) => h('a', { class: 'button', href: withQuery('#/tenants', { ...filters, page: n === 1 ? '' : n }), rel }, label);
    page.append(h('nav', { class: 'pager', 'aria-label': 'Pages' },
      result.page > 1 ? link(result.page - 1, '← Previous', 'prev') : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, '← Previous'),
      h('span', { class: 'pager-info' }, `${first}–${last} of ${result.total} · page ${result.page} of ${pages}`),
      result.page < pages ? link(result.page + 1, 'Next →', 'next') : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, 'Next →')));
  }
}

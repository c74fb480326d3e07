// The audit log: every control-plane change, newest first, filtered by tenant, actor,
// action and time, paged like every list.

import { api, capabilities, Problem, withQuery } from './api.js';
import { field, h, notice, pageHeader, table, when } from './dom.js';

const PER_PAGE = 50;

const at = (e) => e.at ?? e.created_at ?? e.occurred_at ?? e.time;
const actor = (e) => {
  const a = e.actor ?? e.actor_email ?? e.actor_id;
  if (a && typeof a === 'object') return a.email ?? a.name ?? a.id ?? JSON.stringify(a);
  return a ?? 'system';
};
const tenant = (e) => {
  const t = e.tenant ?? e.tenant_slug;
  if (t && typeof t === 'object') return t.slug ?? t.id;
  return t ?? null;
};
const client = (e) => e.client_addr ?? e.client_address ?? e.client_ip ?? e.ip ?? null;

function value(v) {
  if (v === undefined) return '∅';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** What changed, as `field: before → after` lines. */
function changes(e) {
  const c = e.changes ?? e.change ?? e.diff ?? ((e.before || e.after) ? { before: e.before, after: e.after } : null);
  if (!c || (typeof c === 'object' && !Object.keys(c).length)) return h('span', { class: 'muted' }, '—');
  if (typeof c !== 'object') return String(c);
  if ('before' in c || 'after' in c) {
    const before = c.before ?? {};
    const after = c.after ?? {};
    if (typeof before === 'object' && typeof after === 'object') {
      const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
      // A field new with this change (a creation) shows its value; a removed one, what it was.
      const line = (k) => {
        if (!(k in before)) return [value(after[k])];
        if (!(k in after)) return [value(before[k]), ' → ', h('span', { class: 'muted' }, 'removed')];
        return [value(before[k]), ' → ', value(after[k])];
      };
      const extra = Object.entries(c).filter(([k]) => k !== 'before' && k !== 'after');
      return h('ul', { class: 'changes' },
        keys.map((k) => h('li', {}, h('code', {}, k), ': ', line(k))),
        extra.map(([k, v]) => h('li', { class: 'muted' }, h('code', {}, k), ': ', value(v))));
    }
    return `${value(c.before)} → ${value(c.after)}`;
  }
  return h('ul', { class: 'changes' }, Object.entries(c).map(([k, v]) => h('li', {}, h('code', {}, k), ': ',
    v && typeof v === 'object' && ('before' in v || 'after' in v) ? `${value(v.before)} → ${value(v.after)}` : value(v))));
}

/** The entries as a table; the tenant column links to the tenant. */
export function auditTable(entries, { tenantColumn = true } = {}) {
  return table('Audit entries', [
    { label: 'Time', cell: (e) => when(at(e)), class: 'nowrap' },
    { label: 'Action', cell: (e) => h('code', { class: 'action' }, e.action) },
    { label: 'Actor', cell: actor },
    tenantColumn ? { label: 'Tenant', cell: (e) => (tenant(e) ? h('a', { href: `#/tenants/${encodeURIComponent(tenant(e))}` }, tenant(e)) : h('span', { class: 'muted' }, '—')) } : null,
    { label: 'Changes', cell: changes },
    { label: 'Client', cell: (e) => client(e) ?? '—' },
    { label: 'Request id', cell: (e) => (e.request_id ? h('code', { class: 'small' }, e.request_id) : '—') },
  ].filter(Boolean), entries, 'No audit entries.');
}

export async function renderAudit(page, _params, query) {
  page.append(pageHeader('Audit log', 'Every change made through the control plane: who, what, when and from where.'));
  const caps = await capabilities();
  if (!caps.audit) {
    page.append(notice('unavailable', 'Not available on this server', 'This build of control-api keeps no audit log.'));
    return;
  }
  const filters = {
    tenant: query.get('tenant') ?? '',
    actor: query.get('actor') ?? '',
    action: query.get('action') ?? '',
    since: query.get('since') ?? '',
    page: Math.max(1, Number.parseInt(query.get('page') ?? '1', 10) || 1),
  };
  const input = (name, attrs = {}) => h('input', { id: `audit-${name}`, name, value: filters[name], ...attrs });
  // datetime-local has no zone: it is the browser's, sent to the API as UTC.
  const sinceLocal = filters.since ? toLocalInput(filters.since) : '';
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter audit entries' },
    field('Tenant', input('tenant', { placeholder: 'slug', spellcheck: 'false' })),
    field('Actor', input('actor', { placeholder: 'email', spellcheck: 'false' })),
    field('Action', input('action', { placeholder: 'e.g. tenant.suspend', spellcheck: 'false' })),
    field('Since', h('input', { id: 'audit-since', name: 'since', type: 'datetime-local', value: sinceLocal })),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'button' }, 'Apply'),
      Object.entries(filters).some(([k, v]) => k !== 'page' && v) ? h('a', { class: 'button ghost', href: '#/audit' }, 'Clear') : null));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const since = f.since.value ? new Date(f.since.value).toISOString() : '';
    location.hash = withQuery('#/audit', { tenant: f.tenant.value.trim(), actor: f.actor.value.trim(), action: f.action.value.trim(), since });
  });
  page.append(form);
  let res;
  try {
    res = await api('GET', withQuery('/v1/audit', { ...filters, per_page: PER_PAGE }));
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    page.append(e.unavailable ? notice('unavailable', 'Not available on this server') : notice('error', e.title, [e.detail, ...e.errors.map((x) => `${x.field}: ${x.message}`)].join(' ')));
    return;
  }
  const items = res.items ?? [];
  page.append(auditTable(items));
  const total = res.total ?? items.length;
  const pages = Math.max(1, Math.ceil(total / (res.per_page ?? PER_PAGE)));
  if (pages > 1) {
    const link = (n, label) => h('a', { class: 'button', href: withQuery('#/audit', { ...filters, page: n }) }, label);
    page.append(h('nav', { class: 'pager', 'aria-label': 'Pages' },
      filters.page > 1 ? link(filters.page - 1, '← Newer') : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, '← Newer'),
      h('span', { class: 'pager-info' }, `page ${filters.page} of ${pages} · ${total} entries`),
      filters.page < pages ? link(filters.page + 1, 'Older →') : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, 'Older →')));
  }
}

function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

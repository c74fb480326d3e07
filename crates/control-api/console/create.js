// Create a tenant. The browser does no validation of its own (`novalidate`): the API's
// problem+json is the one source of truth, shown field by field under each input. After
// the 202 the provisioning job is followed live until the tenant is active or failed.

import { api, Problem } from './api.js';
import { badge, busy, field, fill, h, notice, pageHeader, setFieldError } from './dom.js';
import { watchJob } from './jobs.js';
import { serverNames } from './tenants.js';

const FIELDS = ['slug', 'name', 'plan', 'server', 'admin_email', 'admin_password'];

export async function renderCreate(page) {
  const servers = await serverNames();
  page.append(pageHeader('New tenant', 'Registers the tenant and provisions its own database, role and first admin.',
    h('a', { class: 'button ghost', href: '#/tenants' }, 'Back to tenants')));

  const input = (name, attrs = {}) => h('input', { id: `new-${name}`, name, ...attrs });
  const form = h('form', { class: 'card form-grid', novalidate: true, 'aria-label': 'New tenant' },
    field('Slug', input('slug', { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' }),
      'Lowercase letters, digits and single hyphens, 3 to 50 characters; used in URLs and the database name.'),
    field('Name', input('name', { autocomplete: 'organization' })),
    field('Plan', h('select', { id: 'new-plan', name: 'plan' },
      ['free', 'pro', 'enterprise'].map((p) => h('option', { value: p }, p)))),
    servers ? field('Server', h('select', { id: 'new-server', name: 'server' },
      h('option', { value: '' }, 'Automatic (most room)'),
      servers.map((s) => h('option', { value: s }, s)))) : null,
    field('Admin email', input('admin_email', { type: 'email', autocomplete: 'off' }), 'The tenant’s first admin user on the app plane.'),
    field('Admin password', input('admin_password', { type: 'password', autocomplete: 'new-password' }), 'At least 8 characters.'),
    h('div', { class: 'form-footer' },
      h('div', { class: 'form-status', 'aria-live': 'polite' }),
      h('button', { type: 'submit', class: 'button primary' }, 'Create tenant')));
  page.append(form);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const status = form.querySelector('.form-status');
    fill(status);
    for (const name of FIELDS) setFieldError(form, name, null);
    const body = {};
    for (const name of FIELDS) {
      const el = form.elements.namedItem(name);
      if (el && el.value !== '') body[name] = el.value;
    }
    for (const name of ['slug', 'name', 'admin_email', 'admin_password']) body[name] ??= '';
    const submit = form.querySelector('button[type=submit]');
    await busy(submit, async () => {
      try {
        const created = await api('POST', '/v1/tenants', body);
        await follow(page, created);
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        showProblem(form, status, e);
      }
    });
  });
}

/** Puts each of the problem's field errors under its input, and the problem above the button. */
function showProblem(form, status, p) {
  const fieldErrors = [...p.errors];
  // These refusals name one field without an `errors` list.
  if (p.code === 'invalid_tenant_slug' || (p.code === 'conflict' && /slug/i.test(p.detail))) {
    fieldErrors.push({ field: 'slug', message: p.detail });
  }
  const shown = fieldErrors.filter((err) => setFieldError(form, err.field, err.message));
  const unplaced = fieldErrors.filter((err) => !shown.includes(err));
  const summary = shown.length
    ? `${p.detail ? `${p.detail}: ` : ''}${shown.length === 1 ? 'one field needs' : `${shown.length} fields need`} attention.`
    : p.detail;
  fill(status, notice('error', p.title, [summary, ...unplaced.map((e) => ` ${e.field}: ${e.message}`)].join('')));
  const first = shown.length ? form.elements.namedItem(shown[0].field) : null;
  first?.focus();
}

/** Follows the provisioning job, then says how it ended. */
async function follow(page, created) {
  const tenantLink = `#/tenants/${encodeURIComponent(created.slug)}`;
  const statusSlot = h('span', {}, badge(created.status));
  const outcome = h('div', { 'aria-live': 'polite', class: 'outcome' });
  const jobSlot = h('div', { class: 'job-live' });
  fill(page,
    pageHeader(`Provisioning ${created.slug}`, created.name, h('a', { class: 'button ghost', href: tenantLink }, 'Open tenant')),
    h('p', { class: 'tenant-status-line' }, 'Tenant status: ', statusSlot),
    outcome,
    jobSlot);
  page.querySelector('#page-title').focus();
  const job = await watchJob(jobSlot, created.job);
  if (!page.isConnected) return;
  const tenant = await api('GET', `/v1/tenants/${encodeURIComponent(created.slug)}`);
  fill(statusSlot, badge(tenant.status));
  if (tenant.status === 'active') {
    fill(outcome, notice('success', `${tenant.slug} is active`, 'Its database is ready and the app plane serves it.'),
      h('p', {}, h('a', { class: 'button primary', href: tenantLink }, 'Go to the tenant'), ' ', h('a', { class: 'button ghost', href: '#/tenants/new' }, 'Create another')));
  } else {
    fill(outcome, notice('error', `Provisioning ended: ${tenant.status}`, job.last_error || 'The job did not finish; see its steps below.'),
      h('p', {}, h('a', { class: 'button', href: tenantLink }, 'Go to the tenant to retry')));
  }
}

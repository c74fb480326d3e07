// One tenant: its facts, features, jobs, backups and audit entries, and the lifecycle actions its
// status allows. A refusal (say a 409 because another operator moved it first) is shown
// with the API's title and detail, and the page is re-read so it shows the truth.

import { api, capabilities, Problem, withQuery } from './api.js';
import { auditTable } from './audit.js';
import { backupsSection } from './backups.js';
import { badge, busy, field, fill, h, notice, pageHeader, setFieldError, when } from './dom.js';
import { isFinal, jobCard, watchJob } from './jobs.js';

const path = (slug, rest = '') => `/v1/tenants/${encodeURIComponent(slug)}${rest}`;

export async function renderTenant(page, [slug]) {
  const [tenant, jobs, caps] = await Promise.all([
    api('GET', path(slug)),
    api('GET', path(slug, '/jobs')),
    capabilities(),
  ]);
  const status = h('div', { class: 'action-status', 'aria-live': 'polite' });
  const rerender = async (message) => {
    fill(page);
    await renderTenant(page, [slug]);
    if (message) page.querySelector('.action-status')?.append(message);
  };

  page.append(pageHeader([tenant.slug, badge(tenant.status)], tenant.name));
  page.append(status);
  page.append(h('div', { class: 'grid-2' },
    details(tenant),
    h('div', { class: 'column' },
      actions(tenant, status, rerender),
      tenant.status === 'deleted' ? null : edit(tenant, rerender),
      caps.features ? features(tenant, rerender) : null)));

  const jobsSlot = h('div', { class: 'jobs' });
  page.append(h('section', { class: 'section', 'aria-labelledby': 'jobs-title' },
    h('h2', { id: 'jobs-title' }, 'Jobs'), jobsSlot));
  if (!jobs.length) jobsSlot.append(h('p', { class: 'empty' }, 'No jobs.'));
  for (const job of jobs) {
    const slot = h('div', {});
    jobsSlot.append(slot);
    if (isFinal(job)) slot.append(jobCard(job));
    else watchJob(slot, job).then(() => page.isConnected && rerender()).catch(() => {});
  }

  if (tenant.status !== 'deleted') page.append(await backupsSection(tenant, rerender));
  page.append(await auditSection(tenant, caps));
  page.append(purgeZone(tenant, status, page));
}

function details(t) {
  const row = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  return h('section', { class: 'card', 'aria-labelledby': 'details-title' },
    h('h2', { id: 'details-title' }, 'Details'),
    h('dl', { class: 'facts' },
      row('Name', t.name),
      row('Plan', t.plan),
      row('Status', badge(t.status)),
      row('Server', t.server ?? h('span', { class: 'muted' }, 'default')),
      row('Database', h('code', {}, t.db_name)),
      row('Created', when(t.created_at)),
      row('Updated', when(t.updated_at)),
      t.deleted_at ? row('Deleted', when(t.deleted_at)) : null,
      row('Id', h('code', { class: 'small' }, t.id))));
}

/** The lifecycle moves this status allows (the API checks again; this only hides the rest). */
function actions(t, status, rerender) {
  const call = (label, method, rest, done) => async (ev) => {
    fill(status);
    await busy(ev.currentTarget, async () => {
      try {
        const res = await api(method, path(t.slug, rest));
        await done(res);
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        await rerender(notice('error', `${label} refused: ${e.title}`, e.detail));
      }
    });
  };
  const buttons = [];
  if (t.status === 'active') {
    buttons.push(h('button', { type: 'button', class: 'button', onclick: call('Suspend', 'POST', '/suspend', () => rerender(notice('success', `${t.slug} is suspended`, 'The app plane refuses it within seconds.'))) }, 'Suspend'));
  }
  if (t.status === 'suspended') {
    buttons.push(h('button', { type: 'button', class: 'button', onclick: call('Activate', 'POST', '/activate', () => rerender(notice('success', `${t.slug} is active again`))) }, 'Activate'));
  }
  if (t.status === 'failed') {
    buttons.push(h('button', { type: 'button', class: 'button', onclick: call('Retry', 'POST', '/provision', () => rerender(notice('info', 'Provisioning re-queued', 'Its job is followed below.'))) }, 'Retry provisioning'));
  }
  const confirmSlot = h('div', {});
  if (t.status !== 'deleted') {
    const ask = h('button', { type: 'button', class: 'button danger-outline' }, 'Soft delete');
    ask.addEventListener('click', () => {
      const confirm = h('button', { type: 'button', class: 'button danger', onclick: call('Soft delete', 'DELETE', '', () => rerender(notice('success', `${t.slug} is deleted`, 'Its database is kept until it is purged.'))) }, 'Confirm soft delete');
      const cancel = h('button', { type: 'button', class: 'button ghost', onclick: () => { fill(confirmSlot); ask.focus(); } }, 'Cancel');
      fill(confirmSlot, h('div', { class: 'confirm' },
        h('p', {}, 'The app plane stops serving this tenant; its database is kept. This cannot be undone from the console.'),
        h('div', { class: 'button-row' }, confirm, cancel)));
      confirm.focus();
    });
    buttons.push(ask);
  }
  return h('section', { class: 'card', 'aria-labelledby': 'actions-title' },
    h('h2', { id: 'actions-title' }, 'Actions'),
    buttons.length ? h('div', { class: 'button-row' }, buttons) : h('p', { class: 'muted' }, 'No lifecycle action applies to a deleted tenant; it can still be purged below.'),
    confirmSlot);
}

/** Name and plan (`PATCH /v1/tenants/{slug}` with the changed ones only). */
function edit(t, rerender) {
  const name = h('input', { id: 'edit-name', name: 'name', value: t.name, autocomplete: 'off' });
  const plan = h('select', { id: 'edit-plan', name: 'plan' },
    ['free', 'pro', 'enterprise'].map((p) => h('option', { value: p, selected: p === t.plan }, p)));
  const save = h('button', { type: 'submit', class: 'button' }, 'Save changes');
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'form-grid compact' }, field('Name', name), field('Plan', plan)),
    h('p', { class: 'hint' }, 'The plan sets the tenant’s connections, request rate and default features.'),
    h('div', { class: 'button-row' }, save), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const n of ['name', 'plan']) setFieldError(form, n, null);
    const changes = {};
    if (name.value !== t.name) changes.name = name.value;
    if (plan.value !== t.plan) changes.plan = plan.value;
    if (!Object.keys(changes).length) {
      fill(status, notice('info', 'Nothing changed'));
      return;
    }
    await busy(save, async () => {
      try {
        await api('PATCH', path(t.slug), changes);
        await rerender(notice('success', 'Tenant updated', Object.entries(changes).map(([k, v]) => `${k}: ${v}`).join(', ')));
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        const unplaced = e.errors.filter((x) => !setFieldError(form, x.field, x.message));
        fill(status, notice('error', e.title, [e.detail, ...unplaced.map((x) => `${x.field}: ${x.message}`)].join(' ')));
      }
    });
  });
  return h('section', { class: 'card', 'aria-labelledby': 'edit-title' }, h('h2', { id: 'edit-title' }, 'Name and plan'), form);
}

/**
 * Per-tenant feature switches: `features` is what the tenant gets, `feature_overrides` the
 * settings behind it; a switch saved here becomes an override, and "Use plan default"
 * removes one (`null`).
 */
function features(t, rerender) {
  const section = h('section', { class: 'card', 'aria-labelledby': 'features-title' },
    h('h2', { id: 'features-title' }, 'Features'));
  const entries = Object.entries(t.features ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) {
    section.append(h('p', { class: 'muted' }, 'This plan has no features to switch.'));
    return section;
  }
  const overrides = t.feature_overrides ?? {};
  const status = h('div', { 'aria-live': 'polite' });
  const send = async (button, changes, done) => {
    await busy(button, async () => {
      try {
        await api('PATCH', path(t.slug), { features: changes });
        await rerender(notice('success', 'Features saved', done));
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        fill(status, notice('error', e.title, [e.detail, ...e.errors.map((x) => `${x.field}: ${x.message}`)].join(' ')));
      }
    });
  };
  const boxes = [];
  const rows = entries.map(([name, on]) => {
    const box = h('input', { type: 'checkbox', id: `feature-${name}`, name, checked: Boolean(on) });
    boxes.push(box);
    const overridden = Object.hasOwn(overrides, name);
    const reset = overridden
      ? h('button', { type: 'button', class: 'button small ghost', 'aria-label': `Use the plan default for ${name}` }, 'Use plan default')
      : null;
    reset?.addEventListener('click', () => send(reset, { [name]: null }, `${name} follows the ${t.plan} plan again`));
    return h('div', { class: 'check' }, box,
      h('label', { for: box.id }, name.replace(/_/g, ' '), ' ', h('code', { class: 'small muted' }, name)),
      h('span', { class: `source ${overridden ? 'source-override' : ''}` }, overridden ? 'override' : `${t.plan} default`),
      reset);
  });
  const save = h('button', { type: 'submit', class: 'button primary' }, 'Save features');
  const form = h('form', { class: 'features' },
    h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Features'), rows),
    h('div', { class: 'button-row' }, save), status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const changed = {};
    for (const box of boxes) if (box.checked !== Boolean(t.features[box.name])) changed[box.name] = box.checked;
    if (!Object.keys(changed).length) {
      fill(status, notice('info', 'Nothing changed'));
      return;
    }
    await send(save, changed, Object.entries(changed).map(([k, v]) => `${k} ${v ? 'on' : 'off'}`).join(', '));
  });
  section.append(form);
  return section;
}

async function auditSection(t, caps) {
  const section = h('section', { class: 'section', 'aria-labelledby': 'tenant-audit-title' },
    h('h2', { id: 'tenant-audit-title' }, 'Audit entries'));
  if (!caps.audit) {
    section.append(notice('unavailable', 'Not available on this server', 'This build of control-api has no audit log.'));
    return section;
  }
  try {
    const res = await api('GET', withQuery('/v1/audit', { tenant: t.slug, per_page: 50 }));
    section.append(auditTable(res.items ?? [], { tenantColumn: false }),
      h('p', {}, h('a', { href: withQuery('#/audit', { tenant: t.slug }) }, 'All of this tenant’s entries in the audit log')));
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    section.append(e.unavailable ? notice('unavailable', 'Not available on this server') : notice('error', e.title, e.detail));
  }
  return section;
}

/** Purge: irreversible, so the slug must be typed before the button works. */
function purgeZone(t, status, page) {
  const id = 'purge-confirm';
  const input = h('input', { id, name: 'confirm', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': `${id}-hint` });
  const button = h('button', { type: 'submit', class: 'button danger', disabled: true }, 'Purge tenant');
  input.addEventListener('input', () => { button.disabled = input.value !== t.slug; });
  const jobSlot = h('div', {});
  const form = h('form', { class: 'purge-form' },
    h('label', { for: id }, 'Type ', h('code', {}, t.slug), ' to confirm'),
    h('p', { class: 'hint', id: `${id}-hint` }, 'Drops the tenant’s database and role. This cannot be undone.'),
    h('div', { class: 'inline-form' }, input, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (input.value !== t.slug) return;
    fill(status);
    await busy(button, async () => {
      try {
        const res = await api('DELETE', withQuery(path(t.slug), { purge: 'true' }));
        const outcome = h('div', { 'aria-live': 'polite' });
        fill(page, pageHeader(`Purging ${t.slug}`, t.name, h('a', { class: 'button ghost', href: '#/tenants' }, 'Back to tenants')), outcome, jobSlot);
        page.querySelector('#page-title').focus();
        const job = await watchJob(jobSlot, res.job);
        if (job.state === 'succeeded') fill(outcome, notice('success', `${t.slug} is purged`, 'Its database and role are gone; the slug is free again.'));
        else fill(outcome, notice('error', `Purge ${job.state}`, job.last_error || ''));
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        fill(status, notice('error', `Purge refused: ${e.title}`, e.detail));
      }
    });
  });
  return h('section', { class: 'card danger-zone section', 'aria-labelledby': 'danger-title' },
    h('h2', { id: 'danger-title' }, 'Danger zone'), form);
}

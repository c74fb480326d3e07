// A tenant's backups on its page: the list (created, state, size, schema version), "Back up
// now" (queues the job and follows it to its end), and "Restore" for each complete backup,
// behind a typed confirmation (the slug), following the restore job until the tenant is
// active again. Refusals show the API's problem title and detail in the section.

import { api, Problem } from './api.js';
import { badge, busy, fill, h, notice, table, when } from './dom.js';
import { watchJob } from './jobs.js';

const path = (slug, rest) => `/v1/tenants/${encodeURIComponent(slug)}${rest}`;

/** 1536 -> "1.5 KiB". */
export function size(bytes) {
  if (bytes == null) return h('span', { class: 'muted' }, '—');
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

/** Moves focus to a message just shown, so keyboard and screen-reader users land on it. */
function announce(el) {
  el.setAttribute('tabindex', '-1');
  el.focus();
}

/**
 * The Backups section of tenant `t`; `rerender(message)` reads the whole page again (a
 * restore changes the tenant's status and database, a backup adds a row).
 */
export async function backupsSection(t, rerender) {
  const section = h('section', { class: 'section backups', 'aria-labelledby': 'backups-title' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'backups-title' }, 'Backups')));
  const status = h('div', { class: 'action-status', 'aria-live': 'polite' });
  const jobSlot = h('div', { class: 'jobs' });
  let list;
  try {
    list = await api('GET', path(t.slug, '/backups'));
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    section.append(e.unavailable ? notice('unavailable', 'Not available on this server', 'This build of control-api has no backups.') : notice('error', e.title, e.detail));
    return section;
  }
  const canBackUp = t.status === 'active' || t.status === 'suspended';
  if (canBackUp) {
    const now = h('button', { type: 'button', class: 'button primary' }, 'Back up now');
    now.addEventListener('click', () => backUp(t, now, status, jobSlot, rerender));
    section.querySelector('.section-head').append(now);
  }
  const confirmSlot = h('div', {});
  const restorable = (b) => b.state === 'complete' && t.status === 'active';
  const columns = [
    { label: 'Created', class: 'nowrap', cell: (b) => when(b.created_at) },
    { label: 'State', cell: (b) => badge(b.state) },
    { label: 'Size', cell: (b) => size(b.size_bytes) },
    { label: 'Schema version', cell: (b) => (b.schema_version ? h('code', { class: 'small' }, b.schema_version) : h('span', { class: 'muted' }, '—')) },
    {
      label: 'Restore',
      cell: (b) => {
        if (!restorable(b)) return h('span', { class: 'muted' }, '—');
        const taken = when(b.created_at).textContent;
        const button = h('button', { type: 'button', class: 'button small danger-outline', 'aria-label': `Restore the backup of ${taken}`, 'data-backup': b.id }, 'Restore');
        button.addEventListener('click', () => askRestore(t, b, taken, button, confirmSlot, status, jobSlot, rerender));
        return button;
      },
    },
  ];
  section.append(
    h('p', { class: 'hint' }, 'Encrypted copies of the tenant’s database. A restore replaces its data with a backup’s; meanwhile the app plane serves reads and answers writes 503.'),
    status,
    table(`Backups of ${t.slug}`, columns, list, canBackUp ? 'No backups yet.' : 'No backups.'),
    confirmSlot,
    jobSlot);
  return section;
}

async function backUp(t, button, status, jobSlot, rerender) {
  fill(status);
  await busy(button, async () => {
    let res;
    try {
      res = await api('POST', path(t.slug, '/backups'));
    } catch (e) {
      if (!(e instanceof Problem)) throw e;
      announce(fill(status, notice('error', `Backup refused: ${e.title}`, e.detail)).firstChild);
      return;
    }
    fill(status, notice('info', 'Backup queued', 'Its job is followed below.'));
    const job = await watchJob(jobSlot, res.job);
    if (job.state === 'succeeded') await done(rerender, notice('success', 'Backup complete', `${t.slug} was backed up; it is listed under Backups.`));
    else announce(fill(status, notice('error', `Backup ${job.state}`, job.last_error || '')).firstChild);
  });
}

/** The typed confirmation for restoring `b`; Cancel puts focus back on its button. */
function askRestore(t, b, taken, opener, slot, status, jobSlot, rerender) {
  const id = 'restore-confirm';
  const input = h('input', { id, name: 'confirm', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': `${id}-hint` });
  const go = h('button', { type: 'submit', class: 'button danger', disabled: true }, 'Restore backup');
  const cancel = h('button', { type: 'button', class: 'button ghost' }, 'Cancel');
  input.addEventListener('input', () => { go.disabled = input.value !== t.slug; });
  cancel.addEventListener('click', () => { fill(slot); opener.focus(); });
  const form = h('form', { class: 'confirm purge-form', 'aria-labelledby': `${id}-title` },
    h('h3', { id: `${id}-title` }, 'Restore the backup of ', taken),
    h('p', { class: 'hint', id: `${id}-hint` }, 'The tenant’s current data is replaced by this backup’s, and anything written since it was taken is lost. Until it is done the app plane serves reads and answers writes 503.'),
    h('label', { for: id }, 'Type ', h('code', {}, t.slug), ' to confirm'),
    h('div', { class: 'inline-form' }, input, go, cancel));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (input.value !== t.slug) return;
    fill(status);
    await busy(go, async () => {
      let res;
      try {
        res = await api('POST', path(t.slug, '/restore'), { backup_id: b.id });
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        announce(fill(status, notice('error', `Restore refused: ${e.title}`, e.detail)).firstChild);
        return;
      }
      fill(slot);
      fill(status, notice('info', `${t.slug} is being restored`, 'The tenant is moving; its restore job is followed below.'));
      const job = await watchJob(jobSlot, res.job);
      if (job.state === 'succeeded') await done(rerender, notice('success', `${t.slug} is restored`, `Its data is the backup of ${taken}; it is active again.`));
      else await done(rerender, notice('error', `Restore ${job.state}`, `${job.last_error || ''} The tenant keeps its current data.`.trim()));
    });
  });
  fill(slot, form);
  input.focus();
}

/** Reads the page again with `message` at the top, and puts focus on it. */
async function done(rerender, message) {
  await rerender(message);
  if (message.isConnected) announce(message);
}

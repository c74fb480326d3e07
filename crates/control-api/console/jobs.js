// A job's record and its steps, and a live view that polls GET /v1/jobs/{id} until the
// job reaches a final state. The API reports the step being run (or the last reached);
// the steps before it are done, since each job runs its steps in this order.

import { api, Problem, SessionEnded } from './api.js';
import { badge, fill, h, notice, when } from './dom.js';

const STEPS = {
  provision: [
    ['credentials', 'Generate the tenant role’s credentials'],
    ['create_role', 'Create the tenant’s login role'],
    ['create_database', 'Create the database'],
    ['revoke_public', 'Revoke CONNECT from PUBLIC'],
    ['migrate_and_seed', 'Run migrations and seed the first admin'],
    ['activate', 'Mark the tenant active'],
  ],
  purge: [['drop_database', 'Drop the database and its role']],
  backup: [['dump', 'Dump, encrypt and write the backup file']],
  restore: [
    ['verify_backup', 'Verify the backup file'],
    ['create_database', 'Create a fresh database'],
    ['restore_data', 'Load the backup’s data'],
    ['migrate_and_seed', 'Bring the schema up to date'],
    ['switch_database', 'Switch the tenant to the restored database'],
    ['drop_database', 'Drop the database it replaced'],
  ],
  move: [
    ['fence_source', 'Make the source database read-only'],
    ['create_role', 'Create the tenant’s role on the target server'],
    ['create_database', 'Create the database on the target server'],
    ['copy_data', 'Copy the data (pg_dump into pg_restore)'],
    ['verify_copy', 'Compare every table’s rows and the migration history'],
    ['switch_server', 'Switch the tenant to the target server'],
    ['drop_source', 'Drop the source database after the grace period'],
  ],
};

const TITLES = { provision: 'Provisioning job', purge: 'Purge job', backup: 'Backup job', restore: 'Restore job', move: 'Move job' };

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const POLL_MS = 600;

export const isFinal = (job) => FINAL.has(job.state);

/** Each step as done, running, failed or pending, from the job's state and current step. */
export function stepStates(job) {
  const steps = STEPS[job.kind] ?? (job.step ? [[job.step, job.step]] : []);
  const at = steps.findIndex(([name]) => name === job.step);
  return steps.map(([name, label], i) => {
    let state = 'pending';
    if (job.state === 'succeeded') state = 'done';
    else if (at >= 0 && i < at) state = 'done';
    else if (i === at) state = job.state === 'failed' || job.state === 'cancelled' ? 'failed' : job.state === 'retrying' ? 'retrying' : 'running';
    return { name, label, state };
  });
}

const STATE_WORD = { done: 'done', running: 'in progress', failed: 'failed', retrying: 'retrying', pending: 'pending' };

/** The steps as an ordered list. */
export function stepList(job) {
  return h('ol', { class: 'steps', 'aria-label': `Steps of the ${job.kind} job` },
    stepStates(job).map((s) => h('li', { class: `step step-${s.state}`, 'data-step': s.name },
      h('span', { class: 'step-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'step-label' }, s.label),
      h('span', { class: 'step-state' }, STATE_WORD[s.state]))));
}

/** A job's summary line: kind, state, attempts, timings and its last error. */
export function jobCard(job) {
  return h('section', { class: 'job card', 'data-job': job.id, 'data-state': job.state },
    h('div', { class: 'job-head' },
      h('h3', {}, TITLES[job.kind] ?? `${job.kind} job`),
      badge(job.state)),
    h('dl', { class: 'facts facts-inline' },
      h('div', {}, h('dt', {}, 'Attempts'), h('dd', {}, `${job.attempts} of ${job.max_attempts}`)),
      h('div', {}, h('dt', {}, 'Created'), h('dd', {}, when(job.created_at))),
      h('div', {}, h('dt', {}, 'Finished'), h('dd', {}, when(job.finished_at))),
      h('div', {}, h('dt', {}, 'Duration'), h('dd', {}, job.duration_ms == null ? '—' : `${(job.duration_ms / 1000).toFixed(1)} s`))),
    stepList(job),
    job.last_error ? notice(job.state === 'failed' ? 'error' : 'info', 'Last error', job.last_error) : null,
    h('p', { class: 'muted small' }, 'Job ', h('code', {}, job.id)));
}

/**
 * Polls the job into `container` until it is final (or the container leaves the page),
 * then resolves with the last record.
 */
export async function watchJob(container, job) {
  let current = job;
  fill(container, jobCard(current));
  while (!isFinal(current)) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (!container.isConnected) return current;
    try {
      current = await api('GET', `/v1/jobs/${encodeURIComponent(current.id)}`);
    } catch (e) {
      if (e instanceof SessionEnded) throw e;
      if (e instanceof Problem && e.status >= 500) continue;
      throw e;
    }
    fill(container, jobCard(current));
  }
  return current;
}

//! Runs one job to its end: claim (lease + attempt), the tenant's job lock, the fenced
//! steps, and the outcome: succeeded, retried with backoff, failed, cancelled (the tenant
//! moved on), or deferred without spending an attempt (the tenant server is unreachable).

use super::{backup, moves, provision, purge, restore};
use crate::events;
use crate::hooks::Step;
use crate::provisioner::ForeignObject;
use crate::repo::backups;
use crate::repo::jobs::{self, Job, JobKind, JobState};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use anyhow::Context;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement, TransactionTrait,
};
use std::time::Duration;
use tenancy_core::domain::TenantStatus;
use tenancy_core::observability::catalogue;
use tenancy_core::sea_orm_error::is_connection_error;
use uuid::Uuid;

/// How often a job waiting for its tenant's lock tries again.
const LOCK_RETRY: Duration = Duration::from_millis(100);

/// Why a job stops other than by failing.
#[derive(Debug, thiserror::Error)]
pub(super) enum Halt {
    /// The tenant moved on (deleted, purged, re-provisioned): the job ends `cancelled`
    /// and leaves the tenant as it is.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// Another attempt owns the job now (this one's lease expired): write nothing more.
    #[error("this attempt no longer owns the job")]
    Lost,
}

/// What a job step works with: the job, and the checks it makes before every step.
pub(super) struct Fence<'a> {
    pub state: &'a AppState,
    pub job: &'a Job,
}

impl Fence<'_> {
    /// Before each step: renews the lease and records the step (or stops if the job was
    /// lost), re-reads the tenant (or stops if it moved on), in one round trip; then runs
    /// the test fault hook, if any.
    pub async fn step(&self, step: Step) -> anyhow::Result<Tenant> {
        let (db, lease) = (&self.state.db, self.state.settings.job_lease);
        let (owned, tenant) =
            jobs::heartbeat_and_tenant(db, self.job, step.as_str(), lease).await?;
        if !owned {
            return Err(Halt::Lost.into());
        }
        let tenant = self.check(tenant)?;
        if let Some(fault) = &self.state.hooks.fault {
            fault.check(step).await?;
        }
        Ok(tenant)
    }

    /// The job's tenant, if it is still the one this job works for (read before the first
    /// step, to know which database server to reach).
    pub async fn tenant(&self) -> anyhow::Result<Tenant> {
        self.check(tenants::find(&self.state.db, self.job.tenant_id).await?)
    }

    /// Whether a `move` or `restore` already switched the tenant to its target: the
    /// tenant is on the job's target database at a later generation than the job's. Such
    /// a job, resumed, only drops what it switched away from.
    pub fn past_switch(&self, t: &Tenant) -> bool {
        matches!(self.job.kind, JobKind::Move | JobKind::Restore)
            && t.generation > self.job.generation
            && jobs::plan_of(self.job)
                .is_some_and(|p| t.server == p.target_server && t.db_name == p.target_db)
    }

    /// `found` if it is still the tenant this job works for (same status and generation,
    /// or past the switch of this job's move or restore).
    fn check(&self, found: Option<Tenant>) -> anyhow::Result<Tenant> {
        use TenantStatus::*;
        let want: &[TenantStatus] = match self.job.kind {
            JobKind::Provision => &[Provisioning],
            JobKind::Purge => &[Deleted],
            JobKind::Backup => &[Active, Suspended],
            JobKind::Restore | JobKind::Move => &[Moving],
        };
        match found {
            None => Err(Halt::Cancelled("the tenant no longer exists".into()).into()),
            Some(t) if t.purged_at.is_some() => {
                Err(Halt::Cancelled("the tenant was purged".into()).into())
            }
            Some(t) if self.past_switch(&t) => Ok(t),
            Some(t) if !want.contains(&t.status) || t.generation != self.job.generation => {
                Err(Halt::Cancelled(format!(
                    "the tenant is now {} (generation {}); this job was for {} (generation {})",
                    t.status.as_str(),
                    t.generation,
                    want[0].as_str(),
                    self.job.generation
                ))
                .into())
            }
            Some(t) => Ok(t),
        }
    }

    /// Ends the job `succeeded` in `txn`, or stops if this attempt lost it.
    pub async fn succeed(&self, txn: &DatabaseTransaction) -> anyhow::Result<()> {
        if jobs::finish(txn, self.job, JobState::Succeeded, None).await? {
            Ok(())
        } else {
            Err(Halt::Lost.into())
        }
    }
}

/// Delay before the next attempt: base x 2^(attempt-1), at most a minute.
fn backoff(base: Duration, attempt: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).clamp(0, 16) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(60))
}

/// The tenant database server did not answer a ping in time.
#[derive(Debug, thiserror::Error)]
#[error("the tenant database server is unreachable")]
struct TenantServerDown;

/// The tenant database server (or the control database) could not be reached.
fn unreachable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.is::<TenantServerDown>() || e.downcast_ref::<DbErr>().is_some_and(is_connection_error)
    })
}

/// Runs the job until it succeeds, fails for good, is cancelled or deferred. Returns
/// quietly when another worker owns the job.
pub(crate) async fn execute(state: &AppState, job_id: Uuid) -> anyhow::Result<()> {
    loop {
        let Some(job) = jobs::claim(&state.db, job_id, state.settings.job_lease).await? else {
            if give_up_exhausted(state, job_id).await? {
                return Ok(());
            }
            tracing::debug!(job.id = %job_id, "job not claimable (finished, or owned by another worker)");
            return Ok(());
        };
        let err = match attempt(state, &job).await {
            Ok(tenant) => {
                metrics::counter!(catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "succeeded")
                    .increment(1);
                if job.kind == JobKind::Provision {
                    let since_created = chrono::Utc::now().fixed_offset() - job.created_at;
                    let secs = since_created.num_milliseconds().max(0) as f64 / 1000.0;
                    metrics::histogram!(catalogue::PROVISIONING_DURATION_SECONDS).record(secs);
                }
                count_move(&job, "succeeded");
                events::publish(state, &tenant).await;
                return Ok(());
            }
            Err(err) => err,
        };
        let message = format!("{err:#}");
        match err.downcast_ref::<Halt>() {
            Some(Halt::Lost) => return Ok(()),
            Some(Halt::Cancelled(reason)) => {
                jobs::finish(&state.db, &job, JobState::Cancelled, Some(reason)).await?;
                if let (JobKind::Backup, Some(id)) = (job.kind, job.backup_id) {
                    backups::fail(&state.db, id).await?;
                }
                metrics::counter!(catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "cancelled")
                    .increment(1);
                count_move(&job, "cancelled");
                tracing::info!(job.id = %job.id, job.kind = ?job.kind, %reason, "job cancelled");
                return Ok(());
            }
            None => {}
        }
        if err.downcast_ref::<ForeignObject>().is_some()
            || crate::backup::is_final(&err)
            || (job.kind == JobKind::Move && moves::is_final(&err))
            || job.attempts >= job.max_attempts
        {
            return give_up(state, &job, &message).await;
        }
        let delay = backoff(state.settings.job_backoff, job.attempts);
        metrics::counter!(catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "retried").increment(1);
        if unreachable(&err) {
            // Not the job's fault: the attempt is given back and the reconciler queues the
            // job again once its delay is over, however long the server stays away.
            tracing::warn!(job.id = %job.id, error = %message, retry_in_ms = delay.as_millis() as u64, "job deferred: a database server is unreachable");
            jobs::retry_later(&state.db, &job, &message, delay, false).await?;
            return Ok(());
        }
        tracing::warn!(
            job.id = %job.id, job.attempt = job.attempts, error = %message,
            retry_in_ms = delay.as_millis() as u64, "job attempt failed"
        );
        jobs::retry_later(&state.db, &job, &message, delay, true).await?;
        tokio::time::sleep(delay).await;
    }
}

/// One attempt under the tenant's job lock; returns the tenant as the job left it.
async fn attempt(state: &AppState, job: &Job) -> anyhow::Result<Tenant> {
    let _lock = lock_tenant(state, job).await?;
    let fence = Fence { state, job };
    let tenant = fence.tenant().await?;
    // Bounded well inside the lease: the pool would keep retrying a refused connection.
    let patience = (state.settings.job_lease / 3).min(Duration::from_secs(5));
    let provisioner = state.servers.provisioner(&tenant.server).await?;
    match tokio::time::timeout(patience, provisioner.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(anyhow::Error::new(e).context(TenantServerDown)),
        Err(_) => return Err(TenantServerDown.into()),
    }
    match job.kind {
        JobKind::Provision => provision::run(&fence, &tenant, &provisioner).await,
        JobKind::Purge => purge::run(&fence).await,
        JobKind::Backup => backup::run(&fence, &tenant).await,
        JobKind::Restore => restore::run(&fence, &tenant).await,
        JobKind::Move => moves::run(&fence, &tenant).await,
    }
}

/// Takes the tenant's job lock: a transaction-scoped advisory lock in the control
/// database, released when the returned transaction ends (also when the process dies).
/// Waits while another job of the tenant holds it, keeping this job's lease alive.
async fn lock_tenant(state: &AppState, job: &Job) -> anyhow::Result<DatabaseTransaction> {
    loop {
        let txn = state.locks.begin().await?;
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock(hashtextextended('tenant-job:' || $1::text, 0)) AS ok",
                [job.tenant_id.into()],
            ))
            .await?
            .context("the lock query returned no row")?;
        if row.try_get::<bool>("", "ok")? {
            return Ok(txn);
        }
        drop(txn);
        if !jobs::heartbeat(&state.db, job, None, state.settings.job_lease).await? {
            return Err(Halt::Lost.into());
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
}

/// A job whose worker died during its last attempt: it fails, and so does a provisioning
/// tenant of the same generation. `false` when the job is not such a job.
async fn give_up_exhausted(state: &AppState, job_id: Uuid) -> anyhow::Result<bool> {
    let message = "the worker stopped during the last attempt (killed, or lost its lease); \
                   no attempts left";
    let txn = state.db.begin().await?;
    let Some(job) = jobs::fail_exhausted(&txn, job_id, message).await? else {
        return Ok(false);
    };
    // The tenant is still `moving` here, so the rollback sees what the job left.
    after_switch_or_undo(state, &job).await;
    let failed = tenant_after_failure(&txn, &job).await?;
    txn.commit().await?;
    tracing::error!(job.id = %job.id, job.kind = ?job.kind, job.attempts = job.attempts, error = %message, "job failed");
    metrics::counter!(catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "failed").increment(1);
    count_move(&job, "failed");
    if let Some(t) = failed {
        events::publish(state, &t).await;
    }
    Ok(true)
}

/// Attempts spent, or a failure no attempt can fix: the job fails; a provisioning tenant
/// of the same generation becomes `failed`, a restoring one `active` again.
async fn give_up(state: &AppState, job: &Job, message: &str) -> anyhow::Result<()> {
    let txn = state.db.begin().await?;
    if !jobs::finish(&txn, job, JobState::Failed, Some(message)).await? {
        return Ok(());
    }
    after_switch_or_undo(state, job).await;
    let failed = tenant_after_failure(&txn, job).await?;
    txn.commit().await?;
    tracing::error!(job.id = %job.id, job.kind = ?job.kind, error = %message, "job failed");
    metrics::counter!(catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "failed").increment(1);
    count_move(job, "failed");
    if let Some(t) = failed {
        events::publish(state, &t).await;
    }
    Ok(())
}

/// What a failed job leaves its tenant as, written in the transaction that fails the job;
/// `Some` when the tenant changed (to be announced).
async fn tenant_after_failure(
    txn: &DatabaseTransaction,
    job: &Job,
) -> anyhow::Result<Option<Tenant>> {
    Ok(match job.kind {
        JobKind::Provision => tenants::mark_failed(txn, job.tenant_id, job.generation).await?,
        JobKind::Purge => None,
        JobKind::Backup => {
            if let Some(id) = job.backup_id {
                backups::fail(txn, id).await?;
            }
            None
        }
        // The tenant stays on its current database (a move's source) and is served again.
        JobKind::Restore | JobKind::Move => {
            tenants::finish_move(txn, job.tenant_id, job.generation, None).await?
        }
    })
}

/// A failed `move` rolls back (or, past its switch, finishes its source drop); a failed
/// `restore` past its switch drops the database it replaced.
async fn after_switch_or_undo(state: &AppState, job: &Job) {
    match job.kind {
        JobKind::Move => moves::undo(state, job).await,
        JobKind::Restore => restore::after_failure(state, job).await,
        _ => {}
    }
}

fn count_move(job: &Job, outcome: &'static str) {
    if job.kind == JobKind::Move {
        metrics::counter!(catalogue::TENANT_MOVES_TOTAL, "outcome" => outcome).increment(1);
    }
}

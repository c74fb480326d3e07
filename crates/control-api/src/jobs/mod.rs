//! Background jobs on Redis (apalis): provisioning and purging tenant databases.
//!
//! The queue message carries ids only, never a password, hash or credential. The truth
//! about a job (state, attempts, last error, timings) lives in the control database, written
//! by the job itself; a lease there makes sure one worker runs a job at a time, and the
//! reconciler re-queues jobs whose message or worker was lost.

pub mod fault;
mod provision;
mod purge;
pub mod reconcile;

pub use fault::{Fault, FaultKind, Step};

use crate::repo::jobs::{self, Job, JobKind};
use crate::repo::tenants;
use crate::state::AppState;
use apalis::prelude::*;
use apalis_redis::{Config, RedisStorage};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenancy_core::domain::TenantStatus;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The stable name of the queue (prefixed per deployment).
pub const QUEUE_NAME: &str = "tenant-jobs";

/// What goes onto Redis: ids, nothing secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub kind: JobKind,
}

/// The producer side of the job queue.
#[derive(Clone)]
pub struct Queue {
    storage: RedisStorage<JobMessage>,
}

impl Queue {
    /// `poll` is how often an idle worker looks for new jobs: apalis-redis re-polls an
    /// empty queue only when its heartbeat fires, so the heartbeat is the queue latency.
    pub fn new(conn: ConnectionManager, prefix: &str, poll: Duration) -> Self {
        // A worker is presumed dead after ~10 s without a heartbeat, whatever the poll rate.
        let missed =
            (Duration::from_secs(10).as_millis() / poll.as_millis().max(1)).max(2) as usize;
        let config = Config::default()
            .queue(format!("{prefix}:{QUEUE_NAME}"))
            .heartbeat_interval(poll)
            .missed_heartbeats(missed);
        Self {
            storage: RedisStorage::new(conn).with_config(config),
        }
    }

    pub async fn push(&self, job: &Job) -> Result<(), BoxDynError> {
        let kind = if job.kind == "purge" {
            JobKind::Purge
        } else {
            JobKind::Provision
        };
        let msg = JobMessage {
            job_id: job.id,
            tenant_id: job.tenant_id,
            kind,
        };
        let mut storage = self.storage.clone();
        storage
            .push(msg)
            .await
            .map_err(|e| Box::new(e) as BoxDynError)
    }

    fn storage(&self) -> RedisStorage<JobMessage> {
        self.storage.clone()
    }
}

/// Queues a job whose record was just committed. A failure here is not the client's: the
/// record stays `queued` and the reconciler queues it again.
pub async fn enqueue_after_commit(state: &AppState, job: &Job) {
    if let Err(e) = state.queue.push(job).await {
        tracing::warn!(job.id = %job.id, error = %e, "could not queue job; the reconciler will retry");
    }
    state.fast_path.run(state, job.id);
}

/// Starts a just-queued job in this process at once, when the process runs a worker with a
/// slot free, instead of leaving it until the worker's next poll of the queue (up to
/// `QUEUE_POLL_MS`). The queued message stays as the durable copy: whoever claims the job
/// first runs it, and the other finds it claimed and does nothing.
#[derive(Clone)]
pub struct FastPath {
    slots: Option<Arc<Semaphore>>,
    /// Cancelled when the process stops: a job cut off here is picked up again after its
    /// lease, like one whose worker died.
    pub shutdown: CancellationToken,
}

impl FastPath {
    pub fn new(run_worker: bool, concurrency: usize) -> Self {
        Self {
            slots: run_worker.then(|| Arc::new(Semaphore::new(concurrency.max(1)))),
            shutdown: CancellationToken::new(),
        }
    }

    fn run(&self, state: &AppState, job_id: Uuid) {
        let Some(permit) = self
            .slots
            .as_ref()
            .and_then(|s| s.clone().try_acquire_owned().ok())
        else {
            return;
        };
        let (state, shutdown) = (state.clone(), self.shutdown.clone());
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                _ = shutdown.cancelled() => {}
                result = execute(&state, job_id) => if let Err(e) = result {
                    tracing::error!(job.id = %job_id, error = %format!("{e:#}"), "job error");
                },
            }
        });
    }
}

/// Delay before the next attempt: base x 2^(attempt-1), at most a minute.
fn backoff(base: Duration, attempt: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).clamp(0, 16) as u32);
    base.saturating_mul(factor).min(Duration::from_secs(60))
}

/// Runs one job to its end: claims it, runs it, and retries it with backoff until it
/// succeeds or its attempts are spent. Returns quietly when another worker owns the job.
pub async fn execute(state: &AppState, job_id: Uuid) -> anyhow::Result<()> {
    loop {
        let Some(job) = jobs::claim(&state.db, job_id, state.settings.job_lease).await? else {
            tracing::debug!(job.id = %job_id, "job not claimable (finished, or owned by another worker)");
            return Ok(());
        };
        let Some(tenant) = tenants::find(&state.db, job.tenant_id).await? else {
            jobs::finish(
                &state.db,
                job.id,
                "cancelled",
                Some("tenant no longer exists"),
            )
            .await?;
            return Ok(());
        };
        let started = Instant::now();
        let outcome = match job.kind.as_str() {
            "purge" => purge::run(state, &job, &tenant).await,
            _ if tenant.status != TenantStatus::Provisioning.as_str() => {
                let reason = format!("tenant is {}, not provisioning", tenant.status);
                jobs::finish(&state.db, job.id, "cancelled", Some(&reason)).await?;
                tracing::info!(tenant.slug = %tenant.slug, %reason, "provisioning job cancelled");
                return Ok(());
            }
            _ => provision::run(state, &job, &tenant).await,
        };
        match outcome {
            Ok(()) => {
                metrics::counter!(tenancy_core::observability::catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "succeeded").increment(1);
                if job.kind == "provision" {
                    let since_created = (chrono::Utc::now().fixed_offset() - job.created_at)
                        .to_std()
                        .unwrap_or(started.elapsed());
                    metrics::histogram!(
                        tenancy_core::observability::catalogue::PROVISIONING_DURATION_SECONDS
                    )
                    .record(since_created.as_secs_f64());
                }
                if let Some(t) = tenants::find(&state.db, tenant.id).await? {
                    crate::events::publish(state, &t).await;
                }
                return Ok(());
            }
            Err(err) => {
                let message = format!("{err:#}");
                if job.attempts >= job.max_attempts {
                    give_up(state, &job, &message).await?;
                    return Ok(());
                }
                let delay = backoff(state.settings.job_backoff, job.attempts);
                tracing::warn!(
                    tenant.slug = %tenant.slug, job.id = %job.id, job.attempt = job.attempts,
                    error = %message, retry_in_ms = delay.as_millis() as u64, "job attempt failed"
                );
                metrics::counter!(tenancy_core::observability::catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "retried").increment(1);
                jobs::retry_later(&state.db, job.id, &message, delay).await?;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Attempts spent: the job fails and a provisioning tenant becomes `failed`.
async fn give_up(state: &AppState, job: &Job, message: &str) -> anyhow::Result<()> {
    use sea_orm::TransactionTrait;
    let txn = state.db.begin().await?;
    jobs::finish(&txn, job.id, "failed", Some(message)).await?;
    let failed = if job.kind == "provision" {
        tenants::transition(
            &txn,
            job.tenant_id,
            &[TenantStatus::Provisioning],
            TenantStatus::Failed,
        )
        .await?
    } else {
        None
    };
    txn.commit().await?;
    tracing::error!(job.id = %job.id, job.kind = %job.kind, error = %message, "job failed; attempts exhausted");
    metrics::counter!(tenancy_core::observability::catalogue::PROVISIONING_JOBS_TOTAL, "outcome" => "failed").increment(1);
    if let Some(t) = failed {
        crate::events::publish(state, &t).await;
    }
    Ok(())
}

/// The apalis handler: the message is only a pointer to the job record.
async fn handle(msg: JobMessage, state: Data<AppState>) -> Result<(), BoxDynError> {
    let span = tracing::info_span!("job", job.id = %msg.job_id, tenant.id = %msg.tenant_id, job.kind = msg.kind.as_str());
    let _enter = span.enter();
    drop(_enter);
    execute(&state, msg.job_id).await.map_err(|e| {
        tracing::error!(job.id = %msg.job_id, error = %format!("{e:#}"), "job handler error");
        Box::<dyn std::error::Error + Send + Sync>::from(format!("{e:#}"))
    })
}

/// Runs the worker and the reconciler until `shutdown` is cancelled.
pub async fn run_worker(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    // apalis refuses a worker name still registered from a previous start (apalis-redis#76),
    // so every process start gets its own.
    let name = format!("control-worker-{}", Uuid::new_v4().simple());
    tracing::info!(worker = %name, "provisioning worker starting");
    let reconciler = tokio::spawn(reconcile::run(state.clone(), shutdown.clone()));
    let worker = WorkerBuilder::new(name)
        .backend(state.queue.storage())
        .data(state.clone())
        .concurrency(state.settings.worker_concurrency)
        .build(handle);
    let token = shutdown.clone();
    tenancy_core::observability::catalogue::register_control_plane();
    metrics::gauge!(tenancy_core::observability::catalogue::JOB_WORKER_UP).set(1.0);
    let result = worker
        .run_until(async move {
            token.cancelled().await;
            Ok::<(), std::io::Error>(())
        })
        .await;
    metrics::gauge!(tenancy_core::observability::catalogue::JOB_WORKER_UP).set(0.0);
    shutdown.cancel();
    let _ = reconciler.await;
    tracing::info!("provisioning worker stopped");
    result.map_err(|e| anyhow::anyhow!("worker stopped with an error: {e}"))
}

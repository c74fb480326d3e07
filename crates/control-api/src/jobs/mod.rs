//! Background jobs: provisioning and purging tenant databases. The job path, in one place:
//!
//! - **The truth** is the job record in the control database (kind, state, attempts, step,
//!   lease, error, the tenant generation it works for), written by the job itself.
//! - **Triggers** only say "look at job X"; all of them call the same [`runner::execute`]:
//!   1. the apalis message on Redis (the queue the design requires), consumed by a
//!      supervised worker ([`supervisor`]);
//!   2. an immediate in-process start ([`ImmediateStart`]) right after the record commits,
//!      because apalis-redis polls an idle queue only at its heartbeat;
//!   3. the reconciler ([`reconcile`]), which re-queues jobs whose message or worker was
//!      lost and tenants left in `provisioning` without a job.
//!
//!   Whoever claims the job first runs it (`repo::jobs::claim` takes a lease and counts an
//!   attempt); the others find it claimed and return.
//! - **Fencing**: the jobs of one tenant never interleave (a transaction-scoped advisory
//!   lock on the tenant, held for the whole run), and every step re-reads the tenant and
//!   stops when its status or generation moved on ([`runner`]).
//!
//! apalis-redis 1.0 workarounds, all here or in `supervisor`: the worker dies on the
//! first backend error (a Redis blip), so a supervisor restarts it with backoff; a worker
//! name stays registered after a restart (apalis-redis#76), so each start gets a new name;
//! its own `connect` keeps a 500 ms response timeout, so `startup::connect_redis` builds
//! the connection; job status shows up in Redis only at the next heartbeat, so the truth
//! stays in the control database; orphaned messages come back only after the heartbeat
//! threshold, so the reconciler re-queues at start-up. The queue message carries ids
//! only, never a password, hash or credential.

pub mod fault;
mod provision;
mod purge;
pub(crate) mod reconcile;
mod runner;
pub(crate) mod supervisor;

pub use fault::{Fault, FaultKind, Hooks, Step};
pub(crate) use supervisor::{WorkerHealth, run_worker};

use crate::repo::jobs::{Job, JobKind};
use crate::state::AppState;
use apalis::prelude::*;
use apalis_redis::{Config, RedisStorage};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The stable name of the queue (prefixed per deployment).
pub(crate) const QUEUE_NAME: &str = "tenant-jobs";

/// How long queuing a message may take before it is left to the reconciler.
const PUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// What goes onto Redis: ids, nothing secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct JobMessage {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub kind: JobKind,
}

/// The producer side of the job queue.
#[derive(Clone)]
pub(crate) struct Queue {
    storage: RedisStorage<JobMessage>,
}

impl Queue {
    /// `poll` is how often an idle worker looks for new jobs: apalis-redis re-polls an
    /// empty queue only when its heartbeat fires, so the heartbeat is the queue latency.
    pub(crate) fn new(conn: ConnectionManager, prefix: &str, poll: Duration) -> Self {
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

    /// Queues a message for the job; bounded in time, so a Redis outage never holds up
    /// the caller (the job record is the truth and the reconciler queues it again).
    pub(crate) async fn push(&self, job: &Job) -> anyhow::Result<()> {
        let msg = JobMessage {
            job_id: job.id,
            tenant_id: job.tenant_id,
            kind: job.kind,
        };
        let mut storage = self.storage.clone();
        match tokio::time::timeout(PUSH_TIMEOUT, storage.push(msg)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("queuing the job: {e}")),
            Err(_) => Err(anyhow::anyhow!("queuing the job timed out")),
        }
    }

    fn storage(&self) -> RedisStorage<JobMessage> {
        self.storage.clone()
    }
}

/// Queues a job whose record was just committed, and starts it here at once when a slot
/// is free. A failure to queue is not the client's: the record stays `queued` and the
/// reconciler queues it again.
pub(crate) async fn enqueue_after_commit(state: &AppState, job: &Job) {
    if let Err(e) = state.queue.push(job).await {
        tracing::warn!(job.id = %job.id, error = %format!("{e:#}"), "could not queue job; the reconciler will retry");
    }
    state.immediate.run(state, job.id);
}

/// Starts a just-queued job in this process at once, when the process runs a worker with a
/// slot free, instead of leaving it until the worker's next poll of the queue (up to
/// `QUEUE_POLL_MS`). The queued message stays as the durable copy: whoever claims the job
/// first runs it, and the other finds it claimed and does nothing.
#[derive(Clone)]
pub(crate) struct ImmediateStart {
    slots: Option<Arc<Semaphore>>,
    /// Cancelled when the process stops: a job cut off here is picked up again after its
    /// lease, like one whose worker died.
    pub(crate) shutdown: CancellationToken,
}

impl ImmediateStart {
    pub(crate) fn new(run_worker: bool, concurrency: usize) -> Self {
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
                result = runner::execute(&state, job_id) => if let Err(e) = result {
                    tracing::error!(job.id = %job_id, error = %format!("{e:#}"), "job error");
                },
            }
        });
    }
}

/// The apalis handler: the message is only a pointer to the job record.
async fn handle(msg: JobMessage, state: Data<AppState>) -> Result<(), BoxDynError> {
    use tracing::Instrument;
    let span = tracing::info_span!("job", job.id = %msg.job_id, tenant.id = %msg.tenant_id, job.kind = ?msg.kind);
    runner::execute(&state, msg.job_id)
        .instrument(span)
        .await
        .map_err(|e| {
            tracing::error!(job.id = %msg.job_id, error = %format!("{e:#}"), "job handler error");
            Box::<dyn std::error::Error + Send + Sync>::from(format!("{e:#}"))
        })
}

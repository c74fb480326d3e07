//! Background jobs: provisioning, purging, backing up, restoring and moving tenant databases. The
//! job path, in one place:
//!
//! - **The truth** is the job record in the control database (kind, state, attempts, step,
//!   lease, error, the tenant generation it works for), written by the job itself.
//! - **Triggers** only say "look at job X"; all of them call the same [`runner::execute`]:
//!   1. the apalis message on Redis (the queue the design requires), consumed by a
//!      supervised worker ([`supervisor`]);
//!   2. an immediate in-process start ([`ImmediateStart`](crate::queue::ImmediateStart)) right after the record commits,
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
//! apalis-redis 1.0 workarounds, all here, in `supervisor` or in `crate::queue`: the worker dies on the
//! first backend error (a Redis blip), so a supervisor restarts it with backoff; a worker
//! name stays registered after a restart (apalis-redis#76), so each start gets a new name;
//! its own `connect` keeps a 500 ms response timeout, so `startup::connect_redis` builds
//! the connection; job status shows up in Redis only at the next heartbeat, so the truth
//! stays in the control database; orphaned messages come back only after the heartbeat
//! threshold, so the reconciler re-queues at start-up. The queue message carries ids
//! only, never a password, hash or credential.

mod backup;
mod moves;
mod provision;
mod purge;
pub(crate) mod reconcile;
mod restore;
mod runner;
mod spares;
pub(crate) mod supervisor;

// Where the test suites name them; they live in the leaf `hooks` module.
pub use crate::hooks::{Fault, FaultKind, Hooks, Step};
pub(crate) use moves::target_name as move_target_name;
pub(crate) use restore::target_name as restore_target_name;
pub(crate) use supervisor::run_worker;

use crate::queue::JobMessage;
use crate::repo::jobs::Job;
use crate::state::AppState;
use apalis::prelude::*;
use uuid::Uuid;

/// Queues a job whose record was just committed, and starts it here at once when a slot
/// is free. A failure to queue is not the client's: the record stays `queued` and the
/// reconciler queues it again.
pub(crate) async fn enqueue_after_commit(state: &AppState, job: &Job) {
    if let Err(e) = state.queue.push(job).await {
        tracing::warn!(job.id = %job.id, error = %format!("{e:#}"), "could not queue job; the reconciler will retry");
    }
    start_now(state, job.id);
}

/// Runs the job here at once when this process has an immediate-start slot free (see
/// [`ImmediateStart`](crate::queue::ImmediateStart)).
fn start_now(state: &AppState, job_id: Uuid) {
    let Some(permit) = state.immediate.slot() else {
        return;
    };
    let (state, shutdown) = (state.clone(), state.immediate.shutdown.clone());
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

/// Runs the job in this process now (the CLI's way to run the jobs it queues); returns
/// at once when another worker owns it.
pub(crate) async fn run_here(state: &AppState, job_id: Uuid) -> anyhow::Result<()> {
    runner::execute(state, job_id).await
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

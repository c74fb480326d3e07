//! Puts lost work back on the queue: jobs whose message vanished or whose worker died
//! (expired lease), and tenants left in `provisioning` with no open job. Runs at worker
//! start and then periodically, for as long as the process runs (a failing worker does
//! not stop it); re-queuing is always safe because a job is claimed atomically.

use crate::registry;
use crate::repo::{jobs, tenants};
use crate::state::AppState;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) async fn run(state: AppState, shutdown: CancellationToken) {
    let mut first = true;
    loop {
        // At start-up every queued job is re-queued (Redis may have lost it); later only
        // those queued for longer than a period.
        let queued_for = if first {
            Duration::ZERO
        } else {
            state.settings.reconcile_every
        };
        first = false;
        if let Err(e) = once(&state, queued_for).await {
            tracing::warn!(error = %format!("{e:#}"), "reconciler pass failed");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(state.settings.reconcile_every) => {}
        }
    }
}

/// One pass; returns how many jobs were queued again.
pub(crate) async fn once(state: &AppState, queued_for: Duration) -> anyhow::Result<usize> {
    let mut requeued = 0;
    for tenant in tenants::provisioning_without_open_job(&state.db).await? {
        // A tenant that moved on since the query needs nothing; the others still get theirs.
        match registry::reprovision(state, &tenant).await {
            Ok(_) => requeued += 1,
            Err(e) => tracing::debug!(tenant.slug = %tenant.slug, error = %e, "no new job"),
        }
    }
    for job in jobs::orphaned(&state.db, queued_for).await? {
        tracing::info!(job.id = %job.id, job.state = ?job.state, "re-queuing orphaned job");
        // Also started here when a slot is free: provisioning goes on while Redis is away.
        crate::jobs::enqueue_after_commit(state, &job).await;
        requeued += 1;
    }
    Ok(requeued)
}

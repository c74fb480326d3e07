//! The worker's lifetime. apalis' Redis worker returns on the first backend error (a Redis
//! outage of any length), so it runs under a supervisor that restarts it with backoff until
//! the process stops; its state is shown by `/health/ready` (`worker`) and the
//! `job_worker_up` gauge. The reconciler runs beside it with its own lifetime: a worker
//! failure never stops it, nor the immediate starts. So does the refill of spare
//! databases (`spares`).

use super::{handle, reconcile, spares};
use crate::state::AppState;
use apalis::prelude::*;
use std::time::Duration;
use tenancy_core::observability::catalogue;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// First delay before restarting a failed worker; doubled per failure in a row.
const RESTART_FIRST: Duration = Duration::from_millis(250);
/// Longest delay between restarts, so a worker is back within seconds of Redis.
const RESTART_MAX: Duration = Duration::from_secs(5);
/// A worker that stayed up this long (at least) is counted as up: a backend that cannot
/// register or beat its heart fails well within it.
const SETTLE_MIN: Duration = Duration::from_millis(500);

/// Runs the supervised worker and the reconciler until `shutdown` is cancelled.
pub(crate) async fn run_worker(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    state.worker.enable();
    metrics::gauge!(catalogue::JOB_WORKER_UP).set(0.0);
    let reconciler = tokio::spawn(reconcile::run(state.clone(), shutdown.clone()));
    // Aborted if this future is dropped (a killed process), so no refill outlives it.
    let refill = spares::Refill::start(state.clone(), shutdown.clone());
    let mut delay = RESTART_FIRST;
    while !shutdown.is_cancelled() {
        let settled = match run_once(&state, &shutdown).await {
            Ok(settled) => settled,
            Err((settled, reason)) => {
                tracing::warn!(error = %reason, "provisioning worker stopped; restarting");
                state.worker.set_down(reason);
                settled
            }
        };
        if settled {
            delay = RESTART_FIRST;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(RESTART_MAX);
    }
    state.worker.set_down("stopped".into());
    let _ = reconciler.await;
    refill.finish().await;
    tracing::info!("provisioning worker stopped");
    Ok(())
}

async fn redis_answers(state: &AppState) -> bool {
    let mut conn = state.redis.clone();
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(&mut conn);
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Ok(_))
    )
}

/// One worker life. `Ok` when it ended by shutdown; the flag says whether it had settled.
async fn run_once(state: &AppState, shutdown: &CancellationToken) -> Result<bool, (bool, String)> {
    // apalis refuses a worker name still registered from an earlier life (apalis-redis#76).
    let name = format!("control-worker-{}", Uuid::new_v4().simple());
    tracing::info!(worker = %name, "provisioning worker starting");
    let worker = WorkerBuilder::new(name)
        .backend(state.queue.storage())
        .data(state.clone())
        .concurrency(state.settings.worker_concurrency)
        .build(handle);
    let token = shutdown.clone();
    let run = worker.run_until(async move {
        token.cancelled().await;
        Ok::<(), std::io::Error>(())
    });
    tokio::pin!(run);
    // Up once it has run a while and Redis answers: a worker stuck reconnecting to a dead
    // Redis is still "running" but consumes nothing.
    let settle = SETTLE_MIN.max(state.settings.queue_poll * 3);
    let mut settled = false;
    let result = loop {
        tokio::select! {
            result = &mut run => break result,
            _ = tokio::time::sleep(settle), if !settled => {
                if redis_answers(state).await {
                    state.worker.set_up();
                    settled = true;
                }
            }
        }
    };
    match result {
        Ok(()) if shutdown.is_cancelled() => Ok(settled),
        Ok(()) => Err((settled, "the worker returned".into())),
        Err(e) => Err((settled, format!("the worker failed: {e}"))),
    }
}

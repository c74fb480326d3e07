//! The refill of spare databases (`provisioner::spares`): one task beside the worker tops up
//! every accepting server to `PROVISION_SPARES` ready spares (a draining server's are
//! dropped: no tenant will be placed there), once provisioning has been quiet for
//! `REFILL_QUIET` after a job took one, and every `REFILL_EVERY` otherwise. Servers are refilled concurrently, each bounded by
//! `REFILL_PATIENCE`, so an unreachable one delays no other. With `PROVISION_SPARES=0` it
//! runs one round at start (dropping spares an earlier setting left) and stops.

use crate::repo::servers;
use crate::servers::ServerState;
use crate::state::AppState;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the spares are checked when no job took one (a template rebuilt by hand, a
/// spare dropped by an operator, a server added or drained).
const REFILL_EVERY: Duration = Duration::from_secs(10);

/// How long no provisioning job must have taken a spare before the refill starts.
const REFILL_QUIET: Duration = Duration::from_millis(300);

/// Longest one server's refill may take before the round moves on (a server that does not
/// answer; the admin pool's own connect timeout is 10 s).
const REFILL_PATIENCE: Duration = Duration::from_secs(60);

/// The running refill task; aborted when dropped.
pub(super) struct Refill(Option<JoinHandle<()>>);

impl Refill {
    pub(super) fn start(state: AppState, shutdown: CancellationToken) -> Self {
        Self(Some(tokio::spawn(run(state, shutdown))))
    }

    /// Waits for the task to end (it ends at the shutdown, between two spares).
    pub(super) async fn finish(mut self) {
        if let Some(task) = self.0.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Refill {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

async fn run(state: AppState, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        refill_all(&state, &shutdown).await;
        // Off: one round at start drops what an earlier setting left, then nothing more.
        if state.settings.provision_spares == 0 {
            break;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = state.servers.spare_claimed.notified() => quiet(&state, &shutdown).await,
            _ = tokio::time::sleep(REFILL_EVERY) => {}
        }
    }
}

/// Waits until no provisioning job has reached its database step for `REFILL_QUIET`: a
/// copy made while jobs run competes with them for the server (measured: under load the
/// refill cancelled the claim's gain), so a burst drains the spares and they are made
/// again once it is over.
async fn quiet(state: &AppState, shutdown: &CancellationToken) {
    while !shutdown.is_cancelled() {
        let claimed = state.servers.spare_claimed.notified();
        if tokio::time::timeout(REFILL_QUIET, claimed).await.is_err() {
            return;
        }
    }
}

async fn refill_all(state: &AppState, shutdown: &CancellationToken) {
    let rows = match servers::list(&state.db).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "spares: could not list the database servers");
            return;
        }
    };
    let rounds = rows
        .iter()
        .filter(|row| row.admin_url_sealed.is_some())
        .map(|row| async move {
            let accepting = row.state == ServerState::Accepting.as_str();
            let target = if accepting {
                state.settings.provision_spares
            } else {
                0
            };
            let refill = async {
                let p = state.servers.for_row(row).await?;
                p.refill_spares(target, &|| shutdown.is_cancelled()).await
            };
            match tokio::time::timeout(REFILL_PATIENCE, refill).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(server = %row.name, error = %format!("{e:#}"), "spares: refill failed")
                }
                Err(_) => tracing::warn!(server = %row.name, "spares: refill timed out"),
            }
        });
    futures::future::join_all(rounds).await;
}

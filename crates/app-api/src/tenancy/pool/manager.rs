//! The deadpool manager of a tenant pool: opens connections, each holding one budget permit
//! until it has really closed, and checks a pooled connection before handing it out again.

use super::budget::{AfterRefusal, BudgetPolicy, REFUSED_RETRY, Refusal};
use super::factory::Shared;
use super::servers::ServerBudget;
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::ClientWrapper;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tenancy_core::observability::catalogue;
use tokio::sync::OwnedSemaphorePermit;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// A pooled connection idle longer than this is pinged before it is handed out; one used
/// more recently answered moments ago, and a second round trip would double the database
/// work of a hot request.
const VERIFY_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A pooled connection idle at least this long gets its task a turn before it is checked.
const YIELD_AFTER_IDLE: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnError {
    #[error("the global connection budget is spent")]
    Budget,
    #[error("the database server refuses more connections")]
    ServerFull,
    #[error("{}", describe(.0))]
    Pg(#[from] tokio_postgres::Error),
}

/// tokio-postgres displays a server error as just "db error"; the server's words matter.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Opens one tenant's connections within the global budget.
pub(crate) struct BudgetedManager {
    pub(super) config: tokio_postgres::Config,
    pub(super) tenant_id: Uuid,
    /// The budget of the tenant's database server.
    pub(super) server: Arc<ServerBudget>,
    /// How long a request may wait for a permit (`POOL_ACQUIRE_WAIT_MS`).
    pub(super) wait: Duration,
    /// Time given to the server to reap a closed backend before its permit is reused, so
    /// `pg_stat_activity` never shows more than the budget.
    pub(super) close_grace: Duration,
    /// Connections of this pool open right now (until their backend has closed).
    pub(super) open: Arc<AtomicUsize>,
    pub(super) factory: Weak<Shared>,
}

impl BudgetedManager {
    async fn permit(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, ConnError> {
        loop {
            if let Ok(p) = self.server.permits.clone().try_acquire_owned() {
                return Ok(p);
            }
            let released = BudgetPolicy::may_take_idle(self.open.load(Ordering::Relaxed))
                && self.release_idle_elsewhere();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::Budget);
            }
            let slice = BudgetPolicy::wait_slice(released, self.close_grace, left);
            if let Ok(Ok(p)) =
                tokio::time::timeout(slice, self.server.permits.clone().acquire_owned()).await
            {
                return Ok(p);
            }
        }
    }

    /// Closes the policy's choice of idle connection in another tenant's pool on this server.
    fn release_idle_elsewhere(&self) -> bool {
        self.factory
            .upgrade()
            .is_some_and(|f| f.release_idle(self.tenant_id, &self.server.name))
    }

    /// Counts a refusal and asks the policy what it means for the connection being opened.
    fn refused(&self, e: &tokio_postgres::Error) -> AfterRefusal {
        metrics::counter!(catalogue::TENANT_POOL_SERVER_REFUSALS_TOTAL).increment(1);
        let refusal = Refusal::from_routine(e.as_db_error().and_then(|db| db.routine()));
        let Some(factory) = self.factory.upgrade() else {
            return AfterRefusal::Retry;
        };
        // A full server is a budget shared with other replicas and services: free an idle
        // connection of ours elsewhere, if this tenant may take one, to make room.
        if refusal == Refusal::ServerFull
            && BudgetPolicy::may_take_idle(self.open.load(Ordering::Relaxed))
        {
            factory.release_idle(self.tenant_id, &self.server.name);
        }
        let after = self.server.policy.on_refusal(refusal);
        if after == AfterRefusal::ForgetPermit {
            tracing::debug!(
                "the database server is full below POOL_MAX_TOTAL; budget shrunk by one"
            );
        }
        after
    }
}

impl managed::Manager for BudgetedManager {
    type Type = ClientWrapper;
    type Error = ConnError;

    async fn create(&self) -> Result<ClientWrapper, ConnError> {
        // Boxed: a connect's future is large, and deadpool's checkout future holds this one
        // inline, so every checkout (nearly all served by an idle connection) would be
        // allocated and moved at that size.
        Box::pin(self.open()).await
    }

    async fn recycle(
        &self,
        conn: &mut ClientWrapper,
        metrics: &Metrics,
    ) -> RecycleResult<ConnError> {
        self.check(conn, metrics).await
    }
}

impl BudgetedManager {
    /// Opens a connection within the budget.
    async fn open(&self) -> Result<ClientWrapper, ConnError> {
        let deadline = Instant::now() + self.wait;
        let mut permit = self.permit(deadline).await?;
        let (client, connection) = loop {
            match self.config.connect(NoTls).await {
                Ok(pair) => break pair,
                // The server's own limit answers 429 after the wait, never 5xx.
                Err(e) if e.code() == Some(&SqlState::TOO_MANY_CONNECTIONS) => {
                    let after = self.refused(&e);
                    if Instant::now() >= deadline {
                        return Err(ConnError::ServerFull);
                    }
                    match after {
                        AfterRefusal::ForgetPermit => {
                            permit.forget();
                            permit = self.permit(deadline).await?;
                        }
                        AfterRefusal::Retry => tokio::time::sleep(REFUSED_RETRY).await,
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        metrics::counter!(catalogue::TENANT_POOL_CONNECTIONS_OPENED_TOTAL).increment(1);
        if let Some(factory) = self.factory.upgrade() {
            factory.opened.fetch_add(1, Ordering::Relaxed);
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        let open = self.open.clone();
        let grace = self.close_grace;
        // Ends when the client is dropped (the connection then sends Terminate and closes)
        // or the server goes away; only then is the permit given back.
        tokio::spawn(async move {
            let _ = connection.await;
            open.fetch_sub(1, Ordering::Relaxed);
            tokio::time::sleep(grace).await;
            drop(permit);
        });
        // ClientWrapper aborts the task it is given when dropped; give it one with nothing
        // to abort, so dropping the client closes the connection gracefully instead.
        Ok(ClientWrapper::new(client, tokio::spawn(async {})))
    }

    /// Whether a pooled connection may be handed out again.
    async fn check(&self, conn: &mut ClientWrapper, metrics: &Metrics) -> RecycleResult<ConnError> {
        // Let the connection's task read whatever the server sent meanwhile (a FATAL from
        // pg_terminate_backend, a closed socket) before we look at it. Not for a connection
        // that answered moments ago: the yield costs the request a full extra poll of its
        // stack (and actix an extra parse attempt), on every hot request.
        if metrics.last_used() >= YIELD_AFTER_IDLE {
            tokio::task::yield_now().await;
        }
        if conn.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        if metrics.last_used() < VERIFY_AFTER_IDLE {
            return Ok(());
        }
        // The cheapest round trip: proves the backend is still there.
        conn.simple_query("")
            .await
            .map(|_| ())
            .map_err(|e| RecycleError::Backend(ConnError::Pg(e)))
    }
}

//! The deadpool manager of a tenant pool: opens connections, each holding one budget permit
//! until it has really closed, and checks a pooled connection before handing it out again.

use super::budget::{AfterRefusal, BudgetPolicy, REFUSED_RETRY, Refusal};
use super::factory::Shared;
use super::servers::ServerBudget;
use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::ClientWrapper;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
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
    /// The budget is spent and the tenant has connections: wait for one of its own.
    #[error("the connection budget is spent; the tenant's own connections are busy")]
    Busy,
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
    pub(super) factory: Weak<Shared>,
    /// The pool this manager opens connections for (set right after it is built).
    pub(super) pool: OnceLock<managed::WeakPool<BudgetedManager>>,
}

impl BudgetedManager {
    /// Connections in this tenant's pool (idle or checked out), not counting the one being
    /// opened.
    fn pool_size(&self) -> usize {
        self.pool
            .get()
            .and_then(|weak| weak.upgrade())
            .map_or(0, |pool| pool.status().size)
    }

    async fn permit(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, ConnError> {
        if let Ok(p) = self.server.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        // A tenant with connections of its own never waits for the budget here: its own
        // come back within a query's time, and the request waits for those instead
        // (`PoolFactory::conn`), not for a permit that may never be freed for it.
        if !BudgetPolicy::may_take_idle(self.pool_size()) {
            return Err(ConnError::Busy);
        }
        self.claim(deadline).await
    }

    /// Waits for a permit as a tenant without connections: registers a claim, has the
    /// policy's choice of connection closed for it, and takes the permit handed over when
    /// that backend has gone (or any permit freed meanwhile).
    async fn claim(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, ConnError> {
        let mut claim = self.server.claim();
        loop {
            if let Ok(p) = self.server.permits.clone().try_acquire_owned() {
                return Ok(p);
            }
            // Another request of this tenant got a connection meanwhile: wait for that one
            // instead (this request, inside the pool's `get`, hides it from other claims).
            if self.pool_size() > 0 {
                return Err(ConnError::Busy);
            }
            let closed = self
                .factory
                .upgrade()
                .is_some_and(|f| f.make_room(self.tenant_id, &self.server));
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::Budget);
            }
            let slice = BudgetPolicy::wait_slice(closed, self.close_grace, left);
            tokio::select! {
                handed = &mut claim.permit => {
                    if let Ok(p) = handed {
                        return Ok(p);
                    }
                    // Never: the sender lives until it sends or the claim is dropped.
                    return Err(ConnError::Budget);
                }
                freed = self.server.permits.clone().acquire_owned() => {
                    if let Ok(p) = freed {
                        return Ok(p);
                    }
                }
                () = tokio::time::sleep(slice) => {}
            }
        }
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
        if refusal == Refusal::ServerFull && BudgetPolicy::may_take_idle(self.pool_size()) {
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
        let grace = self.close_grace;
        let server = self.server.clone();
        // Ends when the client is dropped (the connection then sends Terminate and closes)
        // or the server goes away; only then is the permit given back (to a claim first).
        tokio::spawn(async move {
            let _ = connection.await;
            tokio::time::sleep(grace).await;
            server.release(permit);
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

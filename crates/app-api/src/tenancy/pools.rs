//! The pool factory: one deadpool-postgres pool per tenant, built on first use from the
//! tenant's decrypted credentials and kept in a moka cache keyed by tenant id.
//!
//! Limits: a pool's size comes from the tenant's plan (capped by `POOL_MAX_PER_TENANT`);
//! every open connection, in any pool, holds a permit of one shared semaphore of
//! `POOL_MAX_TOTAL` permits, so the total can never exceed it. A pool that needs a
//! connection while the budget is spent first closes the least recently used idle connection
//! of another pool, then waits a bounded time; after that the request gets 429
//! `connection_limit`.

use super::directory::TenantRecord;
use crate::settings::PoolLimits;
use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, TimeoutType};
use deadpool_postgres::ClientWrapper;
use moka::future::Cache;
use moka::notification::RemovalCause;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tenancy_core::crypto::Keyring;
use tenancy_core::{ApiError, ErrorCode};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// A tenant connection. Its budget permit lives in the task that drives the connection,
/// so it is released only once the connection has really closed.
pub type Conn = ClientWrapper;

/// A pooled connection idle longer than this is pinged before it is handed out.
const VERIFY_AFTER_IDLE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("the global connection budget is spent")]
    Budget,
    #[error("the database server refuses more connections")]
    ServerFull,
    #[error("{}", describe(.0))]
    Pg(#[from] tokio_postgres::Error),
}

/// tokio-postgres displays a server error as just "db error"; the server's words matter.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Opens tenant connections, each holding one permit of the global budget.
pub struct BudgetedManager {
    config: tokio_postgres::Config,
    tenant_id: Uuid,
    budget: Arc<Semaphore>,
    wait: Duration,
    /// Time given to the server to reap a closed backend before its permit is reused, so
    /// `pg_stat_activity` never shows more than the budget.
    close_grace: Duration,
    factory: Weak<Inner>,
}

impl BudgetedManager {
    async fn permit(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, ConnError> {
        loop {
            if let Ok(p) = self.budget.clone().try_acquire_owned() {
                return Ok(p);
            }
            // Idle connections of other tenants hold permits they are not using. Close the
            // least recently used one, not all of them: closing all would make every other
            // tenant reconnect on its next request, and under a spread load that churn
            // (a new backend per request) costs far more than the wait.
            let released = self
                .factory
                .upgrade()
                .is_some_and(|f| f.release_lru_idle(self.tenant_id));
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::Budget);
            }
            // A released permit comes back once the backend is gone plus the close grace.
            let slice = if released {
                self.close_grace + Duration::from_millis(50)
            } else {
                Duration::from_millis(20)
            };
            if let Ok(Ok(p)) =
                tokio::time::timeout(slice.min(left), self.budget.clone().acquire_owned()).await
            {
                return Ok(p);
            }
        }
    }
}

impl managed::Manager for BudgetedManager {
    type Type = Conn;
    type Error = ConnError;

    async fn create(&self) -> Result<Conn, ConnError> {
        let deadline = Instant::now() + self.wait;
        let mut permit = self.permit(deadline).await?;
        let (client, connection) = loop {
            match self.config.connect(NoTls).await {
                Ok(pair) => break pair,
                // The server's own limit is a budget shared with other replicas and
                // services: free an idle connection and wait, then answer 429, never 5xx.
                Err(e) if e.code() == Some(&SqlState::TOO_MANY_CONNECTIONS) => {
                    metrics::counter!(
                        tenancy_core::observability::catalogue::TENANT_POOL_SERVER_REFUSALS_TOTAL
                    )
                    .increment(1);
                    let factory = self.factory.upgrade();
                    if let Some(factory) = &factory {
                        factory.release_lru_idle(self.tenant_id);
                    }
                    if Instant::now() >= deadline {
                        return Err(ConnError::ServerFull);
                    }
                    // The whole server is full (not just this role or database): our budget
                    // is larger than the room the server has. Shrink it by this permit, so
                    // we stop knocking (every refused attempt costs the server a process)
                    // and settle at what the server holds; `maintain` gives permits back.
                    let server_wide = e.as_db_error().is_some_and(|db| {
                        let m = db.message();
                        !m.contains("for role") && !m.contains("for database")
                    });
                    if server_wide && factory.is_some_and(|f| f.shrink()) {
                        permit.forget();
                        permit = self.permit(deadline).await?;
                    } else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        };
        metrics::counter!(
            tenancy_core::observability::catalogue::TENANT_POOL_CONNECTIONS_OPENED_TOTAL
        )
        .increment(1);
        if let Some(factory) = self.factory.upgrade() {
            factory.opened.fetch_add(1, Ordering::Relaxed);
        }
        let grace = self.close_grace;
        // Ends when the client is dropped (the connection then sends Terminate and closes)
        // or the server goes away; only then is the permit given back.
        tokio::spawn(async move {
            let _ = connection.await;
            tokio::time::sleep(grace).await;
            drop(permit);
        });
        // ClientWrapper aborts the task it is given when dropped; give it one with nothing
        // to abort, so dropping the client closes the connection gracefully instead.
        Ok(ClientWrapper::new(client, tokio::spawn(async {})))
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<ConnError> {
        // Let the connection's task read whatever the server sent meanwhile (a FATAL from
        // pg_terminate_backend, a closed socket) before we look at it.
        tokio::task::yield_now().await;
        if conn.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        // A connection that answered moments ago and has not closed since is alive; a round
        // trip to prove it again would double the database work of a hot request.
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

pub type Pool = managed::Pool<BudgetedManager>;
/// A connection checked out of a tenant pool.
///
/// Giving it back wakes the tenant's requests that wait for one of its own connections.
pub struct Client {
    /// Always `Some` until dropped: taken in `drop` so the connection is back in the pool
    /// before the waiters wake.
    object: Option<managed::Object<BudgetedManager>>,
    pool: Arc<TenantPool>,
}

impl std::ops::Deref for Client {
    type Target = managed::Object<BudgetedManager>;

    fn deref(&self) -> &Self::Target {
        self.object
            .as_ref()
            .expect("a client holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.object
            .as_mut()
            .expect("a client holds its connection until dropped")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        drop(self.object.take());
        self.pool.returned.notify_waiters();
    }
}

/// One tenant's pool.
pub struct TenantPool {
    pub tenant_id: Uuid,
    pub slug: String,
    pub pool: Pool,
    /// Credentials and plan the pool was built from: a change means rebuild.
    fingerprint: u64,
    /// Notified whenever a connection of this pool is given back.
    returned: Notify,
}

fn pool_error(e: PoolError<ConnError>) -> ApiError {
    match e {
        PoolError::Timeout(TimeoutType::Wait)
        | PoolError::Backend(ConnError::Budget | ConnError::ServerFull) => {
            metrics::counter!(
                tenancy_core::observability::catalogue::TENANT_POOL_LIMIT_REJECTIONS_TOTAL
            )
            .increment(1);
            ApiError::new(
                ErrorCode::ConnectionLimit,
                "all connections for this tenant are busy; retry shortly",
            )
            .retry_after(1)
        }
        other => ApiError::unavailable("the tenant database", other.to_string()),
    }
}

struct Inner {
    created: std::sync::atomic::AtomicU64,
    opened: std::sync::atomic::AtomicU64,
    cache: Cache<Uuid, Arc<TenantPool>>,
    budget: Arc<Semaphore>,
    /// Permits taken out of the budget because the server refused connections below it.
    shrunk: AtomicUsize,
    limits: PoolLimits,
    keyring: Arc<Keyring>,
    host: String,
    port: u16,
}

impl Inner {
    /// Counts one permit as taken out of the budget (until `regrow`); the caller forgets
    /// it. False when the budget is already down to one.
    fn shrink(&self) -> bool {
        let limit = self.limits.max_total.saturating_sub(1);
        let taken = self
            .shrunk
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        if taken {
            tracing::debug!(
                "the database server is full below POOL_MAX_TOTAL; budget shrunk by one"
            );
        }
        taken
    }

    /// Gives one shrunk permit back: the server may have room again. If not, the next
    /// refusal takes it out again.
    fn regrow(&self) {
        if self
            .shrunk
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            self.budget.add_permits(1);
        }
    }

    /// Closes the idle connection, in any pool but `except`'s, that has waited longest
    /// since its last use. False when no other pool holds an idle connection.
    fn release_lru_idle(&self, except: Uuid) -> bool {
        // Rank: pools that keep another connection after this one first (taking a tenant's
        // last connection makes it reconnect), then the longest idle.
        let mut victim: Option<(Arc<TenantPool>, (bool, Duration))> = None;
        for (id, pool) in self.cache.iter() {
            let status = pool.pool.status();
            if *id == except || status.available == 0 {
                continue;
            }
            // `retain` is the only view of a pool's idle connections; keep them all here.
            let mut oldest = Duration::ZERO;
            pool.pool.retain(|_, m| {
                oldest = oldest.max(m.last_used());
                true
            });
            let rank = (status.size > 1, oldest);
            if victim.as_ref().is_none_or(|(_, best)| rank > *best) {
                victim = Some((pool, rank));
            }
        }
        let Some((pool, (_, oldest))) = victim else {
            return false;
        };
        let mut closed = false;
        pool.pool.retain(|_, m| {
            if !closed && m.last_used() >= oldest {
                closed = true;
                return false;
            }
            true
        });
        closed
    }
}

/// Builds, caches, limits, health-checks and evicts tenant pools. Cheap to clone.
#[derive(Clone)]
pub struct PoolFactory {
    inner: Arc<Inner>,
}

fn evicted(reason: &'static str) {
    metrics::counter!(tenancy_core::observability::catalogue::TENANT_POOL_EVICTED_TOTAL, "reason" => reason).increment(1);
}

impl PoolFactory {
    pub fn new(limits: PoolLimits, keyring: Arc<Keyring>, host: String, port: u16) -> Self {
        let cache = Cache::builder()
            .max_capacity(limits.max_tenants)
            .time_to_idle(limits.idle)
            .eviction_listener(|_id: Arc<Uuid>, pool: Arc<TenantPool>, cause| {
                // Explicit removals are counted where they happen, with their reason.
                match cause {
                    RemovalCause::Expired => evicted("idle"),
                    RemovalCause::Size => evicted("capacity"),
                    RemovalCause::Explicit | RemovalCause::Replaced => {}
                }
                // Idle connections close now. The pool itself is not closed: a request that
                // still holds it finishes normally, and when the last one lets go the pool is
                // dropped with its remaining connections. (Closing it would fail requests
                // that just built a pool moka declined to admit.)
                pool.pool.retain(|_, _| false);
                tracing::debug!(tenant.slug = %pool.slug, ?cause, "tenant pool closed");
            })
            .build();
        let budget = Arc::new(Semaphore::new(limits.max_total));
        Self {
            inner: Arc::new(Inner {
                created: Default::default(),
                opened: Default::default(),
                shrunk: Default::default(),
                cache,
                budget,
                limits,
                keyring,
                host,
                port,
            }),
        }
    }

    fn pool_size(&self, record: &TenantRecord) -> usize {
        record
            .plan
            .max_connections()
            .min(self.inner.limits.max_per_tenant)
            .max(1)
    }

    fn build(&self, record: &TenantRecord) -> Result<TenantPool, ApiError> {
        let password = self
            .inner
            .keyring
            .open(record.id, &record.sealed)
            .map_err(|e| ApiError::internal(format!("tenant credentials unusable: {e}")))?;
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(&self.inner.host)
            .port(self.inner.port)
            .dbname(&record.db_name)
            .user(&record.db_role)
            .password(password.expose_secret())
            .application_name("app-api")
            .connect_timeout(Duration::from_secs(5));
        let wait = self.inner.limits.acquire_wait;
        let manager = BudgetedManager {
            config: cfg,
            close_grace: self.inner.limits.close_grace,
            tenant_id: record.id,
            budget: self.inner.budget.clone(),
            wait,
            factory: Arc::downgrade(&self.inner),
        };
        let pool = Pool::builder(manager)
            .max_size(self.pool_size(record))
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(wait))
            .create_timeout(Some(wait + Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(2)))
            .build()
            .map_err(ApiError::internal)?;
        metrics::counter!(tenancy_core::observability::catalogue::TENANT_POOL_CREATED_TOTAL)
            .increment(1);
        self.inner.created.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tenant.slug = %record.slug, size = self.pool_size(record), "tenant pool built");
        Ok(TenantPool {
            tenant_id: record.id,
            slug: record.slug.clone(),
            pool,
            fingerprint: record.fingerprint,
            returned: Notify::new(),
        })
    }

    /// The tenant's pool, built on first use; concurrent first requests build one pool.
    pub async fn pool(&self, record: &TenantRecord) -> Result<Arc<TenantPool>, ApiError> {
        if let Some(pool) = self.inner.cache.get(&record.id).await {
            if pool.fingerprint == record.fingerprint {
                return Ok(pool);
            }
            self.evict(record.id, "credentials").await;
        }
        let built = AtomicBool::new(false);
        let pool = self
            .inner
            .cache
            .try_get_with(record.id, async {
                built.store(true, Ordering::Relaxed);
                self.build(record).map(Arc::new)
            })
            .await
            .map_err(|e: Arc<ApiError>| ApiError::internal(e.to_string()))?;
        if built.load(Ordering::Relaxed) {
            // moka enforces its capacity lazily; enforce it now so POOL_MAX_TENANTS holds
            // right after a new pool (the cold path, so the cost does not matter).
            self.inner.cache.run_pending_tasks().await;
        }
        Ok(pool)
    }

    /// A connection to the tenant's database. A pool closed under us (evicted for capacity
    /// or health while this request held it) is replaced by a fresh one.
    pub async fn client(
        &self,
        record: &TenantRecord,
        mut pool: Arc<TenantPool>,
    ) -> Result<Client, ApiError> {
        for _ in 0..3 {
            // Its own connections stayed busy for the whole wait: the same answer as a
            // pool wait that timed out, rather than a second wait inside `get`.
            if !self.await_own_connection(&pool).await {
                return Err(pool_error(PoolError::Timeout(TimeoutType::Wait)));
            }
            match pool.pool.get().await {
                Ok(object) => {
                    return Ok(Client {
                        object: Some(object),
                        pool,
                    });
                }
                Err(PoolError::Closed) => pool = self.pool(record).await?,
                Err(e) => return Err(pool_error(e)),
            }
        }
        Err(ApiError::unavailable("the tenant database pool", "pool kept closing").retry_after(1))
    }

    /// With the budget spent, a tenant that already has connections, all busy, waits a
    /// bounded time for one of its own to come back (a query takes a millisecond) rather
    /// than open another and close some other tenant's: under a load spread over more
    /// tenants than the budget covers, stealing makes every tenant reconnect in turn.
    /// False when the wait ran out.
    async fn await_own_connection(&self, pool: &TenantPool) -> bool {
        let deadline = tokio::time::Instant::now() + self.inner.limits.acquire_wait;
        loop {
            if self.inner.budget.available_permits() > 0 {
                return true;
            }
            // Created before the check so a connection given back in between still wakes us.
            let returned = pool.returned.notified();
            let status = pool.pool.status();
            // No connection yet (it must open one), one idle, or at its size (the pool
            // itself queues the request): nothing to wait for here.
            if status.size == 0 || status.available > 0 || status.size >= status.max_size {
                return true;
            }
            if tokio::time::timeout_at(deadline, returned).await.is_err() {
                return false;
            }
        }
    }

    /// Closes a tenant's pool now (suspension, credential change, failed health check).
    pub async fn evict(&self, tenant_id: Uuid, reason: &'static str) {
        if self.inner.cache.remove(&tenant_id).await.is_some() {
            evicted(reason);
        }
    }

    /// Open connections across all pools.
    pub fn connections(&self) -> usize {
        let room = self.budget();
        room.saturating_sub(self.inner.budget.available_permits())
    }

    /// The connection budget now: `POOL_MAX_TOTAL`, less what the server refused below it.
    pub fn budget(&self) -> usize {
        self.inner.limits.max_total - self.inner.shrunk.load(Ordering::Relaxed)
    }

    /// Pools built by this factory since start.
    pub fn created(&self) -> u64 {
        self.inner.created.load(Ordering::Relaxed)
    }

    /// Connections opened by this factory's pools since start.
    pub fn opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    pub fn pools(&self) -> u64 {
        self.inner.cache.iter().count() as u64
    }

    /// Runs expiry, pings every pool that has idle connections, evicts the ones that fail,
    /// and refreshes the gauges. Called on an interval: moka has no thread of its own.
    pub async fn maintain(&self) {
        self.inner.cache.run_pending_tasks().await;
        self.inner.regrow();
        let pools: Vec<Arc<TenantPool>> = self.inner.cache.iter().map(|(_, p)| p).collect();
        for pool in pools {
            // Only pools holding idle connections: pinging others would open connections.
            if pool.pool.status().available == 0 {
                continue;
            }
            // `Ok(false)`: no connection to spare for a ping, which says nothing of health.
            let ping = async {
                let client = match pool.pool.get().await {
                    Ok(client) => client,
                    Err(PoolError::Backend(ConnError::Budget | ConnError::ServerFull)) => {
                        return Ok(false);
                    }
                    Err(e) => return Err(e.to_string()),
                };
                client
                    .simple_query("SELECT 1")
                    .await
                    .map_err(|e| describe(&e))?;
                Ok::<bool, String>(true)
            };
            let outcome = tokio::time::timeout(Duration::from_secs(2), ping).await;
            let failure = match outcome {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some("timed out".to_string()),
            };
            if let Some(error) = failure {
                metrics::counter!(
                    tenancy_core::observability::catalogue::TENANT_POOL_HEALTH_FAILURES_TOTAL
                )
                .increment(1);
                tracing::warn!(tenant.slug = %pool.slug, %error, "tenant pool failed its health check; evicting");
                self.evict(pool.tenant_id, "health").await;
            }
        }
        metrics::gauge!(tenancy_core::observability::catalogue::TENANT_POOLS_ACTIVE)
            .set(self.pools() as f64);
        metrics::gauge!(tenancy_core::observability::catalogue::TENANT_POOL_CONNECTIONS)
            .set(self.connections() as f64);
        metrics::gauge!(tenancy_core::observability::catalogue::TENANT_POOL_CONNECTIONS_MAX)
            .set(self.budget() as f64);
    }
}

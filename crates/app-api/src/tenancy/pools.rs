//! The pool factory: one deadpool-postgres pool per tenant, built on first use from the
//! tenant's decrypted credentials and kept in a moka cache keyed by tenant id.
//!
//! Limits: a pool's size comes from the tenant's plan (capped by `POOL_MAX_PER_TENANT`);
//! every open connection, in any pool, holds a permit of one shared semaphore of
//! `POOL_MAX_TOTAL` permits, so the total can never exceed it. A pool that needs a
//! connection while the budget is spent first closes other pools' idle connections, then
//! waits a bounded time; after that the request gets 429 `connection_limit`.

use super::directory::TenantRecord;
use crate::settings::PoolLimits;
use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, TimeoutType};
use deadpool_postgres::ClientWrapper;
use moka::future::Cache;
use moka::notification::RemovalCause;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tenancy_core::crypto::Keyring;
use tenancy_core::{ApiError, ErrorCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
            // Idle connections of other tenants hold permits they are not using.
            if let Some(factory) = self.factory.upgrade() {
                factory.release_idle(self.tenant_id);
            }
            if let Ok(p) = self.budget.clone().try_acquire_owned() {
                return Ok(p);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ConnError::Budget);
            }
            let slice = left.min(Duration::from_millis(20));
            if let Ok(Ok(p)) =
                tokio::time::timeout(slice, self.budget.clone().acquire_owned()).await
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
        let permit = self.permit(deadline).await?;
        let (client, connection) = loop {
            match self.config.connect(NoTls).await {
                Ok(pair) => break pair,
                // The server's own limit (max_connections, or the role's CONNECTION LIMIT)
                // is a budget shared with other replicas and services: treat it like ours,
                // free idle connections and wait, then answer 429, never 5xx.
                Err(e) if e.code() == Some(&SqlState::TOO_MANY_CONNECTIONS) => {
                    metrics::counter!("tenant_pool_server_refusals_total").increment(1);
                    if let Some(factory) = self.factory.upgrade() {
                        factory.release_idle(self.tenant_id);
                    }
                    if Instant::now() >= deadline {
                        return Err(ConnError::ServerFull);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
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
pub type Client = managed::Object<BudgetedManager>;

/// One tenant's pool.
pub struct TenantPool {
    pub tenant_id: Uuid,
    pub slug: String,
    pub pool: Pool,
    /// Credentials and plan the pool was built from: a change means rebuild.
    fingerprint: u64,
}

fn pool_error(e: PoolError<ConnError>) -> ApiError {
    match e {
        PoolError::Timeout(TimeoutType::Wait)
        | PoolError::Backend(ConnError::Budget | ConnError::ServerFull) => {
            metrics::counter!("tenant_pool_limit_rejections_total").increment(1);
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
    cache: Cache<Uuid, Arc<TenantPool>>,
    budget: Arc<Semaphore>,
    limits: PoolLimits,
    keyring: Arc<Keyring>,
    host: String,
    port: u16,
}

impl Inner {
    /// Closes every idle connection of every pool but `except`'s, releasing their permits.
    fn release_idle(&self, except: Uuid) {
        for (id, pool) in self.cache.iter() {
            if *id != except {
                pool.pool.retain(|_, _| false);
            }
        }
    }
}

/// Builds, caches, limits, health-checks and evicts tenant pools. Cheap to clone.
#[derive(Clone)]
pub struct PoolFactory {
    inner: Arc<Inner>,
}

fn evicted(reason: &'static str) {
    metrics::counter!("tenant_pool_evicted_total", "reason" => reason).increment(1);
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
        metrics::counter!("tenant_pool_created_total").increment(1);
        self.inner.created.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tenant.slug = %record.slug, size = self.pool_size(record), "tenant pool built");
        Ok(TenantPool {
            tenant_id: record.id,
            slug: record.slug.clone(),
            pool,
            fingerprint: record.fingerprint,
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
            match pool.pool.get().await {
                Ok(client) => return Ok(client),
                Err(PoolError::Closed) => pool = self.pool(record).await?,
                Err(e) => return Err(pool_error(e)),
            }
        }
        Err(ApiError::unavailable("the tenant database pool", "pool kept closing").retry_after(1))
    }

    /// Closes a tenant's pool now (suspension, credential change, failed health check).
    pub async fn evict(&self, tenant_id: Uuid, reason: &'static str) {
        if self.inner.cache.remove(&tenant_id).await.is_some() {
            evicted(reason);
        }
    }

    /// Open connections across all pools.
    pub fn connections(&self) -> usize {
        self.inner.limits.max_total - self.inner.budget.available_permits()
    }

    /// Pools built by this factory since start.
    pub fn created(&self) -> u64 {
        self.inner.created.load(Ordering::Relaxed)
    }

    pub fn pools(&self) -> u64 {
        self.inner.cache.iter().count() as u64
    }

    /// Runs expiry, pings every pool that has idle connections, evicts the ones that fail,
    /// and refreshes the gauges. Called on an interval: moka has no thread of its own.
    pub async fn maintain(&self) {
        self.inner.cache.run_pending_tasks().await;
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
                metrics::counter!("tenant_pool_health_failures_total").increment(1);
                tracing::warn!(tenant.slug = %pool.slug, %error, "tenant pool failed its health check; evicting");
                self.evict(pool.tenant_id, "health").await;
            }
        }
        metrics::gauge!("tenant_pools_active").set(self.pools() as f64);
        metrics::gauge!("tenant_pool_connections").set(self.connections() as f64);
        metrics::gauge!("tenant_pool_connections_max").set(self.inner.limits.max_total as f64);
    }
}

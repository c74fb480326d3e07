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
use deadpool_postgres::{ClientWrapper, ManagerConfig, RecyclingMethod};
use moka::future::Cache;
use moka::notification::RemovalCause;
use secrecy::ExposeSecret;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tenancy_core::crypto::Keyring;
use tenancy_core::{ApiError, ErrorCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::NoTls;
use uuid::Uuid;

/// A tenant connection together with its share of the global budget.
pub struct Conn {
    client: ClientWrapper,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Conn {
    type Target = ClientWrapper;
    fn deref(&self) -> &ClientWrapper {
        &self.client
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut ClientWrapper {
        &mut self.client
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("the global connection budget is spent")]
    Budget,
    #[error(transparent)]
    Pg(#[from] tokio_postgres::Error),
}

/// deadpool-postgres' manager, plus a budget permit per connection.
pub struct BudgetedManager {
    pg: deadpool_postgres::Manager,
    tenant_id: Uuid,
    budget: Arc<Semaphore>,
    wait: Duration,
    factory: Weak<Inner>,
}

impl BudgetedManager {
    async fn permit(&self) -> Result<OwnedSemaphorePermit, ConnError> {
        let deadline = Instant::now() + self.wait;
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
            if let Ok(Ok(p)) = tokio::time::timeout(slice, self.budget.clone().acquire_owned()).await {
                return Ok(p);
            }
        }
    }
}

impl managed::Manager for BudgetedManager {
    type Type = Conn;
    type Error = ConnError;

    async fn create(&self) -> Result<Conn, ConnError> {
        let permit = self.permit().await?;
        let client = managed::Manager::create(&self.pg).await?;
        Ok(Conn { client, _permit: permit })
    }

    async fn recycle(&self, conn: &mut Conn, metrics: &Metrics) -> RecycleResult<ConnError> {
        managed::Manager::recycle(&self.pg, &mut conn.client, metrics)
            .await
            .map_err(|e| match e {
                RecycleError::Message(m) => RecycleError::Message(m),
                RecycleError::Backend(e) => RecycleError::Backend(ConnError::Pg(e)),
            })
    }

    fn detach(&self, conn: &mut Conn) {
        managed::Manager::detach(&self.pg, &mut conn.client);
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

impl TenantPool {
    /// A connection, or the error a client should see.
    pub async fn get(&self) -> Result<Client, ApiError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(TimeoutType::Wait) | PoolError::Backend(ConnError::Budget) => {
                metrics::counter!("tenant_pool_limit_rejections_total").increment(1);
                ApiError::new(ErrorCode::ConnectionLimit, "all connections for this tenant are busy; retry shortly")
                    .retry_after(1)
            }
            PoolError::Closed => ApiError::unavailable("the tenant database pool", "pool closed (evicted)").retry_after(1),
            other => ApiError::unavailable("the tenant database", other.to_string()),
        })
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
                // Idle connections close now; busy ones when their request returns them.
                pool.pool.close();
                tracing::debug!(tenant.slug = %pool.slug, ?cause, "tenant pool closed");
            })
            .build();
        let budget = Arc::new(Semaphore::new(limits.max_total));
        Self { inner: Arc::new(Inner { created: Default::default(), cache, budget, limits, keyring, host, port }) }
    }

    fn pool_size(&self, record: &TenantRecord) -> usize {
        record.plan.max_connections().min(self.inner.limits.max_per_tenant).max(1)
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
        let pg = deadpool_postgres::Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Verified },
        );
        let wait = self.inner.limits.acquire_wait;
        let manager = BudgetedManager {
            pg,
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
        self.inner.created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(tenant.slug = %record.slug, size = self.pool_size(record), "tenant pool built");
        Ok(TenantPool { tenant_id: record.id, slug: record.slug.clone(), pool, fingerprint: record.fingerprint })
    }

    /// The tenant's pool, built on first use; concurrent first requests build one pool.
    pub async fn pool(&self, record: &TenantRecord) -> Result<Arc<TenantPool>, ApiError> {
        if let Some(pool) = self.inner.cache.get(&record.id).await {
            if pool.fingerprint == record.fingerprint {
                return Ok(pool);
            }
            self.evict(record.id, "credentials").await;
        }
        self.inner
            .cache
            .try_get_with(record.id, async { self.build(record).map(Arc::new) })
            .await
            .map_err(|e: Arc<ApiError>| ApiError::internal(e.to_string()))
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
        self.inner.created.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn pools(&self) -> u64 {
        self.inner.cache.entry_count()
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
            let ping = async {
                let client = pool.pool.get().await.map_err(|e| e.to_string())?;
                client.simple_query("SELECT 1").await.map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            };
            let outcome = tokio::time::timeout(Duration::from_secs(2), ping).await;
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(e)) if e.contains("budget") => None,
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

//! The pool factory: builds a tenant's pool on first use, caches it, hands out its
//! connections to the `Tenant` extractor, evicts it, and keeps the cache healthy.

use super::checkout::{TenantConn, TenantPool};
use super::health::health_check;
use super::manager::{BudgetedManager, ConnError};
use super::servers::ServerBudgets;
use crate::settings::{PoolLimits, StatementMode};
use crate::tenancy::directory::TenantRecord;
use deadpool::managed::{self, PoolError, TimeoutType};
use moka::future::Cache;
use moka::notification::RemovalCause;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tenancy_core::crypto::Keyring;
use tenancy_core::domain::TenantStatus;
use tenancy_core::observability::catalogue;
use tenancy_core::{ApiError, ErrorCode};
use tokio::time::Instant;
use uuid::Uuid;

/// How long the server may take to accept a connection: past this it is down for our
/// purposes, and a request should hear 503 rather than hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle time before the kernel probes a tenant connection: a peer that vanished (a
/// partition, a dead host) is noticed in about a minute instead of never.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// How long sent data may stay unacknowledged before the kernel drops the connection, so a
/// partition during a query breaks the connection rather than leaving it open for hours.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(20);

/// How long checking a pooled connection before reuse may take (a ping at most); a backend
/// that slow is replaced rather than trusted.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Attempts to check out a connection when the pool is closed under the request (evicted
/// for capacity or health meanwhile); each attempt uses the tenant's current pool. More
/// than a few means something keeps evicting it, and the request gets 503.
const CHECKOUT_ATTEMPTS: usize = 3;

/// `Retry-After` seconds on 429 `connection_limit` and on a pool that kept closing: a query
/// takes milliseconds, so a connection is usually free again within a second.
const RETRY_AFTER_SECS: u64 = 1;

/// The `application_name` of a session opened read-only for a moving tenant: the move's
/// fence leaves these open (control-api's `provisioner::moves` names it too).
pub const READ_ONLY_APP: &str = "app-api-read-only";

/// What the factory, its pools' managers and their connection tasks share.
pub(crate) struct Shared {
    pub(super) created: AtomicU64,
    pub(super) opened: AtomicU64,
    pub(super) cache: Cache<Uuid, Arc<TenantPool>>,
    /// One budget per database server: a permit per open connection to it.
    pub(super) budgets: ServerBudgets,
    limits: PoolLimits,
    keyring: Arc<Keyring>,
    statements: StatementMode,
}

/// One database server's connections as this process sees them (readiness).
#[derive(Debug, serde::Serialize)]
pub struct ServerLoad {
    pub connections: usize,
    /// `POOL_MAX_TOTAL`, less what the server refused below it.
    pub budget: usize,
}

/// Builds, caches, limits, health-checks and evicts tenant pools. Cheap to clone.
#[derive(Clone)]
pub struct PoolFactory {
    shared: Arc<Shared>,
}

fn evicted(reason: &'static str) {
    metrics::counter!(catalogue::TENANT_POOL_EVICTED_TOTAL, "reason" => reason).increment(1);
}

/// A pool error as the request's answer: the budget or the pool's size is 429, the rest 503.
fn pool_error(e: PoolError<ConnError>) -> ApiError {
    match e {
        PoolError::Timeout(TimeoutType::Wait)
        | PoolError::Backend(ConnError::Budget | ConnError::Busy | ConnError::ServerFull) => {
            metrics::counter!(catalogue::TENANT_POOL_LIMIT_REJECTIONS_TOTAL).increment(1);
            ApiError::new(
                ErrorCode::ConnectionLimit,
                "all connections for this tenant are busy; retry shortly",
            )
            .retry_after(RETRY_AFTER_SECS)
        }
        other => ApiError::unavailable("the tenant database", other.to_string()),
    }
}

impl PoolFactory {
    pub fn new(limits: PoolLimits, keyring: Arc<Keyring>, statements: StatementMode) -> Self {
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
                // Not `close()`: that would fail requests that just built a pool moka
                // declined to admit.
                pool.close_idle();
                tracing::debug!(tenant.slug = %pool.slug, ?cause, "tenant pool closed");
            })
            .build();
        Self {
            shared: Arc::new(Shared {
                created: AtomicU64::default(),
                opened: AtomicU64::default(),
                cache,
                budgets: ServerBudgets::new(limits.max_total),
                limits,
                keyring,
                statements,
            }),
        }
    }

    fn pool_size(&self, record: &TenantRecord) -> usize {
        record
            .plan
            .max_connections()
            .min(self.shared.limits.max_per_tenant)
            .max(1)
    }

    fn build(&self, record: &TenantRecord) -> Result<TenantPool, ApiError> {
        let password = self
            .shared
            .keyring
            .open(record.id, &record.sealed)
            .map_err(|e| ApiError::internal(format!("tenant credentials unusable: {e}")))?;
        let moving = record.status == TenantStatus::Moving;
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(&record.server.host)
            .port(record.server.port)
            .dbname(&record.db_name)
            .user(&record.db_role)
            .password(password.expose_secret())
            .application_name(if moving { READ_ONLY_APP } else { "app-api" })
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(KEEPALIVE_IDLE)
            .tcp_user_timeout(TCP_USER_TIMEOUT);
        let limits = &self.shared.limits;
        // Set at connect, so every statement on the connection is bounded server-side.
        // A moving tenant's sessions are read-only from their start, so the move's fence
        // (which ends the older, writable ones) can leave them serving reads.
        cfg.options(format!(
            "-c statement_timeout={}{}",
            limits.statement_timeout.as_millis(),
            if moving {
                " -c default_transaction_read_only=on"
            } else {
                ""
            }
        ));
        let server = self.shared.budgets.of(&record.server.name);
        let manager = BudgetedManager {
            config: cfg,
            tenant_id: record.id,
            server: server.clone(),
            wait: limits.acquire_wait,
            close_grace: limits.close_grace,
            factory: Arc::downgrade(&self.shared),
            pool: OnceLock::new(),
        };
        let size = self.pool_size(record);
        let conns = managed::Pool::builder(manager)
            .max_size(size)
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(limits.acquire_wait))
            // The manager may wait for a permit, then connect.
            .create_timeout(Some(limits.acquire_wait + CONNECT_TIMEOUT))
            .recycle_timeout(Some(RECYCLE_TIMEOUT))
            .build()
            .map_err(ApiError::internal)?;
        // Lets the manager tell a tenant without connections (which may claim another
        // pool's) from one whose own connections are busy.
        let _ = conns.manager().pool.set(conns.weak());
        metrics::counter!(catalogue::TENANT_POOL_CREATED_TOTAL).increment(1);
        self.shared.created.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tenant.slug = %record.slug, size, "tenant pool built");
        Ok(TenantPool::new(
            record.id,
            record.slug.clone(),
            server,
            conns,
            record.fingerprint,
            self.shared.statements,
        ))
    }

    /// The tenant's pool, built on first use; concurrent first requests build one pool.
    async fn pool(&self, record: &TenantRecord) -> Result<Arc<TenantPool>, ApiError> {
        if let Some(pool) = self.shared.cache.get(&record.id).await {
            if pool.fingerprint == record.fingerprint {
                return Ok(pool);
            }
            self.evict(record.id, "credentials").await;
        }
        let built = AtomicBool::new(false);
        // Boxed: this future is large, and inline it would be allocated and moved with
        // every request's, hit or not.
        let pool = Box::pin(self.shared.cache.try_get_with(record.id, async {
            built.store(true, Ordering::Relaxed);
            self.build(record).map(Arc::new)
        }))
        .await
        // The shared error itself as the cause, so the log names what really failed.
        .map_err(|e: Arc<ApiError>| ApiError::internal(e))?;
        if built.load(Ordering::Relaxed) {
            // moka enforces its capacity lazily; enforce it now so POOL_MAX_TENANTS holds
            // right after a new pool (the cold path, so the cost does not matter).
            self.shared.cache.run_pending_tasks().await;
        }
        Ok(pool)
    }

    /// Builds the tenant's pool if it is not cached, opening no connection: the first step
    /// of every `Tenant::conn`, on its own so the benchmark can time a cache hit.
    #[cfg(feature = "bench-hooks")]
    pub async fn warm(&self, record: &TenantRecord) -> Result<(), ApiError> {
        self.pool(record).await.map(drop)
    }

    /// A connection to the tenant's database (429 when its allowance is busy). Only the
    /// `Tenant` extractor calls this.
    pub(in crate::tenancy) async fn conn(
        &self,
        record: &TenantRecord,
    ) -> Result<TenantConn, ApiError> {
        let mut pool = self.pool(record).await?;
        // Read the clock only when the request has to wait (the hot path never does).
        let wait = self.shared.limits.acquire_wait;
        let mut deadline = None;
        let mut closed = 0;
        loop {
            // Its own connections stayed busy for the whole wait: the same answer as a
            // pool wait that timed out, rather than a second wait inside `get`.
            if !pool.await_own_connection(&mut deadline, wait).await {
                return Err(pool_error(PoolError::Timeout(TimeoutType::Wait)));
            }
            match pool.checkout().await {
                // While a tenant moves, the server ends its sessions at any moment (the
                // fence), and a connection used moments ago is handed out unchecked: prove
                // it first, so a read never meets a session the fence just ended.
                Ok(conn) if record.status == TenantStatus::Moving => {
                    if conn.simple_query("").await.is_ok() {
                        return Ok(conn);
                    }
                }
                Ok(conn) => return Ok(conn),
                // The budget is spent and another request took the connection given back
                // first: wait for the next one.
                Err(PoolError::Backend(ConnError::Busy))
                    if Instant::now() < *deadline.get_or_insert_with(|| Instant::now() + wait) => {}
                Err(PoolError::Closed) if closed + 1 < CHECKOUT_ATTEMPTS => {
                    closed += 1;
                    pool = self.pool(record).await?;
                }
                Err(PoolError::Closed) => {
                    return Err(ApiError::unavailable(
                        "the tenant database pool",
                        "pool kept closing",
                    )
                    .retry_after(RETRY_AFTER_SECS));
                }
                Err(e) => return Err(pool_error(e)),
            }
        }
    }

    /// Closes a tenant's pool now (suspension, credential change, failed health check).
    pub async fn evict(&self, tenant_id: Uuid, reason: &'static str) {
        if self.shared.cache.remove(&tenant_id).await.is_some() {
            evicted(reason);
        }
    }

    /// Open connections across all pools, on every server.
    pub fn connections(&self) -> usize {
        self.shared
            .budgets
            .all()
            .iter()
            .map(|s| s.connections())
            .sum()
    }

    /// The connection budget now, over the servers connected to so far (`POOL_MAX_TOTAL`
    /// each, less what a server refused below it); `POOL_MAX_TOTAL` before the first.
    pub fn budget(&self) -> usize {
        let all = self.shared.budgets.all();
        if all.is_empty() {
            return self.shared.limits.max_total;
        }
        all.iter().map(|s| s.policy.budget()).sum()
    }

    /// The connections and budget of the database server `name` (none yet: a full budget).
    pub fn server_load(&self, name: &str) -> ServerLoad {
        match self.shared.budgets.get(name) {
            Some(server) => ServerLoad {
                connections: server.connections(),
                budget: server.policy.budget(),
            },
            None => ServerLoad {
                connections: 0,
                budget: self.shared.limits.max_total,
            },
        }
    }

    /// Requests of tenants without a connection waiting for room in a spent budget, on
    /// every server.
    pub fn waiting_for_room(&self) -> usize {
        self.shared
            .budgets
            .all()
            .iter()
            .map(|s| s.claimants())
            .sum()
    }

    /// Pools built by this factory since start.
    pub fn created(&self) -> u64 {
        self.shared.created.load(Ordering::Relaxed)
    }

    /// Connections opened by this factory's pools since start.
    pub fn opened(&self) -> u64 {
        self.shared.opened.load(Ordering::Relaxed)
    }

    /// Pools cached now.
    pub fn pools(&self) -> u64 {
        self.shared.cache.iter().count() as u64
    }

    /// Runs expiry, gives back one shrunk permit, pings every pool that has idle
    /// connections, evicts the ones that fail, and refreshes the gauges. Called once per
    /// `POOL_HEALTH_MS`: moka has no thread of its own.
    pub(crate) async fn maintain(&self) {
        self.shared.cache.run_pending_tasks().await;
        for server in self.shared.budgets.all() {
            if server.policy.regrow() {
                server.permits.add_permits(1);
            }
        }
        let pools: Vec<Arc<TenantPool>> = self.shared.cache.iter().map(|(_, p)| p).collect();
        for pool in pools {
            // Only pools holding idle connections: pinging others would open connections.
            if pool.view().idle == 0 {
                continue;
            }
            if let Err(error) = health_check(&pool).await {
                metrics::counter!(catalogue::TENANT_POOL_HEALTH_FAILURES_TOTAL).increment(1);
                tracing::warn!(tenant.slug = %pool.slug, %error, "tenant pool failed its health check; evicting");
                self.evict(pool.tenant_id, "health").await;
            }
        }
        metrics::gauge!(catalogue::TENANT_POOLS_ACTIVE).set(self.pools() as f64);
        metrics::gauge!(catalogue::TENANT_POOL_CONNECTIONS).set(self.connections() as f64);
        metrics::gauge!(catalogue::TENANT_POOL_CONNECTIONS_MAX).set(self.budget() as f64);
    }
}

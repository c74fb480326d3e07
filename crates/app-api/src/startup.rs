//! Builds the app plane from settings: the control-database reader, the tenant directory,
//! the pool factory and its maintenance task, the change listener and the HTTP server.

use crate::routes;
use crate::settings::Settings;
use crate::state::AppState;
use crate::tenancy::rate_limit::RateLimiter;
use crate::tenancy::{Directory, PoolFactory, events};
use anyhow::Context;
use deadpool_postgres::{ManagerConfig, RecyclingMethod};
use moka::future::Cache;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
pub use tenancy_core::http::server::shutdown_signal;
use tenancy_core::http::server::{self, Bound};
use tenancy_core::jwt::{APP_AUDIENCE, JwtKeys};
use tokio_util::sync::CancellationToken;

/// A small pool for tenant lookups in the control database (read-only use).
fn control_pool(settings: &Settings) -> anyhow::Result<deadpool_postgres::Pool> {
    let cfg: tokio_postgres::Config = settings
        .control_database_url
        .expose_secret()
        .parse()
        .context("CONTROL_DATABASE_URL is invalid")?;
    let manager = deadpool_postgres::Manager::from_config(
        cfg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Verified,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(8)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(2)))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(2)))
        .build()
        .context("building the control-database pool")
}

pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let _ = tenancy_core::observability::metrics_handle();
    // Every family described and at zero before the first event or scrape.
    tenancy_core::observability::catalogue::register_app_plane();
    let control = control_pool(&settings)?;
    // Fail fast on a wrong URL rather than on the first request.
    drop(
        control
            .get()
            .await
            .context("connecting to CONTROL_DATABASE_URL")?,
    );
    let directory = Directory::new(
        control,
        settings.tenant_cache_ttl,
        settings.negative_cache_ttl,
    );
    let client =
        redis::Client::open(settings.redis_url.expose_secret()).context("REDIS_URL is invalid")?;
    let redis = ConnectionManager::new_with_config(
        client,
        ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_connection_timeout(Some(Duration::from_secs(5))),
    )
    .await
    .context("connecting to REDIS_URL")?;
    let keyring = settings.keyring.clone();
    let pools = PoolFactory::new(
        settings.pools.clone(),
        keyring,
        settings.tenant_db_statements,
    );
    let jwt = JwtKeys::new(&settings.jwt_secret, APP_AUDIENCE, settings.token_ttl_secs);
    let users = Cache::builder()
        .max_capacity(200_000)
        .time_to_live(crate::access::USER_CACHE_TTL)
        .build();
    let limiter = RateLimiter::new(redis.clone(), &settings.redis_prefix);
    Ok(AppState {
        directory,
        pools,
        jwt,
        tokens: crate::auth::VerifiedTokens::new(),
        users,
        redis,
        limiter,
        settings: Arc::new(settings),
    })
}

/// Keeps caches honest: moka runs expiry and eviction listeners only when asked.
async fn maintain(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(state.settings.pools.health_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                state.pools.maintain().await;
                state.directory.maintain().await;
            }
        }
    }
}

/// A built app plane: bound to its port, background tasks ready to start.
pub struct Application(Bound<AppState>);

/// A running app plane.
pub type Running = server::Running<AppState>;

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = server::bind(settings.addr)?;
        let proxies = settings.trusted_proxies.clone();
        let state = build_state(settings).await?;
        Ok(Self(Bound::new(
            listener,
            state,
            proxies,
            routes::configure,
            crate::tenancy::resolve::path_strategy,
        )?))
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// Starts the server, pool and cache maintenance, and the tenant-change listener.
    pub fn start(self) -> Running {
        let shutdown = CancellationToken::new();
        let s = &self.0.state;
        let channel = format!("{}:tenant-events", s.settings.redis_prefix);
        let tasks = vec![
            tokio::spawn(maintain(s.clone(), shutdown.clone())),
            tokio::spawn(events::listen(
                s.settings.redis_url.clone(),
                channel,
                s.directory.clone(),
                s.pools.clone(),
                shutdown.clone(),
            )),
        ];
        self.0.start(shutdown, tasks)
    }
}

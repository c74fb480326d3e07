//! Builds the app plane from settings: the control-database reader, the tenant directory,
//! the pool factory and its maintenance task, the change listener and the HTTP server.

use crate::routes;
use crate::settings::Settings;
use crate::state::AppState;
use crate::tenancy::rate_limit::RateLimiter;
use crate::tenancy::{Directory, PoolFactory, events};
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use deadpool_postgres::{ManagerConfig, RecyclingMethod};
use moka::future::Cache;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use tenancy_core::jwt::{APP_AUDIENCE, JwtKeys};
use tenancy_core::observability::{RootSpan, http_metrics};
use tenancy_core::{ApiError, ErrorCode};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

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
        settings.tenant_db_host.clone(),
        settings.tenant_db_port,
    );
    let jwt = JwtKeys::new(&settings.jwt_secret, APP_AUDIENCE, settings.token_ttl_secs);
    let users = Cache::builder()
        .max_capacity(200_000)
        .time_to_live(Duration::from_secs(5))
        .build();
    let limiter = RateLimiter::new(redis.clone(), &settings.redis_prefix);
    Ok(AppState {
        directory,
        pools,
        jwt,
        users,
        redis,
        limiter,
        settings: Arc::new(settings),
    })
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound, "no such route"))
}

pub fn http_server(state: AppState, listener: TcpListener) -> anyhow::Result<Server> {
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(from_fn(http_metrics))
            .wrap(TracingLogger::<RootSpan>::new())
            .app_data(data.clone())
            .configure(routes::configure)
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(10)
    .run())
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

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

pub struct Running {
    pub port: u16,
    pub state: AppState,
    server: ServerHandle,
    tasks: Vec<JoinHandle<()>>,
    server_task: JoinHandle<std::io::Result<()>>,
    shutdown: CancellationToken,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.addr)
            .with_context(|| format!("binding {}", settings.addr))?;
        let port = listener.local_addr()?.port();
        let state = build_state(settings).await?;
        let server = http_server(state.clone(), listener)?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn start(self) -> Running {
        let shutdown = CancellationToken::new();
        let s = &self.state;
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
        let handle = self.server.handle();
        let server_task = tokio::spawn(self.server);
        Running {
            port: self.port,
            state: self.state,
            server: handle,
            tasks,
            server_task,
            shutdown,
        }
    }
}

impl Running {
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.server.stop(true).await;
        let _ = self.server_task.await;
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Stops without waiting (usable from `Drop`).
    pub fn abort(self) {
        self.shutdown.cancel();
        drop(self.server.stop(false));
        for t in &self.tasks {
            t.abort();
        }
    }

    pub async fn until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutdown signal received; draining");
        self.stop().await;
        Ok(())
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

//! Builds the control plane from settings: connections, migrations, the HTTP server and the
//! worker. Tests boot exactly this.

use crate::hooks::Hooks;
use crate::jobs;
use crate::queue::{ImmediateStart, Queue};
use crate::routes;
use crate::settings::Settings;
use crate::state::AppState;
use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
pub use tenancy_core::http::server::shutdown_signal;
use tenancy_core::http::server::{self, Bound};
use tenancy_core::jwt::{CONTROL_AUDIENCE, JwtKeys};

/// Connects to the control database (statement logging off: see `observability`).
pub async fn connect_control_db(url: &SecretString) -> anyhow::Result<DatabaseConnection> {
    control_pool(url, 1, 10).await
}

async fn control_pool(
    url: &SecretString,
    min: u32,
    max: u32,
) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.expose_secret().to_string());
    opts.max_connections(max)
        .min_connections(min)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    // Not `.context(..)`: sea-orm quotes a URL it has no driver for, password and all.
    Database::connect(opts).await.map_err(|e| {
        anyhow::anyhow!(
            "connecting to CONTROL_DATABASE_URL: {}",
            without_password(&e, url.expose_secret())
        )
    })
}

/// `err`'s text with `url` and its password taken out, for errors that quote the URL.
fn without_password(err: &dyn std::fmt::Display, url: &str) -> String {
    let mut text = err.to_string().replace(url, "<CONTROL_DATABASE_URL>");
    if let Some(password) = url::Url::parse(url)
        .ok()
        .as_ref()
        .and_then(url::Url::password)
        && !password.is_empty()
    {
        text = text.replace(password, "***");
    }
    text
}

/// Creates the control database named in `url` if it does not exist yet, through the
/// server's `postgres` database, so a fresh server needs no manual `createdb`.
pub async fn ensure_control_database(url: &SecretString) -> anyhow::Result<()> {
    let mut parsed =
        url::Url::parse(url.expose_secret()).context("CONTROL_DATABASE_URL is not a URL")?;
    let name = parsed.path().trim_start_matches('/').to_string();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        anyhow::bail!("CONTROL_DATABASE_URL must name a database of [A-Za-z0-9_-]");
    }
    parsed.set_path("postgres");
    let server = connect_control_db(&SecretString::from(parsed.to_string())).await?;
    let exists = server
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        match server
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created the control database"),
            // Another process created it between our look and our CREATE.
            Err(e)
                if tenancy_core::sea_orm_error::sqlstate_of(&e).as_deref()
                    == Some(tenancy_core::sea_orm_error::sqlstate::DUPLICATE_DATABASE) => {}
            Err(e) => return Err(anyhow::Error::new(e).context("creating the control database")),
        }
    }
    let _ = server.close().await;
    Ok(())
}

/// Every role may CONNECT to a new database through PUBLIC, tenant roles included; the
/// registry holds every tenant's sealed credentials, so only roles granted it by name may.
/// On every start, so a registry made before this (or by hand, or by a test) is closed too.
async fn revoke_public_connect(db: &DatabaseConnection) {
    let revoke = "DO $$ BEGIN EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', \
                  current_database()); END $$";
    if let Err(e) = db.execute_unprepared(revoke).await {
        // Only its owner or a superuser may; a deployment that gave us neither runs on.
        tracing::warn!(error = %e, "could not revoke CONNECT on the control database from PUBLIC");
    }
}

/// Applies pending control-schema migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migrations_control::Migrator::up(db, None)
        .await
        .context("applying control migrations")
}

/// A Redis connection that reconnects by itself. apalis' own `connect` keeps a 500 ms
/// response timeout that kills the worker under load, so we build it here.
pub async fn connect_redis(url: &SecretString) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url.expose_secret()).context("REDIS_URL is invalid")?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(Duration::from_secs(10)))
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_number_of_retries(5);
    ConnectionManager::new_with_config(client, config)
        .await
        .context("connecting to REDIS_URL")
}

/// Everything the process shares, connected and migrated.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    build_state_with_hooks(settings, Hooks::default()).await
}

async fn build_state_with_hooks(settings: Settings, hooks: Hooks) -> anyhow::Result<AppState> {
    // Install the recorder before anything records.
    let _ = tenancy_core::observability::metrics_handle();
    // Every family described and at zero before the first event or scrape.
    tenancy_core::observability::catalogue::register_control_plane();
    let db = connect_control_db(&settings.control_database_url).await?;
    revoke_public_connect(&db).await;
    migrate(&db).await?;
    let redis = connect_redis(&settings.redis_url).await?;
    crate::servers::register_default(
        &db,
        &settings.keyring,
        &settings.tenant_db_admin_url,
        &settings.tenant_db_host,
        settings.tenant_db_port,
    )
    .await?;
    let jwt = JwtKeys::new(
        &settings.jwt_secret,
        CONTROL_AUDIENCE,
        settings.token_ttl_secs,
    );
    let queue = Queue::new(redis.clone(), &settings.redis_prefix, settings.queue_poll);
    let immediate = ImmediateStart::new(settings.run_worker, settings.worker_concurrency);
    // One lock per running job: the worker's and the immediate starts' slots, plus one.
    let lock_slots = (settings.worker_concurrency * 2 + 1) as u32;
    let locks = control_pool(&settings.control_database_url, 0, lock_slots).await?;
    let settings = Arc::new(settings);
    Ok(AppState {
        servers: crate::servers::Servers::new(db.clone(), settings.clone()),
        db,
        redis,
        queue,
        immediate,
        locks,
        worker: Default::default(),
        hooks,
        jwt,
        settings,
    })
}

/// A built control plane: bound to its port, worker ready to start.
pub struct Application(Bound<AppState>);

/// A running control plane.
pub type Running = server::Running<AppState>;

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_hooks(settings, Hooks::default()).await
    }

    /// `build` with test hooks (fault injection).
    pub async fn build_with_hooks(settings: Settings, hooks: Hooks) -> anyhow::Result<Self> {
        let listener = server::bind(settings.addr)?;
        let proxies = settings.trusted_proxies.clone();
        let state = build_state_with_hooks(settings, hooks).await?;
        Ok(Self(Bound::new(
            listener,
            state,
            proxies,
            routes::configure,
            |_| {},
        )?))
    }

    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// Starts the server, and the worker when settings ask for it.
    pub fn start(self) -> Running {
        let state = &self.0.state;
        let shutdown = state.immediate.shutdown.clone();
        let worker = state.settings.run_worker.then(|| {
            let (state, shutdown) = (state.clone(), shutdown.clone());
            tokio::spawn(async move {
                if let Err(e) = jobs::run_worker(state, shutdown).await {
                    tracing::error!(error = %format!("{e:#}"), "provisioning worker stopped");
                }
            })
        });
        self.0.start(shutdown, worker.into_iter().collect())
    }
}

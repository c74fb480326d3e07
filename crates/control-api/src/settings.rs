//! The control plane's settings, read once from the environment and validated at start-up.

use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::time::Duration;
use tenancy_core::config::{self, ConfigError, Env};
use tenancy_core::crypto::Keyring;

/// Everything `control-api` needs to serve and to run the worker.
pub struct Settings {
    pub addr: SocketAddr,
    pub control_database_url: SecretString,
    pub tenant_db_admin_url: SecretString,
    pub redis_url: SecretString,
    /// Prefix of every Redis key and channel this deployment uses.
    pub redis_prefix: String,
    /// Prefix of tenant database and role names.
    pub tenant_db_prefix: String,
    pub keyring: Keyring,
    pub jwt_secret: SecretString,
    pub token_ttl_secs: u64,
    /// Run the provisioning worker inside the API process.
    pub run_worker: bool,
    pub worker_concurrency: usize,
    pub job_max_attempts: i32,
    /// First retry delay; doubled per attempt, capped at 60 s.
    pub job_backoff: Duration,
    /// How long a worker owns a running job before another may take it over.
    pub job_lease: Duration,
    /// How often an idle worker polls the queue (the queue's latency).
    pub queue_poll: Duration,
    /// How often the worker looks for jobs that lost their queue entry or their worker.
    pub reconcile_every: Duration,
}

/// Settings needed by commands that touch only the control database.
pub fn control_database_url(env: &dyn Env) -> Result<SecretString, ConfigError> {
    config::required(env, "CONTROL_DATABASE_URL").map(SecretString::from)
}

impl Settings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let master = config::master_key(env, "MASTER_KEY")?;
        let key_version: i16 = config::optional(env, "MASTER_KEY_VERSION", 1)?;
        let mut keyring = Keyring::new(key_version, &master);
        if env.get("MASTER_KEY_PREVIOUS").is_some() {
            let old = config::master_key(env, "MASTER_KEY_PREVIOUS")?;
            let old_version: i16 =
                config::optional(env, "MASTER_KEY_PREVIOUS_VERSION", key_version - 1)?;
            if old_version == key_version {
                return Err(ConfigError::Invalid {
                    var: "MASTER_KEY_PREVIOUS_VERSION",
                    reason: "must differ from MASTER_KEY_VERSION".into(),
                });
            }
            keyring.add(old_version, &old);
        }
        let jwt_secret = config::jwt_secret(env, "CONTROL_JWT_SECRET")?;
        if env
            .get("APP_JWT_SECRET")
            .is_some_and(|app| app == jwt_secret.expose_secret())
        {
            return Err(ConfigError::Invalid {
                var: "CONTROL_JWT_SECRET",
                reason: "must differ from APP_JWT_SECRET".into(),
            });
        }
        let tenant_db_prefix: String =
            config::optional(env, "TENANT_DB_PREFIX", "tenant_".to_string())?;
        if tenant_db_prefix.is_empty()
            || tenant_db_prefix.len() > 12
            || !tenant_db_prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ConfigError::Invalid {
                var: "TENANT_DB_PREFIX",
                reason: "must be 1 to 12 of [a-z0-9_]".into(),
            });
        }
        Ok(Self {
            addr: config::optional(
                env,
                "CONTROL_API_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3001)),
            )?,
            control_database_url: control_database_url(env)?,
            tenant_db_admin_url: config::required(env, "TENANT_DB_ADMIN_URL")
                .map(SecretString::from)?,
            redis_url: config::required(env, "REDIS_URL").map(SecretString::from)?,
            redis_prefix: config::optional(env, "REDIS_PREFIX", "tenancy".to_string())?,
            tenant_db_prefix,
            keyring,
            jwt_secret,
            token_ttl_secs: config::optional(env, "CONTROL_TOKEN_TTL_SECS", 900)?,
            run_worker: true,
            worker_concurrency: config::optional(env, "WORKER_CONCURRENCY", 4)?,
            job_max_attempts: config::optional(env, "PROVISION_MAX_ATTEMPTS", 5)?,
            job_backoff: Duration::from_millis(config::optional(
                env,
                "PROVISION_BACKOFF_MS",
                1000,
            )?),
            job_lease: Duration::from_secs(config::optional(env, "PROVISION_LEASE_SECS", 60)?),
            queue_poll: Duration::from_millis(config::optional(env, "QUEUE_POLL_MS", 100)?.max(10)),
            reconcile_every: Duration::from_secs(config::optional(env, "RECONCILE_SECS", 30)?),
        })
    }
}

//! The control plane's settings, read once from the environment and validated at start-up.

use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tenancy_core::config::keys::{self, Plane};
use tenancy_core::config::{self, ConfigError, Env};
use tenancy_core::crypto::Keyring;
use tenancy_core::forwarded::TrustedProxies;

/// Everything `control-api` needs to serve and to run the worker.
pub struct Settings {
    pub addr: SocketAddr,
    pub control_database_url: SecretString,
    pub tenant_db_admin_url: SecretString,
    /// Where apps reach the `default` server (`TENANT_DB_HOST`/`TENANT_DB_PORT`; by
    /// default the admin URL's host and port).
    pub tenant_db_host: String,
    pub tenant_db_port: u16,
    pub redis_url: SecretString,
    /// Prefix of every Redis key and channel this deployment uses.
    pub redis_prefix: String,
    /// Prefix of tenant database and role names.
    pub tenant_db_prefix: String,
    /// pgbouncer's auth_query role, granted CONNECT and given its lookup function in every
    /// tenant database (pgbouncer 1.18); `None` when no pooler needs it.
    pub tenant_db_pooler_auth_role: Option<String>,
    pub keyring: Keyring,
    pub jwt_secret: SecretString,
    pub token_ttl_secs: u64,
    /// Run the provisioning worker inside the API process.
    pub run_worker: bool,
    pub worker_concurrency: usize,
    /// `PROVISION_SPARES`: ready databases kept per accepting database server, copied from
    /// its template in the background so a provisioning job claims one instead of copying
    /// while the client waits (`provisioner::spares`); 0 turns them off.
    pub provision_spares: u32,
    pub job_max_attempts: i32,
    /// First retry delay; doubled per attempt, capped at 60 s.
    pub job_backoff: Duration,
    /// How long a worker owns a running job before another may take it over.
    pub job_lease: Duration,
    /// How often an idle worker polls the queue (the queue's latency).
    pub queue_poll: Duration,
    /// How often the worker looks for jobs that lost their queue entry or their worker.
    pub reconcile_every: Duration,
    /// Proxies whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// `BACKUP_DIR`: where encrypted tenant backups are written.
    pub backup_dir: PathBuf,
    /// `PG_BIN_DIR`: where `pg_dump`/`pg_restore` are; `None`: `pg_config --bindir`, then `PATH`.
    pub pg_bin_dir: Option<PathBuf>,
    /// `MOVE_GRACE_SECS`: how long a moved tenant's source database is kept (read-only)
    /// after the switch, for app-api replicas to drop their pools to it.
    pub move_grace: Duration,
}

/// Settings needed by commands that touch only the control database.
pub fn control_database_url(env: &dyn Env) -> Result<SecretString, ConfigError> {
    config::required(env, "CONTROL_DATABASE_URL").map(SecretString::from)
}

impl Settings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let keys = keys::from_env(env, Plane::Control)?;
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
        let tenant_db_pooler_auth_role = env
            .get("TENANT_DB_POOLER_AUTH_ROLE")
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if let Some(role) = &tenant_db_pooler_auth_role
            && (role.len() > 63
                || !role
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        {
            return Err(ConfigError::Invalid {
                var: "TENANT_DB_POOLER_AUTH_ROLE",
                reason: "must be a role name of [a-z0-9_]".into(),
            });
        }
        let control_database_url = control_database_url(env)?;
        let tenant_db_admin_url: SecretString =
            config::required(env, "TENANT_DB_ADMIN_URL").map(SecretString::from)?;
        let admin = url::Url::parse(tenant_db_admin_url.expose_secret()).ok();
        let tenant_db_host = config::optional(
            env,
            "TENANT_DB_HOST",
            admin
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| "127.0.0.1".to_string()),
        )?;
        let tenant_db_port = config::optional(
            env,
            "TENANT_DB_PORT",
            admin.as_ref().and_then(url::Url::port).unwrap_or(5432),
        )?;
        Ok(Self {
            addr: config::optional(
                env,
                "CONTROL_API_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3001)),
            )?,
            control_database_url,
            tenant_db_admin_url,
            tenant_db_host,
            tenant_db_port,
            redis_url: config::required(env, "REDIS_URL").map(SecretString::from)?,
            redis_prefix: config::optional(env, "REDIS_PREFIX", "tenancy".to_string())?,
            tenant_db_prefix,
            tenant_db_pooler_auth_role,
            keyring: keys.keyring,
            jwt_secret: keys.jwt_secret,
            token_ttl_secs: config::optional(env, "CONTROL_TOKEN_TTL_SECS", 900)?,
            run_worker: true,
            worker_concurrency: config::optional(env, "WORKER_CONCURRENCY", 4)?,
            provision_spares: config::optional(env, "PROVISION_SPARES", 4)?,
            job_max_attempts: config::optional(env, "PROVISION_MAX_ATTEMPTS", 5)?,
            job_backoff: Duration::from_millis(config::optional(
                env,
                "PROVISION_BACKOFF_MS",
                1000,
            )?),
            job_lease: Duration::from_secs(config::optional(env, "PROVISION_LEASE_SECS", 60)?),
            queue_poll: Duration::from_millis(config::optional(env, "QUEUE_POLL_MS", 100)?.max(10)),
            reconcile_every: Duration::from_secs(config::optional(env, "RECONCILE_SECS", 30)?),
            trusted_proxies: config::trusted_proxies(env)?,
            backup_dir: PathBuf::from(config::optional(
                env,
                "BACKUP_DIR",
                "./backups".to_string(),
            )?),
            pg_bin_dir: env
                .get("PG_BIN_DIR")
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            move_grace: Duration::from_secs(config::optional(env, "MOVE_GRACE_SECS", 30)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The keyring is read first, so an env with only keys reaches the next missing variable
    /// exactly when the keys passed.
    #[test]
    fn from_env_refuses_a_previous_key_under_the_current_version() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let mut env: HashMap<String, String> = HashMap::from([
            ("MASTER_KEY".into(), key.into()),
            ("MASTER_KEY_PREVIOUS".into(), key.into()),
            ("MASTER_KEY_VERSION".into(), "2".into()),
            (
                "CONTROL_JWT_SECRET".into(),
                "ctl-Wd7Hk2Np9Qs4Tv6Xz1Bm3Cf8Gj5Lr0Ye".into(),
            ),
        ]);
        let refusal =
            |env: &HashMap<String, String>| Settings::from_env(env).err().map(|e| e.to_string());
        assert_eq!(
            refusal(&env),
            Some("CONTROL_DATABASE_URL is not set".into())
        );
        env.insert("MASTER_KEY_PREVIOUS_VERSION".into(), "2".into());
        let refused = refusal(&env).unwrap_or_default();
        assert!(
            refused.starts_with("MASTER_KEY_PREVIOUS_VERSION is invalid"),
            "{refused}"
        );
    }
}

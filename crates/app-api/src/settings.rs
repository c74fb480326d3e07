//! The app plane's settings, read once from the environment and validated at start-up.

use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tenancy_core::config::keys::{self, Plane};
use tenancy_core::config::{self, ConfigError, Env};
use tenancy_core::crypto::Keyring;
use tenancy_core::forwarded::TrustedProxies;

/// Limits of the per-tenant pool factory.
#[derive(Debug, Clone)]
pub struct PoolLimits {
    /// Connections one tenant's pool may hold (its plan may allow fewer).
    pub max_per_tenant: usize,
    /// Connections across all pools to one database server.
    pub max_total: usize,
    /// Pools kept at once.
    pub max_tenants: u64,
    /// A pool unused this long is closed.
    pub idle: Duration,
    /// How long a request waits for a connection before `connection_limit`.
    pub acquire_wait: Duration,
    /// Pause between a connection closing and its budget permit being reused.
    pub close_grace: Duration,
    /// How often cached pools are pinged and expiry runs.
    pub health_every: Duration,
    /// `statement_timeout` of every tenant connection: a stuck query ends server-side.
    pub statement_timeout: Duration,
}

tenancy_core::text_enum! {
    /// How tenant queries reach the server (`TENANT_DB_STATEMENTS`).
    pub enum StatementMode as "statement mode" {
        /// Named statements prepared once per connection and reused: the fewest round
        /// trips, for PostgreSQL itself or a pooler that keeps them (pgbouncer >= 1.21 with
        /// `max_prepared_statements`).
        Prepared = "prepared",
        /// Every query parsed, bound and run as the unnamed statement in one round trip,
        /// for a transaction pooler that cannot keep prepared statements (pgbouncer 1.18):
        /// the next query may run on another server connection.
        Unnamed = "unnamed",
    }
}

pub struct Settings {
    pub addr: SocketAddr,
    pub control_database_url: SecretString,
    pub redis_url: SecretString,
    pub redis_prefix: String,
    pub keyring: Arc<Keyring>,
    pub jwt_secret: SecretString,
    pub token_ttl_secs: u64,
    /// Base domain: `acme.<app_domain>` names tenant `acme`.
    pub app_domain: Option<String>,
    pub tenant_db_statements: StatementMode,
    pub pools: PoolLimits,
    /// How long a tenant record is trusted without hearing from the control plane.
    pub tenant_cache_ttl: Duration,
    /// How long an unknown slug is remembered as unknown.
    pub negative_cache_ttl: Duration,
    /// How long a `/v1` request may take before it is answered 503 and its work dropped.
    pub request_deadline: Duration,
    /// Proxies whose `Forwarded` / `X-Forwarded-*` headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Every plan's request rate is multiplied by this (`RATE_LIMIT_SCALE`, 1 unless a load
    /// test must drive one tenant past its plan with the limiter still on the path).
    pub rate_limit_scale: u32,
}

impl Settings {
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let keys = keys::from_env(env, Plane::App)?;
        let max_per_tenant: usize = config::optional(env, "POOL_MAX_PER_TENANT", 5)?;
        let max_total: usize = config::optional(env, "POOL_MAX_TOTAL", 100)?;
        if max_per_tenant == 0 || max_total < max_per_tenant {
            return Err(ConfigError::Invalid {
                var: "POOL_MAX_TOTAL",
                reason: "must be at least POOL_MAX_PER_TENANT, which must be at least 1".into(),
            });
        }
        let max_tenants: u64 = config::optional(env, "POOL_MAX_TENANTS", 1000)?;
        if max_tenants == 0 {
            return Err(ConfigError::Invalid {
                var: "POOL_MAX_TENANTS",
                reason: "must be at least 1".into(),
            });
        }
        let rate_limit_scale: u32 = config::optional(env, "RATE_LIMIT_SCALE", 1)?;
        if !(1..=10_000).contains(&rate_limit_scale) {
            return Err(ConfigError::Invalid {
                var: "RATE_LIMIT_SCALE",
                reason: "must be between 1 and 10000".into(),
            });
        }
        let app_domain = env
            .get("APP_DOMAIN")
            .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase());
        Ok(Self {
            addr: config::optional(
                env,
                "APP_API_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
            )?,
            control_database_url: config::required(env, "CONTROL_DATABASE_URL")
                .map(SecretString::from)?,
            redis_url: config::required(env, "REDIS_URL").map(SecretString::from)?,
            redis_prefix: config::optional(env, "REDIS_PREFIX", "tenancy".to_string())?,
            keyring: Arc::new(keys.keyring),
            jwt_secret: keys.jwt_secret,
            token_ttl_secs: config::optional(env, "APP_TOKEN_TTL_SECS", 3600)?,
            app_domain,
            tenant_db_statements: config::optional(
                env,
                "TENANT_DB_STATEMENTS",
                StatementMode::Prepared,
            )?,
            pools: PoolLimits {
                max_per_tenant,
                max_total,
                max_tenants,
                idle: Duration::from_secs(config::optional(env, "POOL_IDLE_SECS", 600)?),
                acquire_wait: Duration::from_millis(config::optional(
                    env,
                    "POOL_ACQUIRE_WAIT_MS",
                    1000,
                )?),
                close_grace: Duration::from_millis(config::optional(
                    env,
                    "POOL_CLOSE_GRACE_MS",
                    25,
                )?),
                health_every: Duration::from_millis(
                    config::optional(env, "POOL_HEALTH_MS", 15_000)?.max(50),
                ),
                statement_timeout: Duration::from_millis(
                    config::optional(env, "TENANT_STATEMENT_TIMEOUT_MS", 5000)?.max(1),
                ),
            },
            tenant_cache_ttl: Duration::from_millis(config::optional(
                env,
                "TENANT_CACHE_TTL_MS",
                5000,
            )?),
            negative_cache_ttl: Duration::from_millis(config::optional(
                env,
                "NEGATIVE_CACHE_TTL_MS",
                5000,
            )?),
            request_deadline: Duration::from_millis(
                config::optional(env, "REQUEST_DEADLINE_MS", 10_000)?.max(1),
            ),
            trusted_proxies: config::trusted_proxies(env)?,
            rate_limit_scale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// app-api used to accept this and then answer 500 for every tenant whose credentials
    /// were sealed under the version the previous key shadowed.
    #[test]
    fn equal_key_versions_stop_start_up() {
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string();
        let env = |previous_version: &str| -> HashMap<String, String> {
            [
                ("MASTER_KEY", key.clone()),
                ("MASTER_KEY_PREVIOUS", key.clone()),
                ("MASTER_KEY_PREVIOUS_VERSION", previous_version.to_string()),
                (
                    "APP_JWT_SECRET",
                    "app-Zq3v8LmN1xR7tY2wK9pB4sD6fH0jG5cE".to_string(),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        };
        // MASTER_KEY_VERSION defaults to 1; past the keys, the next variable is missing.
        let passed = Settings::from_env(&env("0")).err().map(|e| e.to_string());
        assert_eq!(passed.as_deref(), Some("CONTROL_DATABASE_URL is not set"));
        let refused = Settings::from_env(&env("1")).err().map(|e| e.to_string());
        assert!(
            refused.is_some_and(|r| r.starts_with("MASTER_KEY_PREVIOUS_VERSION is invalid")),
            "equal versions were accepted"
        );
    }
}

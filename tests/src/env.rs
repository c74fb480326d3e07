//! Where the shared PostgreSQL and Redis are, the names one test owns in them, and the
//! environment map both planes boot from.

use base64::Engine as _;
use std::collections::HashMap;

/// The variables a deployment would set, as `Settings::from_env` reads them.
pub type Env = HashMap<String, String>;

/// Superuser URL of the test PostgreSQL (`TEST_PG_URL`, default local trust auth).
pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// URL of the test Redis (`TEST_REDIS_URL`, default local).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("URL has a path");
    let query = url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{db}{query}")
}

/// Names one test's resources; everything a test creates carries its suffix, which is
/// what lets tests share one PostgreSQL and one Redis in parallel.
#[derive(Debug, Clone)]
pub struct TestNames {
    /// Eight random hex characters.
    pub suffix: String,
    /// The control database.
    pub control_db: String,
    /// Prefix of the tenant databases and roles this test creates.
    pub tenant_prefix: String,
    /// Prefix of this test's Redis keys and channels.
    pub redis_prefix: String,
    /// This test's `BACKUP_DIR` (under the temporary directory).
    pub backup_dir: std::path::PathBuf,
}

impl TestNames {
    pub fn new() -> Self {
        let s = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        Self {
            control_db: format!("tt_ctl_{s}"),
            tenant_prefix: format!("tt{s}_"),
            redis_prefix: format!("test-{s}"),
            backup_dir: std::env::temp_dir().join(format!("tt-backups-{s}")),
            suffix: s,
        }
    }

    /// A `LIKE` pattern matching this test's tenant databases and roles (`_` escaped).
    pub fn tenant_like(&self) -> String {
        format!("{}%", self.tenant_prefix.replace('_', "\\_"))
    }
}

impl Default for TestNames {
    fn default() -> Self {
        Self::new()
    }
}

/// The environment of a deployment running both planes, for this test's names: fresh
/// secrets, port 0, and short provisioning timings so recovery tests finish in seconds.
pub fn test_env(names: &TestNames) -> Env {
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    [
        (
            "CONTROL_DATABASE_URL",
            with_database(&pg_admin_url(), &names.control_db),
        ),
        ("TENANT_DB_ADMIN_URL", pg_admin_url()),
        ("TENANT_DB_HOST", "127.0.0.1".into()),
        ("TENANT_DB_PORT", "5432".into()),
        ("REDIS_URL", redis_url()),
        ("REDIS_PREFIX", names.redis_prefix.clone()),
        ("TENANT_DB_PREFIX", names.tenant_prefix.clone()),
        ("MASTER_KEY", key),
        (
            "CONTROL_JWT_SECRET",
            format!("control-secret-{}", uuid::Uuid::new_v4()),
        ),
        (
            "APP_JWT_SECRET",
            format!("app-secret-{}", uuid::Uuid::new_v4()),
        ),
        ("CONTROL_API_ADDR", "127.0.0.1:0".into()),
        ("APP_API_ADDR", "127.0.0.1:0".into()),
        ("APP_DOMAIN", "helpdesk.test".into()),
        // No spare databases unless a test asks for them (tests/spares): each one is a
        // database copy every other test would pay for.
        ("PROVISION_SPARES", "0".into()),
        ("PROVISION_MAX_ATTEMPTS", "3".into()),
        ("PROVISION_BACKOFF_MS", "50".into()),
        ("PROVISION_LEASE_SECS", "3".into()),
        ("RECONCILE_SECS", "1".into()),
        ("POOL_HEALTH_MS", "500".into()),
        ("BACKUP_DIR", names.backup_dir.display().to_string()),
        ("MOVE_GRACE_SECS", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

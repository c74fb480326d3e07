//! What the app plane knows of tenants: records read from the control database and cached
//! in memory (moka), so a hot request does no control-database query. Unknown slugs are
//! cached too, briefly, so a flood of random slugs cannot hammer the control database.
//! Entries expire after a short TTL and are dropped at once when the control plane
//! announces a change (see `events`).

use moka::Expiry;
use moka::future::Cache;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenancy_core::ApiError;
use tenancy_core::crypto::Sealed;
use tenancy_core::domain::{FeatureOverrides, Features, Plan, TenantSlug, TenantStatus};
use tenancy_core::observability::catalogue::TENANT_CACHE_TOTAL;
use tenancy_core::observability::count;
use uuid::Uuid;

/// A tenant as the app plane needs it.
pub struct TenantRecord {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub plan: Plan,
    /// The plan's defaults with the tenant's overrides on top.
    pub features: Features,
    pub status: TenantStatus,
    pub db_name: String,
    pub db_role: String,
    pub sealed: Sealed,
    /// The database server the tenant's database lives on, and where apps reach it.
    pub server: DbServer,
    /// Changes when credentials, plan, server or database change (the pool must then be rebuilt).
    pub fingerprint: u64,
}

/// A database server as the app plane needs it: its name and the address apps connect to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbServer {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl std::fmt::Debug for TenantRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantRecord")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .finish_non_exhaustive()
    }
}

/// What a tenant is called and pays for, and the features it turned on or off.
pub struct TenantProfile {
    pub name: String,
    pub plan: Plan,
    pub overrides: FeatureOverrides,
}

impl TenantRecord {
    // One argument per column read: a struct literal here would bypass the fingerprint.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        slug: String,
        profile: TenantProfile,
        status: TenantStatus,
        db_name: String,
        db_role: String,
        sealed: Sealed,
        server: DbServer,
    ) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        sealed.bytes.hash(&mut h);
        sealed.key_version.hash(&mut h);
        // Not the name or the features: neither changes how the pool is built.
        profile.plan.as_str().hash(&mut h);
        server.hash(&mut h);
        // A restore or move switches databases: a pool to the old one must not be reused.
        db_name.hash(&mut h);
        // A moving tenant's pool opens read-only sessions; the pool after the move must not.
        (status == TenantStatus::Moving).hash(&mut h);
        Self {
            id,
            slug,
            name: profile.name,
            plan: profile.plan,
            features: Features::resolve(profile.plan, &profile.overrides),
            status,
            db_name,
            db_role,
            sealed,
            server,
            fingerprint: h.finish(),
        }
    }
}

type Entry = Option<Arc<TenantRecord>>;

fn server_of(row: &tokio_postgres::Row) -> Result<DbServer, ApiError> {
    let port: i32 = row.get("port");
    Ok(DbServer {
        name: row.get("server_name"),
        host: row.get("host"),
        port: u16::try_from(port).map_err(ApiError::internal)?,
    })
}

struct Ttl {
    known: Duration,
    unknown: Duration,
}

impl Expiry<String, Entry> for Ttl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _at: Instant) -> Option<Duration> {
        Some(if value.is_some() {
            self.known
        } else {
            self.unknown
        })
    }
}

/// Tenant lookups by slug, cached.
#[derive(Clone)]
pub struct Directory {
    control: deadpool_postgres::Pool,
    cache: Cache<String, Entry>,
}

const LOOKUP: &str =
    "SELECT t.id, t.slug, t.name, t.plan, t.features, t.status, t.db_name, t.db_role,
                             t.db_password_sealed, t.db_key_version,
                             s.name AS server_name, s.host, s.port
                      FROM tenants t JOIN db_servers s ON s.name = t.server
                      WHERE t.slug = $1 AND t.purged_at IS NULL";

/// Every database server's name and address (readiness).
const SERVERS: &str = "SELECT name AS server_name, host, port FROM db_servers ORDER BY name";

impl Directory {
    pub fn new(control: deadpool_postgres::Pool, ttl: Duration, negative_ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(100_000)
            .expire_after(Ttl {
                known: ttl,
                unknown: negative_ttl,
            })
            .build();
        Self { control, cache }
    }

    /// The tenant with this slug; `None` if there is none (or it has no credentials yet).
    pub async fn lookup(&self, slug: &TenantSlug) -> Result<Entry, ApiError> {
        if let Some(hit) = self.cache.get(slug.as_str()).await {
            count(TENANT_CACHE_TOTAL, "result", "hit");
            return Ok(hit);
        }
        count(TENANT_CACHE_TOTAL, "result", "miss");
        // Boxed: the miss path's future is large, and inline it would be allocated and
        // moved with every request's, hit or not.
        Box::pin(
            self.cache
                .try_get_with(slug.as_str().to_string(), self.load(slug)),
        )
        .await
        // The shared error itself as the cause, so the log names what really failed.
        .map_err(|e: Arc<ApiError>| ApiError::unavailable("the control database", e))
    }

    async fn load(&self, slug: &TenantSlug) -> Result<Entry, ApiError> {
        let client = self
            .control
            .get()
            .await
            .map_err(|e| ApiError::unavailable("the control database", e))?;
        let stmt = client
            .prepare_cached(LOOKUP)
            .await
            .map_err(|e| ApiError::unavailable("the control database", e))?;
        let row = client
            .query_opt(&stmt, &[&slug.as_str()])
            .await
            .map_err(|e| ApiError::unavailable("the control database", e))?;
        let Some(row) = row else { return Ok(None) };
        let plan: String = row.get("plan");
        let status: String = row.get("status");
        let sealed_bytes: Option<Vec<u8>> = row.get("db_password_sealed");
        let key_version: Option<i16> = row.get("db_key_version");
        let status = TenantStatus::parse(&status).map_err(ApiError::internal)?;
        let sealed = Sealed {
            key_version: key_version.unwrap_or_default(),
            bytes: sealed_bytes.unwrap_or_default(),
        };
        let profile = TenantProfile {
            name: row.get("name"),
            plan: Plan::parse(&plan).map_err(ApiError::internal)?,
            overrides: FeatureOverrides::from_stored(&row.get::<_, serde_json::Value>("features")),
        };
        let server = server_of(&row)?;
        Ok(Some(Arc::new(TenantRecord::new(
            row.get("id"),
            row.get("slug"),
            profile,
            status,
            row.get("db_name"),
            row.get("db_role"),
            sealed,
            server,
        ))))
    }

    /// Every registered database server (readiness lists each).
    pub async fn servers(&self) -> Result<Vec<DbServer>, ApiError> {
        let client = self
            .control
            .get()
            .await
            .map_err(|e| ApiError::unavailable("the control database", e))?;
        let rows = client
            .query(SERVERS, &[])
            .await
            .map_err(|e| ApiError::unavailable("the control database", e))?;
        rows.iter().map(server_of).collect()
    }

    /// Puts a record in the cache as if it had been read (for the criterion benchmarks).
    #[cfg(feature = "bench-hooks")]
    pub async fn prime(&self, record: TenantRecord) {
        self.cache
            .insert(record.slug.clone(), Some(Arc::new(record)))
            .await;
    }

    /// Forgets a slug so the next request reads the control database again.
    pub async fn invalidate(&self, slug: &str) {
        self.cache.invalidate(slug).await;
    }

    /// Forgets everything (after a lost event subscription).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    pub async fn maintain(&self) {
        self.cache.run_pending_tasks().await;
    }

    /// The control database answers (readiness).
    pub async fn ping(&self) -> Result<(), String> {
        let client = self.control.get().await.map_err(|e| e.to_string())?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

//! Response bodies. Built from registry rows by hand, so no credential field can leak.

use crate::repo::backups::{Backup, BackupState};
use crate::repo::jobs::{Job, JobKind, JobState};
use crate::repo::servers::DbServer;
use crate::repo::tenants::Tenant;
use crate::servers::ServerState;
use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use tenancy_core::domain::{FeatureOverrides, Features, Plan, TenantStatus};
use utoipa::ToSchema;
use uuid::Uuid;

/// A tenant as clients see it: never a password, sealed or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub plan: Plan,
    pub status: TenantStatus,
    /// The database server the tenant's database lives on.
    pub server: String,
    pub db_name: String,
    /// Every feature of the catalogue, on or off: the plan's default unless overridden.
    pub features: Features,
    /// The overrides behind `features` (set with `PATCH /v1/tenants/{slug}`).
    pub feature_overrides: FeatureOverrides,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<FixedOffset>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<DateTime<FixedOffset>>,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug.clone(),
            name: t.name.clone(),
            plan: t.plan,
            status: t.status,
            server: t.server.clone(),
            db_name: t.db_name.clone(),
            features: t.effective_features(),
            feature_overrides: t.feature_overrides(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            deleted_at: t.deleted_at,
            purged_at: t.purged_at,
        }
    }
}

/// A job's record (provisioning, purge, backup, restore).
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: JobKind,
    pub state: JobState,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    /// The step being run, or the last one reached.
    pub step: Option<String>,
    /// The backup a `backup` job writes or a `restore` job reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<Uuid>,
    /// The server a `move` copies from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_server: Option<String>,
    /// The server a `move` copies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_server: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub started_at: Option<DateTime<FixedOffset>>,
    pub finished_at: Option<DateTime<FixedOffset>>,
    /// From the first start to the finish, in milliseconds.
    pub duration_ms: Option<i64>,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id,
            tenant_id: j.tenant_id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            step: j.step.clone(),
            backup_id: j.backup_id,
            source_server: j.source_server.clone().filter(|_| j.kind == JobKind::Move),
            target_server: j.target_server.clone().filter(|_| j.kind == JobKind::Move),
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            duration_ms: j
                .started_at
                .zip(j.finished_at)
                .map(|(s, f)| (f - s).num_milliseconds()),
        }
    }
}

/// A tenant with the job just queued for it (202 answers).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantWithJob {
    #[serde(flatten)]
    pub tenant: TenantView,
    pub job: JobView,
}

/// A backup as clients see it: never its data key, sealed or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupView {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub state: BackupState,
    pub created_at: DateTime<FixedOffset>,
    pub completed_at: Option<DateTime<FixedOffset>>,
    /// Size of the encrypted file.
    pub size_bytes: Option<i64>,
    /// The last tenant migration applied when it was taken.
    pub schema_version: Option<String>,
    /// SHA-256 of the encrypted file, hex.
    pub checksum: Option<String>,
}

impl From<&Backup> for BackupView {
    fn from(b: &Backup) -> Self {
        Self {
            id: b.id,
            tenant_id: b.tenant_id,
            state: b.state,
            created_at: b.created_at,
            completed_at: b.completed_at,
            size_bytes: b.size_bytes,
            schema_version: b.schema_version.clone(),
            checksum: b
                .sha256
                .as_ref()
                .map(|h| h.iter().map(|b| format!("{b:02x}")).collect()),
        }
    }
}

/// A backup with the job just queued to write it (202 answers).
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupWithJob {
    #[serde(flatten)]
    pub backup: BackupView,
    pub job: JobView,
}

/// A database server as clients see it: never its admin URL.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerView {
    #[schema(example = "default")]
    pub name: String,
    /// Where apps connect for its tenant databases.
    pub host: String,
    pub port: i32,
    pub state: ServerState,
    /// How many tenants it may hold.
    pub capacity: i32,
    /// Live (not purged) tenants placed on it.
    pub tenants: i64,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

impl TryFrom<&DbServer> for ServerView {
    type Error = tenancy_core::ApiError;

    fn try_from(s: &DbServer) -> Result<Self, Self::Error> {
        Ok(Self {
            name: s.name.clone(),
            host: s.host.clone(),
            port: s.port,
            state: ServerState::parse(&s.state).map_err(tenancy_core::ApiError::internal)?,
            capacity: s.capacity,
            tenants: s.tenants,
            created_at: s.created_at,
            updated_at: s.updated_at,
        })
    }
}

/// Every database server.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerList {
    pub items: Vec<ServerView>,
}

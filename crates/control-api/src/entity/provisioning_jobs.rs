//! A job's record: provisioning, purge, backup, restore or move.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    #[sea_orm(string_value = "provision")]
    Provision,
    #[sea_orm(string_value = "purge")]
    Purge,
    #[sea_orm(string_value = "backup")]
    Backup,
    #[sea_orm(string_value = "restore")]
    Restore,
    #[sea_orm(string_value = "move")]
    Move,
}

/// Where a job is in its life; `succeeded`, `failed` and `cancelled` are final.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    #[sea_orm(string_value = "queued")]
    Queued,
    #[sea_orm(string_value = "running")]
    Running,
    #[sea_orm(string_value = "retrying")]
    Retrying,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl JobState {
    /// Waiting for a worker or being worked on.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Running | Self::Retrying)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provisioning_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: JobKind,
    pub state: JobState,
    /// The tenant generation this job works for.
    pub generation: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub step: Option<String>,
    /// The backup a `backup` job writes or a `restore` job reads.
    pub backup_id: Option<Uuid>,
    /// Where a `move` copies from (a `restore`: the database it replaces), kept so a
    /// resumed job knows what to fence, copy and drop.
    pub source_server: Option<String>,
    pub source_db: Option<String>,
    /// Where a `move` copies to (a `restore`: the database it fills).
    pub target_server: Option<String>,
    pub target_db: Option<String>,
    pub lease_until: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub started_at: Option<DateTimeWithTimeZone>,
    pub finished_at: Option<DateTimeWithTimeZone>,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id"
    )]
    Tenant,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

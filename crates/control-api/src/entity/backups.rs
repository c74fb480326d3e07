//! A tenant backup's record. Never serialised directly: responses go through `BackupView`,
//! which has no key fields.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a backup is in its life.
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
pub enum BackupState {
    /// Its job has not written the file yet.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The file is written and its size and checksum recorded: it can be restored.
    #[sea_orm(string_value = "complete")]
    Complete,
    /// Its job failed or was cancelled; there is no file.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub state: BackupState,
    /// The file's name inside `BACKUP_DIR`.
    pub file_name: String,
    pub size_bytes: Option<i64>,
    /// SHA-256 of the whole (encrypted) file.
    pub sha256: Option<Vec<u8>>,
    /// The last tenant migration applied in the database when it was dumped.
    pub schema_version: Option<String>,
    /// The file's data key, sealed with the platform keyring (associated data `backup:<id>`).
    pub data_key_sealed: Option<Vec<u8>>,
    pub data_key_version: Option<i16>,
    pub created_at: DateTimeWithTimeZone,
    pub completed_at: Option<DateTimeWithTimeZone>,
}

// Hand-written so the sealed key never reaches a log through `{:?}`.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backup")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

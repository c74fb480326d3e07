//! Backup records: `pending` when asked for, `complete` (with size, checksum, schema
//! version and sealed data key) in the same transaction that ends the job successfully,
//! `failed` when the job fails or is cancelled.

use crate::entity::backups::{self, Entity as Backups};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, Statement,
};
use tenancy_core::crypto::Sealed;
use uuid::Uuid;

pub(crate) use backups::BackupState;
pub(crate) use backups::Model as Backup;

/// The file a backup is written to inside `BACKUP_DIR`.
pub(crate) fn file_name(id: Uuid) -> String {
    format!("{id}.tbk")
}

/// A new `pending` backup of the tenant.
pub(crate) async fn insert(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Backup, DbErr> {
    let id = Uuid::new_v4();
    Backup::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO backups (id, tenant_id, file_name) VALUES ($1, $2, $3) RETURNING *",
        [id.into(), tenant_id.into(), file_name(id).into()],
    ))
    .one(db)
    .await?
    .ok_or_else(|| DbErr::RecordNotInserted)
}

pub(crate) async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Backup>, DbErr> {
    Backups::find_by_id(id).one(db).await
}

/// A tenant's backups, newest first.
pub(crate) async fn for_tenant(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Vec<Backup>, DbErr> {
    Backups::find()
        .filter(backups::Column::TenantId.eq(tenant_id))
        .order_by_desc(backups::Column::CreatedAt)
        .order_by_desc(backups::Column::Id)
        .all(db)
        .await
}

/// What a finished dump recorded about its file.
pub(crate) struct Finished {
    pub size: u64,
    pub sha256: [u8; 32],
    pub schema_version: String,
    pub data_key: Sealed,
}

/// A pending backup's file is in place; `false` if it was not pending any more.
pub(crate) async fn complete(
    db: &impl ConnectionTrait,
    id: Uuid,
    done: Finished,
) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE backups SET state = 'complete', size_bytes = $2, sha256 = $3,
                 schema_version = $4, data_key_sealed = $5, data_key_version = $6,
                 completed_at = now()
             WHERE id = $1 AND state = 'pending'",
            [
                id.into(),
                i64::try_from(done.size).unwrap_or(i64::MAX).into(),
                done.sha256.to_vec().into(),
                done.schema_version.into(),
                done.data_key.bytes.into(),
                done.data_key.key_version.into(),
            ],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// A pending backup's job ended without a file.
pub(crate) async fn fail(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE backups SET state = 'failed' WHERE id = $1 AND state = 'pending'",
        [id.into()],
    ))
    .await?;
    Ok(())
}

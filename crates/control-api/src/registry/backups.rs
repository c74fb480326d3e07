//! Backup and restore, as registry operations: each owns its transaction (the tenant row
//! locked), its job record, its audit entry, its queue message (after commit) and its change
//! event.

use super::{locked, refused};
use crate::audit::{self, Action, Context, Entry};
use crate::backup;
use crate::events;
use crate::jobs::enqueue_after_commit;
use crate::repo::backups::{self, Backup, BackupState};
use crate::repo::jobs::{self, Job, JobKind};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use sea_orm::TransactionTrait;
use tenancy_core::domain::TenantStatus;
use tenancy_core::{ApiError, ErrorCode};
use uuid::Uuid;

/// Records a `pending` backup of an active or suspended tenant and queues its job.
pub(crate) async fn backup(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<(Backup, Job), ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    if !matches!(
        current.status,
        TenantStatus::Active | TenantStatus::Suspended
    ) {
        return Err(ApiError::conflict(format!(
            "tenant is {}; only an active or suspended tenant can be backed up",
            current.status.as_str()
        )));
    }
    let backup = backups::insert(&txn, current.id).await?;
    let job = jobs::insert_for_backup(
        &txn,
        current.id,
        JobKind::Backup,
        current.generation,
        state.settings.job_max_attempts,
        Some(backup.id),
    )
    .await?;
    let entry = Entry::tenant(Action::TenantBackup, &current)
        .with("backup_id", backup.id.to_string())
        .with("job_id", job.id.to_string());
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    enqueue_after_commit(state, &job).await;
    tracing::info!(tenant.id = %current.id, backup.id = %backup.id, job.id = %job.id, "backup queued");
    Ok((backup, job))
}

/// Fences the tenant (`active` -> `moving`: the app plane answers writes 503 `tenant_moving`) and
/// queues the restore of one of its complete backups.
pub(crate) async fn restore(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
    backup_id: Uuid,
) -> Result<(Tenant, Job), ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    let backup = backups::find(&txn, backup_id)
        .await?
        .filter(|b| b.tenant_id == current.id)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("tenant `{}` has no backup {backup_id}", current.slug),
            )
        })?;
    if backup.state != BackupState::Complete {
        return Err(ApiError::conflict("the backup is not complete"));
    }
    let version = backup.schema_version.as_deref().unwrap_or_default();
    if !backup::schema_known(version) {
        return Err(ApiError::conflict(format!(
            "the backup's schema `{version}` is newer than (or unknown to) this platform's migrations"
        )));
    }
    if !current.status.can_become(TenantStatus::Moving) {
        return Err(refused(&current, TenantStatus::Moving));
    }
    let moving = tenants::set_status(&txn, current.id, TenantStatus::Moving).await?;
    // A restore that failed is reported, not retried behind the operator's back (its
    // errors are final); the second attempt is for a worker killed mid-job, whose
    // successor resumes it (past the switch: only the old database's drop).
    let job_id = Uuid::new_v4();
    let plan = jobs::Plan {
        source_server: moving.server.clone(),
        source_db: moving.db_name.clone(),
        target_server: moving.server.clone(),
        target_db: crate::jobs::restore_target_name(&moving, job_id),
    };
    let job = jobs::insert_planned(
        &txn,
        job_id,
        moving.id,
        JobKind::Restore,
        moving.generation,
        2,
        Some(backup.id),
        &plan,
    )
    .await?;
    let entry = Entry::status(Action::TenantRestore, &current, &moving)
        .with("backup_id", backup.id.to_string())
        .with("job_id", job.id.to_string());
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    // The event first: replicas drop their pools before the job fences the source, so
    // a read is not handed a pooled connection the fence has just ended.
    events::publish(state, &moving).await;
    enqueue_after_commit(state, &job).await;
    tracing::info!(tenant.id = %moving.id, backup.id = %backup.id, job.id = %job.id, "restore queued; tenant fenced");
    Ok((moving, job))
}

//! The `backup` job: read the tenant's schema version, dump its database through the
//! STREAM AEAD into `BACKUP_DIR` under a fresh data key (see `crate::backup`), then record
//! the file's size, SHA-256 and sealed key with the job's success, in one transaction.

use super::runner::{Fence, Halt};
use crate::backup;
use crate::hooks::Step;
use crate::repo::backups::{self, Finished};
use crate::repo::jobs;
use crate::repo::tenants::Tenant;
use anyhow::Context;
use sea_orm::TransactionTrait;
use std::future::Future;

#[tracing::instrument(skip_all, fields(tenant.slug = %tenant.slug, job.id = %fence.job.id, job.attempt = fence.job.attempts))]
pub(super) async fn run(fence: &Fence<'_>, tenant: &Tenant) -> anyhow::Result<Tenant> {
    let state = fence.state;
    let tenant = fence.step(Step::Dump).await?;
    let backup_id = fence
        .job
        .backup_id
        .context("a backup job names no backup")?;
    let password = backup::tenant_password(state, &tenant)?;
    let schema_version = backup::server_of(state, &tenant)
        .await?
        .last_migration(&tenant.db_name, &tenant.db_role, &password)
        .await?
        .context("the tenant database has no migration history")?;
    let (key, data_key) = backup::new_data_key(state, backup_id);
    let written = leased(
        fence,
        backup::dump(state, &tenant, &password, backup_id, &key),
    )
    .await?;
    let txn = state.db.begin().await?;
    fence.succeed(&txn).await?;
    let done = Finished {
        size: written.size,
        sha256: written.sha256,
        schema_version,
        data_key,
    };
    if !backups::complete(&txn, backup_id, done).await? {
        return Err(Halt::Cancelled("the backup is no longer pending".into()).into());
    }
    txn.commit().await?;
    tracing::info!(backup.id = %backup_id, size_bytes = written.size, "backup written");
    Ok(tenant)
}

/// Runs a step that may outlast the lease (a dump, a restore), renewing the lease while it
/// runs; stops it if this attempt lost the job meanwhile.
pub(super) async fn leased<T>(
    fence: &Fence<'_>,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let (db, lease) = (&fence.state.db, fence.state.settings.job_lease);
    let mut tick = tokio::time::interval(lease / 3);
    tick.tick().await;
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = tick.tick() => {
                if !jobs::heartbeat(db, fence.job, None, lease).await? {
                    return Err(Halt::Lost.into());
                }
            }
        }
    }
}

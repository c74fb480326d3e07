//! The `restore` job, run while the tenant is `moving` (the app plane serves reads and answers writes 503
//! `tenant_moving`): authenticate the whole backup, restore it into a new database, bring
//! its schema forward, then switch the tenant to it in one control-database transaction,
//! drop the old database, and only then end the job `succeeded`. Until the switch the tenant's database is never touched, so
//! any failure leaves the tenant on its current data: the new database is dropped, the job
//! fails at once (no retry) and the runner returns the tenant to `active`.
//!
//! The job records the database it replaces and the one it fills, so a job killed between
//! its switch and the old database's drop is resumed (the tenant is on the new database at
//! a later generation) only to finish that drop.

use super::backup::leased;
use super::runner::{Fence, Halt};
use crate::backup::{self, RestoreFailed};
use crate::events;
use crate::hooks::Step;
use crate::repo::backups::{self, BackupState};
use crate::repo::jobs::{self, Job};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use anyhow::{Context, bail};
use sea_orm::TransactionTrait;

/// The database a restore job fills: the role's name (the tenant's first database name)
/// with a suffix of the job id, so every attempt of one job reuses one name and no two
/// jobs share one.
pub(crate) fn target_name(tenant: &Tenant, job_id: uuid::Uuid) -> String {
    let suffix = format!("_r{}", &job_id.simple().to_string()[..8]);
    let base = &tenant.db_role[..tenant.db_role.len().min(63 - suffix.len())];
    format!("{base}{suffix}")
}

#[tracing::instrument(skip_all, fields(tenant.slug = %tenant.slug, job.id = %fence.job.id, job.attempt = fence.job.attempts))]
pub(super) async fn run(fence: &Fence<'_>, tenant: &Tenant) -> anyhow::Result<Tenant> {
    let state = fence.state;
    if fence.past_switch(tenant) {
        return finish_after_switch(fence).await;
    }
    let tenant = fence.step(Step::VerifyBackup).await?;
    let server = &backup::server_of(state, &tenant).await?;
    let target = fence
        .job
        .target_db
        .clone()
        .unwrap_or_else(|| target_name(&tenant, fence.job.id));
    let restored = async {
        let backup_id = fence
            .job
            .backup_id
            .context("a restore job names no backup")?;
        let backup = backups::find(&state.db, backup_id)
            .await?
            .context("the backup no longer exists")?;
        if backup.tenant_id != tenant.id || backup.state != BackupState::Complete {
            bail!("backup {backup_id} is not a complete backup of this tenant");
        }
        let key = leased(fence, backup::verify(state, &backup)).await?;
        let password = backup::tenant_password(state, &tenant)?;

        fence.step(Step::CreateDatabase).await?;
        server
            .fresh_database(tenant.id, &target, &tenant.db_role)
            .await?;

        fence.step(Step::RestoreData).await?;
        leased(
            fence,
            backup::load(state, &tenant, &password, &backup, &key, &target),
        )
        .await?;

        fence.step(Step::MigrateAndSeed).await?;
        server
            .migrate_and_seed(&target, &tenant.db_role, &password, None)
            .await
            .context("bringing the restored schema forward")?;

        fence.step(Step::SwitchDatabase).await?;
        let txn = state.db.begin().await?;
        let Some(switched) =
            tenants::finish_move(&txn, tenant.id, fence.job.generation, Some(&target)).await?
        else {
            return Err(Halt::Cancelled("the tenant moved on before the switch".into()).into());
        };
        txn.commit().await?;
        anyhow::Ok(switched)
    }
    .await;
    match restored {
        Ok(switched) => {
            // Replicas drop their pools on this event; FORCE ends any session left behind.
            // The job succeeds only once the old database is gone (or reported left over).
            events::publish(state, &switched).await;
            // A job killed from here on is resumed past its switch (it records the old
            // database; one queued before it did has no plan and goes straight on).
            if jobs::plan_of(fence.job).is_some() {
                fence.step(Step::DropDatabase).await?;
            }
            let dropped = leased(fence, server.drop_database(tenant.id, &tenant.db_name)).await;
            if let Err(e) = dropped {
                tracing::warn!(database = %tenant.db_name, error = %format!("{e:#}"), "restored, but the old database was not dropped");
            }
            let txn = state.db.begin().await?;
            fence.succeed(&txn).await?;
            txn.commit().await?;
            tracing::info!(database = %target, "tenant restored from backup");
            Ok(switched)
        }
        // Another attempt owns the job (and reuses the target), or nothing is to be done.
        Err(e) if e.downcast_ref::<Halt>().is_some() => Err(e),
        Err(e) => {
            if let Err(drop) = server.drop_database(tenant.id, &target).await {
                tracing::warn!(database = %target, error = %format!("{drop:#}"), "could not drop the unfinished restore target");
            }
            Err(e.context(RestoreFailed))
        }
    }
}

/// A restore resumed past its switch (killed before the old database was dropped): the
/// drop, then success.
async fn finish_after_switch(fence: &Fence<'_>) -> anyhow::Result<Tenant> {
    let tenant = fence.step(Step::DropDatabase).await?;
    let old = fence
        .job
        .source_db
        .as_deref()
        .context("the restore records no old database")?;
    let server = backup::server_of(fence.state, &tenant).await?;
    leased(fence, server.drop_database(tenant.id, old)).await?;
    let txn = fence.state.db.begin().await?;
    fence.succeed(&txn).await?;
    txn.commit().await?;
    tracing::info!(database = %old, "restore resumed after its switch; old database dropped");
    Ok(tenant)
}

/// A restore that failed for good past its switch still drops the database it replaced.
pub(super) async fn after_failure(state: &AppState, job: &Job) {
    let Some(plan) = jobs::plan_of(job) else {
        return;
    };
    let Ok(Some(tenant)) = tenants::find(&state.db, job.tenant_id).await else {
        return;
    };
    if tenant.db_name != plan.target_db || tenant.generation <= job.generation {
        return;
    }
    let dropped = async {
        backup::server_of(state, &tenant)
            .await?
            .drop_database(tenant.id, &plan.source_db)
            .await
    }
    .await;
    if let Err(e) = dropped {
        tracing::warn!(database = %plan.source_db, error = %format!("{e:#}"), "restored, but the old database was not dropped");
    }
}

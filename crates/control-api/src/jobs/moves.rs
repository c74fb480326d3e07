//! The `move` job: a tenant's database moved to another database server while the tenant
//! is `moving` (the app plane serves reads from the source and answers writes 503
//! `tenant_moving`).
//!
//! 1. `fence_source`: the source database refuses writes at the server itself (every new
//!    session read-only, every current one ended), whatever a replica missed.
//! 2. `create_role`, `create_database` on the target: the tenant's role (same name and
//!    password, marked as the tenant's) and a fresh database named after the job.
//! 3. `copy_data`: `pg_dump -Fc` piped into `pg_restore`, as the tenant role.
//! 4. `verify_copy`: every table's row count and the migration history equal on both sides.
//! 5. `switch_server`: the tenant `active` on the target, in one control-database
//!    transaction, only if still `moving` at the job's generation; replicas rebuild pools.
//! 6. `drop_source`: after `MOVE_GRACE_SECS`, the source database and (if it owns nothing
//!    else there) the source role are dropped; then the job succeeds.
//!
//! Every step is idempotent, and the job record holds where it copies from and to, so a
//! job killed anywhere is resumed by the next claim: before the switch from the first step
//! (the target is made afresh), after it (the tenant is on the target at a later
//! generation) only the drop. A failure before the switch rolls back ([`undo`]): the
//! target dropped, the source writable again, the tenant `active` on it.

use super::backup::leased;
use super::provision::ROLE_CONNECTION_LIMIT;
use super::runner::{Fence, Halt};
use crate::backup::{self, CopyJob};
use crate::events;
use crate::hooks::Step;
use crate::repo::jobs::{self, Job, Plan};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use anyhow::Context;
use sea_orm::TransactionTrait;
use tenancy_core::domain::TenantStatus;

/// The copy differs from the source: the move rolls back.
#[derive(Debug, thiserror::Error)]
#[error("the copy differs from the source ({0}); the tenant stays on the source")]
pub(crate) struct CopyMismatch(String);

/// Whether a move's error is one another attempt cannot fix (it rolls back at once).
pub(crate) fn is_final(err: &anyhow::Error) -> bool {
    err.downcast_ref::<CopyMismatch>().is_some()
        || err.downcast_ref::<backup::CopyFailed>().is_some()
}

/// The database a move fills on the target: the role's name (the tenant's first database
/// name) with a suffix of the job id, so every attempt of one job reuses one name and no
/// two jobs share one.
pub(crate) fn target_name(role: &str, job_id: uuid::Uuid) -> String {
    let suffix = format!("_m{}", &job_id.simple().to_string()[..8]);
    let base = &role[..role.len().min(63 - suffix.len())];
    format!("{base}{suffix}")
}

fn plan(job: &Job) -> anyhow::Result<Plan> {
    jobs::plan_of(job).context("a move job records no source and target")
}

#[tracing::instrument(skip_all, fields(tenant.slug = %tenant.slug, job.id = %fence.job.id, job.attempt = fence.job.attempts))]
pub(super) async fn run(fence: &Fence<'_>, tenant: &Tenant) -> anyhow::Result<Tenant> {
    let state = fence.state;
    let plan = plan(fence.job)?;
    let switched = if fence.past_switch(tenant) {
        tracing::info!("resuming a move past its switch: only the source drop is left");
        tenant.clone()
    } else {
        let switched = copy_and_switch(fence, &plan).await?;
        events::publish(state, &switched).await;
        switched
    };

    let tenant = fence.step(Step::DropSource).await?;
    // Replicas rebuild their pools on the switch event; the grace covers the slow ones, and
    // FORCE ends whatever session is still left on the (read-only) source.
    leased(fence, async {
        tokio::time::sleep(state.settings.move_grace).await;
        anyhow::Ok(())
    })
    .await?;
    drop_source(state, &tenant, &plan).await?;
    let txn = state.db.begin().await?;
    fence.succeed(&txn).await?;
    txn.commit().await?;
    tracing::info!(from = %plan.source_server, to = %plan.target_server, database = %plan.target_db, "tenant moved");
    Ok(switched)
}

/// Steps 1 to 5: fence, target, copy, verify, switch; the tenant as switched.
async fn copy_and_switch(fence: &Fence<'_>, plan: &Plan) -> anyhow::Result<Tenant> {
    let state = fence.state;
    let source = state.servers.provisioner(&plan.source_server).await?;
    let target = state.servers.provisioner(&plan.target_server).await?;

    let tenant = fence.step(Step::FenceSource).await?;
    let password = backup::tenant_password(state, &tenant)?;
    source.fence_database(&plan.source_db).await?;

    let tenant = fence.step(Step::CreateRole).await?;
    target
        .ensure_role(tenant.id, &tenant.db_role, &password, ROLE_CONNECTION_LIMIT)
        .await?;

    fence.step(Step::CreateDatabase).await?;
    target
        .fresh_database(tenant.id, &plan.target_db, &tenant.db_role)
        .await?;

    fence.step(Step::CopyData).await?;
    let copy = CopyJob {
        source: &source,
        source_db: &plan.source_db,
        target: &target,
        target_db: &plan.target_db,
        role: &tenant.db_role,
        password: &password,
    };
    leased(fence, backup::copy(state, copy)).await?;

    fence.step(Step::VerifyCopy).await?;
    let (from, to) = leased(fence, async {
        Ok((
            source.contents(&plan.source_db).await?,
            target.contents(&plan.target_db).await?,
        ))
    })
    .await?;
    if from != to {
        let differs = from
            .tables
            .iter()
            .find(|t| !to.tables.contains(t))
            .map_or_else(
                || "the migration history or the table set".to_string(),
                |(name, n)| format!("{name}: {n} rows on the source"),
            );
        return Err(CopyMismatch(differs).into());
    }

    fence.step(Step::SwitchServer).await?;
    let txn = state.db.begin().await?;
    let Some(switched) = tenants::finish_move_to(
        &txn,
        tenant.id,
        fence.job.generation,
        &plan.target_server,
        &plan.target_db,
    )
    .await?
    else {
        return Err(Halt::Cancelled("the tenant moved on before the switch".into()).into());
    };
    txn.commit().await?;
    Ok(switched)
}

/// The source database, then the source role if it owns nothing else on that server.
async fn drop_source(state: &AppState, tenant: &Tenant, plan: &Plan) -> anyhow::Result<()> {
    let source = state.servers.provisioner(&plan.source_server).await?;
    source.drop_database(tenant.id, &plan.source_db).await?;
    if plan.source_server != plan.target_server {
        source
            .drop_role_if_unused(tenant.id, &tenant.db_role)
            .await?;
    }
    Ok(())
}

/// A move that failed or ran out of attempts, called before its tenant is set back:
/// before the switch, the target database (and the role this move made there) dropped
/// and the source writable again; past the switch, the source drop finished. Best effort:
/// each part is tried and logged, none stops the tenant from being served again.
pub(crate) async fn undo(state: &AppState, job: &Job) {
    let Some(plan) = jobs::plan_of(job) else {
        return;
    };
    let tenant = match tenants::find(&state.db, job.tenant_id).await {
        Ok(Some(t)) => t,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(job.id = %job.id, error = %format!("{e:#}"), "move rollback: the tenant could not be read");
            return;
        }
    };
    let on_target = tenant.server == plan.target_server && tenant.db_name == plan.target_db;
    if on_target && tenant.generation > job.generation {
        if let Err(e) = drop_source(state, &tenant, &plan).await {
            tracing::warn!(job.id = %job.id, database = %plan.source_db, error = %format!("{e:#}"), "moved, but the source database was not dropped");
        }
        return;
    }
    if tenant.status != TenantStatus::Moving || tenant.generation != job.generation {
        return;
    }
    let undone = async {
        let source = state.servers.provisioner(&plan.source_server).await?;
        source.unfence_database(tenant.id, &plan.source_db).await?;
        let target = state.servers.provisioner(&plan.target_server).await?;
        target.drop_database(tenant.id, &plan.target_db).await?;
        if plan.source_server != plan.target_server {
            target
                .drop_role_if_unused(tenant.id, &tenant.db_role)
                .await?;
        }
        anyhow::Ok(())
    }
    .await;
    match undone {
        Ok(()) => {
            tracing::info!(job.id = %job.id, "move rolled back; the tenant stays on the source")
        }
        Err(e) => {
            tracing::warn!(job.id = %job.id, error = %format!("{e:#}"), "move rollback incomplete")
        }
    }
}

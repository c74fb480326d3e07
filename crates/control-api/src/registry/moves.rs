//! Moving a tenant's database to another server, as a registry operation: the tenant row
//! locked, the target checked, `active -> moving`, the job (with where it copies from and
//! to), the audit entry, commit, then the queue message and the change event.

use super::{locked, refused};
use crate::audit::{self, Action, Context, Entry};
use crate::events;
use crate::jobs::{enqueue_after_commit, move_target_name};
use crate::repo::jobs::{self, Job, JobKind, Plan};
use crate::repo::servers;
use crate::repo::tenants::{self, Tenant};
use crate::servers::{ServerName, ServerState};
use crate::state::AppState;
use sea_orm::TransactionTrait;
use tenancy_core::domain::TenantStatus;
use tenancy_core::{ApiError, ErrorCode};
use uuid::Uuid;

/// Fences the tenant (`active` -> `moving`) and queues the move of its database to
/// server `to`.
pub(crate) async fn move_tenant(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
    to: &ServerName,
) -> Result<(Tenant, Job), ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    let target = servers::find(&txn, to.as_str())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no database server `{to}`")))?;
    if target.name == current.server {
        return Err(ApiError::conflict(format!(
            "tenant `{}` is already on server `{to}`",
            current.slug
        )));
    }
    if target.state == ServerState::Draining.as_str() {
        return Err(ApiError::conflict(format!(
            "server `{to}` is draining; no tenant moves onto it"
        )));
    }
    if current.status != TenantStatus::Active {
        return Err(refused(&current, TenantStatus::Moving));
    }
    let moving = tenants::set_status(&txn, current.id, TenantStatus::Moving).await?;
    let job_id = Uuid::new_v4();
    let plan = Plan {
        source_server: moving.server.clone(),
        source_db: moving.db_name.clone(),
        target_server: target.name.clone(),
        target_db: move_target_name(&moving.db_role, job_id),
    };
    let job = jobs::insert_planned(
        &txn,
        job_id,
        moving.id,
        JobKind::Move,
        moving.generation,
        state.settings.job_max_attempts,
        None,
        &plan,
    )
    .await?;
    let entry = Entry::status(Action::TenantMove, &current, &moving)
        .with("from_server", plan.source_server.clone())
        .with("to_server", plan.target_server.clone())
        .with("job_id", job.id.to_string());
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    // The event first: replicas drop their pools before the job fences the source, so
    // a read is not handed a pooled connection the fence has just ended.
    events::publish(state, &moving).await;
    enqueue_after_commit(state, &job).await;
    tracing::info!(tenant.id = %moving.id, job.id = %job.id, from = %plan.source_server, to = %plan.target_server, "move queued; tenant fenced");
    Ok((moving, job))
}

//! Every tenant operation, each in one place: register, update (name, plan, features),
//! suspend, activate, retry, soft delete, purge, move, and the reconciler's re-provision. Each owns its transaction (the tenant
//! row locked, the move checked by `TenantStatus::can_become`, a new generation counted),
//! its job record, its audit entry (same transaction), its queue message (after commit) and
//! its change event. Handlers, the CLI and the reconciler call these; none writes that
//! sequence itself.

mod backups;
mod moves;
pub(crate) use backups::{backup, restore};
pub(crate) use moves::move_tenant;

use crate::audit::{self, Action, Context, Entry};
use crate::entity::tenants as entity;
use crate::events;
use crate::jobs::enqueue_after_commit;
use crate::repo::jobs::{self, Job, JobKind};
use crate::repo::tenants::{self, Tenant};
use crate::state::AppState;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set, TransactionTrait};
use serde::Serialize;
use serde_json::{Value, json};
use tenancy_core::domain::{Email, FeatureChanges, Features, Plan, TenantSlug, TenantStatus};
use tenancy_core::{ApiError, ErrorCode};
use uuid::Uuid;

/// A tenant to register. The first admin's password is sealed here, bound to the tenant,
/// and hashed by the provisioning job (argon2 costs tens of milliseconds the client would
/// otherwise wait for).
pub(crate) struct NewTenant {
    pub slug: TenantSlug,
    pub name: String,
    pub plan: Plan,
    pub admin_email: Email,
    pub admin_password: secrecy::SecretString,
    /// The server the request named; `None`: the one with the most room.
    pub server: Option<crate::servers::ServerName>,
}

/// The associated data a tenant's sealed first-admin password is bound to: not the
/// tenant's database credential's, so neither opens in the other's place.
pub(crate) fn seed_aad(tenant: Uuid) -> Vec<u8> {
    format!("seed-admin:{tenant}").into_bytes()
}

/// Registers a tenant as `provisioning` and queues its provisioning job.
pub(crate) async fn register(
    state: &AppState,
    ctx: &Context,
    new: NewTenant,
) -> Result<(Tenant, Job), ApiError> {
    let id = Uuid::new_v4();
    let db_name = format!(
        "{}{}",
        state.settings.tenant_db_prefix,
        new.slug.as_identifier()
    );
    let now = chrono::Utc::now().fixed_offset();
    let seed = state
        .settings
        .keyring
        .seal_for(&seed_aad(id), &new.admin_password);
    let txn = state.db.begin().await?;
    let server = crate::servers::place(&txn, new.server.as_ref()).await?;
    let tenant = entity::ActiveModel {
        id: Set(id),
        slug: Set(new.slug.to_string()),
        name: Set(new.name),
        plan: Set(new.plan),
        status: Set(TenantStatus::Provisioning),
        generation: Set(1),
        server: Set(server),
        db_name: Set(db_name.clone()),
        db_role: Set(db_name),
        db_password_sealed: Set(None),
        db_key_version: Set(None),
        seed_admin_email: Set(Some(new.admin_email.to_string())),
        seed_admin_password_hash: Set(None),
        seed_admin_password_sealed: Set(Some(seed.bytes)),
        seed_admin_key_version: Set(Some(seed.key_version)),
        features: Set(serde_json::json!({})),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        purged_at: Set(None),
    }
    .insert(&txn)
    .await
    .map_err(|e| match ApiError::from(e) {
        err if err.code == ErrorCode::Conflict => {
            ApiError::conflict(format!("slug `{}` is already taken", new.slug))
        }
        err => err,
    })?;
    let job = queue_job(state, &txn, &tenant, JobKind::Provision).await?;
    let after = json!({
        "slug": tenant.slug, "name": tenant.name, "plan": tenant.plan.as_str(),
        "status": tenant.status.as_str(), "db_name": tenant.db_name,
        "admin_email": tenant.seed_admin_email,
    });
    let entry = Entry::tenant(Action::TenantCreate, &tenant)
        .changes(json!({"before": {}, "after": after}))
        .with("job_id", job.id.to_string());
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    enqueue_after_commit(state, &job).await;
    tracing::info!(tenant.id = %id, job.id = %job.id, "tenant registered, provisioning queued");
    Ok((tenant, job))
}

/// What an update asks for; `None` (or no feature changes) leaves that part as it is.
pub(crate) struct TenantEdit {
    pub name: Option<String>,
    pub plan: Option<Plan>,
    pub features: FeatureChanges,
}

/// One field an update really changed, as it was and as it became.
#[derive(Debug, Serialize)]
pub(crate) struct FieldChange {
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

/// Renames a tenant, changes its plan and/or its feature overrides, in one transaction on
/// the locked row. Returns the tenant and the fields that changed: `features` (effective)
/// is listed whenever a plan or an override changed what the tenant may use. Nothing
/// changed: nothing is written or announced. Anything changed is announced to the app-api
/// replicas, which drop their cached record: the plan sets the pool and the rate, and the
/// name and features are what `GET /v1/tenant` shows.
pub(crate) async fn update(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
    edit: TenantEdit,
) -> Result<(Tenant, Vec<FieldChange>), ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    let name = edit.name.unwrap_or_else(|| current.name.clone());
    let plan = edit.plan.unwrap_or(current.plan);
    let before_overrides = current.feature_overrides();
    let mut overrides = before_overrides.clone();
    overrides.apply(&edit.features);
    let mut changes = Vec::new();
    let mut note = |field, before: Value, after: Value| {
        if before != after {
            changes.push(FieldChange {
                field,
                before,
                after,
            });
        }
    };
    note("name", current.name.clone().into(), name.clone().into());
    note("plan", current.plan.as_str().into(), plan.as_str().into());
    note(
        "feature_overrides",
        before_overrides.to_stored(),
        overrides.to_stored(),
    );
    note(
        "features",
        json(&current.effective_features()),
        json(&Features::resolve(plan, &overrides)),
    );
    if changes.is_empty() {
        return Ok((current, changes));
    }
    let updated = tenants::update_details(&txn, current.id, &name, plan, overrides.to_stored())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TenantNotFound, "tenant disappeared"))?;
    let before: serde_json::Map<_, _> = changes
        .iter()
        .map(|c| (c.field.to_string(), c.before.clone()))
        .collect();
    let after: serde_json::Map<_, _> = changes
        .iter()
        .map(|c| (c.field.to_string(), c.after.clone()))
        .collect();
    let entry = Entry::tenant(Action::TenantUpdate, &updated)
        .changes(json!({"before": before, "after": after}));
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    let fields: Vec<_> = changes.iter().map(|c| c.field).collect();
    tracing::info!(tenant.id = %updated.id, changed = ?fields, "tenant updated");
    events::publish(state, &updated).await;
    Ok((updated, changes))
}

fn json(features: &Features) -> Value {
    serde_json::to_value(features).unwrap_or(Value::Null)
}

/// `active` -> `suspended`; the app plane stops serving the tenant within seconds.
pub(crate) async fn suspend(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<Tenant, ApiError> {
    change(state, ctx, tenant, TenantStatus::Suspended).await
}

/// `suspended` -> `active`.
pub(crate) async fn activate(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<Tenant, ApiError> {
    change(state, ctx, tenant, TenantStatus::Active).await
}

/// Soft delete: the tenant stops being served; its database is kept.
pub(crate) async fn soft_delete(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<Tenant, ApiError> {
    change(state, ctx, tenant, TenantStatus::Deleted).await
}

/// `failed` -> `provisioning` with a new provisioning job.
pub(crate) async fn retry(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<(Tenant, Job), ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    if current.status != TenantStatus::Failed {
        return Err(ApiError::conflict(format!(
            "tenant is {}; only a failed tenant can be re-provisioned",
            current.status.as_str()
        )));
    }
    let moved = tenants::set_status(&txn, current.id, TenantStatus::Provisioning).await?;
    let job = queue_job(state, &txn, &moved, JobKind::Provision).await?;
    let entry =
        Entry::status(Action::TenantRetry, &current, &moved).with("job_id", job.id.to_string());
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    enqueue_after_commit(state, &job).await;
    events::publish(state, &moved).await;
    tracing::info!(tenant.id = %moved.id, job.id = %job.id, "provisioning re-queued");
    Ok((moved, job))
}

/// Marks the tenant `deleted` (if it is not yet) and queues the drop of its database and
/// role. The new generation fences any provisioning still running: it stops at its next
/// step, and the purge waits for it on the tenant's job lock.
pub(crate) async fn purge(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<(Tenant, Job), ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    if jobs::has_open(&txn, current.id, JobKind::Purge).await? {
        return Err(ApiError::conflict(
            "a purge is already queued for this tenant",
        ));
    }
    if current.status != TenantStatus::Deleted && !current.status.can_become(TenantStatus::Deleted)
    {
        return Err(refused(&current, TenantStatus::Deleted));
    }
    let deleted = tenants::set_status(&txn, current.id, TenantStatus::Deleted).await?;
    let job = queue_job(state, &txn, &deleted, JobKind::Purge).await?;
    let entry =
        Entry::status(Action::TenantPurge, &current, &deleted).with("job_id", job.id.to_string());
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    enqueue_after_commit(state, &job).await;
    events::publish(state, &deleted).await;
    tracing::info!(tenant.id = %deleted.id, job.id = %job.id, "tenant purge queued");
    Ok((deleted, job))
}

/// A tenant left in `provisioning` without an open job gets one (reconciler).
pub(crate) async fn reprovision(state: &AppState, tenant: &Tenant) -> Result<Job, ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    if current.status != TenantStatus::Provisioning
        || jobs::has_open(&txn, current.id, JobKind::Provision).await?
    {
        return Err(ApiError::conflict(
            "tenant no longer needs a provisioning job",
        ));
    }
    let job = queue_job(state, &txn, &current, JobKind::Provision).await?;
    let entry = Entry::tenant(Action::TenantRetry, &current)
        .changes(json!({"job_id": job.id.to_string(), "reason": "provisioning without a job"}));
    audit::record(&txn, &Context::system(), entry).await?;
    txn.commit().await?;
    enqueue_after_commit(state, &job).await;
    tracing::info!(tenant.slug = %current.slug, job.id = %job.id, "tenant stuck in provisioning: new job");
    Ok(job)
}

/// Moves the tenant to `to`; already there answers it unchanged (idempotent), a move the
/// lifecycle forbids is a 409.
async fn change(
    state: &AppState,
    ctx: &Context,
    tenant: &Tenant,
    to: TenantStatus,
) -> Result<Tenant, ApiError> {
    let txn = state.db.begin().await?;
    let current = locked(&txn, tenant).await?;
    if current.status == to {
        return Ok(current);
    }
    if !current.status.can_become(to) {
        return Err(refused(&current, to));
    }
    let moved = tenants::set_status(&txn, current.id, to).await?;
    let action = match to {
        TenantStatus::Suspended => Action::TenantSuspend,
        TenantStatus::Deleted => Action::TenantDelete,
        _ => Action::TenantActivate,
    };
    audit::record(&txn, ctx, Entry::status(action, &current, &moved)).await?;
    txn.commit().await?;
    tracing::info!(tenant.id = %moved.id, from = current.status.as_str(), to = to.as_str(), "tenant status changed");
    events::publish(state, &moved).await;
    Ok(moved)
}

async fn locked(txn: &DatabaseTransaction, tenant: &Tenant) -> Result<Tenant, ApiError> {
    tenants::lock(txn, tenant.id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::TenantNotFound,
            format!("no tenant `{}`", tenant.slug),
        )
    })
}

fn refused(tenant: &Tenant, to: TenantStatus) -> ApiError {
    ApiError::conflict(format!(
        "tenant is {}; it cannot become {}",
        tenant.status.as_str(),
        to.as_str()
    ))
}

async fn queue_job(
    state: &AppState,
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    kind: JobKind,
) -> Result<Job, ApiError> {
    Ok(jobs::insert(
        txn,
        tenant.id,
        kind,
        tenant.generation,
        state.settings.job_max_attempts,
    )
    .await?)
}

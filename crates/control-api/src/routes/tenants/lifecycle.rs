//! Status transitions: suspend, activate, and retrying a failed provisioning.

use crate::auth::SuperAdmin;
use crate::events;
use crate::jobs::enqueue_after_commit;
use crate::repo::jobs::{self, JobKind};
use crate::repo::{db_error, tenants};
use crate::routes::views::{JobView, TenantView, TenantWithJob};
use crate::state::AppState;
use actix_web::{HttpResponse, post, web};
use sea_orm::TransactionTrait;
use tenancy_core::ApiError;
use tenancy_core::domain::TenantStatus;

/// Moves the tenant from `from` to `to`; already in `to` answers 200 unchanged (idempotent),
/// any other status is a 409.
async fn transition(
    state: &AppState,
    slug: &str,
    from: TenantStatus,
    to: TenantStatus,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(state, slug).await?;
    if tenant.status == to.as_str() {
        return Ok(HttpResponse::Ok().json(TenantView::from(&tenant)));
    }
    let moved = tenants::transition(&state.db, tenant.id, &[from], to)
        .await
        .map_err(db_error)?
        .ok_or_else(|| {
            ApiError::conflict(format!(
                "tenant is {}; only a {} tenant can become {}",
                tenant.status,
                from.as_str(),
                to.as_str()
            ))
        })?;
    tracing::info!(tenant.id = %moved.id, from = from.as_str(), to = to.as_str(), "tenant status changed");
    events::publish(state, &moved).await;
    Ok(HttpResponse::Ok().json(TenantView::from(&moved)))
}

/// Suspends an active tenant: the app plane stops serving it within seconds.
#[utoipa::path(params(("slug" = String, Path)), responses((status = 200, body = TenantView), (status = 409)), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/suspend")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn suspend(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, &path, TenantStatus::Active, TenantStatus::Suspended).await
}

/// Re-activates a suspended tenant.
#[utoipa::path(params(("slug" = String, Path)), responses((status = 200, body = TenantView), (status = 409)), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/activate")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn activate(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    transition(&state, &path, TenantStatus::Suspended, TenantStatus::Active).await
}

/// Re-queues provisioning of a `failed` tenant.
#[utoipa::path(params(("slug" = String, Path)), responses((status = 202, body = TenantWithJob), (status = 409)), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/provision")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn provision(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let txn = state.db.begin().await.map_err(db_error)?;
    let moved = tenants::transition(
        &txn,
        tenant.id,
        &[TenantStatus::Failed],
        TenantStatus::Provisioning,
    )
    .await
    .map_err(db_error)?
    .ok_or_else(|| {
        ApiError::conflict(format!(
            "tenant is {}; only a failed tenant can be re-provisioned",
            tenant.status
        ))
    })?;
    let job = jobs::insert(
        &txn,
        tenant.id,
        JobKind::Provision,
        state.settings.job_max_attempts,
    )
    .await
    .map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    enqueue_after_commit(&state, &job).await;
    tracing::info!(tenant.id = %tenant.id, job.id = %job.id, "provisioning re-queued");
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(TenantWithJob {
            tenant: TenantView::from(&moved),
            job: JobView::from(&job),
        }))
}

//! Status changes: suspend, activate, and retrying a failed provisioning.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry;
use crate::routes::views::{JobView, TenantView, TenantWithJob};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use tenancy_core::ApiError;

/// Suspends an active tenant: the app plane stops serving it within seconds.
#[utoipa::path(operation_id = "suspend_tenant", params(("slug" = String, Path)), responses((status = 200, body = TenantView), (status = 409)), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/suspend")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn suspend(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let ctx = audit::Context::admin(&req, &admin);
    let moved = registry::suspend(&state, &ctx, &tenant).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(&moved)))
}

/// Re-activates a suspended tenant.
#[utoipa::path(operation_id = "activate_tenant", params(("slug" = String, Path)), responses((status = 200, body = TenantView), (status = 409)), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/activate")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn activate(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let ctx = audit::Context::admin(&req, &admin);
    let moved = registry::activate(&state, &ctx, &tenant).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(&moved)))
}

/// Re-queues provisioning of a `failed` tenant.
#[utoipa::path(operation_id = "provision_tenant", params(("slug" = String, Path)), responses((status = 202, body = TenantWithJob, headers(("Location" = String, description = "The provisioning job: `/v1/jobs/{id}`"))), (status = 409)), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/provision")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn provision(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let ctx = audit::Context::admin(&req, &admin);
    let (moved, job) = registry::retry(&state, &ctx, &tenant).await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(TenantWithJob {
            tenant: TenantView::from(&moved),
            job: JobView::from(&job),
        }))
}

//! `DELETE /v1/tenants/{slug}` (soft: the database is kept) and `?purge=true` (queued drop
//! of the database and its role).

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry;
use crate::routes::views::{JobView, TenantView, TenantWithJob};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, delete, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct DeleteQuery {
    /// Also drop the tenant's database and role (irreversible; runs as a job).
    #[serde(default)]
    pub purge: bool,
}

/// Soft-deletes a tenant, or purges it.
#[utoipa::path(
    operation_id = "delete_tenant",
    params(("slug" = String, Path), DeleteQuery),
    responses(
        (status = 200, body = TenantView, description = "soft-deleted"),
        (status = 202, body = TenantWithJob, description = "purge queued", headers(("Location" = String, description = "The purge job: `/v1/jobs/{id}`"))),
        (status = 404), (status = 409)
    ),
    security(("bearer" = [])),
    tag = "tenants"
)]
#[delete("/v1/tenants/{slug}")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty, purge = query.purge))]
pub async fn delete(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DeleteQuery>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let ctx = audit::Context::admin(&req, &admin);
    if !query.purge {
        let deleted = registry::soft_delete(&state, &ctx, &tenant).await?;
        return Ok(HttpResponse::Ok().json(TenantView::from(&deleted)));
    }
    let (deleted, job) = registry::purge(&state, &ctx, &tenant).await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(TenantWithJob {
            tenant: TenantView::from(&deleted),
            job: JobView::from(&job),
        }))
}

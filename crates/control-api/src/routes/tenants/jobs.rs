//! Job history: `GET /v1/tenants/{slug}/jobs` and `GET /v1/jobs/{id}`.

use crate::auth::SuperAdmin;
use crate::repo::jobs;
use crate::routes::views::JobView;
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::ApiError;
use uuid::Uuid;

/// A tenant's jobs, newest first (at most 100).
#[utoipa::path(operation_id = "list_tenant_jobs", params(("slug" = String, Path)), responses((status = 200, body = Vec<JobView>), (status = 404)), security(("bearer" = [])), tag = "jobs")]
#[get("/v1/tenants/{slug}/jobs")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn for_tenant(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let rows = jobs::for_tenant(&state.db, tenant.id, 100).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(JobView::from).collect::<Vec<_>>()))
}

/// One job: state, attempts, last error, timings.
#[utoipa::path(operation_id = "get_job", params(("id" = Uuid, Path)), responses((status = 200, body = JobView), (status = 404)), security(("bearer" = [])), tag = "jobs")]
#[get("/v1/jobs/{id}")]
#[tracing::instrument(skip_all, fields(job.id = %path))]
pub async fn get(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let job = jobs::find(&state.db, *path)
        .await?
        .ok_or_else(|| ApiError::not_found("no such job"))?;
    Ok(HttpResponse::Ok().json(JobView::from(&job)))
}

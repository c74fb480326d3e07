//! Backups and restore: `POST|GET /v1/tenants/{slug}/backups`, `POST /v1/tenants/{slug}/restore`.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry;
use crate::repo::backups;
use crate::routes::views::{BackupView, BackupWithJob, JobView, TenantView, TenantWithJob};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

/// Queues an encrypted backup of the tenant's database; the backup is `pending` until its
/// job has written the file.
#[utoipa::path(operation_id = "create_backup", params(("slug" = String, Path)), responses((status = 202, body = BackupWithJob, headers(("Location" = String, description = "The backup job: `/v1/jobs/{id}`"))), (status = 404), (status = 409)), security(("bearer" = [])), tag = "backups")]
#[post("/v1/tenants/{slug}/backups")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn create(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let (backup, job) =
        registry::backup(&state, &audit::Context::admin(&req, &admin), &tenant).await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(BackupWithJob {
            backup: BackupView::from(&backup),
            job: JobView::from(&job),
        }))
}

/// The tenant's backups, newest first.
#[utoipa::path(operation_id = "list_backups", params(("slug" = String, Path)), responses((status = 200, body = Vec<BackupView>), (status = 404)), security(("bearer" = [])), tag = "backups")]
#[get("/v1/tenants/{slug}/backups")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn list(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let rows = backups::for_tenant(&state.db, tenant.id).await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(BackupView::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// One of the tenant's complete backups. Read as text so a malformed id is a 422.
    #[schema(value_type = Uuid)]
    pub backup_id: String,
}

/// Replaces the tenant's data with a backup's. The tenant is `moving` (the app plane
/// serves reads and answers writes 503 `tenant_moving`) until the job ends; on any failure it keeps its current
/// data and is `active` again.
#[utoipa::path(operation_id = "restore_tenant", params(("slug" = String, Path)), request_body = RestoreRequest, responses((status = 202, body = TenantWithJob, headers(("Location" = String, description = "The restore job: `/v1/jobs/{id}`"))), (status = 404), (status = 409), (status = 422, description = "validation_failed")), security(("bearer" = [])), tag = "backups")]
#[post("/v1/tenants/{slug}/restore")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn restore(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<RestoreRequest>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    let backup_id = Uuid::parse_str(body.backup_id.trim())
        .map_err(|_| ApiError::field("backup_id", "must be a backup id (a UUID)"))?;
    let (moving, job) = registry::restore(
        &state,
        &audit::Context::admin(&req, &admin),
        &tenant,
        backup_id,
    )
    .await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(TenantWithJob {
            tenant: TenantView::from(&moving),
            job: JobView::from(&job),
        }))
}

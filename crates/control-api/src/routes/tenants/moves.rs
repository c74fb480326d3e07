//! `POST /v1/tenants/{slug}/move`: the tenant's database moved to another database server.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry;
use crate::routes::views::{JobView, TenantView, TenantWithJob};
use crate::servers::ServerName;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The database server to move to (`GET /v1/servers`): not the tenant's current one,
    /// not draining.
    #[schema(value_type = String)]
    pub server: Option<String>,
}

/// Moves the tenant's database to another server: the source is fenced read-only, copied
/// (`pg_dump | pg_restore`), the copy verified (row counts, migration history), the tenant
/// switched, and the source dropped after a grace period. The tenant is `moving` (the app
/// plane serves reads and answers writes 503 `tenant_moving`) until the switch; on any
/// failure before it, it stays on its source and is `active` again.
#[utoipa::path(operation_id = "move_tenant", params(("slug" = String, Path)), request_body = MoveRequest, responses((status = 202, body = TenantWithJob, headers(("Location" = String, description = "The move job: `/v1/jobs/{id}`"))), (status = 404, description = "tenant_not_found, or not_found: no such server"), (status = 409, description = "conflict: already on that server, the server is draining, or the tenant is not active"), (status = 422, description = "validation_failed")), security(("bearer" = [])), tag = "tenants")]
#[post("/v1/tenants/{slug}/move")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn move_tenant(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MoveRequest>,
) -> Result<HttpResponse, ApiError> {
    let raw = body
        .server
        .as_deref()
        .ok_or_else(|| ApiError::field("server", "is required"))?;
    let server = ServerName::parse(raw.trim()).map_err(|rule| ApiError::field("server", rule))?;
    let tenant = super::load(&state, &path).await?;
    let (moving, job) = registry::move_tenant(
        &state,
        &audit::Context::admin(&req, &admin),
        &tenant,
        &server,
    )
    .await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/v1/jobs/{}", job.id)))
        .json(TenantWithJob {
            tenant: TenantView::from(&moving),
            job: JobView::from(&job),
        }))
}

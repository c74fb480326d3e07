//! `GET /v1/tenants/{slug}`.

use crate::auth::SuperAdmin;
use crate::routes::views::TenantView;
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::ApiError;

/// One tenant.
#[utoipa::path(
    operation_id = "get_tenant",
    params(("slug" = String, Path)),
    responses((status = 200, body = TenantView), (status = 404, description = "tenant_not_found")),
    security(("bearer" = [])),
    tag = "tenants"
)]
#[get("/v1/tenants/{slug}")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn get(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = super::load(&state, &path).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(&tenant)))
}

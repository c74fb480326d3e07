//! `GET /v1/tenants?status=&page=&per_page=`.

use crate::auth::SuperAdmin;
use crate::repo::tenants;
use crate::routes::views::{Page, TenantView};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::TenantStatus;
use utoipa::IntoParams;

pub const MAX_PER_PAGE: u64 = 100;

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only tenants with this status.
    pub status: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u64>,
    /// Page size, 1 to 100 (default 20).
    pub per_page: Option<u64>,
}

/// Lists tenants, newest first.
#[utoipa::path(params(ListQuery), responses((status = 200, body = Page<TenantView>)), security(("bearer" = [])), tag = "tenants")]
#[get("/v1/tenants")]
#[tracing::instrument(skip_all)]
pub async fn list(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(TenantStatus::parse(raw).ok_or_else(|| {
            ApiError::field(
                "status",
                "must be one of provisioning, active, suspended, failed, deleted",
            )
        })?),
    };
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(20);
    if page == 0 || page > 1_000_000 {
        return Err(ApiError::field("page", "must be between 1 and 1000000"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::field("per_page", "must be between 1 and 100"));
    }
    let (rows, total) = tenants::list(&state.db, status, page, per_page).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(TenantView::from).collect(),
        page,
        per_page,
        total,
    }))
}

//! `GET /v1/tenants?status=&server=&q=&page=&per_page=`; paging is the shared `PageQuery`.

use crate::auth::SuperAdmin;
use crate::repo::tenants;
use crate::routes::views::TenantView;
use crate::servers::ServerName;
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::TenantStatus;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::http::page::{Page, PageQuery};
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only tenants with this status.
    #[param(value_type = Option<TenantStatus>)]
    pub status: Option<String>,
    /// Only tenants on this database server.
    pub server: Option<String>,
    /// Only tenants whose slug or name contains this text (any case; at most 200 characters).
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// The search text, trimmed; empty means no search.
fn search(raw: Option<&str>) -> Result<Option<&str>, ApiError> {
    let q = raw.map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q {
        if q.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::field("q", "must be at most 200 characters"));
        }
        if let Some(err) = text::unstorable("q", q) {
            return Err(ApiError::validation(vec![err]));
        }
    }
    Ok(q)
}

/// Lists tenants, newest first.
#[utoipa::path(operation_id = "list_tenants", params(ListQuery, PageQuery), responses((status = 200, body = Page<TenantView>)), security(("bearer" = [])), tag = "tenants")]
#[get("/v1/tenants")]
#[tracing::instrument(skip_all)]
pub async fn list(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    paging: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(TenantStatus::parse(raw).map_err(|_| {
            ApiError::field(
                "status",
                "must be one of provisioning, active, suspended, failed, deleted",
            )
        })?),
    };
    let search = search(query.q.as_deref())?;
    let server = match query.server.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(ServerName::parse(raw).map_err(|rule| ApiError::field("server", rule))?),
    };
    let filter = tenants::ListFilter {
        status,
        search,
        server: server.as_ref().map(ServerName::as_str),
    };
    let (rows, total) = tenants::list(
        &state.db,
        filter,
        paging.page.unsigned_abs(),
        paging.per_page.unsigned_abs(),
    )
    .await?;
    let items = rows.iter().map(TenantView::from).collect();
    let total = i64::try_from(total).unwrap_or(i64::MAX);
    Ok(HttpResponse::Ok().json(Page::new(items, paging, total)))
}

//! `GET /v1/users` (admin, agent).

use crate::auth::{AuthUser, Role};
use crate::repo::Paging;
use crate::repo::users::{self, User};
use crate::routes::PageOf;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub(crate) struct ListUsers {
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The tenant's users.
#[utoipa::path(params(ListUsers), responses((status = 200, body = PageOf<User>)), security(("bearer" = [])), tag = "users")]
#[get("/users")]
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    tenant: Tenant,
    user: AuthUser,
    query: web::Query<ListUsers>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Agent])?;
    let role = query
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()
        .map_err(|e| ApiError::field("role", e.must_be()))?;
    let paging = Paging::parse(query.page, query.per_page)?;
    let db = tenant.db().await?;
    let (items, total) = users::list(&db, role, paging).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        page: paging.page,
        per_page: paging.per_page,
        total,
    }))
}

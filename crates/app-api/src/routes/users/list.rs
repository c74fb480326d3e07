//! `GET /v1/users` (admin, agent).

use crate::auth::{AuthUser, Role};
use crate::repo::users::{self, User};
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::http::page::{Page, PageQuery};
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub(crate) struct ListUsers {
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
}

/// The tenant's users.
#[utoipa::path(operation_id = "list_users", params(ListUsers, PageQuery), responses((status = 200, body = Page<User>)), security(("bearer" = [])), tag = "users")]
#[get("/users")]
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    tenant: Tenant,
    user: AuthUser,
    query: web::Query<ListUsers>,
    paging: PageQuery,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Agent])?;
    let role = query
        .role
        .as_deref()
        .map(Role::parse)
        .transpose()
        .map_err(|e| ApiError::field("role", e.must_be()))?;
    let conn = tenant.conn().await?;
    let (items, total) = users::list(&conn, role, paging).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, paging, total)))
}

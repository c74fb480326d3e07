//! `GET /v1/users/me`.

use crate::auth::AuthUser;
use crate::repo::users::{self, User};
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get};
use tenancy_core::ApiError;

/// The signed-in user.
#[utoipa::path(operation_id = "get_me", responses((status = 200, body = User)), security(("bearer" = [])), tag = "users")]
#[get("/users/me")]
#[tracing::instrument(skip_all)]
pub(crate) async fn me(tenant: Tenant, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let conn = tenant.conn().await?;
    let me = users::find(&conn, user.id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the account no longer exists"))?;
    Ok(HttpResponse::Ok().json(me))
}

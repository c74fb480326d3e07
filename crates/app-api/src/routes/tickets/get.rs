//! `GET /v1/tickets/{id}`: the hot path.

use super::visible_to;
use crate::auth::AuthUser;
use crate::repo::tickets::{self, Ticket};
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, web};
use tenancy_core::ApiError;
use uuid::Uuid;

/// One ticket (a customer's own only; another's is 404, not 403, to reveal nothing).
#[utoipa::path(operation_id = "get_ticket", params(("id" = Uuid, Path)), responses((status = 200, body = Ticket), (status = 404)), security(("bearer" = [])), tag = "tickets")]
#[get("/tickets/{id}")]
pub(crate) async fn get(
    tenant: Tenant,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let conn = tenant.conn().await?;
    let ticket = tickets::find(&conn, *path, visible_to(&user))
        .await?
        .ok_or_else(|| ApiError::not_found("no such ticket"))?;
    Ok(HttpResponse::Ok().json(ticket))
}

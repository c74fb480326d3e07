//! `DELETE /v1/tickets/{id}` (admin).

use crate::auth::{AuthUser, Role};
use crate::repo::tickets;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, delete, web};
use tenancy_core::ApiError;
use uuid::Uuid;

/// Deletes a ticket and its comments.
#[utoipa::path(operation_id = "delete_ticket", params(("id" = Uuid, Path)), responses((status = 204), (status = 403), (status = 404)), security(("bearer" = [])), tag = "tickets")]
#[delete("/tickets/{id}")]
#[tracing::instrument(skip_all)]
pub(crate) async fn delete(
    tenant: Tenant,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let conn = tenant.conn().await?;
    if !tickets::delete(&conn, *path).await? {
        return Err(ApiError::not_found("no such ticket"));
    }
    Ok(HttpResponse::NoContent().finish())
}

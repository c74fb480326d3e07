//! Comments on a ticket: `GET|POST /v1/tickets/{id}/comments`.

use crate::auth::AuthUser;
use crate::repo::comments::{self, Comment};
use crate::repo::tickets;
use crate::routes::tickets::visible_to;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::{Feature, text};
use utoipa::ToSchema;
use uuid::Uuid;

/// Longest comment, in characters (the OpenAPI `maxLength` says the same).
pub(crate) const MAX_COMMENT_CHARS: usize = 10_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateComment {
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    /// A note for staff only; customers may not write one, nor may anyone when the
    /// tenant's `internal_notes` feature is off.
    #[serde(default)]
    pub internal: bool,
}

/// A ticket's comments; internal notes are hidden from customers.
#[utoipa::path(operation_id = "list_comments", params(("id" = Uuid, Path)), responses((status = 200, body = Vec<Comment>), (status = 404)), security(("bearer" = [])), tag = "comments")]
#[get("/tickets/{id}/comments")]
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    tenant: Tenant,
    user: AuthUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let conn = tenant.conn().await?;
    if tickets::find(&conn, *path, visible_to(&user))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("no such ticket"));
    }
    let items = comments::list(&conn, *path, user.role.is_staff()).await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Adds a comment to a ticket the user can see. An internal note needs a staff role and
/// the tenant's `internal_notes` feature (403 `forbidden` otherwise).
#[utoipa::path(operation_id = "create_comment", params(("id" = Uuid, Path)), request_body = CreateComment, responses((status = 201, body = Comment), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])), tag = "comments")]
#[post("/tickets/{id}/comments")]
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    tenant: Tenant,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<CreateComment>,
) -> Result<HttpResponse, ApiError> {
    let text = body.body.trim();
    if text.is_empty() || text.chars().count() > MAX_COMMENT_CHARS {
        return Err(ApiError::field("body", "must be 1 to 10000 characters"));
    }
    if !text::storable(text) {
        return Err(ApiError::field("body", text::UNSTORABLE));
    }
    if body.internal && !user.role.is_staff() {
        return Err(ApiError::forbidden(
            "only agents and admins write internal notes",
        ));
    }
    if body.internal {
        tenant.require(Feature::InternalNotes)?;
    }
    let conn = tenant.conn().await?;
    if tickets::find(&conn, *path, visible_to(&user))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("no such ticket"));
    }
    let comment = comments::insert(&conn, *path, user.id, text, body.internal).await?;
    Ok(HttpResponse::Created().json(comment))
}

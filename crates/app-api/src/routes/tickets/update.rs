//! `PATCH /v1/tickets/{id}`: title, description, status, priority, assignee.

use super::{MAX_DESCRIPTION_CHARS, visible_to};
use crate::auth::{AuthUser, Role};
use crate::repo::tickets::{self, Changes, Ticket, TicketPriority, TicketStatus};
use crate::repo::users;
use crate::routes::users::create::field;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, patch, web};
use serde::{Deserialize, Deserializer};
use tenancy_core::ApiError;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use utoipa::ToSchema;
use uuid::Uuid;

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTicket {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    // Read as text so a bad word is reported against its field with the others.
    #[schema(value_type = Option<TicketStatus>)]
    pub status: Option<String>,
    #[schema(value_type = Option<TicketPriority>)]
    pub priority: Option<String>,
    /// An agent or admin of this tenant; `null` unassigns. Staff only.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub assignee_id: Option<Option<Uuid>>,
}

/// Changes a ticket.
#[utoipa::path(operation_id = "update_ticket", params(("id" = Uuid, Path)), request_body = UpdateTicket, responses((status = 200, body = Ticket), (status = 403), (status = 404), (status = 422)), security(("bearer" = [])), tag = "tickets")]
#[patch("/tickets/{id}")]
#[tracing::instrument(skip_all)]
pub(crate) async fn update(
    tenant: Tenant,
    user: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<UpdateTicket>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let title = body.title.as_deref().map(str::trim);
    if title.is_some_and(|t| t.is_empty() || t.chars().count() > MAX_NAME_CHARS) {
        errors.push(field("title", "must be 1 to 200 characters"));
    }
    if body
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        errors.push(field("description", "must be at most 20000 characters"));
    }
    errors.extend(title.and_then(|t| text::unstorable("title", t)));
    errors.extend(
        body.description
            .as_deref()
            .and_then(|d| text::unstorable("description", d)),
    );
    let status = match body.status.as_deref().map(TicketStatus::parse) {
        Some(Err(e)) => {
            errors.push(field("status", e.must_be()));
            None
        }
        parsed => parsed.and_then(Result::ok),
    };
    let priority = match body.priority.as_deref().map(TicketPriority::parse) {
        Some(Err(e)) => {
            errors.push(field("priority", e.must_be()));
            None
        }
        parsed => parsed.and_then(Result::ok),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if body.assignee_id.is_some() && !user.role.is_staff() {
        return Err(ApiError::forbidden("only agents and admins assign tickets"));
    }
    let conn = tenant.conn().await?;
    if let Some(Some(assignee)) = body.assignee_id {
        let ok = users::access(&conn, assignee)
            .await?
            .is_some_and(|a| a.active && matches!(a.role, Role::Agent | Role::Admin));
        if !ok {
            return Err(ApiError::field(
                "assignee_id",
                "must be an active agent or admin of this tenant",
            ));
        }
    }
    let changes = Changes {
        title,
        description: body.description.as_deref(),
        status,
        priority,
        assignee: body.assignee_id,
    };
    let ticket = tickets::update(&conn, *path, visible_to(&user), &changes)
        .await?
        .ok_or_else(|| ApiError::not_found("no such ticket"))?;
    Ok(HttpResponse::Ok().json(ticket))
}

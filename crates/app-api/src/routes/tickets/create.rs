//! `POST /v1/tickets`.

use super::MAX_DESCRIPTION_CHARS;
use crate::auth::AuthUser;
use crate::repo::tickets::{self, Ticket, TicketPriority};
use crate::routes::users::create::field;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTicket {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[schema(max_length = 20000)]
    pub description: String,
    /// `medium` when absent. Read as text so a bad word is reported with the other fields.
    #[schema(value_type = Option<TicketPriority>)]
    pub priority: Option<String>,
}

/// Opens a ticket as the signed-in user.
#[utoipa::path(operation_id = "create_ticket", request_body = CreateTicket, responses((status = 201, body = Ticket, headers(("Location" = String, description = "The ticket: `/v1/tickets/{id}`"))), (status = 422)), security(("bearer" = [])), tag = "tickets")]
#[post("/tickets")]
#[tracing::instrument(skip_all)]
pub(crate) async fn create(
    tenant: Tenant,
    user: AuthUser,
    body: web::Json<CreateTicket>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let title = body.title.trim();
    if title.is_empty() || title.chars().count() > MAX_NAME_CHARS {
        errors.push(field("title", "must be 1 to 200 characters"));
    }
    if body.description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.push(field("description", "must be at most 20000 characters"));
    }
    errors.extend(text::unstorable("title", &body.title));
    errors.extend(text::unstorable("description", &body.description));
    let priority = match body.priority.as_deref().map(TicketPriority::parse) {
        None => Some(TicketPriority::Medium),
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            errors.push(field("priority", e.must_be()));
            None
        }
    };
    let (Some(priority), true) = (priority, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let conn = tenant.conn().await?;
    let ticket = tickets::insert(&conn, title, &body.description, priority, user.id).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/tickets/{}", ticket.id)))
        .json(ticket))
}

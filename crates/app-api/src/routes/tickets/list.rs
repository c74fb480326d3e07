//! `GET /v1/tickets?status=&priority=&assignee_id=&q=&page=&per_page=`.

use super::visible_to;
use crate::auth::AuthUser;
use crate::repo::tickets::{self, Filter, Ticket, TicketPriority, TicketStatus};
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::Feature;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::http::page::{Page, PageQuery};
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
pub(crate) struct ListTickets {
    // Read as text so a bad word is a 422 naming the field, as for bodies.
    #[param(value_type = Option<TicketStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<TicketPriority>)]
    pub priority: Option<String>,
    pub assignee_id: Option<Uuid>,
    /// Text the title or description contains, case-insensitive. Needs the tenant's
    /// `ticket_search` feature (403 `forbidden` otherwise).
    #[param(min_length = 1, max_length = 200)]
    pub q: Option<String>,
}

/// Tickets, newest first; customers see their own. Searching (`q`) needs the tenant's
/// `ticket_search` feature.
#[utoipa::path(operation_id = "list_tickets", params(ListTickets, PageQuery), responses((status = 200, body = Page<Ticket>), (status = 403), (status = 422)), security(("bearer" = [])), tag = "tickets")]
#[get("/tickets")]
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    tenant: Tenant,
    user: AuthUser,
    query: web::Query<ListTickets>,
    paging: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(TicketStatus::parse)
        .transpose()
        .map_err(|e| ApiError::field("status", e.must_be()))?;
    let priority = query
        .priority
        .as_deref()
        .map(TicketPriority::parse)
        .transpose()
        .map_err(|e| ApiError::field("priority", e.must_be()))?;
    let search = query.q.as_deref().map(str::trim);
    if let Some(q) = search {
        if q.is_empty() || q.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::field("q", "must be 1 to 200 characters"));
        }
        if !text::storable(q) {
            return Err(ApiError::field("q", text::UNSTORABLE));
        }
        tenant.require(Feature::TicketSearch)?;
    }
    let filter = Filter {
        status,
        priority,
        assignee: query.assignee_id,
        requester: visible_to(&user),
        search: search.map(str::to_string),
    };
    let conn = tenant.conn().await?;
    let (items, total) = tickets::list(&conn, &filter, paging).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, paging, total)))
}

//! `GET /v1/tickets?status=&priority=&assignee_id=&page=&per_page=`.

use super::visible_to;
use crate::auth::AuthUser;
use crate::repo::Paging;
use crate::repo::tickets::{self, Filter, Ticket, TicketPriority, TicketStatus};
use crate::routes::PageOf;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
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
    pub page: Option<i64>,
    /// At most 100.
    pub per_page: Option<i64>,
}

/// Tickets, newest first; customers see their own.
#[utoipa::path(params(ListTickets), responses((status = 200, body = PageOf<Ticket>)), security(("bearer" = [])), tag = "tickets")]
#[get("/tickets")]
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    tenant: Tenant,
    user: AuthUser,
    query: web::Query<ListTickets>,
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
    let paging = Paging::parse(query.page, query.per_page)?;
    let filter = Filter {
        status,
        priority,
        assignee: query.assignee_id,
        requester: visible_to(&user),
    };
    let db = tenant.db().await?;
    let (items, total) = tickets::list(&db, &filter, paging).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        page: paging.page,
        per_page: paging.per_page,
        total,
    }))
}

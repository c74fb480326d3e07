//! `GET /v1/tickets?status=&priority=&assignee_id=&page=&per_page=`.

use super::{PRIORITIES, STATUSES, visible_to};
use crate::auth::AuthUser;
use crate::repo::tickets::{self, Filter, Ticket};
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::http::page::{Page, PageQuery};
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
pub struct ListTickets {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub assignee_id: Option<Uuid>,
}

/// Tickets, newest first; customers see their own.
#[utoipa::path(params(ListTickets, PageQuery), responses((status = 200, body = Page<Ticket>)), security(("bearer" = [])), tag = "tickets")]
#[get("/tickets")]
#[tracing::instrument(skip_all)]
pub async fn list(
    tenant: Tenant,
    user: AuthUser,
    query: web::Query<ListTickets>,
    paging: PageQuery,
) -> Result<HttpResponse, ApiError> {
    if query
        .status
        .as_deref()
        .is_some_and(|s| !STATUSES.contains(&s))
    {
        return Err(ApiError::field(
            "status",
            "must be open, in_progress, resolved or closed",
        ));
    }
    if query
        .priority
        .as_deref()
        .is_some_and(|p| !PRIORITIES.contains(&p))
    {
        return Err(ApiError::field(
            "priority",
            "must be low, medium, high or urgent",
        ));
    }
    let filter = Filter {
        status: query.status.as_deref(),
        priority: query.priority.as_deref(),
        assignee: query.assignee_id,
        requester: visible_to(&user),
    };
    let db = tenant.db().await?;
    let (items, total) = tickets::list(&db, &filter, paging).await?;
    Ok(HttpResponse::Ok().json(Page::new(items, paging, total)))
}

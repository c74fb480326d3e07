//! Tickets of one tenant.

use super::Paging;
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use serde::Serialize;
use tenancy_core::ApiError;
use tokio_postgres::Row;
use uuid::Uuid;

tenancy_core::text_enum! {
    /// Where a ticket is in its life; stored in `tickets.status`.
    #[derive(utoipa::ToSchema)]
    pub(crate) enum TicketStatus as "ticket status" {
        Open = "open",
        InProgress = "in_progress",
        Resolved = "resolved",
        Closed = "closed",
    }
}

tenancy_core::text_enum! {
    /// How urgent a ticket is; stored in `tickets.priority`.
    #[derive(utoipa::ToSchema)]
    pub(crate) enum TicketPriority as "ticket priority" {
        Low = "low",
        Medium = "medium",
        High = "high",
        Urgent = "urgent",
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Ticket {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: TicketPriority,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, title, description, status, priority, requester_id, assignee_id, created_at, updated_at";

/// A row as a ticket; a stored status or priority outside its enum fails here (a 500 that
/// logs the word), never silently becomes another value.
fn ticket(row: &Row) -> Result<Ticket, tokio_postgres::Error> {
    Ok(Ticket {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        description: row.try_get(2)?,
        status: row.try_get(3)?,
        priority: row.try_get(4)?,
        requester_id: row.try_get(5)?,
        assignee_id: row.try_get(6)?,
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
    })
}

/// Filters of a ticket list; `requester` restricts to one customer's tickets.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub assignee: Option<Uuid>,
    pub requester: Option<Uuid>,
}

const WHERE: &str = "($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR priority = $2)
                     AND ($3::uuid IS NULL OR assignee_id = $3) AND ($4::uuid IS NULL OR requester_id = $4)";

pub(crate) async fn list(
    db: &ClientWrapper,
    f: &Filter,
    paging: Paging,
) -> Result<(Vec<Ticket>, i64), ApiError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tickets WHERE {WHERE} ORDER BY created_at DESC, id LIMIT $5 OFFSET $6"
        ))
        .await?;
    let count = db
        .prepare_cached(&format!("SELECT count(*) FROM tickets WHERE {WHERE}"))
        .await?;
    let rows = db
        .query(
            &stmt,
            &[
                &f.status,
                &f.priority,
                &f.assignee,
                &f.requester,
                &paging.per_page,
                &paging.offset(),
            ],
        )
        .await?;
    let total: i64 = db
        .query_one(&count, &[&f.status, &f.priority, &f.assignee, &f.requester])
        .await?
        .get(0);
    let items = rows.iter().map(ticket).collect::<Result<_, _>>()?;
    Ok((items, total))
}

/// One ticket; with `requester` set, only if that user opened it.
pub(crate) async fn find(
    db: &ClientWrapper,
    id: Uuid,
    requester: Option<Uuid>,
) -> Result<Option<Ticket>, ApiError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tickets WHERE id = $1 AND ($2::uuid IS NULL OR requester_id = $2)"
        ))
        .await?;
    let row = db.query_opt(&stmt, &[&id, &requester]).await?;
    Ok(row.as_ref().map(ticket).transpose()?)
}

pub(crate) async fn insert(
    db: &ClientWrapper,
    title: &str,
    description: &str,
    priority: TicketPriority,
    requester: Uuid,
) -> Result<Ticket, ApiError> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO tickets (title, description, priority, requester_id) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
        ))
        .await?;
    let row = db
        .query_one(&stmt, &[&title, &description, &priority, &requester])
        .await?;
    Ok(ticket(&row)?)
}

/// Fields to change; `assignee` is `Some(None)` to unassign.
#[derive(Debug, Default)]
pub(crate) struct Changes<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub assignee: Option<Option<Uuid>>,
}

pub(crate) async fn update(
    db: &ClientWrapper,
    id: Uuid,
    requester: Option<Uuid>,
    c: &Changes<'_>,
) -> Result<Option<Ticket>, ApiError> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE tickets SET title = coalesce($3, title), description = coalesce($4, description),
                 status = coalesce($5, status), priority = coalesce($6, priority),
                 assignee_id = CASE WHEN $7 THEN $8 ELSE assignee_id END, updated_at = now()
             WHERE id = $1 AND ($2::uuid IS NULL OR requester_id = $2) RETURNING {COLUMNS}"
        ))
        .await?;
    let set_assignee = c.assignee.is_some();
    let assignee = c.assignee.flatten();
    let row = db
        .query_opt(
            &stmt,
            &[
                &id,
                &requester,
                &c.title,
                &c.description,
                &c.status,
                &c.priority,
                &set_assignee,
                &assignee,
            ],
        )
        .await?;
    Ok(row.as_ref().map(ticket).transpose()?)
}

/// True if a ticket was deleted (its comments go with it).
pub(crate) async fn delete(db: &ClientWrapper, id: Uuid) -> Result<bool, ApiError> {
    let stmt = db
        .prepare_cached("DELETE FROM tickets WHERE id = $1")
        .await?;
    Ok(db.execute(&stmt, &[&id]).await? == 1)
}

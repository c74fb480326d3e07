//! Tickets of one tenant.

use super::Paging;
use crate::tenancy::{Param, TenantConn};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tenancy_core::ApiError;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
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
    #[serde(serialize_with = "super::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// The columns of a ticket, as a literal so statements can be built with `concat!`.
macro_rules! columns {
    () => {
        "id, title, description, status, priority, requester_id, assignee_id, created_at, updated_at"
    };
}
const COLUMNS: &str = columns!();

/// The hot path's statement, built once at compile time rather than per request.
const FIND: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tickets WHERE id = $1 AND ($2::uuid IS NULL OR requester_id = $2)"
);

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

/// Filters of a ticket list; `requester` restricts to one customer's tickets, `search` to
/// tickets whose title or description contains the text (any case).
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub assignee: Option<Uuid>,
    pub requester: Option<Uuid>,
    pub search: Option<String>,
}

// `strpos`, not `ILIKE`: the searched text is matched literally, `%` and `_` included.
const WHERE: &str = "($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR priority = $2)
                     AND ($3::uuid IS NULL OR assignee_id = $3) AND ($4::uuid IS NULL OR requester_id = $4)
                     AND ($5::text IS NULL OR strpos(lower(title), lower($5)) > 0
                          OR strpos(lower(description), lower($5)) > 0)";

pub(crate) async fn list(
    db: &TenantConn,
    f: &Filter,
    paging: Paging,
) -> Result<(Vec<Ticket>, i64), ApiError> {
    let filter: [Param<'_>; 5] = [
        (&f.status, Type::TEXT),
        (&f.priority, Type::TEXT),
        (&f.assignee, Type::UUID),
        (&f.requester, Type::UUID),
        (&f.search, Type::TEXT),
    ];
    let offset = paging.offset();
    let mut page: Vec<Param<'_>> = filter.to_vec();
    page.push((&paging.per_page, Type::INT8));
    page.push((&offset, Type::INT8));
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM tickets WHERE {WHERE} ORDER BY created_at DESC, id LIMIT $6 OFFSET $7"
            ),
            &page,
        )
        .await?;
    let total: i64 = db
        .query_one(
            &format!("SELECT count(*) FROM tickets WHERE {WHERE}"),
            &filter,
        )
        .await?
        .get(0);
    let items = rows.iter().map(ticket).collect::<Result<_, _>>()?;
    Ok((items, total))
}

/// One ticket; with `requester` set, only if that user opened it.
pub(crate) async fn find(
    db: &TenantConn,
    id: Uuid,
    requester: Option<Uuid>,
) -> Result<Option<Ticket>, ApiError> {
    let row = db
        .query_opt(FIND, &[(&id, Type::UUID), (&requester, Type::UUID)])
        .await?;
    Ok(row.as_ref().map(ticket).transpose()?)
}

pub(crate) async fn insert(
    db: &TenantConn,
    title: &str,
    description: &str,
    priority: TicketPriority,
    requester: Uuid,
) -> Result<Ticket, ApiError> {
    let row = db
        .query_one(
            &format!(
                "INSERT INTO tickets (title, description, priority, requester_id) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
            ),
            &[
                (&title, Type::TEXT),
                (&description, Type::TEXT),
                (&priority, Type::TEXT),
                (&requester, Type::UUID),
            ],
        )
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
    db: &TenantConn,
    id: Uuid,
    requester: Option<Uuid>,
    c: &Changes<'_>,
) -> Result<Option<Ticket>, ApiError> {
    let set_assignee = c.assignee.is_some();
    let assignee = c.assignee.flatten();
    let row = db
        .query_opt(
            &format!(
                "UPDATE tickets SET title = coalesce($3, title), description = coalesce($4, description),
                     status = coalesce($5, status), priority = coalesce($6, priority),
                     assignee_id = CASE WHEN $7 THEN $8 ELSE assignee_id END, updated_at = now()
                 WHERE id = $1 AND ($2::uuid IS NULL OR requester_id = $2) RETURNING {COLUMNS}"
            ),
            &[
                (&id, Type::UUID),
                (&requester, Type::UUID),
                (&c.title, Type::TEXT),
                (&c.description, Type::TEXT),
                (&c.status, Type::TEXT),
                (&c.priority, Type::TEXT),
                (&set_assignee, Type::BOOL),
                (&assignee, Type::UUID),
            ],
        )
        .await?;
    Ok(row.as_ref().map(ticket).transpose()?)
}

/// True if a ticket was deleted (its comments go with it).
pub(crate) async fn delete(db: &TenantConn, id: Uuid) -> Result<bool, ApiError> {
    let deleted = db
        .execute("DELETE FROM tickets WHERE id = $1", &[(&id, Type::UUID)])
        .await?;
    Ok(deleted == 1)
}

//! Comments on tickets; internal notes are for staff only.

use crate::tenancy::TenantConn;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tenancy_core::ApiError;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author_id: Uuid,
    pub body: String,
    pub internal: bool,
    pub created_at: DateTime<Utc>,
}

fn comment(row: &Row) -> Result<Comment, tokio_postgres::Error> {
    Ok(Comment {
        id: row.try_get(0)?,
        ticket_id: row.try_get(1)?,
        author_id: row.try_get(2)?,
        body: row.try_get(3)?,
        internal: row.try_get(4)?,
        created_at: row.try_get(5)?,
    })
}

/// A ticket's comments, oldest first; internal notes only when `with_internal`.
pub(crate) async fn list(
    db: &TenantConn,
    ticket: Uuid,
    with_internal: bool,
) -> Result<Vec<Comment>, ApiError> {
    let rows = db
        .query(
            "SELECT id, ticket_id, author_id, body, internal, created_at FROM comments
             WHERE ticket_id = $1 AND ($2 OR NOT internal) ORDER BY created_at, id LIMIT 1000",
            &[(&ticket, Type::UUID), (&with_internal, Type::BOOL)],
        )
        .await?;
    Ok(rows.iter().map(comment).collect::<Result<_, _>>()?)
}

pub(crate) async fn insert(
    db: &TenantConn,
    ticket: Uuid,
    author: Uuid,
    body: &str,
    internal: bool,
) -> Result<Comment, ApiError> {
    let row = db
        .query_one(
            "WITH c AS (INSERT INTO comments (ticket_id, author_id, body, internal) VALUES ($1, $2, $3, $4)
                        RETURNING id, ticket_id, author_id, body, internal, created_at),
                  t AS (UPDATE tickets SET updated_at = now() WHERE id = $1)
             SELECT * FROM c",
            &[
                (&ticket, Type::UUID),
                (&author, Type::UUID),
                (&body, Type::TEXT),
                (&internal, Type::BOOL),
            ],
        )
        .await?;
    Ok(comment(&row)?)
}

//! Users of one tenant.

use super::Paging;
use crate::access::{Role, UserAccess};
use crate::tenancy::TenantConn;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tenancy_core::ApiError;
use tokio_postgres::Row;
use tokio_postgres::types::Type;
use uuid::Uuid;

/// A user as clients see it (never the hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, email, name, role, active, created_at, updated_at";

/// A row as a user; a stored role outside `Role` fails here (a 500 that logs the word):
/// guessing one would hand out the wrong rights.
fn user(row: &Row) -> Result<User, tokio_postgres::Error> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) async fn access(db: &TenantConn, id: Uuid) -> Result<Option<UserAccess>, ApiError> {
    let row = db
        .query_opt(
            "SELECT role, active, token_version FROM users WHERE id = $1",
            &[(&id, Type::UUID)],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(UserAccess {
        role: r.try_get("role")?,
        active: r.try_get("active")?,
        token_version: r.try_get("token_version")?,
    }))
}

/// What login needs of the user with an email.
pub(crate) struct Credentials {
    pub id: Uuid,
    pub password_hash: String,
    pub role: Role,
    pub active: bool,
    pub token_version: i32,
}

/// The credentials of the user with this email, for login.
pub(crate) async fn credentials(
    db: &TenantConn,
    email: &str,
) -> Result<Option<Credentials>, ApiError> {
    let row = db
        .query_opt(
            "SELECT id, password_hash, role, active, token_version FROM users WHERE lower(email) = lower($1)",
            &[(&email, Type::TEXT)],
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Credentials {
        id: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        role: r.try_get(2)?,
        active: r.try_get(3)?,
        token_version: r.try_get(4)?,
    }))
}

pub(crate) async fn find(db: &TenantConn, id: Uuid) -> Result<Option<User>, ApiError> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS} FROM users WHERE id = $1"),
            &[(&id, Type::UUID)],
        )
        .await?;
    Ok(row.as_ref().map(user).transpose()?)
}

pub(crate) async fn list(
    db: &TenantConn,
    role: Option<Role>,
    paging: Paging,
) -> Result<(Vec<User>, i64), ApiError> {
    let offset = paging.offset();
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM users WHERE ($1::text IS NULL OR role = $1)
                 ORDER BY created_at, id LIMIT $2 OFFSET $3"
            ),
            &[
                (&role, Type::TEXT),
                (&paging.per_page, Type::INT8),
                (&offset, Type::INT8),
            ],
        )
        .await?;
    let total: i64 = db
        .query_one(
            "SELECT count(*) FROM users WHERE ($1::text IS NULL OR role = $1)",
            &[(&role, Type::TEXT)],
        )
        .await?
        .get(0);
    let items = rows.iter().map(user).collect::<Result<_, _>>()?;
    Ok((items, total))
}

pub(crate) async fn insert(
    db: &TenantConn,
    email: &str,
    name: &str,
    role: Role,
    hash: &str,
) -> Result<User, ApiError> {
    let row = db
        .query_one(
            &format!(
                "INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
            ),
            &[
                (&email, Type::TEXT),
                (&name, Type::TEXT),
                (&role, Type::TEXT),
                (&hash, Type::TEXT),
            ],
        )
        .await
        .map_err(|e| match ApiError::from(e) {
            err if err.code == tenancy_core::ErrorCode::Conflict => {
                ApiError::conflict(format!("a user with email {email} already exists"))
            }
            err => err,
        })?;
    Ok(user(&row)?)
}

/// Changes what is given; `None` when the user does not exist. A new password or a
/// deactivation bumps `token_version`, revoking every token issued before.
pub(crate) async fn update(
    db: &TenantConn,
    id: Uuid,
    name: Option<&str>,
    role: Option<Role>,
    active: Option<bool>,
    hash: Option<&str>,
) -> Result<Option<User>, ApiError> {
    let row = db
        .query_opt(
            &format!(
                "UPDATE users SET name = coalesce($2, name), role = coalesce($3, role),
                     active = coalesce($4, active), password_hash = coalesce($5, password_hash),
                     token_version = token_version
                         + CASE WHEN $5::text IS NOT NULL OR $4 = false THEN 1 ELSE 0 END,
                     updated_at = now()
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[
                (&id, Type::UUID),
                (&name, Type::TEXT),
                (&role, Type::TEXT),
                (&active, Type::BOOL),
                (&hash, Type::TEXT),
            ],
        )
        .await?;
    Ok(row.as_ref().map(user).transpose()?)
}

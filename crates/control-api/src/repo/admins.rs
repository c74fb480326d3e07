//! Super-admin accounts.

use crate::entity::super_admins::{self, Entity as SuperAdmins};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement,
};
use tenancy_core::domain::Email;
use uuid::Uuid;

#[tracing::instrument(skip_all)]
pub async fn find_by_email(
    db: &DatabaseConnection,
    email: &Email,
) -> Result<Option<super_admins::Model>, DbErr> {
    SuperAdmins::find()
        .filter(super_admins::Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

/// What `upsert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Reset,
}

/// Creates the admin, or resets the password of an existing one with that email; a reset
/// bumps `token_version`, so the admin's earlier tokens stop working.
#[tracing::instrument(skip_all, fields(admin.email = %email))]
pub async fn upsert(
    db: &impl ConnectionTrait,
    email: &Email,
    password_hash: String,
) -> Result<Upserted, DbErr> {
    // `xmax = 0` only on a freshly inserted row: told apart in the same statement.
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO super_admins (id, email, password_hash) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                 token_version = super_admins.token_version + 1, updated_at = now()
             RETURNING (xmax = 0) AS created",
            [
                Uuid::new_v4().into(),
                email.as_str().into(),
                password_hash.into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("super-admin upsert returned no row".into()))?;
    Ok(if row.try_get::<bool>("", "created")? {
        Upserted::Created
    } else {
        Upserted::Reset
    })
}

/// The current token version and email of an admin; `None` when the admin no longer exists.
#[tracing::instrument(skip_all)]
pub async fn token_version(
    db: &DatabaseConnection,
    id: Uuid,
) -> Result<Option<(i32, String)>, DbErr> {
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT token_version, email FROM super_admins WHERE id = $1",
            [id.into()],
        ))
        .await?;
    row.map(|r| {
        Ok((
            r.try_get::<i32>("", "token_version")?,
            r.try_get::<String>("", "email")?,
        ))
    })
    .transpose()
}

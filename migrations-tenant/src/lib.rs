//! Schema migrations and first-run seeding for a tenant's own database.
//!
//! Every tenant has its own database with this schema. A rollout runs
//! [`Migrator`] over many databases one at a time and is never atomic, so a
//! change must be split into expand-then-contract steps that old and new code
//! can both run against. Never edit a migration that has shipped; add one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

mod m20261123_000001_create_users;
mod m20261123_000002_create_tickets;
mod m20261123_000003_create_comments;
mod m20261123_000004_create_settings;
mod m20261205_000005_add_token_version;

/// The tenant schema's migrations, oldest first.
///
/// Apply with `Migrator::up(&db, None)`; progress is recorded in the tenant
/// database's `seaql_migrations` table.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_users::Migration),
            Box::new(m20261123_000002_create_tickets::Migration),
            Box::new(m20261123_000003_create_comments::Migration),
            Box::new(m20261123_000004_create_settings::Migration),
            Box::new(m20261205_000005_add_token_version::Migration),
        ]
    }
}

/// Inserts the first admin: `$1` email, `$2` name, `$3` password hash (what
/// [`seed_admin`] runs, for a caller on another client library).
///
/// `ON CONFLICT` names the `lower(email)` unique index, so an email already
/// present (in any case) is left untouched rather than raising an error.
pub const INSERT_ADMIN: &str = r#"
    INSERT INTO users (email, name, role, password_hash)
    VALUES ($1, $2, 'admin', $3)
    ON CONFLICT ((lower(email))) DO NOTHING
"#;

/// The display name the first admin is seeded with.
pub const ADMIN_NAME: &str = "Administrator";

/// Seeds a freshly migrated tenant database with its first admin.
///
/// Idempotent, so a provisioning job that is retried or run twice leaves one
/// admin: an admin whose email already exists (compared case-insensitively) is
/// not inserted again. An existing user with that email keeps its role and
/// password; nothing is overwritten. (The `settings` table is not seeded: nothing
/// reads it yet, so no defaults are written that could drift from the code.)
///
/// `password_hash` must already be a hash (e.g. Argon2 PHC string); this
/// function never sees a plain password. Pass a transaction as `db` to seed
/// all-or-nothing.
pub async fn seed_admin(
    db: &impl ConnectionTrait,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        INSERT_ADMIN,
        [email.into(), name.into(), password_hash.into()],
    ))
    .await?;
    Ok(())
}

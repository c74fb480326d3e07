//! Finishing a tenant database copied from the template, in one admin session inside it:
//! `CONNECT` revoked from `PUBLIC`, the template's objects handed to the tenant role, the
//! migration history dated at the copy, and the first admin seeded as the tenant role.
//!
//! Opening a session in a new database costs a server process (fork, authentication,
//! catalog warm-up), the largest fixed cost after the copy itself, so the job opens one
//! and runs both of its last steps on it. The migrator runs only when the copy's history
//! is not the whole migration set (a copy of a stale template): then, as before, on a
//! connection of the tenant role, so the objects it creates are the tenant's.

use super::session::Session;
use super::{Provisioner, connect_options, ident};
use anyhow::Context;
use migrations_tenant::Migrator;
use sea_orm::{Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};

impl Provisioner {
    /// A one-connection session in `db` as the admin role (see `session`).
    pub(crate) async fn session_in(&self, db: &str) -> anyhow::Result<Session> {
        let url = self.admin_url_in(db)?;
        Session::open(&url, async || self.orm_session_in(db).await).await
    }

    /// A one-connection sea-orm session in `db` as the admin role, over sqlx.
    pub(crate) async fn orm_session_in(&self, db: &str) -> anyhow::Result<DatabaseConnection> {
        Database::connect(connect_options(&self.admin_url_in(db)?, 1))
            .await
            .context("connecting to the tenant database as the admin role")
    }

    fn admin_url_in(&self, db: &str) -> anyhow::Result<SecretString> {
        let mut url = url::Url::parse(self.admin_url.expose_secret())
            .context("TENANT_DB_ADMIN_URL is not a URL")?;
        url.set_path(db);
        Ok(SecretString::from(url.to_string()))
    }

    /// Only the owner (and superusers) may connect; every object in it is the owner's.
    /// `conn` is an admin session in `db` ([`session_in`](Self::session_in)).
    pub(crate) async fn revoke_public(
        &self,
        conn: &Session,
        db: &str,
        owner: &str,
    ) -> anyhow::Result<()> {
        // One round trip, one transaction: the revoke and the template's objects handed over.
        let adopt = self.adopt_script(conn, owner).await?;
        conn.batch(&format!(
            "REVOKE ALL ON DATABASE {} FROM PUBLIC; {adopt}",
            ident(db)?
        ))
        .await
        .context(
            "revoking CONNECT from PUBLIC and giving the template's objects to the tenant role",
        )?;
        self.allow_pooler_auth(conn, db).await
    }

    /// Seeds the first admin (if one is given) as the tenant role, in the admin session
    /// `conn`, once the database holds the whole migration history; a copy that lacks some
    /// of it is migrated first, as the tenant role ([`migrate_and_seed`](Self::migrate_and_seed)).
    pub(crate) async fn seed_in(
        &self,
        conn: &Session,
        db: &str,
        role: &str,
        password: &SecretString,
        seed: Option<(&str, &str)>,
    ) -> anyhow::Result<()> {
        if !history_complete(conn).await? {
            return self.migrate_and_seed(db, role, password, seed).await;
        }
        let Some((email, hash)) = seed else {
            return Ok(());
        };
        // The admin can act as the role: `REASSIGN OWNED ... TO` it needed the same.
        conn.batch(&format!("SET ROLE {}", ident(role)?))
            .await
            .context("acting as the tenant role")?;
        let seeded = conn.seed_admin(email, hash).await;
        let reset = conn.batch("RESET ROLE").await;
        seeded.context("seeding the first admin")?;
        reset.context("resetting the session role")?;
        Ok(())
    }
}

/// Whether every tenant migration is recorded in the database `conn` is in.
async fn history_complete(conn: &Session) -> anyhow::Result<bool> {
    let Some(applied) = conn.applied_versions().await? else {
        return Ok(false);
    };
    Ok(Migrator::migrations()
        .iter()
        .all(|m| applied.contains(m.name())))
}

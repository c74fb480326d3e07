//! What backups and restores need from the tenant's database server: how `pg_dump` and
//! `pg_restore` reach it, its major version, a tenant database's schema version, and the
//! empty database a restore fills (marked like every database the provisioner makes).

use super::{
    CREATE_STRATEGY, ForeignObject, Found, Provisioner, connect_options, ident, marker, sql,
};
use anyhow::Context;
use sea_orm::{ConnectionTrait, Database};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

impl Provisioner {
    /// libpq's environment for a session in `db` as `role`: host and port (and TLS mode)
    /// of this server's admin URL, the tenant's own credentials.
    pub(crate) fn libpq_env(
        &self,
        db: &str,
        role: &str,
        password: &SecretString,
    ) -> anyhow::Result<Vec<(&'static str, String)>> {
        let url = url::Url::parse(self.admin_url.expose_secret())
            .context("TENANT_DB_ADMIN_URL is not a URL")?;
        let mut env = vec![
            ("PGHOST", url.host_str().unwrap_or("localhost").to_string()),
            ("PGPORT", url.port().unwrap_or(5432).to_string()),
            ("PGDATABASE", db.to_string()),
            ("PGUSER", role.to_string()),
            ("PGPASSWORD", password.expose_secret().to_string()),
            ("PGAPPNAME", "tenancy-backup".to_string()),
            ("PGCONNECT_TIMEOUT", "10".to_string()),
        ];
        if let Some((_, mode)) = url.query_pairs().find(|(k, _)| k == "sslmode") {
            env.push(("PGSSLMODE", mode.into_owned()));
        }
        Ok(env)
    }

    /// The server's major version (15 for 15.4).
    pub(crate) async fn server_major(&self) -> anyhow::Result<u32> {
        let row = self
            .admin
            .query_one_raw(sql(
                "SELECT current_setting('server_version_num')::int / 10000 AS major",
                vec![],
            ))
            .await?
            .context("no row")?;
        Ok(u32::try_from(row.try_get::<i32>("", "major")?)?)
    }

    /// The last tenant migration applied in `db`; `None` for a database never migrated.
    pub(crate) async fn last_migration(
        &self,
        db: &str,
        role: &str,
        password: &SecretString,
    ) -> anyhow::Result<Option<String>> {
        let conn = Database::connect(connect_options(&self.tenant_url(db, role, password)?, 1))
            .await
            .context("connecting to the tenant database as its role")?;
        let row = conn
            .query_one_raw(sql(
                "SELECT max(version) AS version FROM seaql_migrations",
                vec![],
            ))
            .await;
        let _ = conn.close().await;
        Ok(row?.and_then(|r| r.try_get::<Option<String>>("", "version").ok().flatten()))
    }

    /// An empty database `db` owned by `owner`, marked as this tenant's and closed to
    /// everyone else, for a restore to fill. A leftover of an earlier attempt (ours) is
    /// dropped first; a foreign one is refused.
    pub(crate) async fn fresh_database(
        &self,
        tenant: Uuid,
        db: &str,
        owner: &str,
    ) -> anyhow::Result<()> {
        let (d, o) = (ident(db)?, ident(owner)?);
        match self.database(tenant, db).await? {
            Found::Absent => {}
            Found::Ours => self.drop_database(tenant, db).await?,
            Found::Foreign => {
                return Err(ForeignObject {
                    kind: "database",
                    name: db.into(),
                }
                .into());
            }
        }
        // template0: the archive brings every object, the template's copies would clash.
        // WAL_LOG, like the provisioner: no forced checkpoint on a busy server.
        self.admin
            .execute_unprepared(&format!(
                "CREATE DATABASE {d} OWNER {o} TEMPLATE template0 STRATEGY {CREATE_STRATEGY}"
            ))
            .await
            .context("creating the database to restore into")?;
        self.admin
            .execute_unprepared(&format!("COMMENT ON DATABASE {d} IS '{}'", marker(tenant)))
            .await
            .context("marking the database to restore into")?;
        let session = self.session_in(db).await?;
        let revoked = self.revoke_public(&session, db, owner).await;
        session.close().await;
        revoked
    }

    /// Drops `db` if it is this tenant's (never its role: the tenant keeps using it).
    pub(crate) async fn drop_database(&self, tenant: Uuid, db: &str) -> anyhow::Result<()> {
        let d = ident(db)?;
        match self.database(tenant, db).await? {
            Found::Ours => {
                self.admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {d} WITH (FORCE)"))
                    .await
                    .context("dropping a tenant database")?;
            }
            Found::Foreign => {
                tracing::warn!(database = %db, "the database is not this tenant's; left untouched");
            }
            Found::Absent => {}
        }
        Ok(())
    }
}

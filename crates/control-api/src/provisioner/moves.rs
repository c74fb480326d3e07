//! What moving a tenant's database between servers needs from each server: fencing the
//! source (read-only for every new session, every current one ended), counting what a
//! copy holds, and dropping the source's role once it owns nothing there.

use super::{Found, Provisioner, ident, sql};
use anyhow::Context;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use tenancy_core::sea_orm_error::sqlstate_of;
use uuid::Uuid;

/// How long the fence waits for a busy session of the source to finish its statement
/// before ending it mid-statement.
const FENCE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The `application_name` of the app plane's sessions for a moving tenant: opened with
/// `default_transaction_read_only` after the app plane heard of the move, so the fence
/// leaves them serving reads (app-api's pool factory sets it).
const READ_ONLY_APP: &str = "app-api-read-only";

/// SQLSTATE 2BP01: the role still owns (or is granted) something and cannot be dropped.
const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";

/// What a tenant database holds, as compared between the two sides of a move: each
/// table's row count (by schema-qualified name) and the migration history.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Contents {
    pub tables: Vec<(String, i64)>,
    pub migrations: Vec<String>,
}

impl Provisioner {
    /// Makes `db` refuse writes at the server: every new session starts read-only, and
    /// every one older than that (an app-api replica that missed the change event) is ended. A
    /// session is ended between statements when it gets there within [`FENCE_PATIENCE`]
    /// (a read in flight then completes; the pool sees the closed connection at its next
    /// checkout), any session still busy after that is ended where it is.
    pub(crate) async fn fence_database(&self, db: &str) -> anyhow::Result<()> {
        let d = ident(db)?;
        self.admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {d} SET default_transaction_read_only = on"
            ))
            .await
            .context("making the source database read-only")?;
        // Sessions that start from now on are read-only already; ending them too would
        // only fail the reads a moving tenant is still served (a replica reconnecting
        // after it dropped its pool on the change event).
        let fenced_at = self
            .admin
            .query_one_raw(sql("SELECT clock_timestamp()::text AS at", vec![]))
            .await
            .context("reading the fence time")?
            .context("no row")?
            .try_get::<String>("", "at")?;
        let deadline = tokio::time::Instant::now() + FENCE_PATIENCE;
        loop {
            let any = tokio::time::Instant::now() >= deadline;
            let left = self
                .admin
                .query_one_raw(sql(
                    "WITH ended AS (
                         SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE datname = $1 AND pid <> pg_backend_pid()
                           AND backend_start <= $3::timestamptz AND (state = 'idle' OR $2)
                           AND application_name <> $4)
                     SELECT count(*) AS left FROM pg_stat_activity
                     WHERE datname = $1 AND pid <> pg_backend_pid()
                       AND backend_start <= $3::timestamptz AND application_name <> $4
                       AND pid NOT IN (SELECT pid FROM ended)",
                    vec![
                        db.into(),
                        any.into(),
                        fenced_at.as_str().into(),
                        READ_ONLY_APP.into(),
                    ],
                ))
                .await
                .context("ending the source database's sessions")?
                .context("no row")?
                .try_get::<i64>("", "left")?;
            if left == 0 || any {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Undoes [`fence_database`](Self::fence_database) (nothing when `db` is gone).
    pub(crate) async fn unfence_database(&self, tenant: Uuid, db: &str) -> anyhow::Result<()> {
        let d = ident(db)?;
        if let Found::Ours = self.database(tenant, db).await? {
            self.admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE {d} RESET default_transaction_read_only"
                ))
                .await
                .context("making the source database writable again")?;
        }
        Ok(())
    }

    /// Drops this tenant's role if it owns nothing left on this server; a role still
    /// owning something, or a foreign one, stays.
    pub(crate) async fn drop_role_if_unused(&self, tenant: Uuid, role: &str) -> anyhow::Result<()> {
        let r = ident(role)?;
        if !matches!(self.role(tenant, role).await?, Found::Ours) {
            return Ok(());
        }
        match self
            .admin
            .execute_unprepared(&format!("DROP ROLE IF EXISTS {r}"))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if sqlstate_of(&e).as_deref() == Some(DEPENDENT_OBJECTS_STILL_EXIST) => {
                tracing::info!(role = %role, "the role still owns something on this server; kept");
                Ok(())
            }
            Err(e) => Err(anyhow::Error::new(e).context("dropping the tenant role")),
        }
    }

    /// Every table's row count and the migration history of `db`, read as the admin.
    pub(crate) async fn contents(&self, db: &str) -> anyhow::Result<Contents> {
        let session = self.orm_session_in(db).await?;
        let read = read_contents(&session).await;
        let _ = session.close().await;
        read
    }
}

async fn read_contents(conn: &DatabaseConnection) -> anyhow::Result<Contents> {
    let names: Vec<String> = conn
        .query_all_raw(sql(
            "SELECT format('%I.%I', n.nspname, c.relname) AS name
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p')
               AND n.nspname NOT IN ('information_schema', 'pgbouncer')
               AND n.nspname NOT LIKE 'pg\\_%'
             ORDER BY 1",
            vec![],
        ))
        .await
        .context("listing the tables")?
        .iter()
        .map(|r| r.try_get::<String>("", "name"))
        .collect::<Result<_, _>>()?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        // `name` came out of `format('%I.%I')`: quoted by the server itself.
        let row = conn
            .query_one_raw(sql(&format!("SELECT count(*) AS n FROM {name}"), vec![]))
            .await
            .with_context(|| format!("counting the rows of {name}"))?
            .context("no row")?;
        tables.push((name, row.try_get::<i64>("", "n")?));
    }
    let migrations = conn
        .query_all_raw(sql(
            "SELECT version || '@' || applied_at AS m FROM seaql_migrations ORDER BY version",
            vec![],
        ))
        .await
        .context("reading the migration history")?
        .iter()
        .map(|r| r.try_get::<String>("", "m"))
        .collect::<Result<_, _>>()?;
    Ok(Contents { tables, migrations })
}

//! Spare databases: copies of this server's migrated template made in the background, so a
//! provisioning job claims one (a rename) instead of copying the template while the client
//! waits. `PROVISION_SPARES` per accepting server; 0 turns them off.
//!
//! - **Names** `{prefix}_sp_{server}_{12 random hex}`: the `__`/`_sp_` after the prefix is
//!   a name no slug produces (as for the template), cleanup by prefix finds them, and the
//!   fixed-length suffix keeps one server's pattern off another's.
//! - **Never connectable**: created `ALLOW_CONNECTIONS false` (so not even for an instant
//!   through `PUBLIC`), then `CONNECT` revoked from `PUBLIC`; owned by the admin role.
//! - **Ready** only once marked `tenancy:spare=<version>:<template oid>`: a spare of another
//!   tenant-schema version or of a template since rebuilt (another oid), or an unmarked one
//!   (a refill cut off between `CREATE` and `COMMENT`), is dropped by the next refill.
//! - **The claim is one transaction**: rename to the tenant's database name, hand it to the
//!   tenant's role, put the tenant's ownership marker on it and allow connections. Two
//!   claimers of one spare: the second finds no database of the old name (3D000) and tries
//!   another. A job killed after it finds its own marked database, as after a copy.
//! - **Refills are serialised per server** by a session advisory lock taken with
//!   `pg_try_advisory_lock`: only the holder creates spares, so it may drop unmarked ones.

use super::{Provisioner, connect_options, ident, sql};
use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tenancy_core::sea_orm_error::{sqlstate, sqlstate_of};
use uuid::Uuid;

/// Hex digits of a spare's random suffix.
pub(super) const SPARE_SUFFIX_LEN: usize = 12;

/// How many spares a claim tries before copying the template instead (each try lost a
/// race for a spare to another claimer).
const CLAIM_TRIES: usize = 3;

/// SQLSTATE 55006: the database is being accessed by other users.
const OBJECT_IN_USE: &str = "55006";

/// The ready template's oid as text, and the marker a spare copied from it carries: `$2` is
/// the template's name, `$3` its ready marker, `$4` the schema version.
const CURRENT_SPARE_MARKER: &str = "(SELECT 'tenancy:spare=' || $4 || ':' || t.oid::text
      FROM pg_database t
     WHERE t.datname = $2 AND t.datistemplate AND NOT t.datallowconn
       AND shobj_description(t.oid, 'pg_database') = $3)";

impl Provisioner {
    fn spare_values(&self) -> Vec<sea_orm::Value> {
        let t = &self.template;
        vec![
            t.spare_like.clone().into(),
            t.database.clone().into(),
            super::template::template_marker(&t.version).into(),
            t.version.clone().into(),
        ]
    }

    /// Makes a ready spare the tenant's database `db`, owned by `owner` and marked; `false`
    /// when spares are off or none is ready (the caller copies the template), or when `db`
    /// exists already (the caller looks at it).
    pub(crate) async fn claim_spare(
        &self,
        tenant: Uuid,
        db: &str,
        owner: &str,
    ) -> anyhow::Result<bool> {
        if self.spares == 0 {
            return Ok(false);
        }
        let (d, o) = (ident(db)?, ident(owner)?);
        for _ in 0..CLAIM_TRIES {
            // Random order: concurrent claimers rarely pick the same spare.
            let row = self
                .admin
                .query_one_raw(sql(
                    &format!(
                        "SELECT datname FROM pg_database
                          WHERE datname LIKE $1 AND NOT datallowconn
                            AND shobj_description(oid, 'pg_database') = {CURRENT_SPARE_MARKER}
                          ORDER BY random() LIMIT 1"
                    ),
                    self.spare_values(),
                ))
                .await?;
            let Some(row) = row else { return Ok(false) };
            let spare: String = row.try_get("", "datname")?;
            let s = ident(&spare)?;
            // One query string is one transaction: the database is either still a spare
            // or wholly the tenant's, never a renamed spare without its marker.
            let claimed = self
                .admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE {s} RENAME TO {d}; ALTER DATABASE {d} OWNER TO {o}; \
                     COMMENT ON DATABASE {d} IS '{}'; \
                     ALTER DATABASE {d} WITH ALLOW_CONNECTIONS true",
                    super::marker(tenant)
                ))
                .await;
            match claimed {
                Ok(_) => {
                    tracing::debug!(spare = %spare, database = %db, "spare database claimed");
                    return Ok(true);
                }
                Err(e) => match sqlstate_of(&e).as_deref() {
                    // Another claimer renamed it first (or a refill dropped it).
                    Some(super::INVALID_CATALOG_NAME | OBJECT_IN_USE) => {}
                    Some(sqlstate::DUPLICATE_DATABASE) => return Ok(false),
                    _ => return Err(anyhow::Error::new(e).context("claiming a spare database")),
                },
            }
        }
        Ok(false)
    }

    /// Brings this server's spares to `target` ready ones: drops stale, half-made and
    /// surplus spares, then copies the template until there are enough (stopping early
    /// when `stop` says so). Returns at once when another process is refilling.
    pub(crate) async fn refill_spares(
        &self,
        target: u32,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> anyhow::Result<()> {
        // The common case, on the shared pool: nothing to do.
        let census = self.spare_census(&self.admin).await?;
        let fresh = census.iter().filter(|(_, f)| *f).count();
        if fresh == target as usize && fresh == census.len() {
            return Ok(());
        }
        let conn = Database::connect(connect_options(&self.admin_url, 1))
            .await
            .context("connecting to refill spare databases")?;
        let result = self.refill_locked(&conn, target, stop).await;
        // Closing the session releases the lock.
        let _ = conn.close().await;
        result
    }

    async fn refill_locked(
        &self,
        conn: &DatabaseConnection,
        target: u32,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> anyhow::Result<()> {
        let locked = conn
            .query_one_raw(sql(
                "SELECT pg_try_advisory_lock(hashtextextended('tenant-spares:' || $1, 0)) AS ok",
                vec![self.template.spare_base.clone().into()],
            ))
            .await?
            .context("no row")?
            .try_get::<bool>("", "ok")?;
        if !locked {
            return Ok(());
        }
        let template = if target > 0 {
            Some(self.ensure_template().await?)
        } else {
            None
        };
        let mut kept = 0;
        for (name, fresh) in self.spare_census(conn).await? {
            if fresh && kept < target {
                kept += 1;
                continue;
            }
            conn.execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                ident(&name)?
            ))
            .await
            .context("dropping a spare database")?;
            tracing::debug!(spare = %name, fresh, "spare database dropped");
        }
        while let Some(template) = template.as_deref()
            && kept < target
            && !stop()
        {
            self.make_spare(conn, template).await?;
            kept += 1;
        }
        Ok(())
    }

    /// This server's spares, oldest first: (name, copied from the current ready template).
    async fn spare_census(&self, conn: &DatabaseConnection) -> anyhow::Result<Vec<(String, bool)>> {
        let rows = conn
            .query_all_raw(sql(
                &format!(
                    "SELECT datname,
                            coalesce(NOT datallowconn AND shobj_description(oid, 'pg_database')
                                     = {CURRENT_SPARE_MARKER}, false) AS fresh
                       FROM pg_database WHERE datname LIKE $1 ORDER BY oid"
                ),
                self.spare_values(),
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "datname")?, r.try_get("", "fresh")?)))
            .collect()
    }

    /// One spare copied from `template`, marked ready last.
    async fn make_spare(&self, conn: &DatabaseConnection, template: &str) -> anyhow::Result<()> {
        let oid: String = conn
            .query_one_raw(sql(
                "SELECT oid::text AS oid FROM pg_database WHERE datname = $1",
                vec![template.into()],
            ))
            .await?
            .context("the template vanished")?
            .try_get("", "oid")?;
        anyhow::ensure!(oid.bytes().all(|b| b.is_ascii_digit()), "unexpected oid");
        let suffix = Uuid::new_v4().simple().to_string();
        let name = format!(
            "{}{}",
            self.template.spare_base,
            &suffix[..SPARE_SUFFIX_LEN]
        );
        let (s, t) = (ident(&name)?, ident(template)?);
        conn.execute_unprepared(&format!(
            "CREATE DATABASE {s} TEMPLATE {t} STRATEGY {} ALLOW_CONNECTIONS false",
            super::CREATE_STRATEGY
        ))
        .await
        .context("creating a spare database")?;
        // A template rebuilt between the oid and the copy leaves a marker that matches no
        // template: the spare is dropped by the next refill, never claimed.
        conn.execute_unprepared(&format!(
            "REVOKE ALL ON DATABASE {s} FROM PUBLIC; \
             COMMENT ON DATABASE {s} IS 'tenancy:spare={}:{oid}'",
            self.template.version
        ))
        .await
        .context("marking a spare database ready")?;
        tracing::debug!(spare = %name, "spare database made");
        Ok(())
    }
}

//! The migrated template a tenant database is copied from.
//!
//! Running the tenant migrations costs dozens of round trips and catalog writes per tenant;
//! `CREATE DATABASE ... TEMPLATE` copies an already migrated database in one statement.
//! There is one template per database server and tenant-schema version, named
//! `{prefix}_tpl_{server}_{version}`: the `__` after a prefix ending in `_` (or the
//! `_tpl_` after the prefix) is a name no slug produces (slugs have no leading or double
//! hyphen), and cleanup by prefix finds it.
//!
//! - **Built on first need**, under a session advisory lock on a dedicated connection
//!   (the build itself runs on it, so waiting builders never starve the shared pool), and
//!   marked ready (`COMMENT ... 'tenancy:template=<version>'`) only as its last step: an
//!   unmarked or differently marked database with the name is a half-made or stale
//!   template and is rebuilt.
//! - **Never a tenant's**: owned by the admin role, `ALLOW_CONNECTIONS false`, no CONNECT
//!   for PUBLIC, and its marker is not a tenant marker.
//! - **Objects inside are owned by a NOLOGIN role** (`{prefix}_tpl_owner`): migrations run
//!   as that role, and each copy hands them to its tenant's role with `REASSIGN OWNED BY`
//!   run inside the copy. The template database itself is owned by the admin role, never by
//!   the template owner, so that `REASSIGN OWNED` (which also moves shared objects such as
//!   databases) cannot hand the template to a tenant.
//! - **Superseded versions** of this server's template are dropped after a build.

use super::{Provisioner, connect_options, sql};
use anyhow::Context;
use migrations_tenant::Migrator;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use secrecy::SecretString;

/// The tenant-schema version: a stable hash (FNV-1a) of the migration names, in order.
/// Shipped migrations are never edited (only added), so the names identify the schema.
pub(crate) fn schema_version() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in Migrator::migrations() {
        for b in m.name().bytes().chain(std::iter::once(b'\n')) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:012x}", h >> 16)
}

pub(super) fn template_marker(version: &str) -> String {
    format!("tenancy:template={version}")
}

/// Names of one server's template and of the role owning the objects inside.
#[derive(Clone)]
pub(crate) struct TemplateNames {
    pub database: String,
    pub owner: String,
    /// `LIKE` pattern of this server's templates of any version.
    like: String,
    pub version: String,
    /// This server's spare databases: the name's start (a random suffix of
    /// `SPARE_SUFFIX_LEN` follows) and the `LIKE` pattern matching exactly those names.
    pub spare_base: String,
    pub spare_like: String,
}

impl TemplateNames {
    pub(crate) fn new(prefix: &str, server: &str, version: &str) -> Self {
        let base = format!("{prefix}_tpl_");
        let spare_base = format!("{prefix}_sp_{server}_");
        // `_` is LIKE's one-character wildcard: the suffix's exact length keeps server
        // `a`'s pattern off server `a-b`'s spares (`..._sp_a_b_<suffix>`).
        let spare_like = format!(
            "{}{}",
            spare_base.replace('_', "\\_"),
            "_".repeat(super::spares::SPARE_SUFFIX_LEN)
        );
        Self {
            spare_base,
            spare_like,
            database: format!("{base}{server}_{version}"),
            owner: format!("{base}owner"),
            // The version's exact length, as for spares: `a`'s pattern must not match
            // `a-b`'s templates (`..._tpl_a_b_<version>`) when both share a cluster.
            like: format!(
                "{}{}",
                format!("{base}{server}_").replace('_', "\\_"),
                "_".repeat(version.len())
            ),
            version: version.to_string(),
        }
    }
}

impl Provisioner {
    /// The template's name, built first if it is missing, half made or of another version.
    pub(crate) async fn ensure_template(&self) -> anyhow::Result<String> {
        let names = &self.template;
        if self.template_ready(&self.admin, names).await? {
            return Ok(names.database.clone());
        }
        let conn = Database::connect(connect_options(&self.admin_url, 1))
            .await
            .context("connecting to build the tenant template")?;
        let result = async {
            conn.execute_raw(sql(
                "SELECT pg_advisory_lock(hashtextextended('tenant-template:' || $1, 0))",
                vec![names.database.clone().into()],
            ))
            .await?;
            // Another worker may have built it while this one waited for the lock.
            if !self.template_ready(&conn, names).await? {
                self.build_template(&conn, names).await?;
            }
            anyhow::Ok(())
        }
        .await;
        // Closing the session releases the lock.
        let _ = conn.close().await;
        result.map(|()| names.database.clone())
    }

    async fn template_ready(
        &self,
        conn: &DatabaseConnection,
        names: &TemplateNames,
    ) -> anyhow::Result<bool> {
        let row = conn
            .query_one_raw(sql(
                "SELECT shobj_description(oid, 'pg_database') AS marker FROM pg_database
                 WHERE datname = $1 AND datistemplate AND NOT datallowconn",
                vec![names.database.clone().into()],
            ))
            .await?;
        Ok(match row {
            Some(r) => {
                r.try_get::<Option<String>>("", "marker")? == Some(template_marker(&names.version))
            }
            None => false,
        })
    }

    /// Builds the template under the caller's lock, from scratch.
    async fn build_template(
        &self,
        conn: &DatabaseConnection,
        names: &TemplateNames,
    ) -> anyhow::Result<()> {
        let (t, o) = (super::ident(&names.database)?, super::ident(&names.owner)?);
        tracing::info!(template = %names.database, "building the tenant template");
        drop_template(conn, &names.database).await?;
        let owner_exists = conn
            .query_one_raw(sql(
                "SELECT 1 FROM pg_roles WHERE rolname = $1",
                vec![names.owner.clone().into()],
            ))
            .await?
            .is_some();
        if !owner_exists {
            conn.execute_unprepared(&format!(
                "CREATE ROLE {o} NOLOGIN; COMMENT ON ROLE {o} IS 'tenancy:template-owner'"
            ))
            .await
            .context("creating the template owner role")?;
        }
        // A non-superuser admin needs membership to run the migrations as the owner (and,
        // later, to REASSIGN OWNED BY it).
        conn.execute_unprepared(&format!("GRANT {o} TO CURRENT_USER"))
            .await
            .context("granting the template owner role to the admin")?;
        conn.execute_unprepared(&format!(
            "CREATE DATABASE {t} ENCODING 'UTF8' TEMPLATE template0"
        ))
        .await
        .context("creating the tenant template")?;
        // Sessions in the template start as the owner role: every migrated object is its.
        // (Per-database settings are not copied into databases made from the template.)
        conn.execute_unprepared(&format!(
            "REVOKE ALL ON DATABASE {t} FROM PUBLIC; ALTER DATABASE {t} SET role TO {o}"
        ))
        .await?;
        let mut url = url::Url::parse(secrecy::ExposeSecret::expose_secret(&self.admin_url))
            .context("TENANT_DB_ADMIN_URL is not a URL")?;
        url.set_path(&names.database);
        let tpl = Database::connect(connect_options(&SecretString::from(url.to_string()), 1))
            .await
            .context("connecting to the tenant template")?;
        let migrated = async {
            // As the admin (`SET ROLE NONE`); `RESET ROLE` returns to the owner role.
            tpl.execute_unprepared(&format!(
                "SET ROLE NONE; GRANT CREATE ON SCHEMA public TO {o}; RESET ROLE"
            ))
            .await?;
            Migrator::up(&tpl, None)
                .await
                .context("running tenant migrations in the template")?;
            // No trace of the owner role but ownership, which each copy reassigns.
            tpl.execute_unprepared(&format!(
                "SET ROLE NONE; REVOKE CREATE ON SCHEMA public FROM {o}"
            ))
            .await?;
            anyhow::Ok(())
        }
        .await;
        let _ = tpl.close().await;
        migrated?;
        conn.execute_unprepared(&format!(
            "ALTER DATABASE {t} RESET role; \
             ALTER DATABASE {t} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false; \
             COMMENT ON DATABASE {t} IS '{}'",
            template_marker(&names.version)
        ))
        .await
        .context("marking the tenant template ready")?;
        self.drop_superseded(conn, names).await;
        Ok(())
    }

    /// Drops this server's templates of other versions; one still being copied from (a
    /// replica on the old version) is left for the next build.
    async fn drop_superseded(&self, conn: &DatabaseConnection, names: &TemplateNames) {
        let rows = conn
            .query_all_raw(sql(
                "SELECT datname FROM pg_database
                 WHERE datname LIKE $1 AND datname <> $2
                   AND shobj_description(oid, 'pg_database') LIKE 'tenancy:template=%'",
                vec![names.like.clone().into(), names.database.clone().into()],
            ))
            .await;
        for row in rows.into_iter().flatten() {
            let Ok(name) = row.try_get::<String>("", "datname") else {
                continue;
            };
            match drop_template(conn, &name).await {
                Ok(()) => tracing::info!(template = %name, "superseded tenant template dropped"),
                Err(e) => {
                    tracing::warn!(template = %name, error = %format!("{e:#}"), "could not drop a superseded tenant template")
                }
            }
        }
    }

    /// The statements that hand every object in a database made from the template to the
    /// tenant's role and date the migration history at the copy, as if the migrations had
    /// just run there (empty when there is nothing to do). Idempotent: nothing is left owned
    /// by the template owner after the first run.
    pub(crate) async fn adopt_script(
        &self,
        tenant_db: &super::session::Session,
        role: &str,
    ) -> anyhow::Result<String> {
        let (r, o) = (super::ident(role)?, super::ident(&self.template.owner)?);
        // `ident` allowed only [a-z0-9_]: the owner's name is safe as a literal.
        let rows = tenant_db
            .texts(&format!(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{}')::text,
                        (to_regclass('public.seaql_migrations') IS NOT NULL)::text",
                self.template.owner
            ))
            .await?;
        let row = rows.first().context("no row")?;
        let yes = |i: usize| row.get(i).cloned().flatten().as_deref() == Some("true");
        let mut script = String::new();
        if yes(0) {
            script.push_str(&format!("REASSIGN OWNED BY {o} TO {r};"));
        }
        if yes(1) {
            script.push_str(
                "UPDATE seaql_migrations SET applied_at = extract(epoch FROM now())::bigint;",
            );
        }
        Ok(script)
    }
}

/// Drops a template database (absent is fine).
async fn drop_template(conn: &DatabaseConnection, name: &str) -> anyhow::Result<()> {
    let t = super::ident(name)?;
    let exists = conn
        .query_one_raw(sql(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            vec![name.into()],
        ))
        .await?
        .is_some();
    if exists {
        // A template database cannot be dropped until it is no longer one.
        conn.execute_unprepared(&format!("ALTER DATABASE {t} WITH IS_TEMPLATE false"))
            .await?;
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {t} WITH (FORCE)"))
            .await
            .context("dropping a tenant template")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQL `LIKE` with `\` escapes, for the patterns built here.
    fn like(text: &str, pattern: &str) -> bool {
        fn go(t: &[u8], p: &[u8]) -> bool {
            match p {
                [] => t.is_empty(),
                [b'%', rest @ ..] => (0..=t.len()).any(|i| go(&t[i..], rest)),
                [b'_', rest @ ..] => !t.is_empty() && go(&t[1..], rest),
                [b'\\', c, rest @ ..] | [c, rest @ ..] => t.first() == Some(c) && go(&t[1..], rest),
            }
        }
        go(text.as_bytes(), pattern.as_bytes())
    }

    #[test]
    fn one_servers_patterns_match_its_own_names_and_not_a_longer_servers() {
        let version = schema_version();
        let a = TemplateNames::new("pfx", "a", &version);
        let ab = TemplateNames::new("pfx", "a_b", &version);
        let older = TemplateNames::new("pfx", "a", "0123456789ab");
        assert!(like(&a.database, &a.like));
        assert!(
            like(&older.database, &a.like),
            "another version of a's template"
        );
        assert!(!like(&ab.database, &a.like), "a-b's template is not a's");
        assert!(!like(&a.database, &ab.like));
        let spare = format!("{}{}", a.spare_base, "0".repeat(SPARE_LEN));
        let spare_ab = format!("{}{}", ab.spare_base, "0".repeat(SPARE_LEN));
        assert!(like(&spare, &a.spare_like));
        assert!(!like(&spare_ab, &a.spare_like));
    }

    const SPARE_LEN: usize = crate::provisioner::spares::SPARE_SUFFIX_LEN;
}

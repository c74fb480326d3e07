//! The tenant migrations a database has not applied, read as the tenant role without
//! changing anything: what `tenants migrate` decides on before it opens the migrator.
//!
//! Read over the provisioner's direct session (`session`): sqlx's sockets have no
//! `TCP_NODELAY`, and its TLS handshake cost every connection about 100 ms of waiting for
//! delayed ACKs, so checking 2,000 up-to-date tenants spent most of its time there.

use super::Provisioner;
use super::session::Session;
use anyhow::Context;
use migrations_tenant::Migrator;
use sea_orm::{ConnectOptions, Database};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;

impl Provisioner {
    /// The names of the tenant migrations `db` has not applied, in order (all of them for a
    /// database never migrated). An error when the database records a migration this build
    /// does not know (a newer build migrated it), as the migrator itself would refuse.
    pub(crate) async fn pending_migrations(
        &self,
        db: &str,
        role: &str,
        password: &SecretString,
    ) -> anyhow::Result<Vec<String>> {
        let url = self.tenant_url(db, role, password)?;
        let session = Session::open(&url, async || {
            let mut opts = ConnectOptions::new(url.expose_secret().to_string());
            opts.max_connections(1).sqlx_logging(false);
            Database::connect(opts)
                .await
                .context("connecting to the tenant database as its role")
        })
        .await?;
        let applied = session.applied_versions().await;
        session.close().await;
        let applied = applied.context("reading the tenant's applied migrations")?;
        pending(applied.unwrap_or_default())
    }
}

/// This build's migrations missing from `applied`, in order.
fn pending(applied: HashSet<String>) -> anyhow::Result<Vec<String>> {
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let mut unknown: Vec<&String> = applied.iter().filter(|v| !known.contains(v)).collect();
    if !unknown.is_empty() {
        unknown.sort();
        anyhow::bail!(
            "the database records migrations this build does not know (a newer build migrated \
             it): {}",
            unknown
                .iter()
                .map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(known.into_iter().filter(|m| !applied.contains(m)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_what_is_missing_in_order_and_unknown_versions_fail() {
        let all: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        assert_eq!(pending(HashSet::new()).unwrap(), all);
        let mut applied: HashSet<String> = all.iter().cloned().collect();
        assert!(pending(applied.clone()).unwrap().is_empty());
        applied.remove(&all[all.len() - 1]);
        assert_eq!(
            pending(applied.clone()).unwrap(),
            vec![all[all.len() - 1].clone()]
        );
        applied.insert("m20991231_000001_newer".into());
        let err = pending(applied).unwrap_err().to_string();
        assert!(err.contains("m20991231_000001_newer"), "{err}");
    }
}

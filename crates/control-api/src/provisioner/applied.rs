//! The tenant migrations a database has not applied, read as the tenant role without
//! changing anything: what `tenants migrate` decides on before it opens the migrator.
//!
//! Read over a tokio-postgres connection when the admin URL does not require TLS. The
//! migrator's sqlx sockets have no `TCP_NODELAY`, and the TLS handshake sqlx makes under
//! `sslmode=prefer` (the default) sends two records back to back twice: each time the
//! second waits for the server's delayed ACK, about 40-50 ms, so every sqlx connection to a
//! tenant cost about 100 ms of waiting. Checking 2,000 up-to-date tenants through two of
//! them each spent most of its time there. tokio-postgres sets `TCP_NODELAY`, and goes
//! without TLS as app-api's tenant connections do; a URL with `sslmode=require` keeps the
//! sqlx path, with TLS and its waits.

use super::Provisioner;
use anyhow::Context;
use migrations_tenant::Migrator;
use sea_orm::{ConnectOptions, Database};
use sea_orm_migration::MigratorTrait;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, SimpleQueryMessage};

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
        match without_tls(&url) {
            Some(config) => pending(applied(config).await?),
            None => pending_over_sqlx(&url).await,
        }
    }
}

/// The tenant URL as a tokio-postgres config, unless it requires TLS.
fn without_tls(url: &SecretString) -> Option<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.expose_secret().parse().ok()?;
    match config.get_ssl_mode() {
        SslMode::Disable | SslMode::Prefer => {}
        _ => return None,
    }
    config
        .ssl_mode(SslMode::Disable)
        .application_name("control-api")
        .connect_timeout(Duration::from_secs(10));
    Some(config)
}

/// The versions `seaql_migrations` records (none when the table does not exist yet).
async fn applied(config: tokio_postgres::Config) -> anyhow::Result<HashSet<String>> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .context("connecting to the tenant database as its role")?;
    let task = tokio::spawn(connection);
    // One round trip, no statement to prepare.
    let rows = client
        .simple_query("SELECT version FROM seaql_migrations")
        .await;
    drop(client);
    let _ = task.await;
    match rows {
        Ok(messages) => Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
                _ => None,
            })
            .collect()),
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(HashSet::new()),
        Err(e) => Err(e).context("reading the tenant's applied migrations"),
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

/// The same answer through sea-orm's read-only check, over TLS as the URL requires.
async fn pending_over_sqlx(url: &SecretString) -> anyhow::Result<Vec<String>> {
    let mut opts = ConnectOptions::new(url.expose_secret().to_string());
    opts.max_connections(1).sqlx_logging(false);
    let conn = Database::connect(opts)
        .await
        .context("connecting to the tenant database as its role")?;
    let pending = Migrator::get_pending_migrations_read_only(&conn).await;
    let _ = conn.close().await;
    Ok(pending
        .context("reading the tenant's applied migrations")?
        .iter()
        .map(|m| m.name().to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(query: &str) -> SecretString {
        SecretString::from(format!("postgres://role:pw@127.0.0.1:5432/db{query}"))
    }

    #[test]
    fn only_a_url_that_requires_tls_keeps_the_sqlx_path() {
        assert!(without_tls(&url("")).is_some());
        assert!(without_tls(&url("?sslmode=prefer")).is_some());
        assert!(without_tls(&url("?sslmode=disable")).is_some());
        assert!(without_tls(&url("?sslmode=require")).is_none());
    }

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

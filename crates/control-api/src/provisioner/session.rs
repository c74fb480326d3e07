//! The admin session a provisioning job opens in each new tenant database, for the
//! statements that must run inside it (the template's objects handed over, the history
//! dated, the first admin seeded).
//!
//! It is a tokio-postgres connection, not sqlx, because sqlx sets no `TCP_NODELAY`: its TLS
//! handshake under `sslmode=prefer` (the default, and what a local server with `ssl = on`
//! answers) writes two records back to back, and each time the second waits for the
//! server's delayed ACK. That was about 90 ms of a 150 ms provisioning job spent waiting
//! (see docs/BENCHMARKS.md, figure 5). TLS is kept: `prefer` and `require` go through
//! rustls without checking the certificate, as sqlx and libpq do in those modes. A URL
//! tokio-postgres cannot take (`sslmode=verify-ca` or `verify-full`, which check it) keeps
//! the sqlx session, and its waits.

use anyhow::Context;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

/// An admin session in one database.
pub(crate) enum Session {
    Direct {
        client: Client,
        task: JoinHandle<()>,
    },
    Sqlx(DatabaseConnection),
}

/// The rows of a query whose columns are all text (cast them with `::text`).
pub(crate) type TextRows = Vec<Vec<Option<String>>>;

impl Session {
    /// Connects to the database `url` names; `sqlx` opens the fallback session.
    pub(super) async fn open<F>(url: &SecretString, sqlx: F) -> anyhow::Result<Self>
    where
        F: AsyncFnOnce() -> anyhow::Result<DatabaseConnection>,
    {
        let Some(config) = direct_config(url) else {
            return Ok(Self::Sqlx(sqlx().await?));
        };
        let context = "connecting to the tenant database";
        let (client, task) = if config.get_ssl_mode() == SslMode::Disable {
            let (client, conn) = config.connect(NoTls).await.context(context)?;
            (client, tokio::spawn(async move { drop(conn.await) }))
        } else {
            let tls = MakeRustlsConnect::new(tls()?);
            let (client, conn) = config.connect(tls).await.context(context)?;
            (client, tokio::spawn(async move { drop(conn.await) }))
        };
        Ok(Self::Direct { client, task })
    }

    /// The migration versions the database records; `None` before its first migration.
    pub(crate) async fn applied_versions(&self) -> anyhow::Result<Option<HashSet<String>>> {
        let table = self
            .texts("SELECT (to_regclass('public.seaql_migrations') IS NOT NULL)::text")
            .await?;
        if table
            .first()
            .and_then(|r| r.first())
            .cloned()
            .flatten()
            .as_deref()
            != Some("true")
        {
            return Ok(None);
        }
        Ok(Some(
            self.texts("SELECT version::text FROM seaql_migrations")
                .await?
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect(),
        ))
    }

    /// Runs `sql` (one or more statements, no parameters) as one round trip.
    pub(crate) async fn batch(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Self::Direct { client, .. } => Ok(client.batch_execute(sql).await?),
            Self::Sqlx(conn) => conn
                .execute_unprepared(sql)
                .await
                .map(drop)
                .map_err(Into::into),
        }
    }

    /// The rows of one query without parameters whose columns are all text.
    pub(crate) async fn texts(&self, sql: &str) -> anyhow::Result<TextRows> {
        match self {
            Self::Direct { client, .. } => Ok(client
                .simple_query(sql)
                .await?
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()),
            Self::Sqlx(conn) => conn
                .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await?
                .iter()
                .map(|row| {
                    (0..row.column_names().len())
                        .map(|i| row.try_get_by_index::<Option<String>>(i))
                        .collect::<Result<_, _>>()
                })
                .collect::<Result<_, _>>()
                .map_err(Into::into),
        }
    }

    /// The first admin, as `migrations_tenant::seed_admin` inserts it.
    pub(crate) async fn seed_admin(&self, email: &str, hash: &str) -> anyhow::Result<()> {
        match self {
            Self::Direct { client, .. } => client
                .execute(
                    migrations_tenant::INSERT_ADMIN,
                    &[&email, &migrations_tenant::ADMIN_NAME, &hash],
                )
                .await
                .map(drop)
                .map_err(Into::into),
            Self::Sqlx(conn) => {
                migrations_tenant::seed_admin(conn, email, migrations_tenant::ADMIN_NAME, hash)
                    .await
                    .map_err(Into::into)
            }
        }
    }

    pub(crate) async fn close(self) {
        match self {
            Self::Direct { client, task } => {
                drop(client);
                let _ = task.await;
            }
            Self::Sqlx(conn) => drop(conn.close().await),
        }
    }
}

/// The URL as a tokio-postgres config, unless it asks for what tokio-postgres does not do
/// (`sslmode=verify-ca`/`verify-full`).
fn direct_config(url: &SecretString) -> Option<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config = url.expose_secret().parse().ok()?;
    config
        .application_name("control-api")
        .connect_timeout(Duration::from_secs(10));
    Some(config)
}

/// The TLS client of `sslmode=prefer`/`require`: encrypted, certificate not checked.
fn tls() -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
    )
}

/// Accepts any server certificate (the handshake's signatures are still checked).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(query: &str) -> SecretString {
        SecretString::from(format!("postgres://role:pw@127.0.0.1:5432/db{query}"))
    }

    #[test]
    fn only_a_url_that_checks_certificates_keeps_the_sqlx_session() {
        for (query, mode) in [
            ("", SslMode::Prefer),
            ("?sslmode=prefer", SslMode::Prefer),
            ("?sslmode=disable", SslMode::Disable),
            ("?sslmode=require", SslMode::Require),
        ] {
            let config = direct_config(&url(query)).expect(query);
            assert_eq!(config.get_ssl_mode(), mode, "{query}");
        }
        assert!(direct_config(&url("?sslmode=verify-full")).is_none());
        assert!(direct_config(&url("?sslmode=verify-ca")).is_none());
    }

    #[test]
    fn the_tls_client_builds() {
        tls().unwrap();
    }
}

//! Checking a server before it is registered: its admin URL connects, its role may create
//! databases and roles, and it runs a PostgreSQL the provisioner can use. A server that
//! fails here would otherwise be found out by the first tenant placed on it, as a failed
//! provisioning job.
//!
//! Every refusal is a fixed sentence chosen from the error's kind, never the driver's own
//! message: that may quote the host, the user or the database, and nothing of the URL
//! (let alone its password) may reach a response or a log line.

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, ConnectOptions, Connection};
use secrecy::{ExposeSecret, SecretString};
use std::io::ErrorKind;
use std::str::FromStr;
use std::time::Duration;

/// How long connecting, authenticating and the one query may take together.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The oldest major version the provisioner works with: it creates databases with
/// `CREATE DATABASE ... STRATEGY`, new in PostgreSQL 15.
pub(crate) const MIN_MAJOR: i32 = 15;

/// What the server says about the admin role and itself.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub superuser: bool,
    pub create_db: bool,
    pub create_role: bool,
    /// `server_version_num / 10000`: 16 for 16.4.
    pub major: i32,
}

/// Connects with `url` (bounded by [`PROBE_TIMEOUT`]) and checks the server can hold
/// tenants; its major version when it can, else why not (a sentence for the `admin_url`
/// field).
pub(crate) async fn check(url: &SecretString) -> Result<i32, String> {
    let answer = tokio::time::timeout(PROBE_TIMEOUT, ask(url))
        .await
        .map_err(|_| {
            format!(
                "could not connect to the server: no answer within {} s",
                PROBE_TIMEOUT.as_secs()
            )
        })??;
    verdict(&answer).map(|()| answer.major)
}

/// Whether an answer is good enough: a role that may create databases and roles, on a
/// new enough server.
pub(crate) fn verdict(a: &Answer) -> Result<(), String> {
    if !a.superuser && !a.create_db {
        return Err("the role may not create databases (it needs CREATEDB)".into());
    }
    if !a.superuser && !a.create_role {
        return Err("the role may not create roles (it needs CREATEROLE)".into());
    }
    if a.major < MIN_MAJOR {
        return Err(format!(
            "the server runs PostgreSQL {}; tenants need {MIN_MAJOR} or newer",
            a.major
        ));
    }
    Ok(())
}

async fn ask(url: &SecretString) -> Result<Answer, String> {
    let opts = PgConnectOptions::from_str(url.expose_secret())
        .map_err(|_| "is not a usable connection URL".to_string())?
        .application_name("tenancy-server-check")
        .disable_statement_logging();
    let mut conn = PgConnection::connect_with(&opts)
        .await
        .map_err(|e| refusal(&e))?;
    let row: Result<(bool, bool, bool, i32), _> = sqlx::query_as(
        "SELECT rolsuper, rolcreatedb, rolcreaterole,
                current_setting('server_version_num')::int / 10000
         FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await;
    let _ = conn.close().await;
    let (superuser, create_db, create_role, major) = row.map_err(|e| refusal(&e))?;
    Ok(Answer {
        superuser,
        create_db,
        create_role,
        major,
    })
}

/// A fixed sentence for a driver error (see the module's comment for why).
fn refusal(e: &sqlx::Error) -> String {
    let why = match e {
        sqlx::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => "connection refused",
            ErrorKind::TimedOut => "the connection timed out",
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                "the server closed the connection"
            }
            _ => "the host could not be reached",
        },
        sqlx::Error::Tls(_) => "TLS negotiation failed",
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // invalid_password, invalid_authorization_specification
            Some("28P01" | "28000") => "the server refused the user name or password",
            // invalid_catalog_name
            Some("3D000") => "the database named in the URL does not exist",
            // too_many_connections, cannot_connect_now (starting up or shutting down)
            Some("53300" | "57P03") => "the server is not accepting connections now",
            _ => "the server refused the connection",
        },
        sqlx::Error::Configuration(_) => "the URL's connection settings are not usable",
        _ => "the server did not answer as PostgreSQL does",
    };
    format!("could not connect to the server: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(superuser: bool, create_db: bool, create_role: bool, major: i32) -> Answer {
        Answer {
            superuser,
            create_db,
            create_role,
            major,
        }
    }

    #[test]
    fn a_role_needs_createdb_and_createrole_unless_it_is_a_superuser() {
        assert!(verdict(&answer(true, false, false, 16)).is_ok());
        assert!(verdict(&answer(false, true, true, 15)).is_ok());
        let no_db = verdict(&answer(false, false, true, 16)).unwrap_err();
        assert!(no_db.contains("may not create databases"), "{no_db}");
        let no_role = verdict(&answer(false, true, false, 16)).unwrap_err();
        assert!(no_role.contains("may not create roles"), "{no_role}");
    }

    #[test]
    fn servers_older_than_15_are_refused() {
        let old = verdict(&answer(true, true, true, 14)).unwrap_err();
        assert!(old.contains("PostgreSQL 14"), "{old}");
    }
}

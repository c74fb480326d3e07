//! The server registry's operations, shared by `/v1/servers` and `control-api servers`:
//! each validates its input and answers with the server's row (never its admin URL).

use super::{ServerName, ServerState, check_admin_url, probe, seal_admin_url};
use crate::audit::{self, Action, Context, Entry};
use crate::repo::servers::{self, DbServer};
use sea_orm::{DatabaseConnection, TransactionTrait};
use secrecy::SecretString;
use serde_json::json;
use tenancy_core::crypto::Keyring;
use tenancy_core::error::FieldError;
use tenancy_core::{ApiError, ErrorCode};

/// A server to register, as the operator gave it.
pub(crate) struct NewServer<'a> {
    pub name: &'a str,
    pub host: &'a str,
    pub port: i64,
    pub admin_url: &'a SecretString,
    pub capacity: Option<i64>,
}

fn field(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into().into(),
    }
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
}

fn capacity(raw: i64, errors: &mut Vec<FieldError>) -> Option<i32> {
    let cap = i32::try_from(raw).ok().filter(|c| *c >= 0);
    if cap.is_none() {
        errors.push(field(
            "capacity",
            "must be a whole number from 0 to 2147483647",
        ));
    }
    cap
}

/// What the audit log keeps of a server: never its admin URL.
fn audited(s: &DbServer) -> serde_json::Value {
    json!({"server": s.name, "host": s.host, "port": s.port, "state": s.state, "capacity": s.capacity})
}

fn taken(name: &ServerName) -> ApiError {
    ApiError::conflict(format!("database server `{name}` already exists"))
}

/// Registers a server, `accepting`, and records `server.add`, once its admin URL has
/// connected with a role that may create databases and roles (`probe`); the row and the
/// server's PostgreSQL major version. A taken name is a 409.
pub(crate) async fn add(
    db: &DatabaseConnection,
    ctx: &Context,
    keyring: &Keyring,
    new: NewServer<'_>,
) -> Result<(DbServer, i32), ApiError> {
    let mut errors = Vec::new();
    let name = ServerName::parse(new.name)
        .map_err(|rule| errors.push(field("name", rule)))
        .ok();
    if !valid_host(new.host) {
        errors.push(field("host", "must be a host name or IP address"));
    }
    let port = u16::try_from(new.port).ok().filter(|p| *p > 0);
    if port.is_none() {
        errors.push(field("port", "must be 1 to 65535"));
    }
    if let Err(rule) = check_admin_url(new.admin_url) {
        errors.push(field("admin_url", rule));
    }
    let cap = capacity(
        new.capacity.unwrap_or(super::DEFAULT_CAPACITY.into()),
        &mut errors,
    );
    let (Some(name), Some(port), Some(cap), true) = (name, port, cap, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    // A taken name is refused before the server is asked anything (the insert below
    // still decides a race).
    if servers::find(db, name.as_str()).await?.is_some() {
        return Err(taken(&name));
    }
    let major = probe::check(new.admin_url)
        .await
        .map_err(|why| ApiError::validation(vec![field("admin_url", why)]))?;
    let sealed = seal_admin_url(keyring, name.as_str(), new.admin_url);
    let txn = db.begin().await?;
    let server = servers::insert(
        &txn,
        name.as_str(),
        new.host,
        port,
        sealed.bytes,
        sealed.key_version,
        cap,
    )
    .await
    .map_err(|e| match ApiError::from(e) {
        err if err.code == ErrorCode::Conflict => taken(&name),
        err => err,
    })?;
    let entry = Entry::new(Action::ServerAdd).changes(json!({"after": audited(&server)}));
    audit::record(&txn, ctx, entry).await?;
    txn.commit().await?;
    tracing::info!(server = %name, host = %new.host, port, capacity = cap, postgres = major, "database server registered");
    Ok((server, major))
}

/// Changes a server's state and/or capacity, and records `server.update` (drain included)
/// with before and after.
pub(crate) async fn update(
    db: &DatabaseConnection,
    ctx: &Context,
    raw_name: &str,
    state: Option<&str>,
    new_capacity: Option<i64>,
) -> Result<DbServer, ApiError> {
    let name = ServerName::parse(raw_name)
        .map_err(|_| ApiError::not_found(format!("no database server `{raw_name}`")))?;
    let mut errors = Vec::new();
    let state = match state.map(ServerState::parse) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            errors.push(field("state", e.must_be()));
            None
        }
    };
    let cap = new_capacity.and_then(|c| capacity(c, &mut errors));
    if state.is_none() && new_capacity.is_none() && errors.is_empty() {
        errors.push(field("body", "give state and/or capacity"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let missing = || ApiError::not_found(format!("no database server `{name}`"));
    let txn = db.begin().await?;
    let before = servers::find(&txn, name.as_str())
        .await?
        .ok_or_else(missing)?;
    let server = servers::update(&txn, name.as_str(), state.map(ServerState::as_str), cap)
        .await?
        .ok_or_else(missing)?;
    let changes = audit::diff(&audited(&before), &audited(&server));
    if changes["after"].as_object().is_some_and(|c| !c.is_empty()) {
        let entry = Entry::new(Action::ServerUpdate).changes(changes.clone());
        audit::record(&txn, ctx, entry.with("server", server.name.clone())).await?;
    }
    txn.commit().await?;
    tracing::info!(server = %name, state = %server.state, capacity = server.capacity, "database server changed");
    Ok(server)
}

/// One server by name, or 404.
pub(crate) async fn get(db: &DatabaseConnection, raw_name: &str) -> Result<DbServer, ApiError> {
    let missing = || ApiError::not_found(format!("no database server `{raw_name}`"));
    let name = ServerName::parse(raw_name).map_err(|_| missing())?;
    servers::find(db, name.as_str()).await?.ok_or_else(missing)
}

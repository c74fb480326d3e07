//! The audit log: one append-only row per control-plane change, written by `record` on the
//! transaction that makes the change, so a change without its entry (or the reverse) never
//! commits. Who (`Context`: the actor, the request id, the client address), what (`Action`)
//! and to which tenant, with the changed fields before and after (`Entry`). The database
//! refuses to change or delete a row (see the migration `create_audit_log`).
//!
//! A new operation: add an `Action` (its name is `resource.verb`), take a `Context` in the
//! registry function, and `record` an `Entry` before the commit.

use crate::auth::SuperAdmin;
use crate::repo::tenants::Tenant;
use actix_web::{HttpMessage, HttpRequest};
use chrono::{DateTime, FixedOffset, NaiveDate};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use serde_json::{Map, Value, json};
use tenancy_core::observability::RequestIdValue;
use uuid::Uuid;

/// What was done. The names are the API's (`action` in `GET /v1/audit`); never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AuthLogin,
    AuthLoginFailed,
    TenantCreate,
    TenantUpdate,
    TenantSuspend,
    TenantActivate,
    TenantRetry,
    TenantDelete,
    TenantPurge,
    TenantMove,
    TenantBackup,
    TenantRestore,
    ServerAdd,
    ServerUpdate,
    AdminCreate,
    AdminReset,
}

impl Action {
    pub const ALL: [Action; 16] = [
        Action::AuthLogin,
        Action::AuthLoginFailed,
        Action::TenantCreate,
        Action::TenantUpdate,
        Action::TenantSuspend,
        Action::TenantActivate,
        Action::TenantRetry,
        Action::TenantDelete,
        Action::TenantPurge,
        Action::TenantMove,
        Action::TenantBackup,
        Action::TenantRestore,
        Action::ServerAdd,
        Action::ServerUpdate,
        Action::AdminCreate,
        Action::AdminReset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::AuthLogin => "auth.login",
            Action::AuthLoginFailed => "auth.login_failed",
            Action::TenantCreate => "tenant.create",
            Action::TenantUpdate => "tenant.update",
            Action::TenantSuspend => "tenant.suspend",
            Action::TenantActivate => "tenant.activate",
            Action::TenantRetry => "tenant.retry",
            Action::TenantDelete => "tenant.delete",
            Action::TenantPurge => "tenant.purge",
            Action::TenantMove => "tenant.move",
            Action::TenantBackup => "tenant.backup",
            Action::TenantRestore => "tenant.restore",
            Action::ServerAdd => "server.add",
            Action::ServerUpdate => "server.update",
            Action::AdminCreate => "admin.create",
            Action::AdminReset => "admin.reset",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// Who made a change and from where.
#[derive(Debug, Clone)]
pub struct Context {
    /// An admin's email, `cli` or `system`.
    pub actor: String,
    pub request_id: Option<String>,
    /// Behind a trusted proxy, the address it vouches for (`tenancy_core::forwarded`).
    pub client_addr: Option<String>,
}

impl Context {
    /// A request made by `actor` (an email; on a failed login, the one attempted).
    pub fn request(req: &HttpRequest, actor: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            request_id: req
                .extensions()
                .get::<RequestIdValue>()
                .map(|id| id.0.clone()),
            client_addr: Some(tenancy_core::forwarded::client_ip(req).to_string()),
        }
    }

    /// A request made by an authenticated super-admin.
    pub fn admin(req: &HttpRequest, admin: &SuperAdmin) -> Self {
        Self::request(req, admin.email.clone())
    }

    /// The `control-api` command line, run by whoever has the server's environment.
    pub fn cli() -> Self {
        Self::named("cli")
    }

    /// The platform itself (reconciler, jobs).
    pub fn system() -> Self {
        Self::named("system")
    }

    fn named(actor: &str) -> Self {
        Self {
            actor: actor.to_string(),
            request_id: None,
            client_addr: None,
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Entry {
    pub action: Action,
    pub tenant_id: Option<Uuid>,
    pub tenant_slug: Option<String>,
    /// `{"before": {..}, "after": {..}}` of the changed fields, plus what identifies the
    /// change (`job_id`, `email`). Never a secret: see `SECRET_WORDS`.
    pub changes: Value,
}

impl Entry {
    pub fn new(action: Action) -> Self {
        Self {
            action,
            tenant_id: None,
            tenant_slug: None,
            changes: json!({}),
        }
    }

    /// A change to `tenant`.
    pub fn tenant(action: Action, tenant: &Tenant) -> Self {
        Self {
            tenant_id: Some(tenant.id),
            tenant_slug: Some(tenant.slug.clone()),
            ..Self::new(action)
        }
    }

    /// A status change of a tenant, from `before` to `after`.
    pub fn status(action: Action, before: &Tenant, after: &Tenant) -> Self {
        Self::tenant(action, after).changes(diff(
            &json!({"status": before.status.as_str()}),
            &json!({"status": after.status.as_str()}),
        ))
    }

    pub fn changes(mut self, changes: Value) -> Self {
        self.changes = changes;
        self
    }

    /// Adds one top-level field to `changes` (such as the job a change queued).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Value::Object(map) = &mut self.changes {
            map.insert(key.to_string(), value.into());
        }
        self
    }
}

/// `{"before": {..}, "after": {..}}` of the fields of two flat objects whose values differ;
/// both empty when nothing changed.
pub fn diff(before: &Value, after: &Value) -> Value {
    let (mut was, mut now) = (Map::new(), Map::new());
    if let (Value::Object(b), Value::Object(a)) = (before, after) {
        for (key, new) in a {
            let old = b.get(key).unwrap_or(&Value::Null);
            if old != new {
                was.insert(key.clone(), old.clone());
                now.insert(key.clone(), new.clone());
            }
        }
    }
    json!({"before": was, "after": now})
}

/// Keys dropped from `changes` wherever they appear: a last line of defence, since every
/// caller already builds `changes` by hand from non-secret fields.
const SECRET_WORDS: [&str; 5] = ["password", "hash", "sealed", "secret", "token"];

fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| {
                let k = k.to_ascii_lowercase();
                !SECRET_WORDS.iter().any(|w| k.contains(w))
            });
            map.values_mut().for_each(scrub);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

/// A `since` bound: RFC 3339 (`2026-12-06T09:30:00Z`), or a date (`2026-12-06`) meaning
/// its midnight UTC.
pub fn parse_since(raw: &str) -> Result<DateTime<FixedOffset>, &'static str> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().fixed_offset())
        .ok_or("must be an RFC 3339 time (2026-12-06T09:30:00Z) or a date (2026-12-06)")
}

/// Appends `entry`, on the connection or transaction that makes the change.
#[tracing::instrument(skip_all, fields(audit.action = entry.action.as_str()))]
pub async fn record(db: &impl ConnectionTrait, ctx: &Context, entry: Entry) -> Result<(), DbErr> {
    let mut changes = entry.changes;
    scrub(&mut changes);
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO audit_log (actor, action, tenant_id, tenant_slug, request_id, client_addr, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            ctx.actor.clone().into(),
            entry.action.as_str().into(),
            entry.tenant_id.into(),
            entry.tenant_slug.into(),
            ctx.request_id.clone().into(),
            ctx.client_addr.clone().into(),
            changes.into(),
        ],
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses_back_from_its_name() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Action::parse("tenant.explode"), None);
    }

    #[test]
    fn since_is_a_time_or_a_date() {
        assert_eq!(
            parse_since("2026-12-06").map(|t| t.to_rfc3339()),
            Ok("2026-12-06T00:00:00+00:00".to_string())
        );
        assert!(parse_since("2026-12-06T09:30:00+01:00").is_ok());
        for bad in ["yesterday", "2026-13-01", "2026-12-06T25:00:00Z", ""] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn diff_keeps_only_changed_fields() {
        let d = diff(
            &json!({"name": "A", "plan": "pro"}),
            &json!({"name": "B", "plan": "pro"}),
        );
        assert_eq!(d, json!({"before": {"name": "A"}, "after": {"name": "B"}}));
    }

    #[test]
    fn secrets_are_scrubbed_at_any_depth() {
        let mut v = json!({"email": "a@b.c", "admin_password": "x",
                           "after": {"db_password_sealed": "y", "password_hash": "z", "name": "n"},
                           "list": [{"access_token": "t"}]});
        scrub(&mut v);
        assert_eq!(
            v,
            json!({"email": "a@b.c", "after": {"name": "n"}, "list": [{}]})
        );
    }
}

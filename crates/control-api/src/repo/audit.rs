//! Reading the audit log (`crate::audit::record` writes it), newest first.

use chrono::{DateTime, FixedOffset};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, FromQueryResult, Statement, Value};
use uuid::Uuid;

/// One audit row.
#[derive(Debug, FromQueryResult)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: DateTime<FixedOffset>,
    pub actor: String,
    pub action: String,
    pub tenant_id: Option<Uuid>,
    pub tenant_slug: Option<String>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub changes: serde_json::Value,
}

/// What to list; `None` matches everything.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub tenant_slug: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<FixedOffset>>,
}

impl Filter {
    /// The `WHERE` clause and its values, numbered from `$1`.
    fn sql(&self) -> (String, Vec<Value>) {
        let mut clauses = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut add = |clause: &str, value: Value| {
            values.push(value);
            clauses.push(clause.replace('?', &format!("${}", values.len())));
        };
        if let Some(slug) = &self.tenant_slug {
            add("tenant_slug = ?", slug.clone().into());
        }
        if let Some(actor) = &self.actor {
            add("actor = ?", actor.clone().into());
        }
        if let Some(action) = &self.action {
            add("action = ?", action.clone().into());
        }
        if let Some(since) = self.since {
            add("at >= ?", since.into());
        }
        let clause = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (clause, values)
    }
}

/// One page of entries, newest first, and the total matching.
#[tracing::instrument(skip_all)]
pub(crate) async fn list(
    db: &impl ConnectionTrait,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AuditRow>, i64), DbErr> {
    let (clause, values) = filter.sql();
    let total = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT count(*) AS total FROM audit_log {clause}"),
            values.clone(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "total"))
        .transpose()?
        .unwrap_or(0);
    let n = values.len();
    let mut page_values = values;
    page_values.push(limit.into());
    page_values.push(offset.into());
    let rows = AuditRow::find_by_statement(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "SELECT id, at, actor, action, tenant_id, tenant_slug, request_id, client_addr, changes
             FROM audit_log {clause} ORDER BY at DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        page_values,
    ))
    .all(db)
    .await?;
    Ok((rows, total))
}

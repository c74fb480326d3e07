//! `GET /v1/audit?tenant=&actor=&action=&since=&page=&per_page=`: the audit log, newest
//! first; paging is the shared `PageQuery`.

use crate::audit::{self, Action};
use crate::auth::SuperAdmin;
use crate::repo::audit::{self as repo, AuditRow, Filter};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use tenancy_core::ApiError;
use tenancy_core::domain::{MAX_EMAIL_LEN, TenantSlug, text};
use tenancy_core::error::FieldError;
use tenancy_core::http::page::{Page, PageQuery};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only entries about the tenant with this slug (a slug reused after a purge matches
    /// both tenants' entries; `tenant_id` tells them apart).
    #[param(min_length = 3, max_length = 50, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    pub tenant: Option<String>,
    /// Only entries by this actor: an admin's email, `cli` or `system`.
    #[param(max_length = 254)]
    pub actor: Option<String>,
    /// Only entries of this action, such as `tenant.suspend`.
    #[param(example = "tenant.suspend")]
    pub action: Option<String>,
    /// Only entries at or after this time: RFC 3339 (`2026-12-06T09:30:00Z`) or a date
    /// (`2026-12-06`, midnight UTC).
    #[param(example = "2026-12-06T09:30:00Z")]
    pub since: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: DateTime<FixedOffset>,
    /// An admin's email, `cli`, `system`, or on `auth.login_failed` the email attempted
    /// (`anonymous` when it was not an address).
    pub actor: String,
    #[schema(example = "tenant.update")]
    pub action: String,
    pub tenant_id: Option<Uuid>,
    pub tenant_slug: Option<String>,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    /// `{"before": {..}, "after": {..}}` of the changed fields (and, for a queued job, its
    /// `job_id`); never a secret.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

impl From<AuditRow> for AuditEntryView {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            tenant_id: r.tenant_id,
            tenant_slug: r.tenant_slug,
            request_id: r.request_id,
            client_addr: r.client_addr,
            changes: r.changes,
        }
    }
}

fn field(field: &'static str, message: impl Into<Cow<'static, str>>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// Every parameter is checked, and every bad one reported at once.
fn filter(q: &AuditQuery) -> Result<Filter, ApiError> {
    let given = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    let mut errors = Vec::new();
    let tenant_slug = given(&q.tenant);
    if let Some(Err(e)) = tenant_slug.as_deref().map(TenantSlug::parse) {
        errors.push(field("tenant", e.to_string()));
    }
    let actor = given(&q.actor);
    if actor
        .as_deref()
        .is_some_and(|a| a.chars().count() > MAX_EMAIL_LEN || !text::storable(a))
    {
        errors.push(field(
            "actor",
            "must be at most 254 characters, without NUL",
        ));
    }
    let action = given(&q.action);
    if action
        .as_deref()
        .is_some_and(|a| Action::parse(a).is_none())
    {
        let names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        errors.push(field(
            "action",
            format!("must be one of {}", names.join(", ")),
        ));
    }
    let since = match given(&q.since).as_deref().map(audit::parse_since) {
        Some(Err(msg)) => {
            errors.push(field("since", msg));
            None
        }
        Some(Ok(t)) => Some(t),
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(Filter {
        tenant_slug,
        actor,
        action,
        since,
    })
}

/// Lists audit entries, newest first.
#[utoipa::path(
    operation_id = "list_audit",
    params(AuditQuery, PageQuery),
    responses((status = 200, body = Page<AuditEntryView>)),
    security(("bearer" = [])),
    tag = "audit"
)]
#[get("/v1/audit")]
#[tracing::instrument(skip_all)]
pub async fn list(
    _admin: SuperAdmin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
    paging: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let filter = filter(&query)?;
    let (rows, total) = repo::list(&state.db, &filter, paging.offset(), paging.per_page).await?;
    let items = rows.into_iter().map(AuditEntryView::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(items, paging, total)))
}

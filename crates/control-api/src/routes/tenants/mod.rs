//! The tenant registry's routes.

pub mod backups;
pub mod create;
pub mod delete;
pub mod get;
pub mod jobs;
pub mod lifecycle;
pub mod list;
pub mod moves;
pub mod update;

use crate::repo::tenants;
use crate::state::AppState;
use tenancy_core::domain::TenantSlug;
use tenancy_core::{ApiError, ErrorCode};

/// Parses a slug from a path or body; a bad one is answered before any SQL runs.
pub(crate) fn parse_slug(raw: &str) -> Result<TenantSlug, ApiError> {
    TenantSlug::parse(raw).map_err(|e| ApiError::new(ErrorCode::InvalidTenantSlug, e.to_string()))
}

/// The tenant named by a path slug, or `tenant_not_found`.
pub(crate) async fn load(state: &AppState, raw_slug: &str) -> Result<tenants::Tenant, ApiError> {
    let slug = parse_slug(raw_slug)?;
    tracing::Span::current().record("tenant.slug", slug.as_str());
    tenants::find_by_slug(&state.db, slug.as_str())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::TenantNotFound, format!("no tenant `{slug}`")))
}

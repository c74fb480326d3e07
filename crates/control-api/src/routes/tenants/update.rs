//! `PATCH /v1/tenants/{slug}`: name, plan and feature overrides.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry::{self, TenantEdit};
use crate::routes::views::TenantView;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::domain::{FeatureChanges, FeatureChangesSchema, Plan};
use tenancy_core::error::FieldError;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(value_type = Option<Plan>)]
    pub plan: Option<String>,
    /// Per-tenant feature overrides: `true`/`false` set one, `null` removes it (the plan's
    /// default applies again). An unknown name is refused.
    #[schema(value_type = Option<FeatureChangesSchema>)]
    pub features: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Renames a tenant, changes its plan, or sets and removes its feature overrides. A change
/// reaches every app-api replica within seconds.
#[utoipa::path(
    operation_id = "update_tenant",
    params(("slug" = String, Path)),
    request_body = UpdateTenant,
    responses((status = 200, body = TenantView), (status = 404), (status = 422)),
    security(("bearer" = [])),
    tag = "tenants"
)]
#[patch("/v1/tenants/{slug}")]
#[tracing::instrument(skip_all, fields(tenant.slug = tracing::field::Empty))]
pub async fn update(
    admin: SuperAdmin,
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<UpdateTenant>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let name = body.name.as_deref().map(str::trim);
    if name.is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NAME_CHARS) {
        errors.push(FieldError {
            field: "name".into(),
            message: "must be 1 to 200 characters".into(),
        });
    }
    errors.extend(name.and_then(|n| text::unstorable("name", n)));
    let plan = match body.plan.as_deref().map(Plan::parse) {
        Some(Err(e)) => {
            errors.push(FieldError {
                field: "plan".into(),
                message: e.must_be().into(),
            });
            None
        }
        parsed => parsed.and_then(Result::ok),
    };
    let features = match body.features.as_ref().map(FeatureChanges::parse) {
        Some(Err(bad)) => {
            errors.extend(bad);
            FeatureChanges::default()
        }
        parsed => parsed.and_then(Result::ok).unwrap_or_default(),
    };
    if name.is_none() && body.plan.is_none() && body.features.is_none() {
        errors.push(FieldError {
            field: "body".into(),
            message: "give name, plan and/or features".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let tenant = super::load(&state, &path).await?;
    let ctx = audit::Context::admin(&req, &admin);
    let edit = TenantEdit {
        name: name.map(str::to_string),
        plan,
        features,
    };
    let (updated, _changes) = registry::update(&state, &ctx, &tenant, edit).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(&updated)))
}

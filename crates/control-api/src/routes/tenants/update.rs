//! `PATCH /v1/tenants/{slug}`: name and plan.

use crate::audit;
use crate::auth::SuperAdmin;
use crate::registry;
use crate::routes::views::TenantView;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, patch, web};
use serde::Deserialize;
use tenancy_core::ApiError;
use tenancy_core::domain::Plan;
use tenancy_core::domain::text::{self, MAX_NAME_CHARS};
use tenancy_core::error::FieldError;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(value_type = Option<Plan>)]
    pub plan: Option<String>,
}

/// Renames a tenant or changes its plan.
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
    let plan = match body.plan.as_deref() {
        None => None,
        Some(raw) => {
            let plan = Plan::parse(raw).ok();
            if plan.is_none() {
                errors.push(FieldError {
                    field: "plan".into(),
                    message: "must be one of free, pro, enterprise".into(),
                });
            }
            plan
        }
    };
    if name.is_none() && body.plan.is_none() {
        errors.push(FieldError {
            field: "body".into(),
            message: "give name and/or plan".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let tenant = super::load(&state, &path).await?;
    let ctx = audit::Context::admin(&req, &admin);
    let updated = registry::update(&state, &ctx, &tenant, name, plan).await?;
    Ok(HttpResponse::Ok().json(TenantView::from(&updated)))
}

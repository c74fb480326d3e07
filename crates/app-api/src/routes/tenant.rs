//! `GET /v1/tenant`: the resolved tenant as its own users may see it (never its database).

use crate::auth::AuthUser;
use crate::tenancy::Tenant;
use actix_web::{HttpResponse, get};
use serde::Serialize;
use tenancy_core::ApiError;
use tenancy_core::domain::{Features, Plan};
use utoipa::ToSchema;

/// The tenant a request resolved to.
#[derive(Serialize, ToSchema)]
pub(crate) struct TenantInfo {
    pub slug: String,
    pub name: String,
    pub plan: Plan,
    /// Every feature of the catalogue, on or off: the plan's default unless the operator
    /// overrode it. A change reaches every replica within seconds.
    pub features: Features,
}

/// The resolved tenant's slug, name, plan and effective features, so an app can show or
/// hide what the tenant may use. Any signed-in user of the tenant may read it (like every
/// other `/v1` route it needs a token: who pays for what is not for anonymous callers).
#[utoipa::path(operation_id = "get_tenant", responses((status = 200, body = TenantInfo)), security(("bearer" = [])), tag = "tenant")]
#[get("/tenant")]
#[tracing::instrument(skip_all)]
pub(crate) async fn get(tenant: Tenant, _user: AuthUser) -> Result<HttpResponse, ApiError> {
    let record = &tenant.record;
    Ok(HttpResponse::Ok().json(TenantInfo {
        slug: record.slug.clone(),
        name: record.name.clone(),
        plan: record.plan,
        features: record.features.clone(),
    }))
}

//! `GET /openapi.json`, generated from the handlers' annotations.

use actix_web::http::Method;
use actix_web::{HttpResponse, get};
use tenancy_core::http::allow::KnownRoutes;
use tenancy_core::http::openapi::{BearerAuth, ProblemResponses};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "control-api", description = "Super-admin API over the tenant registry."),
    paths(
        super::auth::login::login,
        super::tenants::create::create,
        super::tenants::list::list,
        super::tenants::get::get,
        super::tenants::update::update,
        super::tenants::lifecycle::suspend,
        super::tenants::lifecycle::activate,
        super::tenants::lifecycle::provision,
        super::tenants::delete::delete,
        super::tenants::jobs::for_tenant,
        super::tenants::jobs::get,
        tenancy_core::http::health::live,
        super::health::ready,
        super::metrics::metrics,
    ),
    modifiers(&BearerAuth, &ProblemResponses)
)]
pub struct ApiDoc;

/// The methods each served path takes, for the 405 fallback.
pub(crate) fn known_routes() -> KnownRoutes {
    KnownRoutes::from_openapi(&ApiDoc::openapi(), &[("/openapi.json", Method::GET)])
}

/// The OpenAPI 3 document.
#[get("/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

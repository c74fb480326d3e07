//! `GET /openapi.json`, generated from the handlers' annotations.

use actix_web::http::Method;
use actix_web::{HttpResponse, get};
use tenancy_core::http::allow::KnownRoutes;
use tenancy_core::http::openapi::{BearerAuth, TenantProblemResponses};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "app-api", description = "The multi-tenant helpdesk API. Name the tenant with X-Tenant-Slug, a subdomain (acme.<APP_DOMAIN>) or the path prefix /t/{slug}: every /v1 route below is also served as /t/{slug}/v1/... . Sources naming different tenants are 400 ambiguous_tenant. Forwarded / X-Forwarded-* headers count only from TRUSTED_PROXIES. A token stops working when its user's password changes or the user is deactivated."),
    paths(
        super::auth::login::login,
        super::users::me::me,
        super::users::list::list,
        super::users::create::create,
        super::users::update::update,
        super::tickets::list::list,
        super::tickets::create::create,
        super::tickets::get::get,
        super::tickets::update::update,
        super::tickets::delete::delete,
        super::comments::list,
        super::comments::create,
        tenancy_core::http::health::live,
        super::health::ready,
        super::metrics::metrics,
    ),
    modifiers(&V1Prefix, &BearerAuth, &TenantProblemResponses)
)]
pub struct ApiDoc;

/// Handlers are mounted in the `/v1` scope; their annotations carry the inner path.
struct V1Prefix;

impl Modify for V1Prefix {
    fn modify(&self, doc: &mut Document) {
        let paths = std::mem::take(&mut doc.paths.paths);
        for (path, item) in paths {
            let full = if path.starts_with("/health") || path == "/metrics" {
                path
            } else {
                format!("/v1{path}")
            };
            doc.paths.paths.insert(full, item);
        }
    }
}

/// The methods each served path takes, for the 405 fallback.
pub(crate) fn known_routes() -> KnownRoutes {
    KnownRoutes::from_openapi(&ApiDoc::openapi(), &[("/openapi.json", Method::GET)])
}

/// The OpenAPI 3 document; paths under `/v1` as served.
#[get("/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

//! `GET /openapi.json`, generated from the handlers' annotations.

use actix_web::{HttpResponse, get};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "app-api", description = "The multi-tenant helpdesk API. Name the tenant with X-Tenant-Slug or a subdomain."),
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
        super::health::live,
        super::health::ready,
        super::metrics::metrics,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The OpenAPI 3 document; paths under `/v1` as served.
#[get("/openapi.json")]
pub async fn spec() -> HttpResponse {
    let mut doc = ApiDoc::openapi();
    // Handlers are mounted in the `/v1` scope; their annotations carry the inner path.
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, item) in paths {
        let full = if path.starts_with("/health") || path == "/metrics" {
            path
        } else {
            format!("/v1{path}")
        };
        doc.paths.paths.insert(full, item);
    }
    HttpResponse::Ok().json(doc)
}

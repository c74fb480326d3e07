//! `GET /openapi.json`, generated from the handlers' annotations.

use actix_web::{HttpResponse, get};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
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
        super::health::live,
        super::health::ready,
        super::metrics::metrics,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The OpenAPI 3 document.
#[get("/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

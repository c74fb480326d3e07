//! `GET /openapi.json`, generated from the handlers' annotations.

use actix_web::http::Method;
use actix_web::{HttpResponse, get};
use tenancy_core::http::allow::KnownRoutes;
use tenancy_core::http::openapi::{BearerAuth, ProblemResponses, SlugParameters};
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
        super::audit::list::list,
        super::tenants::backups::create,
        super::tenants::backups::list,
        super::tenants::backups::restore,
        super::tenants::moves::move_tenant,
        super::servers::read::list,
        super::servers::read::get,
        super::servers::create::create,
        super::servers::update::update,
        tenancy_core::http::health::live,
        super::health::ready,
        super::metrics::metrics,
    ),
    modifiers(&BearerAuth, &ProblemResponses, &SlugParameters)
)]
pub struct ApiDoc;

/// The methods each served path takes, for the 405 check: the document's, itself, and the
/// console's page and files (HTML and assets for a browser, not API operations, so they
/// are left out of the document).
pub(crate) fn known_routes() -> KnownRoutes {
    KnownRoutes::from_openapi(
        &ApiDoc::openapi(),
        &[
            ("/openapi.json", Method::GET),
            ("/console", Method::GET),
            ("/console/{asset}", Method::GET),
        ],
    )
}

/// The OpenAPI 3 document.
#[get("/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::name::MAX_SERVER_NAME_LEN;
    use tenancy_core::domain::text::MAX_NAME_CHARS;
    use tenancy_core::domain::{MAX_EMAIL_LEN, MAX_SLUG_LEN, MIN_SLUG_LEN, SLUG_PATTERN};
    use tenancy_core::password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

    /// The derive takes only literals: this keeps them equal to the limits the handlers check.
    #[test]
    fn documented_lengths_are_the_enforced_ones() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialisable");
        let schemas = &doc["components"]["schemas"];
        let len = |schema: &str, field: &str, key: &str| {
            schemas[schema]["properties"][field][key]
                .as_u64()
                .map(|n| n as usize)
        };
        for (schema, field, min, max) in [
            (
                "CreateTenant",
                "slug",
                Some(MIN_SLUG_LEN),
                Some(MAX_SLUG_LEN),
            ),
            ("CreateTenant", "name", Some(1), Some(MAX_NAME_CHARS)),
            ("UpdateTenant", "name", Some(1), Some(MAX_NAME_CHARS)),
            ("CreateTenant", "admin_email", None, Some(MAX_EMAIL_LEN)),
            ("LoginRequest", "email", None, Some(MAX_EMAIL_LEN)),
            (
                "CreateTenant",
                "admin_password",
                Some(MIN_PASSWORD_LEN),
                Some(MAX_PASSWORD_LEN),
            ),
            ("LoginRequest", "password", None, Some(MAX_PASSWORD_LEN)),
            ("CreateServer", "name", Some(1), Some(MAX_SERVER_NAME_LEN)),
            ("CreateTenant", "server", Some(1), Some(MAX_SERVER_NAME_LEN)),
        ] {
            assert_eq!(len(schema, field, "minLength"), min, "{schema}.{field}");
            assert_eq!(len(schema, field, "maxLength"), max, "{schema}.{field}");
        }
        assert_eq!(
            schemas["CreateTenant"]["properties"]["slug"]["pattern"],
            SLUG_PATTERN
        );
        // Every `{slug}` in a path is documented as a slug.
        let mut slugs = 0;
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("path item").values() {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    if param["name"] == "slug" {
                        assert_eq!(param["schema"]["pattern"], SLUG_PATTERN, "{param}");
                        slugs += 1;
                    }
                }
            }
        }
        assert!(slugs >= 7, "{slugs} slug parameters");
    }

    /// The feature names are in the document, so clients (and schemathesis) know them.
    #[test]
    fn every_feature_is_documented_by_name() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialisable");
        let schemas = &doc["components"]["schemas"];
        let update = serde_json::to_string(&schemas["UpdateTenant"]["properties"]["features"])
            .expect("text");
        assert!(
            update.contains("#/components/schemas/FeatureChanges"),
            "{update}"
        );
        for (schema, field) in [
            ("TenantView", "features"),
            ("TenantView", "feature_overrides"),
        ] {
            let prop = &schemas[schema]["properties"][field]["$ref"];
            assert!(
                prop.as_str()
                    .is_some_and(|r| r.starts_with("#/components/schemas/Feature")),
                "{schema}.{field}: {prop}"
            );
        }
        for name in tenancy_core::domain::Feature::TEXTS {
            for schema in ["FeatureChanges", "Features", "FeatureOverrides"] {
                assert!(
                    schemas[schema]["properties"][name].is_object(),
                    "{schema} lacks {name}"
                );
            }
        }
    }
}

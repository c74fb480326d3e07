//! `GET /openapi.json`, generated from the handlers' annotations.

use actix_web::http::Method;
use actix_web::{HttpResponse, get};
use tenancy_core::http::allow::KnownRoutes;
use tenancy_core::http::openapi::{BearerAuth, SlugParameters, TenantProblemResponses};
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "app-api", description = "The multi-tenant helpdesk API. Name the tenant with X-Tenant-Slug, a subdomain (acme.<APP_DOMAIN>) or the path prefix /t/{slug}: every /v1 route below is also served as /t/{slug}/v1/... . Sources naming different tenants are 400 ambiguous_tenant. Forwarded / X-Forwarded-* headers count only from TRUSTED_PROXIES. A token stops working when its user's password changes or the user is deactivated."),
    paths(
        super::auth::login::login,
        super::tenant::get,
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
    modifiers(&V1Prefix, &BearerAuth, &TenantProblemResponses, &SlugParameters)
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

/// The methods each served path takes, for the 405 check.
pub(crate) fn known_routes() -> KnownRoutes {
    KnownRoutes::from_openapi(&ApiDoc::openapi(), &[("/openapi.json", Method::GET)])
}

/// The OpenAPI 3 document; paths under `/v1` as served.
#[get("/openapi.json")]
pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::comments::MAX_COMMENT_CHARS;
    use crate::routes::tickets::MAX_DESCRIPTION_CHARS;
    use serde_json::Value;
    use tenancy_core::domain::text::MAX_NAME_CHARS;
    use tenancy_core::domain::{MAX_EMAIL_LEN, MAX_SLUG_LEN, SLUG_PATTERN};
    use tenancy_core::password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

    /// The derive takes only literals: this keeps them equal to the limits the handlers check.
    #[test]
    fn documented_lengths_are_the_enforced_ones() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialisable");
        let prop = |schema: &str, field: &str| -> Value {
            doc["components"]["schemas"][schema]["properties"][field].clone()
        };
        let len = |schema: &str, field: &str, key: &str| {
            prop(schema, field)[key].as_u64().map(|n| n as usize)
        };
        let max = MAX_NAME_CHARS;
        for (schema, field, min, max) in [
            ("CreateTicket", "title", Some(1), Some(max)),
            ("UpdateTicket", "title", Some(1), Some(max)),
            (
                "CreateTicket",
                "description",
                None,
                Some(MAX_DESCRIPTION_CHARS),
            ),
            (
                "UpdateTicket",
                "description",
                None,
                Some(MAX_DESCRIPTION_CHARS),
            ),
            ("CreateComment", "body", Some(1), Some(MAX_COMMENT_CHARS)),
            ("CreateUser", "name", Some(1), Some(max)),
            ("UpdateUser", "name", Some(1), Some(max)),
            ("CreateUser", "email", None, Some(MAX_EMAIL_LEN)),
            ("LoginRequest", "email", None, Some(MAX_EMAIL_LEN)),
            (
                "CreateUser",
                "password",
                Some(MIN_PASSWORD_LEN),
                Some(MAX_PASSWORD_LEN),
            ),
            (
                "UpdateUser",
                "password",
                Some(MIN_PASSWORD_LEN),
                Some(MAX_PASSWORD_LEN),
            ),
            ("LoginRequest", "password", None, Some(MAX_PASSWORD_LEN)),
        ] {
            assert_eq!(len(schema, field, "minLength"), min, "{schema}.{field}");
            assert_eq!(len(schema, field, "maxLength"), max, "{schema}.{field}");
        }
        let header = doc["paths"]["/v1/auth/login"]["post"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "X-Tenant-Slug"))
            .expect("the login's tenant header")
            .clone();
        assert_eq!(header["schema"]["pattern"], SLUG_PATTERN);
        assert_eq!(header["schema"]["maxLength"], MAX_SLUG_LEN);
    }
}

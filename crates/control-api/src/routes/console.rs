//! `GET /console` and `GET /console/{asset}`: the operator console, a single page written
//! as plain ES modules and CSS (in `crates/control-api/console/`) compiled into the binary
//! with `include_str!`, so there is no CDN, no second server and no build step besides
//! cargo. The page talks to this service's own `/v1` JSON routes with the super-admin's
//! bearer token; it has no privileges of its own, so it is served without authentication.
//! `docs/CONSOLE.md` explains the choice.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, get, web};
use tenancy_core::ApiError;

/// Nothing but this origin's own files and API: no inline script or style, no frames.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($name:literal, $type:expr) => {
        ($name, $type, include_str!(concat!("../../console/", $name)))
    };
}

/// Every file the page loads: (name under `/console/`, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("jobs.js", JS),
    asset!("login.js", JS),
    asset!("tenants.js", JS),
    asset!("create.js", JS),
    asset!("tenant.js", JS),
    asset!("servers.js", JS),
    asset!("audit.js", JS),
    asset!("backups.js", JS),
    asset!("style.css", CSS),
    asset!("favicon.svg", SVG),
];

const INDEX: &str = include_str!("../../console/index.html");

/// One file with the headers every console response carries. `no-cache` makes the browser
/// revalidate, so a new binary's page is never mixed with an old one's modules.
fn serve(content_type: &'static str, body: &'static str) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.content_type(content_type)
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    res.body(body)
}

/// The console's page; everything after `#` is the page's own routing.
#[get("/console")]
pub async fn index() -> HttpResponse {
    serve(HTML, INDEX)
}

/// One of the page's scripts, its stylesheet or its icon.
#[get("/console/{asset}")]
pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    ASSETS
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .map(|(_, content_type, body)| serve(content_type, body))
        .ok_or_else(|| ApiError::not_found("no such console file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module the page imports but the binary does not serve would break the page only
    /// in a browser; this finds it at `cargo test`.
    #[test]
    fn every_imported_module_is_served() {
        for (name, _, body) in ASSETS.iter().filter(|(n, _, _)| n.ends_with(".js")) {
            for line in body.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .split(['"', '\''])
                    .nth(1)
                    .and_then(|s| s.strip_prefix("./"));
                let served = target.is_some_and(|t| ASSETS.iter().any(|(n, _, _)| *n == t));
                assert!(served, "{name}: {line}");
            }
        }
        for needed in ["/console/app.js", "/console/style.css"] {
            assert!(INDEX.contains(needed), "index.html lacks {needed}");
        }
    }
}

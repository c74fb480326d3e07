//! HTTP routes: `routes/<resource>/<action>.rs` extract, call, map.

pub mod auth;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod tenants;
pub mod views;

use actix_web::web;
use tenancy_core::error::{json_error, path_error, query_error};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Registers every route and the extractor error mappings.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| json_error(err).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _| query_error(err).into()))
    .app_data(web::PathConfig::default().error_handler(|err, _| path_error(err).into()))
    .app_data(web::Data::new(openapi::known_routes()))
    .service(tenancy_core::http::health::live)
    .service(health::ready)
    .service(metrics::metrics)
    .service(openapi::spec)
    .service(auth::login::login)
    .service(tenants::create::create)
    .service(tenants::list::list)
    .service(tenants::get::get)
    .service(tenants::update::update)
    .service(tenants::lifecycle::suspend)
    .service(tenants::lifecycle::activate)
    .service(tenants::lifecycle::provision)
    .service(tenants::delete::delete)
    .service(tenants::jobs::for_tenant)
    .service(tenants::jobs::get);
}

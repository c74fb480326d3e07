//! HTTP routes: `routes/<resource>/<action>.rs` extract, call, map.

pub mod audit;
pub mod auth;
pub mod console;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod servers;
pub mod tenants;
pub mod views;

use actix_web::web;

/// Registers this plane's routes; liveness and the extractor error mappings are the
/// shared layer's (`tenancy_core::http::server`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(openapi::known_routes()))
        .service(health::ready)
        .service(metrics::metrics)
        .service(openapi::spec)
        .service(console::index)
        .service(console::asset)
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
        .service(tenants::jobs::get)
        .service(audit::list::list)
        .service(tenants::backups::create)
        .service(tenants::backups::list)
        .service(tenants::backups::restore)
        .service(tenants::moves::move_tenant)
        .service(servers::read::list)
        .service(servers::read::get)
        .service(servers::create::create)
        .service(servers::update::update);
}

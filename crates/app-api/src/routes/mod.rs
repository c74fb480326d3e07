//! HTTP routes: operations at the root, the helpdesk under `/v1` behind tenant resolution.

pub mod auth;
pub mod comments;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod tickets;
pub mod users;

use crate::tenancy::resolve::resolve_tenant;
use actix_web::middleware::from_fn;
use actix_web::web;
use tenancy_core::error::{json_error, path_error, query_error};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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
    .service(
        web::scope("/v1")
            .wrap(from_fn(resolve_tenant))
            .service(auth::login::login)
            .service(users::me::me)
            .service(users::list::list)
            .service(users::create::create)
            .service(users::update::update)
            .service(tickets::list::list)
            .service(tickets::create::create)
            .service(tickets::get::get)
            .service(tickets::update::update)
            .service(tickets::delete::delete)
            .service(comments::list)
            .service(comments::create),
    );
}

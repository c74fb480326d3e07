//! HTTP routes: operations at the root, the helpdesk under `/v1` behind tenant resolution.

pub mod auth;
pub mod comments;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod tenant;
pub mod tickets;
pub mod users;

use crate::tenancy::deadline;
use crate::tenancy::rate_limit;
use crate::tenancy::resolve::resolve_tenant;
use actix_web::middleware::from_fn;
use actix_web::web;

/// Registers this plane's routes; liveness and the extractor error mappings are the
/// shared layer's (`tenancy_core::http::server`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(openapi::known_routes()))
        .service(health::ready)
        .service(metrics::metrics)
        .service(openapi::spec)
        .service(
            web::scope("/v1")
                // The last `wrap` runs first: the tenant is resolved, then its rate checked.
                .wrap(from_fn(rate_limit::enforce))
                .wrap(from_fn(resolve_tenant))
                // Outermost, so resolution (a registry read) is inside the deadline too.
                .wrap(from_fn(deadline::enforce))
                // Tickets first: the router tries routes in this order, one regular
                // expression per templated route, and `GET /v1/tickets/{id}` is the hot
                // path. (Their paths share no prefix with the others, so order is free.)
                .service(tickets::list::list)
                .service(tickets::create::create)
                .service(tickets::get::get)
                .service(tickets::update::update)
                .service(tickets::delete::delete)
                .service(auth::login::login)
                .service(tenant::get)
                .service(users::me::me)
                .service(users::list::list)
                .service(users::create::create)
                .service(users::update::update)
                .service(comments::list)
                .service(comments::create),
        );
}

//! `GET /health/ready` (one entry per dependency).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::http::health::{Check, Readiness};

/// The control database and Redis answer.
#[utoipa::path(responses((status = 200, body = Readiness), (status = 503, body = Readiness)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (mut conn, ping) = (state.redis.clone(), redis::cmd("PING"));
    let (db, redis) = tokio::join!(
        Check::run(state.db.ping()),
        Check::run(ping.query_async::<String>(&mut conn)),
    );
    Readiness::default()
        .check("control_db", db)
        .check("redis", redis)
        .respond()
}

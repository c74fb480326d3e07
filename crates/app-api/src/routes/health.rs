//! `GET /health/ready` (control DB, Redis, pool factory).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde_json::json;
use tenancy_core::http::health::{Check, Readiness};

/// Dependencies answer; the pool factory reports its load (which never fails readiness:
/// a full budget is back-pressure, not an outage).
#[utoipa::path(operation_id = "ready", responses((status = 200, body = Readiness), (status = 503, body = Readiness)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (mut conn, ping) = (state.redis.clone(), redis::cmd("PING"));
    let (db, redis) = tokio::join!(
        Check::run(state.directory.ping()),
        Check::run(ping.query_async::<String>(&mut conn)),
    );
    let limits = &state.settings.pools;
    let pools = json!({
        "status": "ok",
        "pools": state.pools.pools(),
        "max_pools": limits.max_tenants,
        "connections": state.pools.connections(),
        "max_connections": limits.max_total,
        "budget": state.pools.budget(),
    });
    Readiness::default()
        .check("control_db", db)
        .check("redis", redis)
        .report("pool_factory", pools)
        .respond()
}

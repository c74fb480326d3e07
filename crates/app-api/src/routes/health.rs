//! `GET /health` (liveness) and `GET /health/ready` (control DB, Redis, pool factory).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct Check {
    status: &'static str,
    latency_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn check<F: std::future::Future<Output = Result<(), String>>>(fut: F) -> Check {
    let start = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(2), fut).await;
    let latency_ms = start.elapsed().as_millis();
    match outcome {
        Ok(Ok(())) => Check {
            status: "ok",
            latency_ms,
            error: None,
        },
        Ok(Err(e)) => Check {
            status: "error",
            latency_ms,
            error: Some(e),
        },
        Err(_) => Check {
            status: "error",
            latency_ms,
            error: Some("timed out".into()),
        },
    }
}

/// The process is up.
#[utoipa::path(responses((status = 200)), tag = "operations")]
#[get("/health")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Dependencies answer; the pool factory reports its load.
#[utoipa::path(responses((status = 200), (status = 503)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let db = check(state.directory.ping());
    let redis = check(async {
        let mut conn = state.redis.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let (db, redis) = tokio::join!(db, redis);
    let limits = &state.settings.pools;
    let connections = state.pools.connections();
    let pools = json!({
        "status": "ok",
        "pools": state.pools.pools(),
        "max_pools": limits.max_tenants,
        "connections": connections,
        "max_connections": limits.max_total,
        "budget": state.pools.budget(),
    });
    let healthy = db.status == "ok" && redis.status == "ok";
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "checks": {"control_db": db, "redis": redis, "pool_factory": pools},
    });
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

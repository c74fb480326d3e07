//! `GET /health` (liveness, touches nothing) and `GET /health/ready` (one entry per dependency).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    #[schema(example = "ok")]
    pub status: &'static str,
    pub latency_ms: u128,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: std::collections::BTreeMap<&'static str, Check>,
}

/// The process is up.
#[utoipa::path(responses((status = 200, body = Liveness)), tag = "operations")]
#[get("/health")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: "ok" })
}

async fn check<F, E>(fut: F) -> Check
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
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
            error: Some(e.to_string()),
        },
        Err(_) => Check {
            status: "error",
            latency_ms,
            error: Some("timed out".into()),
        },
    }
}

/// The control database and Redis answer.
#[utoipa::path(responses((status = 200, body = Readiness), (status = 503, body = Readiness)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let db = check(state.db.ping());
    let redis = check(async {
        let mut conn = state.redis.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
    });
    let (db, redis) = tokio::join!(db, redis);
    let healthy = db.status == "ok" && redis.status == "ok";
    let body = Readiness {
        status: if healthy { "ok" } else { "unavailable" },
        checks: [("control_db", db), ("redis", redis)].into_iter().collect(),
    };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

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

/// The control database and Redis answer (else 503). The tenant database server
/// (`tenant_db`) and this process's job worker (`worker`, when it runs one) are reported
/// too; while only they are down the registry still serves, so the answer is 200 with
/// status `degraded`, naming what is down.
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
    let tenant_db = check(state.provisioner.ping());
    let (db, redis, tenant_db) = tokio::join!(db, redis, tenant_db);
    let healthy = db.status == "ok" && redis.status == "ok";
    let redis_ok = redis.status == "ok";
    let mut checks: std::collections::BTreeMap<_, _> = [
        ("control_db", db),
        ("redis", redis),
        ("tenant_db", tenant_db),
    ]
    .into_iter()
    .collect();
    if let Some(mut worker) = state.worker.status() {
        if !redis_ok {
            worker = Err("Redis is unreachable".into());
        }
        let worker = check(std::future::ready(worker)).await;
        checks.insert("worker", worker);
    }
    let status = match (healthy, checks.values().all(|c| c.status == "ok")) {
        (false, _) => "unavailable",
        (true, false) => "degraded",
        (true, true) => "ok",
    };
    let body = Readiness { status, checks };
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

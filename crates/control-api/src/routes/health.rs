//! `GET /health/ready` (one entry per dependency).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use tenancy_core::http::health::{Check, Readiness};

/// The control database and Redis answer (else 503). The tenant database server
/// (`tenant_db`) and this process's job worker (`worker`, when it runs one) are reported
/// too; while only they are down the registry still serves, so the answer is 200 with
/// status `degraded`, naming what is down.
#[utoipa::path(operation_id = "ready", responses((status = 200, body = Readiness), (status = 503, body = Readiness)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (mut conn, ping) = (state.redis.clone(), redis::cmd("PING"));
    let (db, redis, tenant_db) = tokio::join!(
        Check::run(state.db.ping()),
        Check::run(ping.query_async::<String>(&mut conn)),
        Check::run(state.provisioner.ping()),
    );
    let redis_ok = redis.is_ok();
    let mut report = Readiness::default()
        .check("control_db", db)
        .check("redis", redis)
        .optional("tenant_db", tenant_db);
    if let Some(mut worker) = state.worker.status() {
        if !redis_ok {
            worker = Err("Redis is unreachable".into());
        }
        report = report.optional("worker", Check::run(std::future::ready(worker)).await);
    }
    report.respond()
}

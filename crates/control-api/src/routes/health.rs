//! `GET /health/ready` (one entry per dependency).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use std::collections::BTreeMap;
use tenancy_core::http::health::{Check, Readiness};

/// The control database and Redis answer (else 503). The database servers (`tenant_db`:
/// all of them; `db_servers`: each by name) and this process's job worker (`worker`, when
/// it runs one) are reported too; while only they are down the registry still serves, so
/// the answer is 200 with status `degraded`, naming what is down.
#[utoipa::path(operation_id = "ready", responses((status = 200, body = Readiness), (status = 503, body = Readiness)), tag = "operations")]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (mut conn, ping) = (state.redis.clone(), redis::cmd("PING"));
    let (db, redis, servers) = tokio::join!(
        Check::run(state.db.ping()),
        Check::run(ping.query_async::<String>(&mut conn)),
        state.servers.ping_all(),
    );
    let down: Vec<String> = servers
        .iter()
        .filter_map(|(name, c)| c.error.as_ref().map(|e| format!("{name}: {e}")))
        .collect();
    let tenant_db = Check::run(std::future::ready(if down.is_empty() {
        Ok(())
    } else {
        Err(down.join("; "))
    }))
    .await;
    let by_name: BTreeMap<String, Check> = servers.into_iter().collect();
    let redis_ok = redis.is_ok();
    let mut report = Readiness::default()
        .check("control_db", db)
        .check("redis", redis)
        .optional("tenant_db", tenant_db)
        .report("db_servers", by_name);
    if let Some(mut worker) = state.worker.status() {
        if !redis_ok {
            worker = Err("Redis is unreachable".into());
        }
        report = report.optional("worker", Check::run(std::future::ready(worker)).await);
    }
    report.respond()
}
